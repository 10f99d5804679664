// Package procstat reads what the kernel counts for a process: its CPU time
// and its threads' context switches.
// The benchmarks and tests that report CPU per operation share it.
package procstat

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc/<pid>/stat's times (USER_HZ, 100 on every
// Linux hookgate is built for).
const clockTick = 10 * time.Millisecond

// CPU is the CPU time (user and system, every thread) the process pid has
// used so far, read from /proc/<pid>/stat (pid 0: this process); zero where
// /proc is missing. Its resolution is the clock tick (10 ms): divide a
// difference over many operations.
func CPU(pid int) time.Duration {
	p := "self"
	if pid > 0 {
		p = strconv.Itoa(pid)
	}
	b, err := os.ReadFile("/proc/" + p + "/stat")
	if err != nil {
		return 0
	}
	return statCPU(string(b))
}

// statCPU reads utime + stime of a /proc/<pid>/stat line: the 14th and
// 15th fields, counted after the command name in parentheses (which may
// hold spaces) as the 12th and 13th.
func statCPU(stat string) time.Duration {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(u+s) * clockTick
}

// ContextSwitches is how many times the threads of process pid (0: this
// process) were switched out so far, voluntarily (each a thread that slept
// and was woken later) or not, summed over its live threads from
// /proc/<pid>/task/*/status; zero where /proc is missing.
func ContextSwitches(pid int) int64 {
	p := "self"
	if pid > 0 {
		p = strconv.Itoa(pid)
	}
	tasks, err := os.ReadDir("/proc/" + p + "/task")
	if err != nil {
		return 0
	}
	var n int64
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/" + p + "/task/" + t.Name() + "/status")
		if err != nil {
			continue // the thread ended meanwhile
		}
		n += statusSwitches(string(b))
	}
	return n
}

// statusSwitches sums voluntary_ctxt_switches and
// nonvoluntary_ctxt_switches of a /proc/<pid>/task/<tid>/status file.
func statusSwitches(status string) int64 {
	var n int64
	for _, line := range strings.Split(status, "\n") {
		v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:")
		if !ok {
			v, ok = strings.CutPrefix(line, "nonvoluntary_ctxt_switches:")
		}
		if ok {
			c, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			n += c
		}
	}
	return n
}

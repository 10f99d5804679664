package procstat

import (
	"testing"
	"time"
)

func TestStatCPUReadsUtimeAndStime(t *testing.T) {
	// A command name with spaces and a ")" of its own; utime 150, stime 50.
	line := "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 3 0 1000 1000000 200\n"
	if got := statCPU(line); got != 2*time.Second {
		t.Fatalf("statCPU = %s, want 2s", got)
	}
	for _, bad := range []string{"", "4242 (x) S 1", "4242 (x) S 1 2 3 4 5 6 7 8 9 10 x y 0"} {
		if got := statCPU(bad); got != 0 {
			t.Fatalf("statCPU(%q) = %s, want 0", bad, got)
		}
	}
}

func TestCPUOfThisProcessGrows(t *testing.T) {
	c0 := CPU(0)
	for deadline := time.Now().Add(5 * time.Second); CPU(0) <= c0; {
		if time.Now().After(deadline) {
			t.Fatal("this process's CPU time did not grow while it spun")
		}
		for i := 0; i < 1e6; i++ {
			_ = i * i
		}
	}
}

func TestStatusSwitchesSumsBoth(t *testing.T) {
	status := "Name:\tx\nvoluntary_ctxt_switches:\t12\nnonvoluntary_ctxt_switches:\t3\n"
	if got := statusSwitches(status); got != 15 {
		t.Fatalf("statusSwitches = %d, want 15", got)
	}
}

func TestContextSwitchesOfThisProcessGrowWhenItSleeps(t *testing.T) {
	if ContextSwitches(0) == 0 {
		t.Skip("no /proc/self/task")
	}
	n0 := ContextSwitches(0)
	for range 5 {
		time.Sleep(time.Millisecond)
	}
	if ContextSwitches(0) <= n0 {
		t.Fatal("sleeping did not switch this process's threads out")
	}
}

package testenv

import (
	"time"

	"github.com/hookgate/hookgate/internal/procstat"
)

// ProcessCPU is the CPU time (user and system) the process pid has used so
// far (0: this process); 0 where /proc is missing. Its resolution is the
// kernel's clock tick (usually 10 ms): divide a difference over many
// operations.
func ProcessCPU(pid int) time.Duration { return procstat.CPU(pid) }

// ContextSwitches is how many times the threads of process pid (0: this
// process) were switched out so far (procstat.ContextSwitches).
func ContextSwitches(pid int) int64 { return procstat.ContextSwitches(pid) }

//go:build !linux

package host

import "os/exec"

// setProcAttr does nothing where there is no parent-death signal; plugins
// are still stopped by Shutdown.
func setProcAttr(*exec.Cmd) {}

package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestEveryCommandHasHelp runs the real binary: --help and -h of each
// subcommand print its purpose, flags with defaults, examples and settings
// to stdout and exit 0; an unknown flag exits 2 with the error and the usage
// on stderr.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags []string // each must be listed, with its default where it has one
	}{
		{"serve", []string{"-config", `(default "config.yaml")`, "-role"}},
		{"token", []string{"-tenant", "-sub", `(default "admin")`, "-ttl", "(default 1h0m0s)", "-console", "-link-ttl"}},
		{"receive", []string{"-secret", "-port", "(default 9000)", "-status", "-confirm", "-tolerance"}},
		{"bench", []string{"-suite", `(default "delivery")`, "-rate", "-duration", "-cpuprofile"}},
		{"plugin", []string{"-dir", "-module", "-sdk", "-tidy", "(default true)"}},
		{"version", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, args := range [][]string{{tc.name, "--help"}, {tc.name, "-h"}, {"help", tc.name}} {
				stdout, stderr, code := runBinary(t, "", nil, args...)
				if code != 0 || stderr != "" {
					t.Fatalf("%v: exit %d, stderr %q", args, code, stderr)
				}
				want := append([]string{"hookgate " + tc.name + ": ", "usage: hookgate " + tc.name,
					"examples:\n  hookgate", "settings:\n  "}, tc.flags...)
				for _, w := range want {
					if !strings.Contains(stdout, w) {
						t.Errorf("%v does not print %q:\n%s", args, w, stdout)
					}
				}
				if strings.Contains(stdout, "help requested") {
					t.Errorf("%v prints flag's bare help:\n%s", args, stdout)
				}
			}
			stdout, stderr, code := runBinary(t, "", nil, tc.name, "--colour", "blue")
			if code != 2 || stdout != "" {
				t.Fatalf("unknown flag: exit %d, stdout %q", code, stdout)
			}
			for _, w := range []string{"flag provided but not defined: -colour", "usage: hookgate " + tc.name} {
				if !strings.Contains(stderr, w) {
					t.Errorf("unknown flag: stderr does not say %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestTopLevelHelpListsEveryCommand: `hookgate --help` and `hookgate help`
// list the subcommands and exit 0; no command at all is a usage error.
func TestTopLevelHelpListsEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		stdout, stderr, code := runBinary(t, "", nil, args...)
		if code != 0 || stderr != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, code, stderr)
		}
		for _, c := range []string{"serve", "token", "receive", "bench", "plugin", "version"} {
			if !strings.Contains(stdout, "\n  "+c+" ") {
				t.Errorf("%v does not list %s:\n%s", args, c, stdout)
			}
		}
	}
	stdout, stderr, code := runBinary(t, "", nil)
	if code != 2 || stdout != "" || !strings.Contains(stderr, "usage: hookgate <command>") {
		t.Fatalf("no command: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestMakeSaysWhatItDoes: `make help` prints $REDIS_ADDR (not the Makefile's
// escaped $$REDIS_ADDR), and `make build` announces each thing it builds, so
// a first build on an empty cache is not silent.
func TestMakeSaysWhatItDoes(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	out, err := exec.Command("make", "-s", "-C", "../..", "help").CombinedOutput()
	if err != nil {
		t.Fatalf("make help: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "$REDIS_ADDR") || strings.Contains(string(out), "$$") {
		t.Fatalf("make help:\n%s", out)
	}
	out, err = exec.Command("make", "-n", "-C", "../..", "build").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n build: %v\n%s", err, out)
	}
	for _, want := range []string{"building bin/hookgate", "building the built-in plugins into bin/plugins/", "minute or two"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("make build does not say %q:\n%s", want, out)
		}
	}
}

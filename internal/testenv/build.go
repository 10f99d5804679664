package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// builds are the executables Build compiled in this test process, by
// package, under one temporary directory that Main removes.
var builds struct {
	sync.Mutex
	dir string
	by  map[string]*build
}

type build struct {
	once sync.Once
	path string
	err  error
}

// Build compiles the Go main package pkg (an import path, or a directory
// relative to the test's package) once per test process and returns the
// executable, named after the package. The test is skipped under -short.
// A package whose tests call Build removes the executables with
// func TestMain(m *testing.M) { testenv.Main(m) }.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	SkipShort(tb, "builds "+pkg)
	builds.Lock()
	if builds.by == nil {
		builds.by = map[string]*build{}
	}
	b := builds.by[pkg]
	if b == nil {
		b = &build{}
		builds.by[pkg] = b
	}
	n := len(builds.by)
	builds.Unlock()
	b.once.Do(func() {
		dir, err := buildDir()
		if err != nil {
			b.err = err
			return
		}
		name := filepath.Base(pkg)
		if name == "." {
			wd, _ := os.Getwd()
			name = filepath.Base(wd)
		}
		b.path = filepath.Join(dir, strconv.Itoa(n), name)
		if err := os.MkdirAll(filepath.Dir(b.path), 0o755); err != nil {
			b.err = err
			return
		}
		if out, err := exec.Command("go", "build", "-o", b.path, pkg).CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	})
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return b.path
}

func buildDir() (string, error) {
	builds.Lock()
	defer builds.Unlock()
	if builds.dir == "" {
		dir, err := os.MkdirTemp("", "hookgate-test-builds-")
		if err != nil {
			return "", err
		}
		builds.dir = dir
	}
	return builds.dir, nil
}

// Main runs the package's tests, removes what Build compiled, and exits
// with the tests' status.
func Main(m *testing.M) {
	code := m.Run()
	RemoveBuilds()
	os.Exit(code)
}

// RemoveBuilds removes what Build compiled, for a TestMain that has more
// to clean up than Main does.
func RemoveBuilds() {
	builds.Lock()
	defer builds.Unlock()
	if builds.dir != "" {
		_ = os.RemoveAll(builds.dir)
		builds.dir, builds.by = "", nil
	}
}

package testenv

import (
	"bytes"
	"context"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// SyncBuffer is an io.Writer that a test may read while a server's
// goroutines write to it (a log, a child process's output).
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Eventually polls cond until it holds, and fails the test naming what it
// waited for when within passes first. Hookgate works asynchronously
// (queues, workers, sweeps): tests wait for an outcome, never for a time.
func Eventually(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Wait is how long a test waits for one asynchronous outcome (a delivery,
// a log line) before it fails.
const Wait = 10 * time.Second

// Context returns a context that ends after Wait or when the test ends,
// whichever comes first.
func Context(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	tb.Cleanup(cancel)
	return ctx
}

// FreePort returns a TCP port of 127.0.0.1 that nothing listened on a moment
// ago, for a server that must be told its address before it starts (a child
// process, a configuration file).
func FreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// FreeAddr is FreePort as host:port.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	return "127.0.0.1:" + strconv.Itoa(FreePort(tb))
}

// MostInWindow is the most of times that fall in any window of length w
// (a rate limit's promise: never more than the limit in any second).
func MostInWindow(times []time.Time, w time.Duration) int {
	times = slices.Clone(times)
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	most := 0
	for i := range times {
		n := 0
		for j := i; j < len(times) && times[j].Sub(times[i]) < w; j++ {
			n++
		}
		most = max(most, n)
	}
	return most
}

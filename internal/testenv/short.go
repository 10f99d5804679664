package testenv

import "testing"

// SkipShort skips the test under `go test -short` (make test-short, the fast
// suite). Harnesses that start a whole hookgate, a child process, a browser
// or a compiler call it, so every test built on them is skipped at once;
// why says what makes the test slow, and the skip message shows it.
// `make test` (no -short) runs them all.
func SkipShort(tb testing.TB, why string) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("skipped under -short: " + why)
	}
}

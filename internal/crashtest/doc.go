// Package crashtest holds hookgate's crash tests: they build the real
// hookgate binary, run it as a child process against Redis, kill it (and
// Redis) with SIGKILL at awkward moments, start them again, and check that
// every accepted event is still delivered (at least once, with the same
// delivery id). Tests that need several real processes sharing one Redis
// (API and worker processes apart) live here too. It has no code of its own.
package crashtest

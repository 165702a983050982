// Package process holds the process-level tests of the connectd binary:
// built once (internal/proctest), run as real serve processes on loopback
// and spoken to over real HTTP. What they check is what only a whole
// process shows: exactly-once token consumption, user association and
// idempotent creates across several instances on one PostgreSQL (and one
// on SQLite), crash safety under SIGKILL, graceful shutdown under load,
// and slow clients. The tests of the binary's own commands and flags stay
// with it, in cmd/connectd.
//
// The package has tests only. They are the slowest of the repository;
// -short shrinks them:
//
//	go test ./tests/process/
package process

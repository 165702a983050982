// Package proctest runs the connectd binary as real processes for tests:
// built once per test binary by Main, started in a directory of the test,
// killed when the test ends, and bounded in time everywhere so that a hung
// process fails its test instead of the whole run. cmd/connectd's tests of
// its commands and the process-level suite in tests/process share it.
package proctest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/connectd/connectd/internal/apitest"
)

// Package is the command under test.
const Package = "github.com/connectd/connectd/cmd/connectd"

// Bin is the connectd binary Main built.
var Bin string

// Bounds on every wait.
const (
	CommandTimeout = 60 * time.Second // a CLI command, start to exit
	StartTimeout   = 60 * time.Second // serve, start to its "serving" log line
	StopTimeout    = 40 * time.Second // serve, SIGTERM to exit
	RequestTimeout = 15 * time.Second
)

// Main builds the binary into a temporary directory (with -race when this
// test binary has it, so that the server's goroutines get checked too),
// runs the tests and removes the directory. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(proctest.Main(m)) }
func Main(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		// The fast path (go test -short ./...) builds no binary; every
		// test that runs one skips, saying so (RequireBinary).
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "connectd-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	Bin = filepath.Join(dir, "connectd")
	// -buildvcs=true: stamp the commit as a release build does, even where
	// GOFLAGS turns stamping off (this machine's go env does), so that the
	// binary's version names it (cmd/connectd's TestVersionNamesTheCommit).
	flags := []string{"-buildvcs=true"}
	if RaceEnabled() {
		flags = append(flags, "-race")
	}
	if err := Build(Bin, flags...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// RequireBinary skips t under go test -short, where Main builds no binary.
func RequireBinary(t testing.TB) {
	t.Helper()
	if Bin == "" && testing.Short() {
		t.Skip("-short: the connectd binary is not built; go test ./... runs this test")
	}
}

// Build builds Package into path with the given go build flags.
func Build(path string, flags ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append(append([]string{"build", "-o", path}, flags...), Package)
	out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build connectd %q: %v\n%s", flags, err, out)
	}
	return nil
}

// RaceEnabled reports whether this test binary was built with -race.
func RaceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}

// Proc is a running connectd.
type Proc struct {
	Cmd            *exec.Cmd
	Stdout, Stderr apitest.SyncBuffer
	Done           chan struct{} // closed when it exited
	PublicURL      string        // serve: from its "serving" log line
}

// Result is a command that ran to its end.
type Result struct {
	Args           []string
	Code           int
	Stdout, Stderr string
}

func (r Result) String() string {
	return fmt.Sprintf("connectd %q: exit %d\nstdout:\n%s\nstderr:\n%s", r.Args, r.Code, r.Stdout, r.Stderr)
}

// CleanEnv is the test's environment without CONNECTD_ variables, which
// the binary would read as flags, plus extra.
func CleanEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONNECTD_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// Start runs Bin in dir; it is killed when the test ends.
func Start(t testing.TB, dir string, env []string, args ...string) *Proc {
	t.Helper()
	return StartBinary(t, Bin, dir, env, args...)
}

// StartBinary runs binary in dir with CleanEnv(env); it is killed when the
// test ends.
func StartBinary(t testing.TB, binary, dir string, env []string, args ...string) *Proc {
	t.Helper()
	if binary == Bin {
		RequireBinary(t)
	}
	p := &Proc{Cmd: exec.Command(binary, args...), Done: make(chan struct{})}
	p.Cmd.Dir, p.Cmd.Env = dir, CleanEnv(env)
	p.Cmd.Stdout, p.Cmd.Stderr = &p.Stdout, &p.Stderr
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start connectd: %v", err)
	}
	go func() { p.Cmd.Wait(); close(p.Done) }()
	t.Cleanup(func() {
		select {
		case <-p.Done:
		default:
			p.Cmd.Process.Kill()
			<-p.Done
		}
	})
	return p
}

// Wait waits for the process to exit and returns its exit code.
func (p *Proc) Wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.Done:
		return p.Cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		p.Cmd.Process.Kill()
		<-p.Done
		t.Fatalf("connectd %q did not exit within %s:\n%s", p.Cmd.Args[1:], timeout, p.Output())
		return -1
	}
}

// Output is everything the process wrote so far.
func (p *Proc) Output() string { return p.Stdout.String() + p.Stderr.String() }

// Stop sends SIGTERM and returns the exit code.
func (p *Proc) Stop(t testing.TB) int {
	t.Helper()
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	return p.Wait(t, StopTimeout)
}

// RunCLI runs one command to its end.
func RunCLI(t testing.TB, dir string, env []string, args ...string) Result {
	t.Helper()
	p := Start(t, dir, env, args...)
	code := p.Wait(t, CommandTimeout)
	return Result{Args: args, Code: code, Stdout: p.Stdout.String(), Stderr: p.Stderr.String()}
}

// StartServe starts serve and waits until it logs that it is serving.
func StartServe(t testing.TB, dir string, env []string, args ...string) *Proc {
	t.Helper()
	p := Start(t, dir, env, append([]string{"serve"}, args...)...)
	WaitServing(t, p)
	return p
}

// WaitServing waits until p logs that it is serving, and records the
// public URL it logged.
func WaitServing(t testing.TB, p *Proc) {
	t.Helper()
	WaitFor(t, `serve to log "serving"`, func() bool {
		for _, line := range strings.Split(p.Stderr.String(), "\n") {
			var l struct {
				Msg       string `json:"msg"`
				PublicURL string `json:"public_url"`
			}
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "serving" && l.PublicURL != "" {
				p.PublicURL = l.PublicURL
				return true
			}
		}
		return false
	}, p)
}

// WaitFor polls cond until it holds; it fails the test when p exits or
// StartTimeout passes first.
func WaitFor(t testing.TB, what string, cond func() bool, p *Proc) {
	t.Helper()
	deadline := time.After(StartTimeout)
	for !cond() {
		select {
		case <-p.Done:
			if cond() {
				return
			}
			t.Fatalf("connectd exited before %s:\n%s", what, p.Output())
		case <-deadline:
			t.Fatalf("timed out waiting for %s:\n%s", what, p.Output())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// RandomString returns n random bytes, base64url-encoded: unique names.
func RandomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// MustParseURL parses s or fails the test.
func MustParseURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return u
}

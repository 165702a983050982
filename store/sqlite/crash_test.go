package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/store/sqlite"
)

// The crash test: a helper process (this test binary, re-run with
// envCrashDB set) creates sessions from many goroutines on a file database
// and prints the ID of each as soon as CreateSession acknowledged it; the
// test SIGKILLs it at a random point and checks that every acknowledged
// session is in the database when it is opened again. Group commit must
// answer a request only once the transaction holding its row committed.
const (
	envCrashDB      = "CONNECTD_CRASH_HELPER_DB"
	envCrashProject = "CONNECTD_CRASH_HELPER_PROJECT"
	crashKills      = 5
	crashClients    = 32
)

func TestCrashLosesNoAcknowledgedSession(t *testing.T) {
	if path := os.Getenv(envCrashDB); path != "" {
		crashHelper(path, os.Getenv(envCrashProject))
		return
	}
	if testing.Short() {
		// CI runs without -short, and says so with this variable: there a
		// skip would pass for a run of the test.
		if os.Getenv("CONNECTD_TEST_REQUIRE_POSTGRES") == "1" {
			t.Fatal("-short skips the crash test, but CONNECTD_TEST_REQUIRE_POSTGRES=1 (CI) requires every store test to run")
		}
		t.Skip("kills a helper process several times")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crash.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const project = "p-crash"
	if err := s.CreateProject(ctx, &connectd.Project{ID: project, Name: "crash", Settings: connectd.DefaultProjectSettings(), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	var acked []string
	for kill := range crashKills {
		ids := runAndKill(t, path, project, time.Duration(100+rand.IntN(900))*time.Millisecond)
		t.Logf("kill %d: %d creates acknowledged before SIGKILL", kill+1, len(ids))
		acked = append(acked, ids...)
	}

	s, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	lost := 0
	for _, id := range acked {
		if _, err := s.GetSession(ctx, project, id); err != nil {
			lost++
			if lost <= 10 {
				t.Errorf("acknowledged session %s: %v", id, err)
			}
		}
	}
	var stored int
	w, _ := sqlite.DBs(s)
	if err := w.QueryRowContext(ctx, `SELECT count(*) FROM connect_sessions`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d kills: %d creates acknowledged, %d lost; %d rows stored (acknowledged or caught between commit and answer)",
		crashKills, len(acked), lost, stored)
	if len(acked) == 0 {
		t.Fatal("the helper acknowledged no create: the test proved nothing")
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged sessions lost", lost, len(acked))
	}
}

// runAndKill starts the helper, lets it run for after its first
// acknowledgement, kills it with SIGKILL, and returns the IDs it
// acknowledged.
func runAndKill(t *testing.T, path, project string, after time.Duration) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashLosesNoAcknowledgedSession$", "-test.count=1")
	cmd.Env = append(os.Environ(), envCrashDB+"="+path, envCrashProject+"="+project)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	first := make(chan struct{})
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			id, ok := strings.CutPrefix(sc.Text(), "ACK ")
			if !ok {
				continue
			}
			if len(ids) == 0 {
				close(first)
			}
			ids = append(ids, id)
		}
	}()
	select {
	case <-first:
	case <-read:
		cmd.Wait()
		t.Fatal("the helper exited before acknowledging a create")
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the helper acknowledged nothing in 20s")
	}
	time.Sleep(after)
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	<-read // everything written to the pipe before the kill
	cmd.Wait()
	return ids
}

// crashHelper creates sessions until it is killed, printing "ACK id" once
// each create is acknowledged. Each line is one write(2), so a line printed
// before the kill reaches the pipe.
func crashHelper(path, project string) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash helper:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	for range crashClients {
		go func() {
			for {
				at := time.Now()
				_, hash := connectd.NewToken()
				cs := &connectd.Session{
					ID: connectd.NewID(connectd.PrefixSession), ProjectID: project,
					Intent:       connectd.Intent{Type: connectd.IntentViewSubscriptions},
					StoredStatus: connectd.StatusOpen, TokenHash: hash,
					CreatedAt: at, ExpiresAt: at.Add(time.Hour), UpdatedAt: at,
				}
				if err := s.CreateSession(ctx, cs, connectd.Idem{}); err != nil {
					fmt.Fprintln(os.Stderr, "crash helper: create:", err)
					os.Exit(2)
				}
				mu.Lock()
				os.Stdout.WriteString("ACK " + cs.ID + "\n")
				mu.Unlock()
			}
		}()
	}
	select {}
}

package process

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectd/connectd/internal/proctest"
)

// TestSQLiteFileDeletedWhileServing: with the database file deleted under
// a running serve, readiness answers 503 and writes answer 503
// storageUnavailable (never 201 into the unlinked file, never a 500 with a
// driver message), with one clear log line (issue 11.12).
func TestSQLiteFileDeletedWhileServing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "connectd.db")
	db := "sqlite:" + path
	key := relSetup(t, dir, db)
	srv := relServe(t, dir, db)
	base := srv.PublicURL
	c := relClient(relTransport())
	user := createUser(t, c, base, key, "gone-"+proctest.RandomString(6)+"@example.com")
	if a := call(c, "GET", base+"/readyz", "", "", nil); a.status != http.StatusOK {
		t.Fatalf("readyz before: %s", a)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}

	if a := call(c, "GET", base+"/readyz", "", "", nil); a.status != http.StatusServiceUnavailable {
		t.Errorf("readyz after the file was deleted: %s, want 503", a)
	}
	writes := []struct{ name, path, body string }{
		{"session create", "/projects/" + relProject + "/connectSessions", sessionBody(user)},
		{"user create", "/projects/" + relProject + "/users", `{"email":"after-` + proctest.RandomString(6) + `@example.com"}`},
		{"user update", "/projects/" + relProject + "/users/" + user, `{"fullName":"Late"}`},
	}
	for _, w := range writes {
		method := "POST"
		if strings.Contains(w.name, "update") {
			method = "PATCH"
		}
		a := call(c, method, base+w.path, key, w.body, nil)
		if a.status != http.StatusServiceUnavailable || a.str("code") != "storageUnavailable" {
			t.Errorf("%s after the file was deleted: %s, want 503 storageUnavailable", w.name, a)
		}
		if strings.Contains(strings.ToLower(string(a.body)), "sqlite") {
			t.Errorf("%s: the answer names the driver: %s", w.name, a.body)
		}
	}
	if out := srv.Output(); !strings.Contains(out, "storage unavailable: write refused") {
		t.Errorf("no clear log line about the lost database file; log:\n%.2000s", out)
	}
}

package portal_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoStoreBelowTheHTTPLayers: the portal, the API and their shared
// error table reach data only through package service, so none of them may
// import a store package, directly or not.
func TestNoStoreBelowTheHTTPLayers(t *testing.T) {
	t.Parallel()
	for _, pkg := range []string{"github.com/connectd/connectd/portal", "github.com/connectd/connectd/api", "github.com/connectd/connectd/internal/httperr"} {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, "github.com/connectd/connectd/store") {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}

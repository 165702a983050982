// Package layering checks the import rules of ARCHITECTURE.md with the go
// tool itself (go list -deps), so that a broken layer fails CI instead of
// waiting for a reviewer to notice.
package layering

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/connectd/connectd"

// rules says, per package of the module, which of the module's packages it
// may depend on (directly or not). A package ending in "/..." stands for
// itself and everything below it.
var rules = []struct {
	pkg     string
	allowed []string
	why     string
}{
	{pkg: ".", allowed: nil,
		why: "the domain package imports nothing of the project"},
	{pkg: "api", allowed: []string{".", "service", "metrics", "internal/poolstat", "ratelimit", "internal/jsonv", "internal/httperr", "internal/buildinfo"},
		why: "the REST API parses and renders; it reaches data only through service"},
	{pkg: "portal", allowed: []string{".", "service", "metrics", "internal/poolstat", "ratelimit", "internal/httperr"},
		why: "the portal parses and renders; it reaches data only through service"},
	{pkg: "internal/httperr", allowed: []string{"."},
		why: "the error table is shared by api and portal and knows only the domain's errors"},
	{pkg: "server", allowed: []string{".", "service", "platform", "payments", "api", "portal", "metrics", "ratelimit", "internal/..."},
		why: "the server wires the layers; the caller opens the store, so no backend is linked in here"},
	{pkg: "service", allowed: []string{".", "metrics", "internal/poolstat"},
		why: "service owns every state change through the domain's interfaces, never a backend"},
	{pkg: "metrics", allowed: []string{".", "internal/poolstat"},
		why: "metrics are imported by the handlers, so they must not pull a store in"},
	{pkg: "platform", allowed: []string{".", "payments"},
		why: "the built-in platform knows the domain's store interface, not a backend"},
	{pkg: "store/sqlite", allowed: []string{".", "store/internal/...", "internal/poolstat"},
		why: "a backend implements the domain's store and knows nothing above it"},
	{pkg: "store/postgres", allowed: []string{".", "store/internal/...", "internal/poolstat"},
		why: "a backend implements the domain's store and knows nothing above it"},
	{pkg: "store/internal/...", allowed: []string{"."},
		why: "what the backends share knows only the domain"},
	{pkg: "seed", allowed: []string{".", "platform", "payments", "internal/jsonv"},
		why: "seed files load through the platform and a narrow store interface, never a backend"},
	{pkg: "payments", allowed: []string{"."}, why: "the test-card processor is a leaf"},
	{pkg: "ratelimit", allowed: nil, why: "the limiters are a leaf"},
	{pkg: "internal/jsonv", allowed: nil, why: "the JSON reader is a leaf"},
	{pkg: "internal/poolstat", allowed: nil, why: "the pool figures are a leaf"},
	{pkg: "internal/buildinfo", allowed: nil, why: "the build's version is a leaf"},
}

// unruled are the packages that may import anything of the project: the
// commands, the test support and the test suites, and store (Open, which
// picks a backend). Every other package needs a rule above.
var unruled = []string{"cmd/...", "internal/apitest", "internal/proctest", "store", "store/storetest",
	"store/postgres/pgtest", "store/sqlite/sqlitetest", "tests/..."}

// goList returns the module's packages that pkg depends on (itself
// excluded), relative to the module root ("." for the root).
func goList(t *testing.T, pkg string) []string {
	t.Helper()
	cmd := exec.Command(goTool(t), "list", "-deps", "-f", "{{.ImportPath}}", "./"+pkg)
	cmd.Dir = repoRoot(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./%s: %v\n%s", pkg, err, stderr.String())
	}
	var deps []string
	self := rel(module + "/" + strings.TrimPrefix(pkg, "."))
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != module && !strings.HasPrefix(line, module+"/") {
			continue
		}
		if r := rel(line); r != self {
			deps = append(deps, r)
		}
	}
	return deps
}

func rel(importPath string) string {
	r := strings.TrimPrefix(strings.TrimPrefix(importPath, module), "/")
	if r == "" {
		return "."
	}
	return r
}

func allows(allowed []string, dep string) bool {
	for _, a := range allowed {
		if a == dep {
			return true
		}
		if base, tree := strings.CutSuffix(a, "/..."); tree && (dep == base || strings.HasPrefix(dep, base+"/")) {
			return true
		}
	}
	return false
}

// violations lists pkg's dependencies that allowed does not allow.
func violations(t *testing.T, pkg string, allowed []string) []string {
	var out []string
	for _, dep := range goList(t, pkg) {
		// A rule over a tree ("store/internal/...") lets its packages
		// import each other.
		if !allows(allowed, dep) && !allows([]string{pkg}, dep) {
			out = append(out, dep)
		}
	}
	return out
}

func TestImportRules(t *testing.T) {
	for _, r := range rules {
		t.Run(r.pkg, func(t *testing.T) {
			t.Parallel()
			for _, dep := range violations(t, r.pkg, r.allowed) {
				t.Errorf("%s depends on %s: %s (allowed: %v)", r.pkg, dep, r.why, r.allowed)
			}
		})
	}
}

// TestEveryPackageHasARule: a new package is either under a rule or named
// among the unruled ones, so it cannot slip past the layering unchecked.
func TestEveryPackageHasARule(t *testing.T) {
	var ruled []string
	for _, r := range rules {
		ruled = append(ruled, r.pkg)
	}
	for _, pkg := range goList(t, "...") {
		if !allows(ruled, pkg) && !allows(unruled, pkg) {
			t.Errorf("package %s has no import rule: add one to rules (or to unruled, if it wires or tests the layers)", pkg)
		}
	}
}

// TestNoStoreInHandlers: the API and the portal hold no store, not even
// under another name: every use of the domain's store interfaces there is
// a door around the service.
func TestNoStoreInHandlers(t *testing.T) {
	storeNames := map[string]bool{"Store": true, "ResourceStore": true, "PortalStore": true}
	for _, dir := range []string{"api", "portal"} {
		files, err := filepath.Glob(filepath.Join(repoRoot(t), dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in %s: %v", dir, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			fset := token.NewFileSet()
			file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "connectd" && storeNames[sel.Sel.Name] {
						t.Errorf("%s: %s uses connectd.%s: handlers reach data through service only", fset.Position(sel.Pos()), dir, sel.Sel.Name)
					}
				}
				return true
			})
		}
	}
}

// TestRulesCatchViolations proves the checker can fail on the real tree:
// api does depend on service, metrics and the domain, so a rule that
// allows only the domain must report them.
func TestRulesCatchViolations(t *testing.T) {
	got := violations(t, "api", []string{"."})
	for _, want := range []string{"service", "metrics"} {
		if !slices.Contains(got, want) {
			t.Errorf("a rule allowing api only the domain did not report %s (reported: %v)", want, got)
		}
	}
	for _, c := range []struct {
		allowed []string
		dep     string
		want    bool
	}{
		{[]string{"store/internal/..."}, "store/internal/migrate", true},
		{[]string{"store/internal/..."}, "store/internal", true},
		{[]string{"store/internal/..."}, "store/internalx", false},
		{[]string{"service"}, "store/sqlite", false},
		{nil, ".", false},
	} {
		if got := allows(c.allowed, c.dep); got != c.want {
			t.Errorf("allows(%v, %q) = %v, want %v", c.allowed, c.dep, got, c.want)
		}
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// goTool is the go command that runs this test, falling back to PATH.
func goTool(t *testing.T) string {
	t.Helper()
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); runtime.GOROOT() != "" {
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command: %v", err)
	}
	return p
}

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/seed"
	"github.com/connectd/connectd/service"
	"github.com/connectd/connectd/store"
)

const defaultDB = "sqlite:./connectd.db"

// openMigrated opens --db and brings its schema up to date.
func openMigrated(ctx context.Context, dsn string, exclusive bool) (store.Store, error) {
	st, err := store.Open(ctx, dsn, store.Options{Exclusive: exclusive})
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return st, nil
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flagSet("migrate", stderr)
	db := fs.String("db", defaultDB, "database: sqlite:PATH or a postgres:// URL (CONNECTD_DB)")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	st, err := openMigrated(ctx, *db, false)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func projectsCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flagSet("projects create", stderr)
	def := connectd.DefaultProjectSettings()
	db := fs.String("db", defaultDB, "database: sqlite:PATH or a postgres:// URL (CONNECTD_DB)")
	id := fs.String("id", "", "project ID, such as gigs (required)")
	name := fs.String("name", "", "project name (default: the ID)")
	billing := fs.String("billing-mode", string(def.BillingMode), "payments or billing")
	validation := fs.String("intent-validation", string(def.IntentValidation), "strict or lenient")
	hostedLogin := fs.Bool("hosted-login", def.HostedLogin, "let sessions without a user sign in through hosted login")
	portingRetry := fs.Bool("porting-retry", def.PortingRetry, "let users fix and resubmit declined portings")
	ttl := fs.Duration("session-ttl", time.Duration(def.SessionTTL), "how long a session url can be opened")
	displayName := fs.String("display-name", "", "name shown on the portal")
	color := fs.String("primary-color", "", "portal colour, such as #0a7cff")
	locale := fs.String("preferred-locale", "", "default locale, such as en-US")
	var allow stringList
	fs.Var(&allow, "callback-allow", "allowed callback URL (repeat for several); none = any valid callback URL")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if *id == "" {
		fmt.Fprintln(stderr, "connectd projects create: --id is required")
		return errUsage
	}
	settings := connectd.ProjectSettings{
		BillingMode: connectd.BillingMode(*billing), IntentValidation: connectd.IntentValidation(*validation),
		HostedLogin: *hostedLogin, PortingRetry: *portingRetry, SessionTTL: connectd.Duration(*ttl),
		CallbackAllowList: append([]string{}, allow...), DisplayName: *displayName, PrimaryColor: *color, PreferredLocale: *locale,
	}
	st, err := openMigrated(ctx, *db, false)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := service.New(st, "", slog.New(slog.NewTextHandler(stderr, nil)))
	p := &connectd.Project{ID: *id, Name: *name, Settings: settings}
	if err := svc.CreateProject(ctx, p); err != nil {
		return describe(err, func(field string) string { return projectFlag(field, allow) })
	}
	fmt.Fprintf(stdout, "created project %s\n", p.ID)
	return nil
}

func keysCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flagSet("keys create", stderr)
	db := fs.String("db", defaultDB, "database: sqlite:PATH or a postgres:// URL (CONNECTD_DB)")
	project := fs.String("project", "", "project ID (required)")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if *project == "" {
		fmt.Fprintln(stderr, "connectd keys create: --project is required")
		return errUsage
	}
	st, err := openMigrated(ctx, *db, false)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := service.New(st, "", slog.New(slog.NewTextHandler(stderr, nil)))
	secret, err := svc.CreateAPIKey(ctx, *project)
	if err != nil {
		return describe(err, nil)
	}
	// The key alone on the last line, so that scripts can take it with tail -n1.
	fmt.Fprintf(stdout, "created an API key for project %s; it is shown once, store it now:\n%s\n", *project, secret)
	return nil
}

func seedCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flagSet("seed", stderr)
	db := fs.String("db", defaultDB, "database: sqlite:PATH or a postgres:// URL (CONNECTD_DB)")
	file := fs.String("file", "", "seed file to load (JSON, spec section 4; - reads stdin) (CONNECTD_FILE)")
	demo := fs.Bool("demo", false, "load the built-in demo project (CONNECTD_DEMO)")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if (*file == "") == !*demo {
		fmt.Fprintln(stderr, "connectd seed: give exactly one of --file F and --demo")
		return errUsage
	}
	var in io.Reader
	name := "the demo"
	if *file != "" {
		name = *file
		if *file == "-" {
			in, name = os.Stdin, "stdin"
		} else {
			f, err := os.Open(*file)
			if err != nil {
				return err
			}
			defer f.Close()
			in = f
		}
	}
	st, err := openMigrated(ctx, *db, false)
	if err != nil {
		return err
	}
	defer st.Close()
	var res seed.Result
	if *demo {
		res, err = seed.LoadDemo(ctx, st, nil)
	} else {
		res, err = seed.Load(ctx, st, nil, in)
	}
	if err != nil {
		// Invalid files and conflicts say what and where; nothing was written.
		return err
	}
	if res.Created == 0 {
		fmt.Fprintf(stdout, "nothing to do: all %d objects of %s are already there\n", res.Objects, name)
		return nil
	}
	fmt.Fprintf(stdout, "created %d of the %d objects of %s\n", res.Created, res.Objects, name)
	if *demo {
		fmt.Fprintf(stdout, "demo project %q, user %s (%s); create an API key for it with: connectd keys create --db (the same) --project %s\n",
			seed.DemoProjectID, seed.DemoUserID, seed.DemoUserEmail, seed.DemoProjectID)
	}
	return nil
}

// describe turns a validation error into a readable message for the CLI:
// every problem on its own line, named by the flag that set it (flag maps a
// field of the error to a flag; nil keeps the field).
func describe(err error, flag func(field string) string) error {
	e := connectd.AsError(err)
	if len(e.Details) == 0 {
		if e.Type == connectd.TypeInternal {
			return err
		}
		return fmt.Errorf("%s", e.Message)
	}
	var b strings.Builder
	b.WriteString("invalid values:")
	for _, d := range e.Details {
		name := d.Field
		if flag != nil {
			name = flag(d.Field)
		}
		fmt.Fprintf(&b, "\n  %s: %s", name, d.Message)
	}
	return fmt.Errorf("%s", b.String())
}

// projectFlag names the flag of projects create behind a field of a
// project's validation error: settings.billingMode -> --billing-mode.
func projectFlag(field string, allow []string) string {
	var i int
	if _, err := fmt.Sscanf(field, "settings.callbackAllowList[%d]", &i); err == nil && i >= 0 && i < len(allow) {
		return fmt.Sprintf("--callback-allow %q", allow[i])
	}
	if f, ok := projectFlags[field]; ok {
		return f
	}
	return field
}

var projectFlags = map[string]string{
	"id":                        "--id",
	"name":                      "--name",
	"settings.billingMode":      "--billing-mode",
	"settings.intentValidation": "--intent-validation",
	"settings.hostedLogin":      "--hosted-login",
	"settings.portingRetry":     "--porting-retry",
	"settings.sessionTTL":       "--session-ttl",
	"settings.displayName":      "--display-name",
	"settings.primaryColor":     "--primary-color",
	"settings.preferredLocale":  "--preferred-locale",
}

// Command connectd serves Connect Sessions and manages its projects and keys.
//
//	connectd serve    [--addr 127.0.0.1:8080] [--db sqlite:./connectd.db] [--public-url URL] [--demo]
//	connectd migrate  --db URL
//	connectd projects create --db URL --id ID [settings flags]
//	connectd keys create --db URL --project ID
//	connectd seed     --db URL (--file F | --demo)
//	connectd version
//
// Every flag also reads an environment variable: --db reads CONNECTD_DB,
// --addr CONNECTD_ADDR, --public-url CONNECTD_PUBLIC_URL, and so on.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/connectd/connectd/internal/buildinfo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `connectd: self-hostable Connect Sessions

Usage:
  connectd serve    [--addr 127.0.0.1:8080] [--db sqlite:./connectd.db] [--public-url URL] [--demo]
  connectd migrate  --db URL
  connectd projects create --db URL --id ID [--name N] [--billing-mode payments|billing]
                    [--intent-validation strict|lenient] [--hosted-login=true|false]
                    [--porting-retry=true|false] [--session-ttl 15m] [--callback-allow URL]...
                    [--display-name N] [--primary-color #RRGGBB] [--preferred-locale en-US]
  connectd keys create --db URL --project ID
  connectd seed     --db URL (--file F | --demo)
  connectd version

Run "connectd COMMAND --help" for every flag of a command. Every flag can
also be set by its environment variable: --db by CONNECTD_DB, --public-url by
CONNECTD_PUBLIC_URL, and so on; a flag on the command line wins.
`

// errUsage is returned after a usage problem was already printed, and
// errHelpShown after the help that --help asked for was.
var (
	errUsage     = errors.New("usage")
	errHelpShown = errors.New("help shown")
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = serve(ctx, rest, stdout, stderr)
	case "migrate":
		err = migrate(ctx, rest, stdout, stderr)
	case "projects":
		err = sub(ctx, "projects", rest, stdout, stderr, map[string]command{"create": projectsCreate})
	case "keys":
		err = sub(ctx, "keys", rest, stdout, stderr, map[string]command{"create": keysCreate})
	case "seed":
		err = seedCmd(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "connectd", version())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "connectd: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelpShown):
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		return 2
	default:
		fmt.Fprintf(stderr, "connectd: %v\n", err)
		return 1
	}
}

type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

func sub(ctx context.Context, name string, args []string, stdout, stderr io.Writer, cmds map[string]command) error {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "connectd %s: missing subcommand\n\n%s", name, usage)
		return errUsage
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "connectd %s: unknown subcommand %q\n\n%s", name, args[0], usage)
		return errUsage
	}
	return c(ctx, args[1:], stdout, stderr)
}

// version is the build's version and commit (internal/buildinfo).
func version() string { return buildinfo.Read().String() }

// flagSet returns a FlagSet whose errors go to stderr; parse prints its
// help (every flag with its environment variable).
func flagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("connectd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // parse prints the help, to stdout or stderr as the case is
	return fs
}

// printHelp lists fs's flags, each with its default and its environment
// variable.
func printHelp(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "Usage: %s [flags]\n\nFlags (each can also be set by the environment variable named with it):\n", fs.Name())
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if arg != "" {
			line += " " + arg
		}
		fmt.Fprintf(w, "%s\n      %s", line, usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" && f.DefValue != "[]" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		if env := envName(f.Name); !strings.Contains(usage, env) {
			fmt.Fprintf(w, " (%s)", env)
		}
		fmt.Fprintln(w)
	})
}

// parse parses args, refuses stray positional arguments, and fills every
// flag not given on the command line from its environment variable:
// --public-url from CONNECTD_PUBLIC_URL, and so on. --help (-h) prints the
// help to stdout and returns errHelpShown (exit 0); a wrong flag prints the
// problem and the help to stderr (exit 2).
func parse(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(fs, stdout)
			return errHelpShown
		}
		// The flag package printed the problem; the flags follow it.
		printHelp(fs, fs.Output())
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return errUsage
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if serr := fs.Set(f.Name, v); serr != nil {
				fmt.Fprintf(fs.Output(), "%s: %s: %v\n", fs.Name(), envName(f.Name), serr)
				err = errUsage
			}
		}
	})
	return err
}

// envName is the environment variable of a flag: db -> CONNECTD_DB.
func envName(flagName string) string {
	return "CONNECTD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

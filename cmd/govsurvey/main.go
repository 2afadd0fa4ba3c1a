// Command govsurvey is the one binary of govsurvey: the server, the demo and
// every command-line tool (CONTRACTS.md §7). main only wires things together:
// it reads flags and GOVSURVEY_* variables into one config value, opens the
// store, and hands both down.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
)

// defaultDB is where the embedded store lives unless told otherwise.
const defaultDB = "sqlite:./govsurvey-data/govsurvey.db"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// config is everything the commands are told from outside: flags first,
// then GOVSURVEY_* environment variables, then defaults.
type config struct {
	DB        string
	Addr      string
	LogLevel  string
	LogFormat string
}

// app is what every command gets: the config and the standard streams.
type app struct {
	cfg    config
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
}

// usageError is a mistake in how a command was called: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, a *app, args []string) error
}

func commands() []command {
	return []command{
		{"demo", "start the server on the embedded store with both surveys, 2019 and 2018 waves, seed-plan responses, cleaned", cmdDemo},
		{"serve", "run the server", cmdServe},
		{"form", "check, add, list and export XLSForm questionnaires", cmdForm},
		{"import", "load responses from a CSV file", cmdImport},
		{"invite", "make one-time invitation links for an invitation-only form", cmdInvite},
		{"export", "write responses as CSV or XLSX", cmdExport},
		{"raw", "print the archived submission body of one response (serve --keep-raw)", cmdRaw},
		{"clean", "apply the cleaning rules and print the funnel", cmdClean},
		{"analyze", "frequencies, cross-tabs and weighted estimates", cmdAnalyze},
		{"compare", "compare two waves", cmdCompare},
		{"report", "generate the report (HTML, XLSX, Word, PDF)", cmdReport},
		{"publish", "freeze and sign an open-data release", cmdPublish},
		{"verify", "check a signed release or report", cmdVerify},
		{"user", "manage staff accounts and API tokens", cmdUser},
		{"keys", "master key, data key rotation and rewrapping", cmdKeys},
		{"audit", "verify and export the audit log", cmdAudit},
		{"retention", "erase personal data past each form's retention", cmdRetention},
		{"backup", "back up the store", cmdBackup},
		{"restore", "restore a backup", cmdRestore},
		{"bench", "built-in load and speed benchmarks", cmdBench},
		{"version", "print the version", cmdVersion},
	}
}

func notYet(name, area string) func(context.Context, *app, []string) error {
	return func(context.Context, *app, []string) error {
		return fmt.Errorf("'%s' is not yet available in this version of govsurvey (it comes with the %s work)", name, area)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	var cmd *command
	for _, c := range commands() {
		if c.name == args[0] {
			cmd = &c
			break
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "govsurvey: unknown command %q (see 'govsurvey help')\n", args[0])
		return 2
	}
	err := cmd.run(ctx, a, args[1:])
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "govsurvey %s: %s\n", cmd.name, ue.msg)
		return 2
	default:
		// Errors that list several problems already put one per line.
		for _, line := range strings.Split(strings.TrimRight(err.Error(), "\n"), "\n") {
			fmt.Fprintln(stderr, line)
		}
		return 1
	}
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "govsurvey — large public surveys, end to end / 大规模公众调查平台")
	fmt.Fprintln(w, "\nUsage: govsurvey COMMAND [flags] [args]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command that touches data takes --db (sqlite:PATH or a postgres:// URL; env GOVSURVEY_DB).")
	fmt.Fprintln(w, "Run 'govsurvey COMMAND -h' for a command's flags.")
}

// newFlags returns a flag set with the flags every data command shares,
// their defaults taken from GOVSURVEY_* variables.
func (a *app) newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("govsurvey "+name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.StringVar(&a.cfg.DB, "db", envOr("GOVSURVEY_DB", defaultDB), "database: sqlite:PATH or postgres://…")
	fs.StringVar(&a.cfg.LogLevel, "log-level", envOr("GOVSURVEY_LOG_LEVEL", "info"), "log level: debug, info, warn, error")
	fs.StringVar(&a.cfg.LogFormat, "log-format", envOr("GOVSURVEY_LOG_FORMAT", "text"), "log format: text or json")
	return fs
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

// parse parses flags anywhere among the arguments (Go's flag package stops
// at the first positional one) and sets up logging.
func (a *app) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.cfg.LogLevel)); err != nil {
		return nil, usagef("bad --log-level %q", a.cfg.LogLevel)
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch a.cfg.LogFormat {
	case "text":
		a.log = slog.New(slog.NewTextHandler(a.stderr, hopts))
	case "json":
		a.log = slog.New(slog.NewJSONHandler(a.stderr, hopts))
	default:
		return nil, usagef("bad --log-format %q (text or json)", a.cfg.LogFormat)
	}
	return pos, nil
}

// openStore opens the configured database through the sealing store
// (keys.go): whatever a command stores, personal answers are sealed.
func (a *app) openStore(ctx context.Context) (*secureStore, error) {
	return a.openSecure(ctx)
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func cmdVersion(ctx context.Context, a *app, args []string) error {
	fmt.Fprintln(a.stdout, "govsurvey", version())
	return nil
}

// sortedKeys is for stable output of maps.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

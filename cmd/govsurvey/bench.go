package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"time"

	"github.com/govsurvey/govsurvey/bench"
	"github.com/govsurvey/govsurvey/collect"
)

func cmdBench(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("bench needs a benchmark: ingest, import, analyze or soak")
	}
	switch args[0] {
	case "import":
		return benchImport(ctx, a, args[1:])
	case "ingest":
		return benchIngest(ctx, a, args[1:])
	case "analyze":
		return benchAnalyze(ctx, a, args[1:])
	case "soak":
		return benchSoak(ctx, a, args[1:])
	}
	return usagef("unknown benchmark %q (ingest, import, analyze, soak)", args[0])
}

// benchIngest drives the submission endpoint over loopback on a throw-away
// SQLite store, or on --db when it is given (rows are kept there), and a
// bare JSON-decoding handler the same way; it prints both and fails if an
// acknowledged submission is not stored.
func benchIngest(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("bench ingest")
	clients := fs.Int("clients", 64, "concurrent connections")
	duration := fs.Duration("duration", 10*time.Second, "measured time for each server")
	warmup := fs.Duration("warmup", time.Second, "unmeasured time before each run")
	window := fs.Duration("window", time.Millisecond, "group commit: how long a batch stays open")
	committers := fs.Int("committers", 0, "group commit: transactions in flight (default 1 on SQLite, 4 on PostgreSQL)")
	rounds := fs.Int("rounds", 5, "rounds the duration is split into, alternating govsurvey and the bare handler")
	noBare := fs.Bool("no-bare", false, "skip the bare-handler comparison")
	keepRaw := fs.Bool("keep-raw", false, "archive every submission body, sealed, as serve --keep-raw does (needs a master key)")
	randomIDs := fs.Bool("random-ids", false, "send random (version 4) instance ids, as ODK Collect does, instead of the web form's time-ordered version 7 ones")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run here (go tool pprof)")
	memProfile := fs.String("memprofile", "", "write an allocation profile of the whole run here (go tool pprof -sample_index=alloc_space)")
	traceFile := fs.String("trace", "", "write an execution trace of the whole run here (go tool trace; keep --duration short)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *clients <= 0 || *duration <= 0 {
		return usagef("usage: govsurvey bench ingest [--clients N] [--duration D] [--db URL]")
	}
	tmp, err := a.benchDir(fs, "bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	kind := storeKind(a.cfg.DB)
	if *committers <= 0 {
		*committers = 1
		if kind == "postgresql" {
			*committers = 4
		}
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	if *traceFile != "" {
		stop, err := startTrace(*traceFile)
		if err != nil {
			return err
		}
		defer stop()
	}
	fmt.Fprintf(a.stdout, "ingest (%s): driving for %s each, after %s warm-up; %d CPUs%s …\n",
		kind, *duration, *warmup, runtime.NumCPU(), loadAverage())
	res, err := bench.Ingest(ctx, st, bench.IngestOptions{
		Clients: *clients, Duration: *duration, Warmup: *warmup, Rounds: *rounds, SkipBare: *noBare, RandomIDs: *randomIDs, KeepRaw: *keepRaw,
		Commit: collect.CommitOptions{Window: *window, Committers: *committers},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s\n", res)
	if *memProfile != "" {
		if err := writeHeapProfile(*memProfile); err != nil {
			return err
		}
	}
	if res.Missing > 0 {
		return fmt.Errorf("bench ingest: %d acknowledged submissions are not in the store", res.Missing)
	}
	return nil
}

// benchImport imports generated responses into a throw-away SQLite store,
// or into --db when it is given (use an empty database: rows are kept).
func benchImport(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("bench import")
	n := fs.Int("n", 200000, "responses to generate and import")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *n <= 0 {
		return usagef("usage: govsurvey bench import [--n ROWS] [--db URL]")
	}
	tmp, err := a.benchDir(fs, "bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := bench.Import(ctx, st, bench.ImportOptions{
		Rows: *n, TempDir: tmp, Progress: collect.TerminalProgress(a.stderr, "import"),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "import (%s): %s\n", storeKind(a.cfg.DB), res)
	return nil
}

// loadAverage says how busy the machine was before the benchmark (Linux),
// since other work on it weighs on the figures.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return ", load average " + strings.Join(f[:3], " ")
}

func storeKind(dsn string) string {
	if len(dsn) >= 8 && (dsn[:8] == "postgres") {
		return "postgresql"
	}
	return "sqlite"
}

// startCPUProfile profiles the process into path until the returned stop.
func startCPUProfile(path string) (stop func(), err error) {
	return startRecording(path, pprof.StartCPUProfile, pprof.StopCPUProfile)
}

// startTrace writes an execution trace of the process to path until the
// returned stop.
func startTrace(path string) (stop func(), err error) {
	return startRecording(path, trace.Start, trace.Stop)
}

// startRecording creates path and has start record into it until the
// returned stop calls stop.
func startRecording(path string, start func(io.Writer) error, stop func()) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { stop(); f.Close() }, nil
}

// writeHeapProfile writes the allocations since the start, and the live
// heap, to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// benchDir makes a benchmark's scratch directory and, unless --db or
// GOVSURVEY_DB names a store, points the store at a throw-away SQLite file
// NAME.db in it. The caller removes the directory.
func (a *app) benchDir(fs *flag.FlagSet, name string) (string, error) {
	tmp, err := os.MkdirTemp("", "govsurvey-"+name+"-")
	if err != nil {
		return "", err
	}
	if !flagSet(fs, "db") && os.Getenv("GOVSURVEY_DB") == "" {
		a.cfg.DB = "sqlite:" + filepath.Join(tmp, name+".db")
	}
	return tmp, nil
}

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/govsurvey/govsurvey/bench"
	"github.com/govsurvey/govsurvey/collect"
)

func cmdBench(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("bench needs a benchmark: import (ingest over HTTP comes with the collection work; analyze with the statistics work)")
	}
	switch args[0] {
	case "import":
		return benchImport(ctx, a, args[1:])
	case "ingest", "analyze":
		return fmt.Errorf("'bench %s' is not yet available in this version of govsurvey", args[0])
	}
	return usagef("unknown benchmark %q (import)", args[0])
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
	tmp, err := os.MkdirTemp("", "govsurvey-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if !flagSet(fs, "db") && os.Getenv("GOVSURVEY_DB") == "" {
		a.cfg.DB = "sqlite:" + filepath.Join(tmp, "bench.db")
	}
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

func storeKind(dsn string) string {
	if len(dsn) >= 8 && (dsn[:8] == "postgres") {
		return "postgresql"
	}
	return "sqlite"
}

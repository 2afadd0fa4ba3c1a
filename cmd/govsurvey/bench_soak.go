package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/govsurvey/govsurvey/bench"
	"github.com/govsurvey/govsurvey/store"
)

// benchSoak runs the mixed-load soak (bench.Soak) on a throw-away SQLite
// store, or on --db (an empty database: the soak sets up its own keys and
// account there), prints the samples and fails if memory or goroutines
// grew, or an acknowledged submission is missing.
func benchSoak(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("bench soak")
	duration := fs.Duration("duration", 10*time.Minute, "how long to run")
	every := fs.Duration("every", 5*time.Second, "sampling interval")
	submitters := fs.Int("submitters", 16, "concurrent submission clients")
	rate := fs.Float64("rate", 200, "submissions a second, all clients together")
	maxRows := fs.Int("max-rows", 20000, "new responses at most; later submissions resend stored instance ids")
	readers := fs.Int("readers", 2, "staff API and console readers")
	analysts := fs.Int("analysts", 1, "analysis clients")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *duration <= 0 || *every <= 0 {
		return usagef("usage: govsurvey bench soak [--duration D] [--every D] [--rate N] [--db URL]")
	}
	tmp, err := a.benchDir(fs, "soak")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// The raw store: the soak seals through keys of its own, as serve does.
	st, err := store.Open(ctx, a.cfg.DB)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(a.stdout, "soak (%s): %s of mixed load, %.0f submissions/s, sampled every %s; %d CPUs%s …\n",
		storeKind(a.cfg.DB), *duration, *rate, *every, runtime.NumCPU(), loadAverage())
	res, err := bench.Soak(ctx, st, bench.SoakOptions{
		Duration: *duration, Every: *every, Submitters: *submitters, SubmitRate: *rate, MaxRows: *maxRows,
		Readers: *readers, Analysts: *analysts, Log: a.stderr,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, res)
	switch {
	case res.Missing > 0:
		return fmt.Errorf("bench soak: %d acknowledged submissions are not in the store", res.Missing)
	case !res.Flat:
		return fmt.Errorf("bench soak: memory or goroutines grew over the run")
	}
	return nil
}

package bench

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/internal/cputime"
	"github.com/govsurvey/govsurvey/sample"
	"github.com/govsurvey/govsurvey/stats"
	"github.com/govsurvey/govsurvey/store"
)

// AnalyzeOptions configure the analysis benchmark.
type AnalyzeOptions struct {
	Rows int // responses to analyse (collected, before cleaning); default 1,000,000
	// By are the three fields of the cross-tabs; default province, gender,
	// age_band.
	By []string
	// CSV, when set, receives the valid responses' choice answers (one
	// column per question), for timing R on the same data.
	CSV io.Writer
	// Progress, when set, is told each stage as it starts.
	Progress func(stage string)
}

// AnalyzeStage is one timed stage.
type AnalyzeStage struct {
	Name    string
	Elapsed time.Duration // wall clock
	CPU     time.Duration // process CPU time, all threads (0 where not measured)
}

// AnalyzeResult is what one run measured.
type AnalyzeResult struct {
	Rows      int // collected
	Valid     int
	Estimates int // percents with SEs and CIs computed, all stages
	Stages    []AnalyzeStage
	Total     time.Duration
	TotalCPU  time.Duration
	HeapPeak  uint64 // highest live heap sampled during the run
	Procs     int
	Weights   *stats.WeightsInfo
}

func (r AnalyzeResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d responses (%d valid), %d CPUs\n", r.Rows, r.Valid, r.Procs)
	fmt.Fprintf(&b, "  %-44s %9s %9s\n", "stage", "wall", "CPU")
	for _, s := range r.Stages {
		fmt.Fprintf(&b, "  %-44s %8.3fs %8.3fs\n", s.Name, s.Elapsed.Seconds(), s.CPU.Seconds())
	}
	fmt.Fprintf(&b, "  %-44s %8.3fs %8.3fs\n", "total", r.Total.Seconds(), r.TotalCPU.Seconds())
	fmt.Fprintf(&b, "  %d estimates with SEs and CIs; peak heap %.0f MB", r.Estimates, float64(r.HeapPeak)/1e6)
	if w := r.Weights; w != nil {
		fmt.Fprintf(&b, "\n  raking: %d sweeps, converged %v, weights %.3g–%.3g, Kish deff %.3f", w.Iterations, w.Converged, w.Min, w.Max, w.KishDeff)
	}
	return b.String()
}

// NetizenMargins are illustrative national margins for the netizen form:
// gender 51/49, and CNNIC's June 2019 netizen age structure re-cut to the
// questionnaire's bands (see stats/testdata/README.md).
var NetizenMargins = []stats.MarginSpec{
	{Field: "gender", Choices: []string{"male", "female"}, Values: []float64{0.51, 0.49}, Shares: true},
	{Field: "age_band", Choices: []string{"a12_18", "a19_24", "a25_30", "a31_45", "a46_60", "a60_80"},
		Values: []float64{0.1276, 0.1509, 0.1582, 0.3234, 0.1655, 0.0744}, Shares: true},
}

// poolDivisor scales the seed plan that gives the pool of distinct
// responses the benchmark cycles through: 1/2 of the seed report's 189,495
// questionnaires, its 9.2% invalid ones included.
const poolDivisor = 2

// Analyze times the analysis of opts.Rows netizen responses, stage by
// stage: load (decode the stored encoding into columns), clean (drop the
// responses cleaning flags), unweighted tables of every question, raking
// to NetizenMargins, the weighted tables with their SEs, and cross-tabs by
// three fields with Rao–Scott tests. The responses cycle through a pool
// made beforehand with the seed plan (its distributions: 67% male, …), so
// generating them is not timed.
func Analyze(ctx context.Context, opts AnalyzeOptions) (AnalyzeResult, error) {
	if opts.Rows <= 0 {
		opts.Rows = 1_000_000
	}
	if len(opts.By) == 0 {
		opts.By = []string{"province", "gender", "age_band"}
	}
	f, err := form.ParseTemplate("netizen_2019")
	if err != nil {
		return AnalyzeResult{}, err
	}
	plan, err := sample.SeedPlan("netizen_2019", poolDivisor)
	if err != nil {
		return AnalyzeResult{}, err
	}
	type pooled struct {
		id      string
		answers []byte
		valid   bool
	}
	var pool []pooled
	err = plan.Generate(f, func(r sample.Response) error {
		enc, err := f.EncodeAnswers(r.Answers)
		if err != nil {
			return err
		}
		pool = append(pool, pooled{id: r.InstanceID, answers: enc, valid: len(r.Reasons) == 0})
		return nil
	})
	if err != nil {
		return AnalyzeResult{}, err
	}
	res := AnalyzeResult{Rows: opts.Rows, Procs: runtime.GOMAXPROCS(0)}
	runtime.GC()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if h := liveHeap(); h > res.HeapPeak {
				res.HeapPeak = h
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()
	start, startCPU := time.Now(), cputime.Process()
	stage := func(name string, fn func() error) error {
		if opts.Progress != nil {
			opts.Progress(name)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		t0, c0 := time.Now(), cputime.Process()
		err := fn()
		res.Stages = append(res.Stages, AnalyzeStage{Name: name, Elapsed: time.Since(t0), CPU: cputime.Process() - c0})
		return err
	}

	var ds *stats.Dataset
	err = stage("load", func() error {
		l, err := stats.NewLoader(f, stats.LoadOptions{Expect: opts.Rows})
		if err != nil {
			return err
		}
		for i := range opts.Rows {
			p := &pool[i%len(pool)]
			if err := l.Add(store.Response{FormID: f.ID, Revision: 1, InstanceID: p.id, Answers: p.answers}); err != nil {
				return err
			}
		}
		ds, err = l.Finish()
		return err
	})
	if err != nil {
		return res, err
	}
	err = stage("clean (drop flagged)", func() error {
		keep := make([]bool, ds.Rows)
		for i := range keep {
			keep[i] = pool[i%len(pool)].valid
		}
		ds, err = ds.Keep(keep)
		return err
	})
	if err != nil {
		return res, err
	}
	res.Valid = ds.Rows
	countEstimates := func(qs []stats.QuestionTable) {
		for _, q := range qs {
			res.Estimates += len(q.Choices) + len(q.Nets)
		}
	}
	nets, _ := stats.ParseNets("safety_change.improved=big_up+up")
	err = stage("tables, unweighted", func() error {
		d, err := stats.NewDesign(stats.DesignSpec{Rows: ds.Rows})
		if err != nil {
			return err
		}
		tb, err := stats.NewTabulator(ds, d, stats.AnalysisOptions{Nets: nets})
		if err != nil {
			return err
		}
		qs, err := tb.Tables()
		countEstimates(qs)
		return err
	})
	if err != nil {
		return res, err
	}
	var raked *stats.Design
	err = stage("raking", func() error {
		var err error
		raked, res.Weights, err = ds.Weight(stats.Weighting{Margins: NetizenMargins})
		return err
	})
	if err != nil {
		return res, err
	}
	var tb *stats.Tabulator
	err = stage("weighted tables with SEs", func() error {
		var err error
		if tb, err = stats.NewTabulator(ds, raked, stats.AnalysisOptions{Nets: nets}); err != nil {
			return err
		}
		qs, err := tb.Tables()
		countEstimates(qs)
		return err
	})
	if err != nil {
		return res, err
	}
	err = stage("cross-tabs by "+strings.Join(opts.By, ", "), func() error {
		for _, by := range opts.By {
			ct, err := tb.Crosstab(by)
			if err != nil {
				return err
			}
			for _, g := range ct.Groups {
				countEstimates(g.Questions)
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	res.Total, res.TotalCPU = time.Since(start), cputime.Process()-startCPU
	close(stop)
	wg.Wait()
	if opts.CSV != nil {
		if err := writeChoices(opts.CSV, ds); err != nil {
			return res, err
		}
	}
	return res, nil
}

// writeChoices writes the data set's choice questions as CSV (choice
// names; select_multiple space-separated), for R.
func writeChoices(w io.Writer, ds *stats.Dataset) error {
	cw := csv.NewWriter(w)
	var cols []*stats.Column
	var header []string
	for _, c := range ds.Columns {
		if c.Kind == stats.Numeric {
			continue
		}
		cols = append(cols, c)
		header = append(header, c.Question.Name)
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	row := make([]string, len(cols))
	var names []string
	for i := range ds.Rows {
		for j, c := range cols {
			row[j] = ""
			switch c.Kind {
			case stats.SingleChoice:
				if l := c.Level(i); l >= 0 {
					row[j] = c.Choices[l].Name
				}
			case stats.MultipleChoice:
				names = names[:0]
				for k, ch := range c.Choices {
					if c.Chose(i, k) {
						names = append(names, ch.Name)
					}
				}
				row[j] = strings.Join(names, " ")
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

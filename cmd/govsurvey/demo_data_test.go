package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/report"
	"github.com/govsurvey/govsurvey/sample"
)

// The divisor of the demo tests: the demo's default (1,895 netizens and
// 318 practitioners collected in 2019), a second or so of work.
const demoTestDivisor = 100

// TestLoadSeedDemo runs the demo's loading step on an empty data
// directory: the four waves hold the seed plan's responses, cleaning ran
// on each (its stored flags leave the plan's valid count), the console's
// report of the 2019 netizens builds with the 2018 wave as its base, and
// a second start keeps the data as it is.
func TestLoadSeedDemo(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	a := &app{stdout: io.Discard, stderr: io.Discard, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	a.cfg.DB = "sqlite:" + filepath.Join(dir, "govsurvey.db")
	if err := a.initMasterKey(); err != nil {
		t.Fatal(err)
	}
	st, err := a.openStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	loaded, err := loadSeedDemo(ctx, a, st, demoTestDivisor)
	if err != nil {
		t.Fatal(err)
	}
	plans := map[string]sample.Plan{}
	for _, id := range []string{"netizen_2019", "netizen_2018", "practitioner_2019", "practitioner_2018"} {
		plan, err := sample.SeedPlan(id, demoTestDivisor)
		if err != nil {
			t.Fatal(err)
		}
		plans[id] = plan
	}
	if len(loaded) != len(plans) {
		t.Fatalf("loaded %d forms, want %d: %+v", len(loaded), len(plans), loaded)
	}
	for _, l := range loaded {
		plan, ok := plans[l.FormID]
		if !ok {
			t.Errorf("loaded form %s, not a demo wave", l.FormID)
			continue
		}
		if l.Kept || l.Collected != plan.Collected() || l.Valid != plan.Valid {
			t.Errorf("%s: loaded %+v, want %d collected and %d valid, not kept", l.FormID, l, plan.Collected(), plan.Valid)
		}
		// What is in the store, read back on its own.
		n, err := st.CountResponses(ctx, l.FormID)
		if err != nil || n != plan.Collected() {
			t.Errorf("%s: %d responses stored (%v), want %d", l.FormID, n, err, plan.Collected())
		}
		c, err := st.Cleaning(ctx, l.FormID)
		if err != nil {
			t.Errorf("%s: no cleaning run: %v", l.FormID, err)
			continue
		}
		invalid, err := clean.Invalid(ctx, st, l.FormID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Collected != plan.Collected() || c.Collected-len(invalid) != plan.Valid {
			t.Errorf("%s: cleaning saw %d, left %d valid; want %d and %d", l.FormID, c.Collected, c.Collected-len(invalid), plan.Collected(), plan.Valid)
		}
	}

	// The 2018 waves are stored as files of their own: the source
	// compiles to the 2018 instrument sample.SeedForm describes.
	for _, id := range []string{"netizen_2018", "practitioner_2018"} {
		fv, err := st.Form(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		src, err := form.Parse(fv.SourceName, fv.Source)
		if err != nil {
			t.Fatalf("%s: stored source: %v", id, err)
		}
		want, err := sample.SeedForm(id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := src.Definition()
		if err != nil {
			t.Fatal(err)
		}
		wantDef, err := want.Definition()
		if err != nil {
			t.Fatal(err)
		}
		if fv.Version != "2018" || !bytes.Equal(got, wantDef) {
			t.Errorf("%s: stored version %q, source %s compiles to another form than sample.SeedForm", id, fv.Version, fv.SourceName)
		}
	}

	// The console's report: the 2019 netizens against their 2018 wave.
	_, f, err := formOf(ctx, st, "netizen_2019")
	if err != nil {
		t.Fatal(err)
	}
	_, bf, err := formOf(ctx, st, "netizen_2018")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := report.Build(ctx, report.Inputs{Store: st, Form: f, BaseForm: bf, Lang: "en"})
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	if rep.BaseFormID != "netizen_2018" || rep.Base == nil || rep.Base.Valid != plans["netizen_2018"].Valid ||
		rep.Analysis.Valid != plans["netizen_2019"].Valid || len(rep.Chapters) == 0 {
		t.Errorf("report: base %q, chapters %d, valid %d (want %d), base valid %v (want %d)", rep.BaseFormID, len(rep.Chapters),
			rep.Analysis.Valid, plans["netizen_2019"].Valid, rep.Base, plans["netizen_2018"].Valid)
	}

	// A second start keeps the data: nothing is added or cleaned again.
	first := map[string]string{}
	for id := range plans {
		c, err := st.Cleaning(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		first[id] = c.CleanedAt.String()
	}
	again, err := loadSeedDemo(ctx, a, st, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range again {
		plan := plans[l.FormID]
		if !l.Kept || l.Collected != plan.Collected() || l.Valid != plan.Valid {
			t.Errorf("second start, %s: %+v, want kept with %d collected and %d valid", l.FormID, l, plan.Collected(), plan.Valid)
		}
		if c, err := st.Cleaning(ctx, l.FormID); err != nil || c.CleanedAt.String() != first[l.FormID] {
			t.Errorf("second start cleaned %s again (%v)", l.FormID, err)
		}
	}

	// The banner names every wave with its counts.
	var b strings.Builder
	printDemoLoaded(&b, loaded, demoTestDivisor)
	for id, plan := range plans {
		line := fmt.Sprintf("%d collected / 回收, %d valid / 有效", plan.Collected(), plan.Valid)
		found := false
		for _, l := range strings.Split(b.String(), "\n") {
			found = found || strings.Contains(l, id) && strings.Contains(l, line)
		}
		if !found {
			t.Errorf("banner has no line %q for %s:\n%s", line, id, b.String())
		}
	}
}

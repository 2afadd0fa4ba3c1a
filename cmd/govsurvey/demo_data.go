package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/sample"
	"github.com/govsurvey/govsurvey/store"
)

// demoWaves are the forms the demo fills from the seed plan: each 2019
// form with the 2018 wave its report compares against, so that the
// funnel, the analysis, the dashboard and the report with its year-on-year
// figures all have data at first start.
func demoWaves() []string {
	return []string{"netizen_2019", "netizen_2018", "practitioner_2019", "practitioner_2018"}
}

// demoLoaded is one demo form as the banner reports it.
type demoLoaded struct {
	FormID    string
	Collected int
	Valid     int  // as of the form's last cleaning run; -1: never cleaned
	Kept      bool // the data was there from an earlier start
}

// loadSeedDemo registers the demo waves and, for each one still without
// responses, stores the seed plan's responses at 1/divisor of the seed
// report and cleans it. A form that already has responses is kept as it
// is (a second start keeps the demo's data, with whatever was collected
// or overridden since); one that has responses but was never cleaned is
// cleaned now, so that the console's pages never start on "run cleaning
// first".
func loadSeedDemo(ctx context.Context, a *app, st *secureStore, divisor int) ([]demoLoaded, error) {
	var out []demoLoaded
	for _, id := range demoWaves() {
		data, name, err := demoFormSource(id)
		if err != nil {
			return nil, err
		}
		fv, f, created, err := collect.AddForm(ctx, st, name, data)
		if err != nil {
			return nil, fmt.Errorf("demo: built-in form %s: %w", id, err)
		}
		if created {
			a.log.Info("form added", "form", fv.FormID, "revision", fv.Revision)
		}
		have, err := st.CountResponses(ctx, id)
		if err != nil {
			return nil, err
		}
		loaded := demoLoaded{FormID: id, Collected: have, Valid: -1, Kept: have > 0}
		if have == 0 {
			plan, err := sample.SeedPlan(id, divisor)
			if err != nil {
				return nil, fmt.Errorf("demo: %w", err)
			}
			if err := plan.AddTo(ctx, st, fv, f, "sample"); err != nil {
				return nil, fmt.Errorf("demo: responses of %s: %w", id, err)
			}
			if loaded.Collected, err = st.CountResponses(ctx, id); err != nil {
				return nil, err
			}
			a.log.Info("seed sample added", "form", id, "divisor", divisor, "count", loaded.Collected)
		}
		_, err = st.Cleaning(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound) && loaded.Collected > 0:
			// The rules read sealed answers too: the joined view, as
			// 'govsurvey clean' does.
			fun, err := clean.Run(ctx, st.Joined(), id)
			if err != nil {
				return nil, fmt.Errorf("demo: cleaning %s: %w", id, err)
			}
			loaded.Valid = fun.Valid
			a.log.Info("cleaned", "form", id, "collected", fun.Collected, "valid", fun.Valid)
		case err == nil:
			invalid, err := clean.Invalid(ctx, st, id)
			if err != nil {
				return nil, err
			}
			c, err := st.Cleaning(ctx, id)
			if err != nil {
				return nil, err
			}
			loaded.Valid = c.Collected - len(invalid)
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
		out = append(out, loaded)
	}
	return out, nil
}

// demoFormSource is the form file of a demo wave: a 2019 form is the
// built-in template; a 2018 wave is the same workbook with its settings
// sheet's form_id, version and title changed, as sample.SeedForm changes
// them, so that the stored source is a real file of that form (the
// console previews and downloads it).
func demoFormSource(formID string) ([]byte, string, error) {
	stem, ok := strings.CutSuffix(formID, "_2018")
	if !ok {
		return form.Template(formID)
	}
	data, _, err := form.Template(stem + "_2019")
	if err != nil {
		return nil, "", err
	}
	x, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		return nil, "", fmt.Errorf("demo: template of %s: %w", formID, err)
	}
	defer x.Close()
	rows, err := x.GetRows("settings")
	if err != nil || len(rows) < 2 {
		return nil, "", fmt.Errorf("demo: template of %s has no settings row (%v)", formID, err)
	}
	for c, head := range rows[0] {
		var v string
		switch strings.ToLower(strings.TrimSpace(head)) {
		case "form_id":
			v = formID
		case "version":
			v = "2018"
		case "form_title":
			if c >= len(rows[1]) {
				continue
			}
			v = strings.ReplaceAll(rows[1][c], "2019", "2018")
		default:
			continue
		}
		cell, err := excelize.CoordinatesToCellName(c+1, 2)
		if err != nil {
			return nil, "", fmt.Errorf("demo: %w", err)
		}
		if err := x.SetCellStr("settings", cell, v); err != nil {
			return nil, "", fmt.Errorf("demo: template of %s: %w", formID, err)
		}
	}
	var b bytes.Buffer
	if _, err := x.WriteTo(&b); err != nil {
		return nil, "", fmt.Errorf("demo: template of %s: %w", formID, err)
	}
	return b.Bytes(), formID + ".xlsx", nil
}

// printDemoLoaded writes the banner's lines on the demo's data, in
// Chinese and English as the rest of the banner.
func printDemoLoaded(w io.Writer, loaded []demoLoaded, divisor int) {
	if len(loaded) == 0 {
		return
	}
	allKept := true
	for _, l := range loaded {
		allKept = allKept && l.Kept
	}
	if allKept {
		// Loaded at an earlier start, perhaps at another divisor.
		fmt.Fprintf(w, "  data kept from an earlier start / 沿用已有数据:\n")
	} else {
		fmt.Fprintf(w, "  seed sample at 1/%d of the seed report's funnel, cleaned / 按调查报告 1/%d 规模的样本（已清洗）:\n", divisor, divisor)
	}
	for _, l := range loaded {
		valid := "not cleaned / 未清洗"
		if l.Valid >= 0 {
			valid = fmt.Sprintf("%d valid / 有效", l.Valid)
		}
		kept := ""
		if l.Kept && !allKept {
			kept = " (kept from an earlier start / 沿用已有数据)"
		}
		fmt.Fprintf(w, "    %-18s %6d collected / 回收, %s%s\n", l.FormID, l.Collected, valid, kept)
	}
}

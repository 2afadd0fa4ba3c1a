package report_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/report"
	"github.com/govsurvey/govsurvey/sample"
	"github.com/govsurvey/govsurvey/store"
)

// BenchmarkReport times the full netizen report for 200,000 collected
// responses (the seed plan at full size, grown to 200,000) against the
// 2018 wave at its seed size (152,000): loading both waves from SQLite,
// analysing, comparing, and writing report.html, tables.xlsx and
// report.docx (charts as pictures need Chromium and are left out).
// Generating, storing and cleaning the data is outside the timing.
//
//	go test ./report -run '^$' -bench Report -benchtime 3x
func BenchmarkReport(b *testing.B) {
	ctx := b.Context()
	st := openStore(b)
	add := func(formID string, collected int) {
		f, err := sample.SeedForm(formID)
		if err != nil {
			b.Fatal(err)
		}
		def, err := f.Definition()
		if err != nil {
			b.Fatal(err)
		}
		sum := sha256.Sum256(def)
		fv, _, err := st.AddForm(ctx, store.FormVersion{FormID: f.ID, Version: f.Version, Title: f.Title,
			Hash: hex.EncodeToString(sum[:]), Definition: def})
		if err != nil {
			b.Fatal(err)
		}
		plan, err := sample.SeedPlan(formID, 1)
		if err != nil {
			b.Fatal(err)
		}
		if collected > 0 {
			plan.Valid += collected - plan.Collected()
		}
		if err := plan.AddTo(ctx, st, fv, f, "web"); err != nil {
			b.Fatal(err)
		}
		if _, err := clean.Run(ctx, st, formID); err != nil {
			b.Fatal(err)
		}
	}
	add("netizen_2019", 200_000)
	add("netizen_2018", 0)
	f, _ := sample.SeedForm("netizen_2019")
	bf, _ := sample.SeedForm("netizen_2018")
	b.ResetTimer()
	for b.Loop() {
		r, err := report.Build(ctx, report.Inputs{Store: st, Form: f, BaseForm: bf})
		if err != nil {
			b.Fatal(err)
		}
		if err := r.HTML(io.Discard); err != nil {
			b.Fatal(err)
		}
		if err := r.XLSX(io.Discard); err != nil {
			b.Fatal(err)
		}
		if err := r.DOCX(io.Discard, nil); err != nil {
			b.Fatal(err)
		}
		if r.Funnel.Collected != 200_000 {
			b.Fatalf("%d collected", r.Funnel.Collected)
		}
	}
}

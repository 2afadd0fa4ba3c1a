package report_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/sample"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// seedWave registers a seed form (2019 or its 2018 wave), stores the seed
// plan at 1/divisor of its size and cleans it. It returns the form and the
// plan's valid responses, for expectations computed without package
// report.
func seedWave(t testing.TB, ctx context.Context, st store.Store, formID string, divisor int) (*form.Form, []sample.Response) {
	t.Helper()
	f, err := sample.SeedForm(formID)
	if err != nil {
		t.Fatal(err)
	}
	def, err := f.Definition()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(def)
	fv, _, err := st.AddForm(ctx, store.FormVersion{FormID: f.ID, Version: f.Version, Title: f.Title,
		Hash: hex.EncodeToString(sum[:]), Definition: def, SourceName: formID + ".xlsx"})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := sample.SeedPlan(formID, divisor)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.AddTo(ctx, st, fv, f, "web"); err != nil {
		t.Fatal(err)
	}
	var valid []sample.Response
	if err := plan.Generate(f, func(r sample.Response) error {
		if len(r.Reasons) == 0 {
			valid = append(valid, r)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := clean.Run(ctx, st, formID); err != nil {
		t.Fatal(err)
	}
	return f, valid
}

func openStore(t testing.TB) store.Store { return storetest.OpenSQLite(t) }

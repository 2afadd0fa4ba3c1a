package clean_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/sample"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// TestSeedFunnel cleans data generated to match the seed report's
// published distributions at 1/100 of its size, with defects whose kinds
// and counts are known, and checks that cleaning reproduces the injected
// funnel exactly, response by response, on every store.
func TestSeedFunnel(t *testing.T) {
	tests := []struct {
		form             string
		collected, valid int // the seed's 189,495 / 172,075 and 31,771 / 26,513, divided by 100 and rounded
	}{
		{"netizen_2019", 1895, 1721},
		{"practitioner_2019", 318, 265},
	}
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.form, func(t *testing.T) {
					ctx := t.Context()
					st := b.Open(t)
					data, name, err := form.Template(tt.form)
					if err != nil {
						t.Fatal(err)
					}
					fv, f, err := register(ctx, st, name, data)
					if err != nil {
						t.Fatal(err)
					}
					plan, err := sample.SeedPlan(tt.form, 100)
					if err != nil {
						t.Fatal(err)
					}
					if err := plan.AddTo(ctx, st, fv, f, "web"); err != nil {
						t.Fatal(err)
					}
					injected := map[string]string{}
					if err := plan.Generate(f, func(r sample.Response) error {
						if len(r.Reasons) > 0 {
							injected[r.InstanceID] = strings.Join(r.Reasons, " ")
						}
						return nil
					}); err != nil {
						t.Fatal(err)
					}

					fun, err := clean.Run(ctx, st, tt.form)
					if err != nil {
						t.Fatal(err)
					}
					if fun.Collected != tt.collected || fun.Valid != tt.valid || fun.Flagged != tt.collected-tt.valid {
						t.Errorf("funnel: collected %d, flagged %d, valid %d; want %d, %d, %d",
							fun.Collected, fun.Flagged, fun.Valid, tt.collected, tt.collected-tt.valid, tt.valid)
					}
					byReason, several, _ := wantFunnel(tt.collected, injected)
					if !maps.Equal(fun.InvalidByReason, byReason) || fun.SeveralReasons != several || several == 0 {
						t.Errorf("by reason %v, several %d; injected %v, several %d", fun.InvalidByReason, fun.SeveralReasons, byReason, several)
					}
					got := flagsOf(t, st, tt.form)
					for id, want := range injected {
						if got[id] != want {
							t.Errorf("response %s: flags %q, injected %q", id, got[id], want)
						}
					}
					for id, g := range got {
						if _, ok := injected[id]; !ok {
							t.Errorf("valid response %s flagged %q", id, g)
						}
					}
				})
			}
		})
	}
}

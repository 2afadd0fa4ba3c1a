package publish_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/publish"
	"github.com/govsurvey/govsurvey/publish/publishtest"
	"github.com/govsurvey/govsurvey/stats"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// TestPublish: a release is made from the store and stored under the
// form's next version; the valid responses need a cleaning run; a
// BeforeStore error stores nothing.
func TestPublish(t *testing.T) {
	ctx := t.Context()
	st := storetest.OpenSQLite(t)
	b, err := os.ReadFile("testdata/town.md")
	if err != nil {
		t.Fatal(err)
	}
	fv, f, _, err := collect.AddForm(ctx, st, "town.md", b)
	if err != nil {
		t.Fatal(err)
	}
	// 30 respondents: group b has 3 "no", a small cell.
	var rs []store.Response
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := range 30 {
		a := form.Answers{"safe": "yes", "group": "a"}
		if i >= 15 {
			a["group"] = "b"
		}
		if i >= 27 {
			a["safe"] = "no"
		}
		enc, err := f.EncodeAnswers(a)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, store.Response{FormID: fv.FormID, Revision: fv.Revision, InstanceID: fmt.Sprintf("r%02d", i),
			Started: t0, Ended: t0.Add(5 * time.Minute), SubmittedAt: t0.Add(6 * time.Minute), Client: fmt.Sprint(i), Channel: "import", Answers: enc})
	}
	if _, err := st.AddResponses(ctx, rs); err != nil {
		t.Fatal(err)
	}
	signer := publishtest.Signer(t, "Town Office")

	if _, err := publish.Publish(ctx, st, f, publish.Spec{Signer: signer}); !errors.Is(err, publish.ErrNotCleaned) {
		t.Errorf("not cleaned: %v", err)
	}
	stop := errors.New("not audited")
	called := ""
	spec := publish.Spec{AllResponses: true, Signer: signer, Analysis: stats.AnalysisOptions{By: []string{"group"}},
		BeforeStore: func(_ context.Context, rel *publish.Release) error { called = rel.ID; return stop }}
	if _, err := publish.Publish(ctx, st, f, spec); !errors.Is(err, stop) || called != "town-r1" {
		t.Fatalf("BeforeStore refusing: %v (called with %q)", err, called)
	}
	if rs, err := st.Releases(ctx, "town"); err != nil || len(rs) != 0 {
		t.Fatalf("stored after BeforeStore refused: %v %v", rs, err)
	}
	spec.BeforeStore = nil
	for _, want := range []string{"town-r1", "town-r2"} {
		rel, err := publish.Publish(ctx, st, f, spec)
		if err != nil {
			t.Fatal(err)
		}
		if rel.ID != want {
			t.Errorf("release %s, want %s", rel.ID, want)
		}
		if _, err := st.Release(ctx, want); err != nil {
			t.Errorf("%s not stored: %v", want, err)
		}
		// safe by group: b's 3 "no" is primary; its complements keep it
		// from being worked out of the margins.
		if rel.Suppressed() < 2 {
			t.Errorf("%s suppressed %d cells", want, rel.Suppressed())
		}
	}
}

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
// Stored hook hears of each release stored (TestPublishRace: and of
// each refused).
func TestPublish(t *testing.T) {
	ctx := t.Context()
	st, fv, f := townStore(t)
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
	spec := publish.Spec{AllResponses: true, Signer: signer, Analysis: stats.AnalysisOptions{By: []string{"group"}}}
	for _, want := range []string{"town-r1", "town-r2"} {
		var stored []string
		spec.Stored = func(_ context.Context, rel *publish.Release, err error) error {
			stored = append(stored, fmt.Sprintf("%s %v", rel.ID, err))
			return nil
		}
		rel, err := publish.Publish(ctx, st, f, spec)
		if err != nil {
			t.Fatal(err)
		}
		if len(stored) != 1 || stored[0] != want+" <nil>" {
			t.Errorf("Stored called %q, want once with %s and no error", stored, want)
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

// staleStore hands out a version another publish has already taken, as
// NextReleaseVersion does to the loser of two concurrent publishes.
type staleStore struct {
	store.Store
	version int
}

func (s staleStore) NextReleaseVersion(context.Context, string) (int, error) { return s.version, nil }

// TestPublishRace: a publish that lost its version to a concurrent one
// stores nothing, fails with store.ErrExists, and its Stored hook is told
// so — once, after the store refused, so an audit written there is true;
// a Stored error is returned with the store's.
func TestPublishRace(t *testing.T) {
	ctx := t.Context()
	st, fv, f := townStore(t)
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	var rs []store.Response
	for i := range 12 {
		enc, err := f.EncodeAnswers(form.Answers{"safe": "yes", "group": "a"})
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, store.Response{FormID: fv.FormID, Revision: fv.Revision, InstanceID: fmt.Sprintf("r%02d", i),
			Started: t0, Ended: t0.Add(time.Minute), SubmittedAt: t0.Add(2 * time.Minute), Client: fmt.Sprint(i), Channel: "import", Answers: enc})
	}
	if _, err := st.AddResponses(ctx, rs); err != nil {
		t.Fatal(err)
	}
	var calls []error
	spec := publish.Spec{AllResponses: true, Signer: publishtest.Signer(t, "Town Office"),
		Stored: func(_ context.Context, rel *publish.Release, err error) error {
			if rel.ID != "town-r1" {
				t.Errorf("Stored with %s", rel.ID)
			}
			calls = append(calls, err)
			return nil
		}}
	if _, err := publish.Publish(ctx, st, f, spec); err != nil {
		t.Fatal(err)
	}
	_, err := publish.Publish(ctx, staleStore{st, 1}, f, spec)
	if !errors.Is(err, store.ErrExists) {
		t.Errorf("second publish of version 1: %v, want ErrExists", err)
	}
	if len(calls) != 2 || calls[0] != nil || !errors.Is(calls[1], store.ErrExists) {
		t.Errorf("Stored calls %v, want [<nil> ErrExists]", calls)
	}
	if rels, err := st.Releases(ctx, "town"); err != nil || len(rels) != 1 {
		t.Errorf("releases %v %v, want only town-r1", rels, err)
	}
	hookErr := errors.New("audit down")
	spec.Stored = func(context.Context, *publish.Release, error) error { return hookErr }
	if _, err := publish.Publish(ctx, staleStore{st, 1}, f, spec); !errors.Is(err, hookErr) || !errors.Is(err, store.ErrExists) {
		t.Errorf("Stored failing: %v, want both errors", err)
	}
}

// townStore is a fresh SQLite store holding the town form (testdata).
func townStore(t *testing.T) (store.Store, store.FormVersion, *form.Form) {
	t.Helper()
	st := storetest.OpenSQLite(t)
	b, err := os.ReadFile("testdata/town.md")
	if err != nil {
		t.Fatal(err)
	}
	fv, f, _, err := collect.AddForm(t.Context(), st, "town.md", b)
	if err != nil {
		t.Fatal(err)
	}
	return st, fv, f
}

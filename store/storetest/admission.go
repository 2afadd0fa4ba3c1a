package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/store"
)

// testAdmission is the contract of invitations and quotas: one-time
// tokens spent atomically, and per-choice counters that never go past
// their limit, even when many submissions race for the last slots.
func testAdmission(t *testing.T, st store.Store) {
	t.Run("Invitations", func(t *testing.T) { testInvitations(t, st) })
	t.Run("InvitationRace", func(t *testing.T) { testInvitationRace(t, st) })
	// First: the reconciliation is store-wide, and the other quota
	// tests leave claims without responses.
	t.Run("StaleQuotas", func(t *testing.T) { testStaleQuotas(t, st) })
	t.Run("Quotas", func(t *testing.T) { testQuotas(t, st) })
	t.Run("QuotaRace", func(t *testing.T) { testQuotaRace(t, st) })
}

func testInvitations(t *testing.T, st store.Store) {
	ctx := t.Context()
	at := base
	if err := st.AddInvitations(ctx, "f1", []string{"h1", "h2", "h3"}, at); err != nil {
		t.Fatal(err)
	}
	if err := st.AddInvitations(ctx, "f2", []string{"g1"}, at); err != nil {
		t.Fatal(err)
	}
	// A batch with one taken hash stores none of it.
	if err := st.AddInvitations(ctx, "f1", []string{"h4", "h1"}, at); !errors.Is(err, store.ErrExists) {
		t.Errorf("AddInvitations with a stored hash: %v, want ErrExists", err)
	}
	if err := st.UseInvitation(ctx, "f1", "h4", "i4", at); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UseInvitation of a hash from a refused batch: %v, want ErrNotFound", err)
	}
	steps := []struct {
		form, hash, instance string
		want                 error
	}{
		{"f1", "h1", "i1", nil},
		{"f1", "h1", "i1", nil}, // a retry of the same submission
		{"f1", "h1", "i2", store.ErrInvitationUsed},
		{"f1", "nope", "i2", store.ErrNotFound},
		{"f1", "g1", "i2", store.ErrNotFound}, // another form's token
		{"f2", "h2", "i2", store.ErrNotFound},
		{"f1", "", "i2", store.ErrNotFound},
		{"f1", "h2", "i2", nil},
		{"f1", "h2", "i1", store.ErrInvitationUsed},
		{"f1", "h2", "i2", nil},
	}
	for _, s := range steps {
		err := st.UseInvitation(ctx, s.form, s.hash, s.instance, at.Add(time.Minute))
		if (s.want == nil && err != nil) || (s.want != nil && !errors.Is(err, s.want)) {
			t.Errorf("UseInvitation(%s, %s, %s) = %v, want %v", s.form, s.hash, s.instance, err, s.want)
		}
	}
	for _, c := range []struct {
		form string
		want store.InvitationCounts
	}{
		{"f1", store.InvitationCounts{Total: 3, Used: 2}},
		{"f2", store.InvitationCounts{Total: 1, Used: 0}},
		{"none", store.InvitationCounts{}},
	} {
		got, err := st.InvitationCounts(ctx, c.form)
		if err != nil || got != c.want {
			t.Errorf("InvitationCounts(%s) = %+v, %v; want %+v", c.form, got, err, c.want)
		}
	}
}

// testInvitationRace spends each token from several submissions at once:
// exactly one may win each, and its retry still succeeds.
func testInvitationRace(t *testing.T, st store.Store) {
	ctx := t.Context()
	const tokens, racers = 4, 6
	var hashes []string
	for i := range tokens {
		hashes = append(hashes, fmt.Sprintf("race-%d", i))
	}
	if err := st.AddInvitations(ctx, "race", hashes, base); err != nil {
		t.Fatal(err)
	}
	winners := make([][]string, tokens)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, h := range hashes {
		for r := range racers {
			wg.Go(func() {
				id := fmt.Sprintf("t%d-r%d", i, r)
				err := st.UseInvitation(ctx, "race", h, id, base)
				switch {
				case err == nil:
					mu.Lock()
					winners[i] = append(winners[i], id)
					mu.Unlock()
				case !errors.Is(err, store.ErrInvitationUsed):
					t.Errorf("UseInvitation %s by %s: %v", h, id, err)
				}
			})
		}
	}
	wg.Wait()
	for i, w := range winners {
		if len(w) != 1 {
			t.Errorf("token %s spent by %v, want exactly one", hashes[i], w)
			continue
		}
		if err := st.UseInvitation(ctx, "race", hashes[i], w[0], base); err != nil {
			t.Errorf("the winner's retry: %v", err)
		}
	}
	if c, err := st.InvitationCounts(ctx, "race"); err != nil || c.Used != tokens {
		t.Errorf("InvitationCounts = %+v, %v; want %d used", c, err, tokens)
	}
}

// QuotaCount is how many quota slots of field=value the form's
// submissions hold (0: none).
func QuotaCount(t *testing.T, st store.Store, form, field, value string) int {
	t.Helper()
	cs, err := st.QuotaCounts(t.Context(), form)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Field == field && c.Value == value {
			return c.N
		}
	}
	return 0
}

func testQuotas(t *testing.T, st store.Store) {
	ctx := t.Context()
	male := store.Quota{Field: "gender", Value: "male", Limit: 2}
	young := store.Quota{Field: "age_band", Value: "a12_18", Limit: 1}
	take := func(id string, qs ...store.Quota) int {
		t.Helper()
		full, err := st.TakeQuotas(ctx, "f1", id, qs)
		if err != nil {
			t.Fatalf("TakeQuotas %s: %v", id, err)
		}
		return full
	}
	if full := take("i1", male, young); full != -1 {
		t.Fatalf("i1: quota %d full, want none", full)
	}
	if full := take("i1", male, young); full != -1 {
		t.Fatalf("i1 again: quota %d full, want none (its slots are held)", full)
	}
	// young is full: i2 takes neither slot, male's included.
	if full := take("i2", male, young); full != 1 {
		t.Fatalf("i2: full = %d, want 1 (age_band)", full)
	}
	if n := QuotaCount(t, st, "f1", "gender", "male"); n != 1 {
		t.Errorf("gender=male after a refused submission: %d, want 1", n)
	}
	if full := take("i2", male); full != -1 {
		t.Fatalf("i2 male only: full = %d", full)
	}
	if full := take("i3", young, male); full != 0 {
		t.Fatalf("i3: full = %d, want 0 (its first quota, age_band)", full)
	}
	if full := take("i3", male); full != 0 {
		t.Fatalf("i3 male: full = %d, want 0", full)
	}
	// Another form's quota of the same name is its own.
	if full, err := st.TakeQuotas(ctx, "f2", "i3", []store.Quota{male}); err != nil || full != -1 {
		t.Fatalf("f2: %d, %v", full, err)
	}
	want := []store.QuotaCount{{Field: "age_band", Value: "a12_18", N: 1}, {Field: "gender", Value: "male", N: 2}}
	if got, err := st.QuotaCounts(ctx, "f1"); err != nil || !slices.Equal(got, want) {
		t.Errorf("QuotaCounts = %+v, %v; want %+v", got, err, want)
	}
	// Withdrawing i1 frees its two slots, once.
	for i, wantFreed := range []int{2, 0} {
		if n, err := st.ReleaseQuotas(ctx, "f1", "i1"); err != nil || n != wantFreed {
			t.Errorf("ReleaseQuotas #%d = %d, %v; want %d", i+1, n, err, wantFreed)
		}
	}
	if n := QuotaCount(t, st, "f1", "gender", "male"); n != 1 {
		t.Errorf("gender=male after release: %d, want 1", n)
	}
	if full := take("i3", young, male); full != -1 {
		t.Fatalf("i3 after the release: full = %d, want none", full)
	}
	if n, err := st.ReleaseQuotas(ctx, "f1", "nobody"); err != nil || n != 0 {
		t.Errorf("ReleaseQuotas of an instance without slots = %d, %v", n, err)
	}
	if full := take("i4", store.Quota{Field: "gender", Value: "female", Limit: 0}); full != 0 {
		t.Errorf("a quota of 0: full = %d, want 0", full)
	}
	if _, err := st.TakeQuotas(ctx, "f1", "i5", []store.Quota{{Field: "gender", Value: "x", Limit: -1}}); err == nil {
		t.Error("a negative limit was taken")
	}
}

// testQuotaRace has more submissions than slots take one quota at once,
// each also retrying itself: exactly the limit win, once each.
func testQuotaRace(t *testing.T, st store.Store) {
	ctx := t.Context()
	const limit, racers = 5, 16
	q := []store.Quota{{Field: "gender", Value: "male", Limit: limit}}
	// Two slots are gone before the race, so it is for the last three.
	for _, id := range []string{"early1", "early2"} {
		if full, err := st.TakeQuotas(ctx, "qrace", id, q); err != nil || full != -1 {
			t.Fatalf("TakeQuotas %s = %d, %v", id, full, err)
		}
	}
	var mu sync.Mutex
	won := map[string]int{}
	var wg sync.WaitGroup
	for r := range racers {
		for range 2 { // the submission and its simultaneous retry
			wg.Go(func() {
				id := fmt.Sprintf("r%d", r)
				full, err := st.TakeQuotas(ctx, "qrace", id, q)
				if err != nil {
					t.Errorf("TakeQuotas %s: %v", id, err)
					return
				}
				if full == -1 {
					mu.Lock()
					won[id]++
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if len(won) != limit-2 {
		t.Errorf("%d submissions won a slot (%v), want %d", len(won), won, limit-2)
	}
	if n := QuotaCount(t, st, "qrace", "gender", "male"); n != limit {
		t.Errorf("gender=male count = %d, want %d", n, limit)
	}
}

// testStaleQuotas: a slot whose submission was never stored goes back once
// it is older than the grace period; a stored submission's slot, and a
// fresh one, stay. The store stamps claims with its clock, so now is
// injected relative to the moment the claims were taken.
func testStaleQuotas(t *testing.T, st store.Store) {
	ctx := t.Context()
	const grace = 10 * time.Minute
	male := store.Quota{Field: "gender", Value: "male", Limit: 2}
	young := store.Quota{Field: "age_band", Value: "a12_18", Limit: 5}
	take := func(id string, qs ...store.Quota) int {
		t.Helper()
		full, err := st.TakeQuotas(ctx, "stale", id, qs)
		if err != nil {
			t.Fatalf("TakeQuotas %s: %v", id, err)
		}
		return full
	}
	release := func(step string, now time.Time, want int) {
		t.Helper()
		if n, err := st.ReleaseStaleQuotas(ctx, now, grace); err != nil || n != want {
			t.Errorf("%s: ReleaseStaleQuotas = %d, %v; want %d", step, n, err, want)
		}
	}
	counts := func(step string, want ...store.QuotaCount) {
		t.Helper()
		if got, err := st.QuotaCounts(ctx, "stale"); err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: QuotaCounts = %+v, %v; want %+v", step, got, err, want)
		}
	}
	// lost never reaches the store; kept does.
	if take("lost", male, young) != -1 || take("kept", male, young) != -1 {
		t.Fatal("taking the first slots: a quota is full")
	}
	fv := mustAddForm(t, st, formVersion("stale", "h1"))
	mustAdd(t, st, []store.Response{response("stale", fv.Revision, "kept", base)})
	taken := time.Now()

	release("fresh claims", taken, 0)
	counts("after fresh claims", store.QuotaCount{Field: "age_band", Value: "a12_18", N: 2}, store.QuotaCount{Field: "gender", Value: "male", N: 2})

	later := taken.Add(grace + time.Minute)
	release("past the grace", later, 2) // lost's two slots
	counts("after past the grace", store.QuotaCount{Field: "age_band", Value: "a12_18", N: 1}, store.QuotaCount{Field: "gender", Value: "male", N: 1})
	release("again", later, 0)

	// The freed slot is usable again; a fresh claim without a response
	// stays, and the quota is full again.
	if full := take("fresh", male); full != -1 {
		t.Fatalf("fresh: full = %d, want none (lost's slot was freed)", full)
	}
	if full := take("late", male); full != 0 {
		t.Fatalf("late: full = %d, want 0 (gender=male)", full)
	}
	release("a fresh claim", time.Now(), 0)
	counts("after a fresh claim", store.QuotaCount{Field: "age_band", Value: "a12_18", N: 1}, store.QuotaCount{Field: "gender", Value: "male", N: 2})
	// A freed claim is gone for ReleaseQuotas too: nothing is freed twice.
	if n, err := st.ReleaseQuotas(ctx, "stale", "lost"); err != nil || n != 0 {
		t.Errorf("ReleaseQuotas of a reconciled instance = %d, %v; want 0", n, err)
	}
	if _, err := st.ReleaseStaleQuotas(ctx, time.Now(), -time.Second); err == nil {
		t.Error("a negative grace was accepted")
	}
}

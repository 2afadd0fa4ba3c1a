package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/store"
)

// The contract of what package security keeps: sealed parts, accounts,
// sessions, tokens, the audit log and the keys.

func testWithdrawErasesSealed(t *testing.T, st store.Store) {
	ctx := t.Context()
	mustAddForm(t, st, formVersion("f", "h1"))
	r := webResponse("f", "x", base)
	r.Sealed = []byte("ciphertext of x")
	mustAdd(t, st, []store.Response{r})
	got, err := st.WithdrawResponse(ctx, "R-x")
	if err != nil {
		t.Fatal(err)
	}
	if got.Sealed != nil {
		t.Errorf("WithdrawResponse returned Sealed %q", got.Sealed)
	}
	read, err := st.Response(ctx, "f", "x")
	if err != nil {
		t.Fatal(err)
	}
	if read.Sealed != nil || len(read.Answers) != 0 {
		t.Errorf("withdrawn response keeps sealed %q, answers %q", read.Sealed, read.Answers)
	}
}

func testEraseSealed(t *testing.T, st store.Store) {
	ctx := t.Context()
	mustAddForm(t, st, formVersion("f", "h1"))
	mustAddForm(t, st, formVersion("g", "h1"))
	var rs []store.Response
	for i, id := range []string{"old1", "old2", "new"} {
		r := response("f", 1, id, base.Add(time.Duration(i)*time.Hour))
		r.Sealed = []byte("sealed " + id)
		rs = append(rs, r)
	}
	other := response("g", 1, "old-g", base)
	other.Sealed = []byte("sealed g")
	rs = append(rs, other)
	mustAdd(t, st, rs)

	cut := base.Add(90 * time.Minute) // after old1 and old2, before new
	n, err := st.EraseSealed(ctx, "f", cut)
	if err != nil || n != 2 {
		t.Fatalf("EraseSealed = %d, %v; want 2", n, err)
	}
	for _, tt := range []struct {
		form, id string
		erased   bool
	}{{"f", "old1", true}, {"f", "old2", true}, {"f", "new", false}, {"g", "old-g", false}} {
		got, err := st.Response(ctx, tt.form, tt.id)
		if err != nil {
			t.Fatal(err)
		}
		erased := got.Sealed == nil && got.Client == ""
		if erased != tt.erased {
			t.Errorf("%s/%s: sealed %q, client %q; erased = %v, want %v", tt.form, tt.id, got.Sealed, got.Client, erased, tt.erased)
		}
		if len(got.Answers) == 0 {
			t.Errorf("%s/%s: EraseSealed erased the de-identified answers", tt.form, tt.id)
		}
	}
	// Running it again finds nothing left to erase.
	if n, err := st.EraseSealed(ctx, "f", cut); err != nil || n != 0 {
		t.Errorf("second EraseSealed = %d, %v; want 0", n, err)
	}
}

func testReplaceSecret(t *testing.T, st store.Store) {
	ctx := t.Context()
	if err := st.ReplaceSecret(ctx, "keyring", []byte("a"), []byte("b")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReplaceSecret of a missing secret = %v, want ErrNotFound", err)
	}
	if _, err := st.LookupSecret(ctx, "keyring"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LookupSecret of a missing secret = %v, want ErrNotFound", err)
	}
	if _, err := st.Secret(ctx, "keyring", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if got, err := st.LookupSecret(ctx, "keyring"); err != nil || string(got) != "v1" {
		t.Errorf("LookupSecret = %q, %v; want v1", got, err)
	}
	if err := st.ReplaceSecret(ctx, "keyring", []byte("v1"), []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if err := st.ReplaceSecret(ctx, "keyring", []byte("v1"), []byte("v3")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("ReplaceSecret from a stale value = %v, want ErrConflict", err)
	}
	if got, err := st.Secret(ctx, "keyring", []byte("ignored")); err != nil || string(got) != "v2" {
		t.Errorf("secret after replacing = %q, %v; want v2", got, err)
	}

	// Of several nodes replacing the same value at once, exactly one wins.
	const n = 5
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = st.ReplaceSecret(ctx, "keyring", []byte("v2"), []byte(fmt.Sprint("node", i))) })
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("node %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent replacements succeeded, want 1", won)
	}

	if err := st.DeleteSecret(ctx, "keyring"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteSecret(ctx, "keyring"); err != nil {
		t.Errorf("deleting a missing secret: %v", err)
	}
	if got, err := st.Secret(ctx, "keyring", []byte("fresh")); err != nil || string(got) != "fresh" {
		t.Errorf("secret after deleting = %q, %v; want the new value", got, err)
	}
}

func testUsers(t *testing.T, st store.Store) {
	ctx := t.Context()
	if _, err := st.User(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("User(nobody) = %v, want ErrNotFound", err)
	}
	before := time.Now().Add(-time.Second)
	alice, err := st.AddUser(ctx, store.User{Name: "alice", PasswordHash: "$argon2id$x", Roles: []string{"analyst", "designer"}})
	if err != nil {
		t.Fatal(err)
	}
	if alice.CreatedAt.Before(before) || !alice.UpdatedAt.Equal(alice.CreatedAt) {
		t.Errorf("AddUser times: created %v, updated %v", alice.CreatedAt, alice.UpdatedAt)
	}
	if _, err := st.AddUser(ctx, store.User{Name: "alice", PasswordHash: "other"}); !errors.Is(err, store.ErrExists) {
		t.Errorf("adding alice twice = %v, want ErrExists", err)
	}
	if _, err := st.AddUser(ctx, store.User{Name: "bob", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	got, err := st.User(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got.PasswordHash != "$argon2id$x" || !slices.Equal(got.Roles, []string{"analyst", "designer"}) || got.Disabled ||
		!got.CreatedAt.Equal(alice.CreatedAt) {
		t.Errorf("User(alice) = %+v, want %+v", got, alice)
	}

	got.Roles, got.Disabled, got.PasswordHash = []string{"data_officer"}, true, "$argon2id$y"
	updated, err := st.UpdateUser(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	if !updated.Disabled || updated.PasswordHash != "$argon2id$y" || !slices.Equal(updated.Roles, []string{"data_officer"}) ||
		!updated.CreatedAt.Equal(alice.CreatedAt) || updated.UpdatedAt.Before(alice.UpdatedAt) {
		t.Errorf("UpdateUser = %+v", updated)
	}
	if _, err := st.UpdateUser(ctx, store.User{Name: "carol", PasswordHash: "h"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("updating a missing user = %v, want ErrNotFound", err)
	}
	// A user without roles reads back without roles.
	bob, err := st.User(ctx, "bob")
	if err != nil || len(bob.Roles) != 0 {
		t.Errorf("User(bob) = %+v, %v", bob, err)
	}
	all, err := st.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range all {
		names = append(names, u.Name)
	}
	if !slices.Equal(names, []string{"alice", "bob"}) {
		t.Errorf("Users = %v", names)
	}
	for _, bad := range []store.User{
		{Name: "", PasswordHash: "h"},
		{Name: "x\x00", PasswordHash: "h"},
		{Name: "x", PasswordHash: "h", Roles: []string{"two words"}},
		{Name: "x", PasswordHash: "h", Roles: []string{""}},
	} {
		if _, err := st.AddUser(ctx, bad); err == nil {
			t.Errorf("AddUser(%+v) accepted", bad)
		}
	}
}

func testSessions(t *testing.T, st store.Store) {
	ctx := t.Context()
	t0 := base.UTC().Truncate(time.Microsecond)
	add := func(hash, user string, created time.Time) {
		t.Helper()
		if err := st.AddSession(ctx, store.Session{IDHash: hash, User: user, CreatedAt: created,
			LastSeen: created, ExpiresAt: created.Add(12 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	add("s1", "alice", t0)
	add("s2", "alice", t0)
	add("s3", "bob", t0.Add(-13*time.Hour)) // past its absolute expiry at t0
	add("s4", "bob", t0.Add(-time.Hour))    // idle for an hour at t0

	got, err := st.Session(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if got.User != "alice" || !got.CreatedAt.Equal(t0) || !got.ExpiresAt.Equal(t0.Add(12*time.Hour)) {
		t.Errorf("Session(s1) = %+v", got)
	}
	if _, err := st.Session(ctx, "none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Session(none) = %v, want ErrNotFound", err)
	}
	if err := st.AddSession(ctx, store.Session{IDHash: "s1", User: "mallory", CreatedAt: t0, LastSeen: t0, ExpiresAt: t0}); err == nil {
		t.Error("a second session with the same id hash was accepted")
	}

	// Touching moves LastSeen forward, never back.
	if err := st.TouchSession(ctx, "s1", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := st.TouchSession(ctx, "s1", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Session(ctx, "s1"); !got.LastSeen.Equal(t0.Add(time.Minute)) {
		t.Errorf("LastSeen = %v, want %v", got.LastSeen, t0.Add(time.Minute))
	}

	n, err := st.DeleteExpiredSessions(ctx, t0, 30*time.Minute)
	if err != nil || n != 2 {
		t.Errorf("DeleteExpiredSessions = %d, %v; want 2 (s3 expired, s4 idle)", n, err)
	}
	for _, h := range []string{"s3", "s4"} {
		if _, err := st.Session(ctx, h); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s survived DeleteExpiredSessions: %v", h, err)
		}
	}
	if err := st.DeleteSession(ctx, "s2"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Session(ctx, "s2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("s2 survived logout: %v", err)
	}
	add("s5", "alice", t0)
	if n, err := st.DeleteUserSessions(ctx, "alice"); err != nil || n != 2 {
		t.Errorf("DeleteUserSessions(alice) = %d, %v; want 2", n, err)
	}
}

func testAPITokens(t *testing.T, st store.Store) {
	ctx := t.Context()
	t0 := base.UTC().Truncate(time.Microsecond)
	tokens := []store.APIToken{
		{Hash: "h1", Owner: "alice", Name: "nightly export", Scopes: []string{"responses.export", "forms.read"}, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
		{Hash: "h2", Owner: "alice", Name: "", Scopes: nil, CreatedAt: t0.Add(time.Second), ExpiresAt: t0.Add(time.Hour)},
		{Hash: "h3", Owner: "bob", Name: "报表", Scopes: []string{"analysis.read"}, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
	}
	for _, tok := range tokens {
		if err := st.AddAPIToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AddAPIToken(ctx, tokens[0]); err == nil {
		t.Error("a second token with the same hash was accepted")
	}
	got, err := st.APIToken(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Owner != "alice" || got.Name != "nightly export" || !slices.Equal(got.Scopes, tokens[0].Scopes) ||
		!got.CreatedAt.Equal(t0) || !got.ExpiresAt.Equal(t0.Add(time.Hour)) || !got.RevokedAt.IsZero() {
		t.Errorf("APIToken(h1) = %+v", got)
	}
	if _, err := st.APIToken(ctx, "none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("APIToken(none) = %v, want ErrNotFound", err)
	}
	list := func(owner string) []string {
		ts, err := st.APITokens(ctx, owner)
		if err != nil {
			t.Fatal(err)
		}
		var hs []string
		for _, tok := range ts {
			hs = append(hs, tok.Hash)
		}
		return hs
	}
	if got := list("alice"); !slices.Equal(got, []string{"h1", "h2"}) {
		t.Errorf("APITokens(alice) = %v", got)
	}
	if got := list(""); !slices.Equal(got, []string{"h1", "h2", "h3"}) {
		t.Errorf("APITokens() = %v", got)
	}
	revoked := t0.Add(time.Minute)
	if err := st.RevokeAPIToken(ctx, "h1", revoked); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeAPIToken(ctx, "h1", revoked.Add(time.Hour)); err != nil {
		t.Errorf("revoking twice: %v", err)
	}
	if got, _ := st.APIToken(ctx, "h1"); !got.RevokedAt.Equal(revoked) {
		t.Errorf("RevokedAt = %v, want the first revocation %v", got.RevokedAt, revoked)
	}
	if err := st.RevokeAPIToken(ctx, "none", revoked); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoking a missing token = %v, want ErrNotFound", err)
	}
}

// link is a stand-in for security.LinkAuditEntry: the store only keeps
// what it is given, so the contract needs no real hashing.
func link(e store.AuditRecord) func(prev *store.AuditRecord) (store.AuditRecord, error) {
	return func(prev *store.AuditRecord) (store.AuditRecord, error) {
		e.Seq, e.PrevHash = 1, make([]byte, 4)
		if prev != nil {
			e.Seq, e.PrevHash = prev.Seq+1, prev.Hash
		}
		e.Hash = []byte(fmt.Sprintf("h%d", e.Seq))
		return e, nil
	}
}

func auditLog(t *testing.T, st store.Store, after int64) []store.AuditRecord {
	t.Helper()
	var out []store.AuditRecord
	if err := st.EachAudit(t.Context(), after, func(a store.AuditRecord) error {
		out = append(out, a)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func testAuditAppend(t *testing.T, st store.Store) {
	ctx := t.Context()
	if got := auditLog(t, st, 0); len(got) != 0 {
		t.Fatalf("new store has %d audit entries", len(got))
	}
	t0 := base.UTC().Truncate(time.Microsecond)
	want := []store.AuditRecord{
		{Time: t0, Actor: "alice", Action: "auth.login", Object: "user:alice", Outcome: "ok"},
		{Time: t0.Add(time.Second), Actor: "alice", Action: "responses.export", Object: "form:f", Outcome: "ok", Detail: "rows=12, purpose='调查'"},
		{Time: t0.Add(2 * time.Second), Actor: "system", Action: "retention.erase", Object: "form:f", Outcome: "failed"},
	}
	for i, e := range want {
		got, err := st.AppendAudit(ctx, link(e))
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != int64(i+1) {
			t.Errorf("entry %d stored with seq %d", i, got.Seq)
		}
	}
	got := auditLog(t, st, 0)
	if len(got) != len(want) {
		t.Fatalf("log has %d entries, want %d", len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		prev := make([]byte, 4)
		if i > 0 {
			prev = got[i-1].Hash
		}
		if g.Seq != int64(i+1) || !g.Time.Equal(w.Time) || g.Actor != w.Actor || g.Action != w.Action ||
			g.Object != w.Object || g.Outcome != w.Outcome || g.Detail != w.Detail ||
			!bytes.Equal(g.PrevHash, prev) || string(g.Hash) != fmt.Sprintf("h%d", i+1) {
			t.Errorf("entry %d = %+v, want %+v", i, g, w)
		}
	}
	if tail := auditLog(t, st, 2); len(tail) != 1 || tail[0].Seq != 3 {
		t.Errorf("EachAudit after 2 = %+v", tail)
	}

	// A link that fails stores nothing.
	boom := errors.New("boom")
	if _, err := st.AppendAudit(ctx, func(*store.AuditRecord) (store.AuditRecord, error) { return store.AuditRecord{}, boom }); !errors.Is(err, boom) {
		t.Errorf("AppendAudit with a failing link = %v", err)
	}
	// Neither does an entry with text PostgreSQL cannot keep.
	if _, err := st.AppendAudit(ctx, link(store.AuditRecord{Actor: "x\x00"})); err == nil {
		t.Error("an audit entry with a NUL byte was accepted")
	}
	if n := len(auditLog(t, st, 0)); n != 3 {
		t.Errorf("log has %d entries after refused appends, want 3", n)
	}
}

// Appends from many goroutines (several nodes) still form one chain:
// every seq once, each linked to the one before.
func testAuditAppendConcurrent(t *testing.T, st store.Store) {
	const n = 24
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = st.AppendAudit(t.Context(), link(store.AuditRecord{Time: base, Actor: fmt.Sprint("w", i), Action: "a", Outcome: "ok"}))
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := auditLog(t, st, 0)
	if len(got) != n {
		t.Fatalf("log has %d entries, want %d", len(got), n)
	}
	for i, g := range got {
		if g.Seq != int64(i+1) {
			t.Errorf("entry %d has seq %d", i, g.Seq)
		}
		if i > 0 && !bytes.Equal(g.PrevHash, got[i-1].Hash) {
			t.Errorf("entry %d is not linked to entry %d", g.Seq, got[i-1].Seq)
		}
	}
}

func testAuditCheckpoints(t *testing.T, st store.Store) {
	ctx := t.Context()
	t0 := base.UTC().Truncate(time.Microsecond)
	if cs, err := st.AuditCheckpoints(ctx); err != nil || len(cs) != 0 {
		t.Fatalf("new store: checkpoints %v, %v", cs, err)
	}
	for _, c := range []store.AuditCheckpoint{
		{Seq: 200, Time: t0.Add(time.Hour), Hash: []byte("h200"), Signature: []byte{0x30, 0x44, 0}},
		{Seq: 100, Time: t0, Hash: []byte("h100"), Signature: []byte{0x30, 0x45, 1}},
		{Seq: 100, Time: t0.Add(time.Minute), Hash: []byte("other"), Signature: []byte{9}}, // same seq: ignored
	} {
		if err := st.AddAuditCheckpoint(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := st.AuditCheckpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Seq != 100 || cs[1].Seq != 200 || string(cs[0].Hash) != "h100" ||
		!bytes.Equal(cs[0].Signature, []byte{0x30, 0x45, 1}) || !cs[0].Time.Equal(t0) {
		t.Errorf("AuditCheckpoints = %+v", cs)
	}
}

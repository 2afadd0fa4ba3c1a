package security_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// clock is a settable time for sessions and throttling.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fastHasher keeps tests quick: the cheapest argon2id the hasher allows.
func fastHasher(t testing.TB) *security.PasswordHasher {
	t.Helper()
	h, err := security.NewPasswordHasher(security.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func newAccounts(t *testing.T, st store.Store, c *clock) (*security.Accounts, *security.AuditLog) {
	t.Helper()
	log := security.NewAuditLog(st, nil, security.AuditOptions{Now: c.Now})
	a, err := security.NewAccounts(st, security.AccountOptions{
		Hasher: fastHasher(t), Audit: log, Now: c.Now,
		Throttle: security.NewMemoryThrottle(security.DefaultThrottlePolicy(), c.Now),
	})
	if err != nil {
		t.Fatal(err)
	}
	return a, log
}

// audited returns the log as "actor action object outcome detail" lines.
func audited(t *testing.T, st store.Store) []string {
	t.Helper()
	entries, _, err := security.ReadAudit(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSpace(strings.Join([]string{e.Actor, e.Action, e.Object, e.Outcome, e.Detail}, " ")))
	}
	return out
}

const goodPassword = "Correct-Horse-7"

func TestAccountsLogin(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			st := b.Open(t)
			c := &clock{t: time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC)}
			a, _ := newAccounts(t, st, c)

			if err := a.AddUser(ctx, "cli:root", "Alice", nil, goodPassword); !errors.Is(err, security.ErrBadUserName) {
				t.Errorf("upper-case name: %v", err)
			}
			if err := a.AddUser(ctx, "cli:root", "alice", []security.Role{security.RoleAnalyst}, "short"); !errors.Is(err, security.ErrWeakPassword) {
				t.Errorf("weak password: %v", err)
			}
			if err := a.AddUser(ctx, "cli:root", "alice", []security.Role{security.RoleAnalyst}, goodPassword); err != nil {
				t.Fatal(err)
			}
			if err := a.AddUser(ctx, "cli:root", "alice", nil, goodPassword); !errors.Is(err, store.ErrExists) {
				t.Errorf("adding alice twice: %v", err)
			}
			u, _ := st.User(ctx, "alice")
			if strings.Contains(u.PasswordHash, goodPassword) || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
				t.Errorf("stored hash %q", u.PasswordHash)
			}

			for _, bad := range []struct{ name, pw string }{{"alice", "wrong-password-1"}, {"nobody", goodPassword}} {
				if _, _, err := a.Login(ctx, bad.name, bad.pw, "client1"); !errors.Is(err, security.ErrLoginFailed) {
					t.Errorf("Login(%s) = %v, want ErrLoginFailed", bad.name, err)
				}
			}
			id, p, err := a.Login(ctx, " ALICE ", goodPassword, "client1")
			if err != nil {
				t.Fatal(err)
			}
			if p.User != "alice" || !p.Can(security.PermAnalysisRead) || p.Can(security.PermResponsesReadPersonal) {
				t.Errorf("principal %+v", p)
			}
			if strings.Contains(strings.Join(audited(t, st), "\n"), goodPassword) {
				t.Error("a password reached the audit log")
			}
			// The session id is not stored.
			if _, err := st.Session(ctx, id); !errors.Is(err, store.ErrNotFound) {
				t.Error("the session id itself is a key in the store")
			}

			got, err := a.Session(ctx, id)
			if err != nil || got.User != "alice" {
				t.Fatalf("Session = %+v, %v", got, err)
			}
			// Idle expiry: 29 minutes apart keeps it, 30 ends it.
			c.Add(29 * time.Minute)
			if _, err := a.Session(ctx, id); err != nil {
				t.Errorf("after 29 idle minutes: %v", err)
			}
			c.Add(30 * time.Minute)
			if _, err := a.Session(ctx, id); !errors.Is(err, security.ErrNoSession) {
				t.Errorf("after 30 idle minutes: %v, want ErrNoSession", err)
			}
			// Absolute expiry, however active.
			id, _, err = a.Login(ctx, "alice", goodPassword, "client1")
			if err != nil {
				t.Fatal(err)
			}
			for range 12 * 4 {
				c.Add(15 * time.Minute)
				if _, err := a.Session(ctx, id); err != nil {
					break
				}
			}
			if _, err := a.Session(ctx, id); !errors.Is(err, security.ErrNoSession) {
				t.Errorf("after 12 hours: %v, want ErrNoSession", err)
			}

			// Logout, password change and disabling end sessions.
			id, p, _ = a.Login(ctx, "alice", goodPassword, "client1")
			if err := a.Logout(ctx, id, p); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Session(ctx, id); !errors.Is(err, security.ErrNoSession) {
				t.Errorf("after logout: %v", err)
			}
			id, _, _ = a.Login(ctx, "alice", goodPassword, "client1")
			if err := a.SetPassword(ctx, "alice", "alice", "Another-Horse-8"); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Session(ctx, id); !errors.Is(err, security.ErrNoSession) {
				t.Errorf("after a password change: %v", err)
			}
			id, _, err = a.Login(ctx, "alice", "Another-Horse-8", "client1")
			if err != nil {
				t.Fatal(err)
			}
			if err := a.SetDisabled(ctx, "cli:root", "alice", true); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Session(ctx, id); !errors.Is(err, security.ErrNoSession) {
				t.Errorf("after disabling: %v", err)
			}
			if _, _, err := a.Login(ctx, "alice", "Another-Horse-8", "client1"); !errors.Is(err, security.ErrLoginFailed) {
				t.Errorf("disabled login: %v", err)
			}

			log := strings.Join(audited(t, st), "\n")
			for _, want := range []string{
				"cli:root users.change user:alice ok add roles=analyst",
				"cli:root users.change user:alice failed add: exists",
				"alice auth.login user:alice failed wrong password",
				"anonymous auth.login user:? failed unknown user",
				"alice auth.login user:alice ok",
				"alice auth.logout user:alice ok",
				"alice users.change user:alice ok password",
				"cli:root users.change user:alice ok disable",
				"alice auth.login user:alice failed disabled",
			} {
				if !strings.Contains(log, want) {
					t.Errorf("audit log lacks %q:\n%s", want, log)
				}
			}
			if strings.Contains(log, "nobody") {
				t.Error("an unknown user name reached the audit log")
			}
		})
	}
}

func TestAccountsThrottle(t *testing.T) {
	ctx := t.Context()
	st := storetest.OpenSQLite(t)
	c := &clock{t: time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC)}
	a, _ := newAccounts(t, st, c)
	if err := a.AddUser(ctx, "cli:root", "bob", []security.Role{security.RoleAuditor}, goodPassword); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, _, err := a.Login(ctx, "bob", "wrong-password-9", "attacker"); !errors.Is(err, security.ErrLoginFailed) {
			t.Fatalf("failure: %v", err)
		}
	}
	c.Add(time.Millisecond)
	// After three failures even the right password waits, from there…
	var th *security.ThrottledError
	if _, _, err := a.Login(ctx, "bob", "wrong-password-9", "attacker"); !errors.Is(err, security.ErrLoginFailed) {
		t.Fatalf("fourth failure: %v", err)
	}
	if _, _, err := a.Login(ctx, "bob", goodPassword, "attacker"); !errors.As(err, &th) || th.Wait <= 0 {
		t.Fatalf("login while throttled = %v, want a ThrottledError", err)
	}
	// …but not from another client.
	if _, _, err := a.Login(ctx, "bob", goodPassword, "colleague"); err != nil {
		t.Errorf("login from another client: %v", err)
	}
	c.Add(th.Wait)
	if _, _, err := a.Login(ctx, "bob", goodPassword, "attacker"); err != nil {
		t.Errorf("login after waiting: %v", err)
	}
	if !strings.Contains(strings.Join(audited(t, st), "\n"), "bob auth.login user:bob denied throttled") {
		t.Error("the throttled attempt is not audited")
	}
}

func TestAccountsTokens(t *testing.T) {
	ctx := t.Context()
	st := storetest.OpenSQLite(t)
	c := &clock{t: time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC)}
	a, _ := newAccounts(t, st, c)
	if err := a.AddUser(ctx, "cli:root", "carol", []security.Role{security.RoleDataOfficer, security.RoleAnalyst}, goodPassword); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.NewToken(ctx, "carol", "carol", "x", []security.Permission{security.PermUsersManage}, time.Hour); err == nil {
		t.Error("a token with a scope the owner lacks was made")
	}
	secret, tok, err := a.NewToken(ctx, "carol", "carol", "nightly", []security.Permission{security.PermResponsesExportPersonal, security.PermFormsRead}, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if stored, _ := st.APIToken(ctx, tok.Hash); stored.Owner != "carol" || strings.Contains(stored.Hash, secret) {
		t.Errorf("stored token %+v", stored)
	}
	p, err := a.Token(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Can(security.PermResponsesExportPersonal) || p.Can(security.PermAnalysisRead) {
		t.Errorf("token principal: export_personal %v, analysis %v; want true, false (not in scope)",
			p.Can(security.PermResponsesExportPersonal), p.Can(security.PermAnalysisRead))
	}
	// Demotion disarms the token at once.
	if err := a.SetRoles(ctx, "cli:root", "carol", []security.Role{security.RoleAnalyst}); err != nil {
		t.Fatal(err)
	}
	if p, err := a.Token(ctx, secret); err != nil || p.Can(security.PermResponsesExportPersonal) {
		t.Errorf("after demotion: can export personal = %v, %v", p.Can(security.PermResponsesExportPersonal), err)
	}
	c.Add(25 * time.Hour)
	if _, err := a.Token(ctx, secret); !errors.Is(err, security.ErrTokenExpired) {
		t.Errorf("expired token: %v", err)
	}
	secret2, tok2, err := a.NewToken(ctx, "carol", "carol", "", []security.Permission{security.PermFormsRead}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.RevokeToken(ctx, "carol", "carol", tok2.Hash[:10]); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Token(ctx, secret2); !errors.Is(err, security.ErrTokenRevoked) {
		t.Errorf("revoked token: %v", err)
	}
	for _, bad := range []string{"", "gst_short", "Bearer x", secret2[:len(secret2)-1] + "a"} {
		if _, err := a.Token(ctx, bad); err == nil {
			t.Errorf("Token(%q) accepted", bad)
		}
	}
	log := strings.Join(audited(t, st), "\n")
	if strings.Contains(log, secret) || strings.Contains(log, secret2) {
		t.Error("a token reached the audit log")
	}
	if !strings.Contains(log, "tokens.create") || !strings.Contains(log, "tokens.revoke") {
		t.Errorf("token changes not audited:\n%s", log)
	}
}

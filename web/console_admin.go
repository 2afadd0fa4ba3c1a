package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// Administration: users and roles, API tokens, the audit log and the
// keyring's state. Account changes go through security.Accounts, which
// checks them and writes the audit log itself.

// userRow is one account as the users page shows it.
type userRow struct {
	Name     string
	Roles    []string
	Disabled bool
	Created  string
}

// roleBox is one role checkbox of a user's form.
type roleBox struct {
	Role    string
	Checked bool
}

func (u userRow) Boxes() []roleBox {
	var out []roleBox
	for _, r := range security.Roles() {
		out = append(out, roleBox{Role: string(r), Checked: slices.Contains(u.Roles, string(r))})
	}
	return out
}

func (s *Server) usersData(r *http.Request, p security.Principal) (map[string]any, error) {
	us, err := s.accounts.Users(r.Context())
	if err != nil {
		return nil, err
	}
	rows := make([]userRow, len(us))
	for i, u := range us {
		rows[i] = userRow{Name: u.Name, Roles: u.Roles, Disabled: u.Disabled, Created: u.CreatedAt.In(chinaTime).Format("2006-01-02")}
	}
	data := s.consoleData(r, p)
	data["Users"] = rows
	data["AllRoles"] = userRow{}.Boxes()
	return data, nil
}

// consoleUsers serves GET /console/admin/users.
func (s *Server) consoleUsers(w http.ResponseWriter, r *http.Request, p security.Principal) {
	s.showPage(w, r, p, "console_users.html", s.usersData,
		doneNotice{"added", "user_added"}, doneNotice{"changed", "user_changed"})
}

// rolesOf reads the posted role checkboxes.
func rolesOf(r *http.Request) ([]security.Role, error) {
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	var out []security.Role
	for _, v := range r.PostForm["role"] {
		role, err := security.ParseRole(v)
		if err != nil {
			return nil, err
		}
		out = append(out, role)
	}
	return out, nil
}

// adminProblem shows the users page again with the problem (422).
func (s *Server) adminProblem(w http.ResponseWriter, r *http.Request, p security.Principal, err error) {
	s.showAnswer(w, r, p, "console_users.html", s.usersData, err, nil)
}

// refused answers a change security.Accounts did not make: a failure of
// the store or the audit log is 500, a refusal shows page again (422).
func (s *Server) refused(w http.ResponseWriter, r *http.Request, p security.Principal, page string, load pageLoader, err error) {
	if isServerError(err) {
		s.fail(w, r, err)
		return
	}
	s.showAnswer(w, r, p, page, load, err, nil)
}

// consoleAddUser serves POST /console/admin/users.
func (s *Server) consoleAddUser(w http.ResponseWriter, r *http.Request, p security.Principal) {
	roles, err := rolesOf(r)
	if err != nil {
		s.adminProblem(w, r, p, err)
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if err := s.accounts.AddUser(r.Context(), actor(p), name, roles, r.PostFormValue("password")); err != nil {
		s.refused(w, r, p, "console_users.html", s.usersData, err)
		return
	}
	redirectDone(w, r, "/console/admin/users", "added", name)
}

// isServerError tells a store or audit failure (500) from a refused
// input that security reports as a plain error (422).
func isServerError(err error) bool {
	return strings.Contains(err.Error(), "store:") && !errors.Is(err, store.ErrExists) && !errors.Is(err, store.ErrNotFound) ||
		strings.Contains(err.Error(), "security: audit")
}

// consoleSetRoles serves POST /console/admin/users/{user}/roles.
func (s *Server) consoleSetRoles(w http.ResponseWriter, r *http.Request, p security.Principal) {
	roles, err := rolesOf(r)
	if err != nil {
		s.adminProblem(w, r, p, err)
		return
	}
	name := r.PathValue("user")
	if err := s.accounts.SetRoles(r.Context(), actor(p), name, roles); err != nil {
		s.refused(w, r, p, "console_users.html", s.usersData, err)
		return
	}
	redirectDone(w, r, "/console/admin/users", "changed", name)
}

// consoleSetDisabled serves POST /console/admin/users/{user}/disabled
// (disabled=1 or 0).
func (s *Server) consoleSetDisabled(w http.ResponseWriter, r *http.Request, p security.Principal) {
	name := r.PathValue("user")
	disabled := r.PostFormValue("disabled") == "1"
	if disabled && name == p.User {
		s.adminProblem(w, r, p, errors.New("you cannot disable your own account"))
		return
	}
	if err := s.accounts.SetDisabled(r.Context(), actor(p), name, disabled); err != nil {
		s.refused(w, r, p, "console_users.html", s.usersData, err)
		return
	}
	redirectDone(w, r, "/console/admin/users", "changed", name)
}

// tokenRow is one token as the tokens page lists it.
type tokenRow struct {
	ID, Owner, Name, Scopes, Created, Expires string
	Revoked, Expired                          bool
}

func (s *Server) tokensData(r *http.Request, p security.Principal) (map[string]any, error) {
	ts, err := s.accounts.Tokens(r.Context(), "")
	if err != nil {
		return nil, err
	}
	us, err := s.accounts.Users(r.Context())
	if err != nil {
		return nil, err
	}
	now := time.Now()
	rows := make([]tokenRow, len(ts))
	for i, t := range ts {
		scopes := make([]string, len(t.Scopes))
		for j, sc := range t.Scopes {
			scopes[j] = string(sc)
		}
		rows[i] = tokenRow{ID: t.Hash[:16], Owner: t.Owner, Name: t.Name, Scopes: strings.Join(scopes, ", "),
			Created: t.Created.In(chinaTime).Format("2006-01-02"), Expires: t.Expires.In(chinaTime).Format("2006-01-02"),
			Revoked: !t.Revoked.IsZero(), Expired: !t.Expires.After(now)}
	}
	var owners []string
	for _, u := range us {
		if !u.Disabled {
			owners = append(owners, u.Name)
		}
	}
	var perms []string
	for _, pm := range security.Permissions() {
		perms = append(perms, string(pm))
	}
	data := s.consoleData(r, p)
	data["Tokens"], data["Owners"], data["Perms"] = rows, owners, perms
	return data, nil
}

// consoleTokens serves GET /console/admin/tokens.
func (s *Server) consoleTokens(w http.ResponseWriter, r *http.Request, p security.Principal) {
	s.showPage(w, r, p, "console_tokens.html", s.tokensData, doneNotice{"revoked", "token_revoked"})
}

// consoleNewToken serves POST /console/admin/tokens: the secret is shown
// on the answer page, once, and never stored.
func (s *Server) consoleNewToken(w http.ResponseWriter, r *http.Request, p security.Principal) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, err)
		return
	}
	var scopes []security.Permission
	var problem error
	for _, v := range r.PostForm["scope"] {
		pm, err := security.ParsePermission(v)
		if err != nil {
			problem = err
		}
		scopes = append(scopes, pm)
	}
	days, err := strconv.Atoi(r.PostFormValue("days"))
	if err != nil || days < 1 || days > 366 {
		problem = errors.New("the token's lifetime is 1 to 366 days")
	}
	var secret string
	if problem == nil {
		secret, _, problem = s.accounts.NewToken(r.Context(), actor(p), r.PostFormValue("owner"), strings.TrimSpace(r.PostFormValue("name")),
			scopes, time.Duration(days)*24*time.Hour)
		if problem != nil && isServerError(problem) {
			s.fail(w, r, problem)
			return
		}
	}
	s.showAnswer(w, r, p, "console_tokens.html", s.tokensData, problem, map[string]any{"Secret": secret})
}

// consoleRevokeToken serves POST /console/admin/tokens/{token}/revoke
// with the owner in the form.
func (s *Server) consoleRevokeToken(w http.ResponseWriter, r *http.Request, p security.Principal) {
	id := r.PathValue("token")
	if _, err := s.accounts.RevokeToken(r.Context(), actor(p), r.PostFormValue("owner"), id); err != nil {
		s.refused(w, r, p, "console_tokens.html", s.tokensData, err)
		return
	}
	redirectDone(w, r, "/console/admin/tokens", "revoked", id)
}

// auditPage is how many entries one page of the audit viewer shows.
const auditPage = 50

// auditRow is one entry as the viewer shows it.
type auditRow struct {
	Seq                                          int64
	Time, Actor, Action, Object, Outcome, Detail string
}

// consoleAudit serves GET /console/admin/audit: newest first, filtered by
// actor (?user=, exact) and action (?action=, exact), a page of entries
// older than ?before= at a time, and the chain verification.
func (s *Server) consoleAudit(w http.ResponseWriter, r *http.Request, p security.Principal) {
	q := r.URL.Query()
	user, action := strings.TrimSpace(q.Get("user")), strings.TrimSpace(q.Get("action"))
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	// One pass over the log in seq order, keeping the last auditPage
	// matches below the cursor: memory stays at one page.
	ring := make([]auditRow, 0, auditPage)
	matches := 0
	actions := map[string]bool{}
	err := s.st.EachAudit(r.Context(), 0, func(e store.AuditRecord) error {
		actions[e.Action] = true
		if user != "" && e.Actor != user && !strings.HasPrefix(e.Actor, user+" (token ") || action != "" && e.Action != action {
			return nil
		}
		matches++
		if before > 0 && e.Seq >= before {
			return nil
		}
		row := auditRow{Seq: e.Seq, Time: e.Time.In(chinaTime).Format("2006-01-02 15:04:05"), Actor: e.Actor,
			Action: e.Action, Object: e.Object, Outcome: e.Outcome, Detail: e.Detail}
		if len(ring) == auditPage {
			copy(ring, ring[1:])
			ring = ring[:auditPage-1]
		}
		ring = append(ring, row)
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	slices.Reverse(ring)
	data := s.consoleData(r, p)
	T := data["T"].(map[string]string)
	data["Entries"], data["FilterUser"], data["FilterAction"] = ring, user, action
	data["Actions"] = slices.Sorted(func(yield func(string) bool) {
		for a := range actions {
			if !yield(a) {
				return
			}
		}
	})
	data["Matches"] = fmt.Sprintf(T["audit_matches"], matches)
	if len(ring) == auditPage {
		v := url.Values{"lang": {lang(r)}, "before": {strconv.FormatInt(ring[len(ring)-1].Seq, 10)}}
		if user != "" {
			v.Set("user", user)
		}
		if action != "" {
			v.Set("action", action)
		}
		data["Older"] = "/console/admin/audit?" + v.Encode()
	}
	data["Paged"] = before > 0

	var keys []*security.AuditVerifier
	if s.auditKey != nil {
		keys = append(keys, s.auditKey)
	}
	rep, err := security.VerifyAudit(r.Context(), s.st, keys...)
	var ce *security.ChainError
	switch {
	case errors.As(err, &ce):
		var problems []string
		for _, pr := range ce.Problems {
			problems = append(problems, pr.String())
		}
		data["ChainProblems"] = problems
	case err != nil:
		s.fail(w, r, err)
		return
	default:
		data["ChainOK"] = fmt.Sprintf(T["chain_ok"], rep.Entries, rep.Checkpoints, rep.LastSeq)
		if rep.Unsigned > 0 {
			data["ChainUnsigned"] = fmt.Sprintf(T["chain_unsigned"], rep.Unsigned)
		}
	}
	s.render(w, r, "console_audit.html", data)
}

// keyRow is one data key as the keys page lists it.
type keyRow struct {
	ID      uint32
	Created string
	Current bool
}

// consoleKeys serves GET /console/admin/keys: what `govsurvey keys
// status` prints, for the keyring this node has loaded.
func (s *Server) consoleKeys(w http.ResponseWriter, r *http.Request, p security.Principal) {
	data := s.consoleData(r, p)
	if s.sealing != nil && s.sealing.Sealer() != nil {
		kr := s.sealing.Sealer().Keyring()
		data["Check"] = kr.MasterCheckValue()
		var rows []keyRow
		for _, k := range kr.Keys() {
			rows = append(rows, keyRow{ID: k.ID, Created: k.Created.In(chinaTime).Format("2006-01-02 15:04"), Current: k.Current})
		}
		data["Keys"] = rows
	}
	data["AuditKey"] = s.auditKey != nil
	s.render(w, r, "console_keys.html", data)
}

package collect

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

func TestInvitationRequired(t *testing.T) {
	tests := []struct {
		value   string
		want    bool
		wantErr bool
	}{
		{"required", true, false},
		{"Required ", true, false},
		{"yes", true, false},
		{"none", false, false},
		{"", false, false},
		{"maybe", false, true},
	}
	for _, tt := range tests {
		got, err := InvitationRequired(webformWith(t, "invitation", tt.value))
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("invitation %q: %v, %v; want %v, error %v", tt.value, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestNewInvitationToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok := NewInvitationToken()
		if len(tok) != 26 || strings.Trim(tok, "abcdefghijklmnopqrstuvwxyz234567") != "" {
			t.Fatalf("token %q: want 26 lower-case base32 characters", tok)
		}
		if seen[tok] {
			t.Fatalf("token %q made twice", tok)
		}
		seen[tok] = true
		if h := InvitationHash(tok); len(h) != 64 || strings.Contains(h, tok) {
			t.Fatalf("hash %q of %q", h, tok)
		}
	}
}

func isInvitation(code string) func(error) bool {
	return func(err error) bool {
		var ie *InvitationError
		return errors.As(err, &ie) && ie.Code == code
	}
}

func TestSubmitInvitations(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			st := b.Open(t)
			if _, err := CreateInvitations(ctx, st, "webform", 2); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("invitations of a missing form: %v", err)
			}
			addTestForm(t, st, "invitation=required")
			tokens, err := CreateInvitations(ctx, st, "webform", 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(tokens) != 3 || tokens[0] == tokens[1] {
				t.Fatalf("tokens %v", tokens)
			}
			// Only hashes are stored: the token itself is no key.
			if err := st.UseInvitation(ctx, "webform", tokens[2], "x", time.Now()); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the raw token found in the store: %v", err)
			}
			c := newCollector(t, st, Options{})
			sub := func(id, token string) Submission {
				s := submission(t, id)
				s.Token = token
				return s
			}
			first, err := c.Submit(ctx, "webform", sub("i1", tokens[0]), Meta{})
			if err != nil || !first.Created {
				t.Fatalf("i1: %+v, %v", first, err)
			}
			steps := []struct {
				s    Submission
				want func(error) bool // nil: accepted
			}{
				{sub("i1", tokens[0]), nil}, // the retry
				{sub("i1", ""), nil},        // a retry of a stored instance needs no token
				{sub("i2", tokens[0]), isInvitation("invitation_used")},
				{sub("i2", ""), isInvitation("invitation_required")},
				{sub("i2", "nosuchtoken"), isInvitation("invitation_invalid")},
				{sub("i2", strings.Repeat("a", 500)), isInvitation("invitation_invalid")},
				{sub("i2", " "+tokens[1]+" "), nil},
				{sub("i3", tokens[1]), isInvitation("invitation_used")},
			}
			for _, s := range steps {
				rc, err := c.Submit(ctx, "webform", s.s, Meta{})
				switch {
				case s.want == nil && err != nil:
					t.Errorf("%s with %q: %v", s.s.InstanceID, s.s.Token, err)
				case s.want != nil && !s.want(err):
					t.Errorf("%s with %q: %+v, %v; want refused", s.s.InstanceID, s.s.Token, rc, err)
				}
			}
			if rc, _ := c.Submit(ctx, "webform", sub("i1", tokens[0]), Meta{}); rc.Receipt != first.Receipt || rc.Created {
				t.Errorf("retry: %+v, want the first receipt", rc)
			}
			if n, _ := st.CountResponses(ctx, "webform"); n != 2 {
				t.Errorf("%d responses, want 2", n)
			}
			if ic, err := st.InvitationCounts(ctx, "webform"); err != nil || ic != (store.InvitationCounts{Total: 3, Used: 2}) {
				t.Errorf("InvitationCounts = %+v, %v", ic, err)
			}
			_, err = c.Submit(ctx, "webform", sub("i9", tokens[0]), Meta{})
			var ie *InvitationError
			if !errors.As(err, &ie) || !strings.Contains(ie.Message(), "已被使用") || !strings.Contains(ie.Message(), "already been used") {
				t.Errorf("used token message: %v", err)
			}
		})
	}
}

// A form that needs no invitation ignores a token.
func TestSubmitTokenIgnored(t *testing.T) {
	st := storetest.OpenSQLite(t)
	addTestForm(t, st)
	c := newCollector(t, st, Options{})
	s := submission(t, "o1")
	s.Token = "whatever"
	if rc, err := c.Submit(t.Context(), "webform", s, Meta{}); err != nil || !rc.Created {
		t.Errorf("open form with a token: %+v, %v", rc, err)
	}
}

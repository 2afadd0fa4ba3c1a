package collect

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// Invitations: a form whose XLSForm settings sheet has the column
// invitation = required takes submissions only with a one-time token, made
// by CreateInvitations and sent to each invitee as a link /f/{form}?t=TOKEN.
// The store keeps only the SM3 hash of a token; a token is spent on the
// first submission that carries it, and a retry of that submission (same
// instance_id) still succeeds.

// invitationBytes is the randomness of a token: 128 bits, far beyond
// guessing even by someone who tries a token per request for years.
const invitationBytes = 16

var invitationEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewInvitationToken returns a fresh token: 26 lower-case base32
// characters, safe in a URL and easy to read back from a printed letter.
func NewInvitationToken() string {
	b := make([]byte, invitationBytes)
	rand.Read(b) // never fails (crypto/rand panics rather than return an error)
	return invitationEncoding.EncodeToString(b)
}

// InvitationHash is what the store keeps of a token: hex SM3. A plain hash
// is enough because the token is random: nothing smaller than the token
// itself can be guessed from it.
func InvitationHash(token string) string {
	sum := sm3.Sum([]byte(token))
	return hex.EncodeToString(sum[:])
}

// maxTokenLen bounds a token taken from a request before it is hashed.
const maxTokenLen = 64

// InvitationRequired tells whether f takes submissions only with an
// invitation token: settings column invitation, "required" (or yes, true,
// 1); empty, "none", no, false or 0 is an open form.
func InvitationRequired(f *form.Form) (bool, error) {
	col, v := f.Setting("invitation")
	switch strings.ToLower(v) {
	case "required", "yes", "true", "1":
		return true, nil
	case "", "none", "no", "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("collect: form %s: %w", f.ID, f.NewSettingError(col, fmt.Errorf("%q: write required or none", v)))
}

// MaxInvitations bounds the tokens CreateInvitations makes at once.
const MaxInvitations = 100000

// CreateInvitations makes n tokens for formID, stores their hashes, and
// returns the tokens, which exist nowhere else: the caller must hand them
// out (or lose them). The form must exist.
func CreateInvitations(ctx context.Context, st store.Store, formID string, n int) ([]string, error) {
	if n < 1 || n > MaxInvitations {
		return nil, fmt.Errorf("collect: invitations: n must be between 1 and %d", MaxInvitations)
	}
	if _, err := st.Form(ctx, formID); err != nil {
		return nil, err
	}
	tokens := make([]string, n)
	hashes := make([]string, n)
	for i := range tokens {
		tokens[i] = NewInvitationToken()
		hashes[i] = InvitationHash(tokens[i])
	}
	if err := st.AddInvitations(ctx, formID, hashes, time.Now()); err != nil {
		return nil, fmt.Errorf("collect: invitations of %s: %w", formID, err)
	}
	return tokens, nil
}

// InvitationError refuses a submission of an invitation-only form (HTTP
// 403): Code is invitation_required (no token), invitation_invalid (not a
// token of this form) or invitation_used (spent on another submission).
type InvitationError struct {
	FormID string
	Code   string
}

func (e *InvitationError) Error() string {
	return fmt.Sprintf("collect: form %s: %s", e.FormID, e.Code)
}

// invitationMessages are the messages, Chinese then English.
var invitationMessages = map[string][2]string{
	"invitation_required": {"本问卷仅限受邀者填写，请使用邀请链接打开。", "This survey is by invitation only; please open it with your invitation link."},
	"invitation_invalid":  {"邀请链接无效，请核对链接。", "The invitation link is not valid; please check it."},
	"invitation_used":     {"此邀请链接已被使用，每个链接只能提交一次。", "This invitation link has already been used; each link can be submitted once."},
}

// Message says what is wrong in both languages: an API client may not
// have said which it reads, and a respondent must understand it.
func (e *InvitationError) Message() string {
	m := invitationMessages[e.Code]
	return m[0] + " " + m[1]
}

// MessageIn says it in lang alone ("zh" or "en"), for the web page.
func (e *InvitationError) MessageIn(lang string) string {
	m := invitationMessages[e.Code]
	if lang == "en" {
		return m[1]
	}
	return m[0]
}

// useInvitation spends token on the submission id of formID.
func (c *Collector) useInvitation(ctx context.Context, formID, id, token string) error {
	token = strings.TrimSpace(token)
	if token == "" {
		return &InvitationError{FormID: formID, Code: "invitation_required"}
	}
	if len(token) > maxTokenLen {
		return &InvitationError{FormID: formID, Code: "invitation_invalid"}
	}
	err := c.st.UseInvitation(ctx, formID, InvitationHash(token), id, c.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &InvitationError{FormID: formID, Code: "invitation_invalid"}
	case errors.Is(err, store.ErrInvitationUsed):
		return &InvitationError{FormID: formID, Code: "invitation_used"}
	}
	return err
}

package collect

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
)

// ActionInvitations is the audit action of making invitations, by
// `govsurvey invite` and the console alike; the detail is "n=N", never a
// token.
const ActionInvitations = "invitations.create"

// InvitationLink is the link an invitee opens: base, the server's public
// address (e.g. https://survey.example.org; "" for a path alone), then
// /f/{form}?t={token}.
func InvitationLink(base, formID, token string) string {
	return strings.TrimRight(base, "/") + "/f/" + url.PathEscape(formID) + "?t=" + url.QueryEscape(token)
}

// WriteInvitationsCSV writes tokens as the CSV handed to whoever sends
// the invitations: a header n,token,link, then one numbered row per token
// with its link (InvitationLink with base).
func WriteInvitationsCSV(w io.Writer, base, formID string, tokens []string) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"n", "token", "link"})
	for i, t := range tokens {
		cw.Write([]string{strconv.Itoa(i + 1), t, InvitationLink(base, formID, t)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("collect: writing invitations of %s: %w", formID, err)
	}
	return nil
}

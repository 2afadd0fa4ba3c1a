package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/govsurvey/govsurvey/security"
)

const userUsage = `usage: govsurvey user add NAME --role ROLE[,ROLE] [--generate-password]
       govsurvey user passwd NAME [--generate-password]
       govsurvey user roles NAME --role ROLE[,ROLE]
       govsurvey user disable NAME | user enable NAME
       govsurvey user list
       govsurvey user token add NAME --scope PERM[,PERM] [--ttl 720h] [--label TEXT]
       govsurvey user token list [NAME]
       govsurvey user token revoke NAME TOKEN-ID
A password is read from the terminal (asked twice), or from the first line of
standard input when it is piped, or generated and printed once.`

// cmdUser manages staff accounts. Every change is audited, as the
// operating-system user running the command.
func cmdUser(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("%s", userUsage)
	}
	switch args[0] {
	case "add", "passwd", "roles", "disable", "enable", "list":
	case "token":
		return userToken(ctx, a, args[1:])
	default:
		return usagef("unknown user subcommand %q\n%s", args[0], userUsage)
	}
	sub := args[0]
	fs := a.newFlags("user " + sub)
	roles := fs.String("role", "", "roles, comma separated: "+roleList())
	generate := fs.Bool("generate-password", false, "generate a password and print it once")
	pos, err := a.parse(fs, args[1:])
	if err != nil {
		return err
	}
	if sub == "list" {
		if len(pos) > 0 {
			return usagef("%s", userUsage)
		}
	} else if len(pos) != 1 {
		return usagef("%s", userUsage)
	}
	st, accounts, err := a.openAccounts(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "list":
		return userList(ctx, a, accounts)
	case "add", "roles":
		rs, err := parseRoles(*roles)
		if err != nil {
			return err
		}
		if sub == "roles" {
			if err := accounts.SetRoles(ctx, st.actor, pos[0], rs); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "user %s now has roles %s\n", pos[0], *roles)
			return nil
		}
		if err := security.CheckUserName(pos[0]); err != nil {
			return err
		}
		pw, err := a.password(pos[0], *generate)
		if err != nil {
			return err
		}
		if err := accounts.AddUser(ctx, st.actor, pos[0], rs, pw); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "user %s added with roles %s\n", pos[0], *roles)
	case "passwd":
		pw, err := a.password(pos[0], *generate)
		if err != nil {
			return err
		}
		if err := accounts.SetPassword(ctx, st.actor, pos[0], pw); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "password of %s changed; their sessions are ended\n", pos[0])
	case "disable", "enable":
		if err := accounts.SetDisabled(ctx, st.actor, pos[0], sub == "disable"); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "user %s %sd\n", pos[0], sub)
	}
	return nil
}

func roleList() string {
	var names []string
	for _, r := range security.Roles() {
		names = append(names, string(r))
	}
	return strings.Join(names, ", ")
}

func parseRoles(s string) ([]security.Role, error) {
	if strings.TrimSpace(s) == "" {
		return nil, usagef("--role is required: %s", roleList())
	}
	var rs []security.Role
	for _, part := range strings.Split(s, ",") {
		r, err := security.ParseRole(strings.TrimSpace(part))
		if err != nil {
			return nil, usagef("unknown role %q (%s)", part, roleList())
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// openAccounts opens the store with its keys and the accounts over it.
func (a *app) openAccounts(ctx context.Context) (*secureStore, *security.Accounts, error) {
	st, err := a.openSecure(ctx)
	if err != nil {
		return nil, nil, err
	}
	accounts, err := security.NewAccounts(st, security.AccountOptions{Audit: st.audit})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, accounts, nil
}

// password reads a new password for account: generated, from the
// terminal (twice), or the first line of piped standard input.
func (a *app) password(account string, generate bool) (string, error) {
	if generate {
		pw := generatePassword(account)
		fmt.Fprintf(a.stdout, "generated password for %s (shown once): %s\n", account, pw)
		return pw, nil
	}
	if f, ok := a.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(a.stderr, "password for %s: ", account)
		first, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(a.stderr, "again: ")
		second, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", err
		}
		if string(first) != string(second) {
			return "", errors.New("the passwords differ")
		}
		return string(first), nil
	}
	line, err := bufio.NewReader(io.LimitReader(a.stdin, security.MaxPasswordLen+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password given: type it on a terminal, pipe it on standard input, or use --generate-password")
	}
	return line, nil
}

// generatePassword returns 20 characters from a 56-letter alphabet without
// look-alikes (about 115 bits), drawn again in the rare case that one
// character class is missing and the policy would refuse it.
func generatePassword(account string) string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	for {
		b := make([]byte, 20)
		rand.Read(b)
		for i := range b {
			// 256 is not a multiple of the alphabet's size; the bias costs
			// a fraction of a bit.
			b[i] = alphabet[int(b[i])%len(alphabet)]
		}
		if security.CheckPasswordStrength(string(b), account) == nil {
			return string(b)
		}
	}
}

func userList(ctx context.Context, a *app, accounts *security.Accounts) error {
	us, err := accounts.Users(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "user\troles\tstatus\tchanged")
	for _, u := range us {
		status := "active"
		if u.Disabled {
			status = "disabled"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", u.Name, strings.Join(u.Roles, ","), status, u.UpdatedAt.Format(time.RFC3339))
	}
	return w.Flush()
}

func userToken(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("%s", userUsage)
	}
	sub := args[0]
	fs := a.newFlags("user token " + sub)
	scopes := fs.String("scope", "", "permissions, comma separated (see SECURITY.md)")
	ttl := fs.Duration("ttl", 30*24*time.Hour, "lifetime (at most 366 days)")
	label := fs.String("label", "", "what the token is for")
	pos, err := a.parse(fs, args[1:])
	if err != nil {
		return err
	}
	switch {
	case sub == "add" && len(pos) == 1, sub == "list" && len(pos) <= 1, sub == "revoke" && len(pos) == 2:
	default:
		return usagef("%s", userUsage)
	}
	st, accounts, err := a.openAccounts(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "add":
		var perms []security.Permission
		for _, s := range strings.Split(*scopes, ",") {
			p, err := security.ParsePermission(strings.TrimSpace(s))
			if err != nil {
				return usagef("--scope: %v", err)
			}
			perms = append(perms, p)
		}
		secret, tok, err := accounts.NewToken(ctx, st.actor, pos[0], *label, perms, *ttl)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "token %s for %s, expires %s (shown once):\n%s\n", tok.Hash[:12], tok.Owner, tok.Expires.Format(time.RFC3339), secret)
	case "list":
		owner := ""
		if len(pos) == 1 {
			owner = pos[0]
		}
		ts, err := accounts.Tokens(ctx, owner)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "id\towner\tlabel\tscopes\texpires\tstatus")
		now := time.Now()
		for _, t := range ts {
			status := "valid"
			switch {
			case !t.Revoked.IsZero():
				status = "revoked"
			case !now.Before(t.Expires):
				status = "expired"
			}
			var sc []string
			for _, p := range t.Scopes {
				sc = append(sc, string(p))
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Hash[:12], t.Owner, t.Name, strings.Join(sc, ","), t.Expires.Format(time.RFC3339), status)
		}
		return w.Flush()
	case "revoke":
		t, err := accounts.RevokeToken(ctx, st.actor, pos[0], pos[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "token %s of %s revoked\n", t.Hash[:12], t.Owner)
	}
	return nil
}

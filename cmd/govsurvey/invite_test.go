package main

import (
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/store"
)

const inviteForm = `# invited

| survey |
|        | type          | name   | label  | required |
|        | select_one yn | agree  | Agree? | yes      |

| choices |
|         | list_name | name | label |
|         | yn        | yes  | Yes   |
|         | yn        | no   | No    |

| settings |
|          | form_id | version | invitation |
|          | invited | 1       | required   |
`

func TestInvite(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "gs.db")
	src := filepath.Join(dir, "invited.md")
	if err := os.WriteFile(src, []byte(inviteForm), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "form", "add", "--db", db, src); code != 0 {
		t.Fatalf("form add: exit %d: %s", code, errs)
	}
	out := filepath.Join(dir, "tokens.csv")
	refusals := []struct {
		name string
		args []string
		code int
	}{
		{"no form", []string{"invite", "--db", db, "--n", "3"}, 2},
		{"no n", []string{"invite", "--db", db, "--form", "invited"}, 2},
		{"too many", []string{"invite", "--db", db, "--form", "invited", "--n", "100001"}, 2},
		{"bad base", []string{"invite", "--db", db, "--form", "invited", "--n", "1", "--base-url", "ftp://x"}, 2},
		{"unknown form", []string{"invite", "--db", db, "--form", "nope", "--n", "1", "--out", out}, 1},
	}
	for _, r := range refusals {
		if code, _, errs := runCLI(t, r.args...); code != r.code {
			t.Errorf("%s: exit %d, want %d (%s)", r.name, code, r.code, errs)
		}
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused run left %s: %v", out, err)
	}

	code, _, errs := runCLI(t, "invite", "--db", db, "--form", "invited", "--n", "3", "--out", out, "--base-url", "https://survey.example.org/")
	if code != 0 {
		t.Fatalf("invite: exit %d: %s", code, errs)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600 (it holds the tokens)", out, fi.Mode().Perm())
	}
	rows := readCSV(t, out)
	if len(rows) != 4 || strings.Join(rows[0], ",") != "n,token,link" {
		t.Fatalf("CSV %v", rows)
	}
	seen := map[string]bool{}
	var tokens []string
	for _, row := range rows[1:] {
		tok := row[1]
		if len(tok) < 26 || seen[tok] {
			t.Errorf("token %q: too short or repeated", tok)
		}
		seen[tok] = true
		tokens = append(tokens, tok)
		if want := "https://survey.example.org/f/invited?t=" + tok; row[2] != want {
			t.Errorf("link %q, want %q", row[2], want)
		}
	}
	// A second run never overwrites the file (it holds the only copy of
	// the first tokens) and stores nothing.
	if code, _, _ := runCLI(t, "invite", "--db", db, "--form", "invited", "--n", "2", "--out", out); code != 1 {
		t.Errorf("invite over an existing file: exit %d, want 1", code)
	}
	// Standard output works too, with relative links.
	code, stdout, errs := runCLI(t, "invite", "--db", db, "--form", "invited", "--n", "1")
	if code != 0 || !strings.Contains(stdout, "/f/invited?t=") || strings.Contains(stdout, "https://") {
		t.Errorf("invite to stdout: exit %d, %q, %s", code, stdout, errs)
	}

	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if c, err := st.InvitationCounts(t.Context(), "invited"); err != nil || c != (store.InvitationCounts{Total: 4}) {
		t.Errorf("InvitationCounts = %+v, %v; want 4 unused", c, err)
	}
	// The store has the hashes, not the tokens.
	if err := st.UseInvitation(t.Context(), "invited", tokens[0], "x1", time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("raw token as a stored key: %v", err)
	}
	if err := st.UseInvitation(t.Context(), "invited", collect.InvitationHash(tokens[0]), "x1", time.Now()); err != nil {
		t.Errorf("the token's hash: %v", err)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// settingsForm writes testdata/settings_form.md with one more settings
// column into dir and returns its path.
func settingsForm(t *testing.T, dir, header, value string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/settings_form.md")
	if err != nil {
		t.Fatal(err)
	}
	md := strings.Replace(string(b), "| form_id | version |", "| form_id | version | "+header+" |", 1)
	md = strings.Replace(md, "| small   | 1       |", "| small   | 1       | "+value+" |", 1)
	if md == string(b) {
		t.Fatal("settings_form.md no longer has the settings row the test fills in")
	}
	path := filepath.Join(dir, "settings_form.md")
	if err := os.WriteFile(path, []byte(md), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Every settings column a platform package reads is checked by form check
// and form add, not first when that package runs (a form that quietly
// refuses every submission, a cleaning run that fails).
func TestFormCheckRefusesBadSettings(t *testing.T) {
	tests := []struct{ header, value string }{
		{"open_at", "2019-13-01"},
		{"Close At", "next week"},
		{"invitation", "maybe"},
		{"quotas", "sex=m"},
		{"quotas", "sex=x:5"},
		{"speeding_ratio", "1.5"},
		{"honeypot_rule", "maybe"},
		{"burst_window", "soon"},
		{"nets", "sex.any"},
		{"Nets", "sex.any=m+x"},
		{"retention_days", "0"},
		{"Retention Days", "thirty"},
	}
	for _, tt := range tests {
		t.Run(tt.header+"="+tt.value, func(t *testing.T) {
			dir := t.TempDir()
			path := settingsForm(t, dir, tt.header, tt.value)
			code, out, errs := runCLI(t, "form", "check", path)
			if code != 1 {
				t.Fatalf("form check: exit %d, want 1; stdout %q stderr %q", code, out, errs)
			}
			want := path + ": settings!2: column " + tt.header + ": "
			if !strings.Contains(errs, want) {
				t.Errorf("stderr %q lacks %q", errs, want)
			}
			db := "sqlite:" + filepath.Join(dir, "gs.db")
			code, _, errs = runCLI(t, "form", "add", path, "--db", db)
			if code != 1 || !strings.Contains(errs, want) {
				t.Errorf("form add: exit %d, stderr %q; want 1 and %q", code, errs, want)
			}
			code, out, errs = runCLI(t, "form", "list", "--db", db)
			if code != 0 || strings.Contains(out, "small") {
				t.Errorf("form list after a refused add: exit %d, stdout %q, stderr %q", code, out, errs)
			}
		})
	}
}

func TestFormCheckAcceptsGoodSettings(t *testing.T) {
	for _, s := range []struct{ header, value string }{
		{"", ""},
		{"Retention Days", "30"},
		{"NETS", "sex.all=m+f"},
		{"quotas", "sex=m:10; sex=f:10"},
		{"Open At", "2019-07-01 08:00"},
	} {
		t.Run(s.header, func(t *testing.T) {
			path := settingsForm(t, t.TempDir(), s.header, s.value)
			if code, out, errs := runCLI(t, "form", "check", path); code != 0 || !strings.Contains(out, "ok") {
				t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
			}
		})
	}
}

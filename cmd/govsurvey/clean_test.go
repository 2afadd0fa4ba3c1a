package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/sample"
)

// TestClean registers the netizen instrument, imports 1/100 of the seed
// report's data (1,895 collected, 1,721 valid, the defects known), cleans
// it, and overrides one flag.
func TestClean(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "govsurvey.db")
	plan := seedPlan(t, "netizen_2019")
	f := importWave(t, dir, db, "netizen_2019", "netizen_2019", plan)
	var speeder string
	byReason := map[string]int{}
	if err := plan.Generate(f, func(r sample.Response) error {
		for _, c := range r.Reasons {
			byReason[c]++
		}
		if speeder == "" && len(r.Reasons) == 1 && r.Reasons[0] == "speeding" {
			speeder = r.InstanceID
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	code, table, errs := runCLI(t, "clean", "--db", db, "--form", "netizen_2019")
	if code != 0 {
		t.Fatalf("clean: exit %d: %s", code, errs)
	}
	for _, want := range []string{`collected\s+1895`, `valid\s+1721`, `invalid\s+174`, `duplicate\s+\d+`, `speeding\s+\d+`,
		`consistency:teen_degree\s+\d+`, `several reasons\s+\d+`} {
		if !regexp.MustCompile(`(?m)^\s*` + want + `\s*$`).MatchString(table) {
			t.Errorf("table lacks a line %q:\n%s", want, table)
		}
	}

	var fun struct {
		Collected       int            `json:"collected"`
		Valid           int            `json:"valid"`
		InvalidByReason map[string]int `json:"invalid_by_reason"`
		OverriddenValid int            `json:"overridden_valid"`
	}
	cleanJSON := func() {
		t.Helper()
		code, js, errs := runCLI(t, "clean", "--db", db, "--form", "netizen_2019", "--format", "json")
		if code != 0 {
			t.Fatalf("clean --format json: exit %d: %s", code, errs)
		}
		if err := json.Unmarshal([]byte(js), &fun); err != nil {
			t.Fatalf("%v: %s", err, js)
		}
	}
	cleanJSON()
	if fun.Collected != 1895 || fun.Valid != 1721 {
		t.Errorf("json: collected %d, valid %d; want 1895, 1721", fun.Collected, fun.Valid)
	}
	for r, n := range byReason {
		if fun.InvalidByReason[r] != n {
			t.Errorf("json: %s = %d, want %d injected", r, fun.InvalidByReason[r], n)
		}
	}

	code, msg, errs := runCLI(t, "clean", "override", "--db", db, "--form", "netizen_2019", "--instance", speeder,
		"--valid", "--note", "paper questionnaire, times typed in later", "--actor", "analyst")
	if code != 0 || !strings.Contains(msg, "now valid") {
		t.Fatalf("clean override: exit %d: %s%s", code, msg, errs)
	}
	cleanJSON()
	if fun.Valid != 1722 || fun.OverriddenValid != 1 || fun.InvalidByReason["speeding"] != byReason["speeding"] {
		t.Errorf("after the override: valid %d, overridden %d, speeding %d; want 1722, 1, %d",
			fun.Valid, fun.OverriddenValid, fun.InvalidByReason["speeding"], byReason["speeding"])
	}
}

func TestCleanUsage(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "govsurvey.db")
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"clean", "--db", db}, 2, "usage: govsurvey clean --form ID"},
		{[]string{"clean", "--db", db, "--form", "f", "--format", "xml"}, 2, "unknown format"},
		{[]string{"clean", "--db", db, "--form", "nope"}, 1, `form "nope" is not registered`},
		{[]string{"clean", "override", "--db", db, "--form", "f", "--instance", "i", "--note", "n", "--actor", "a"}, 2, "--valid|--invalid"},
		{[]string{"clean", "override", "--db", db, "--form", "f", "--instance", "i", "--valid", "--invalid", "--note", "n", "--actor", "a"}, 2, "--valid|--invalid"},
		{[]string{"clean", "override", "--db", db, "--form", "f", "--instance", "i", "--valid", "--actor", "a"}, 2, "--note TEXT"},
		{[]string{"clean", "override", "--db", db, "--form", "f", "--instance", "i", "--valid", "--note", "n", "--actor", "a"}, 1, `form "f" has no response "i"`},
	}
	for _, tt := range tests {
		name := strings.Join(slices.DeleteFunc(slices.Clone(tt.args), func(s string) bool { return s == db }), " ")
		t.Run(name, func(t *testing.T) {
			code, out, errs := runCLI(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, errs)
			}
			if !strings.Contains(out+errs, tt.want) {
				t.Errorf("output %q lacks %q", out+errs, tt.want)
			}
		})
	}
}

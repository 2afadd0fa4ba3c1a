package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/sample"
)

// TestExportCleaning: 'govsurvey export' applies cleaning as the web API
// does. The data are 1/100 of the netizen seed report's (1,895 collected,
// 1,721 valid); the generator says which responses are defective and why,
// so the expected rows come from it, not from the code under test.
func TestExportCleaning(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "govsurvey.db")
	plan := seedPlan(t, "netizen_2019")
	f := importWave(t, dir, db, "netizen_2019", "netizen_2019", plan)
	reasons := map[string]string{} // instance id → the defects the generator put in
	invalidValues := 0
	if err := plan.Generate(f, func(r sample.Response) error {
		if len(r.Reasons) > 0 {
			reasons[r.InstanceID] = strings.Join(r.Reasons, " ")
		}
		if slices.Contains(r.Reasons, "invalid_value") {
			invalidValues++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	const collected, valid = 1895, 1721
	if len(reasons) != collected-valid || invalidValues == 0 {
		t.Fatalf("generator: %d defective (want %d), %d with an invalid value", len(reasons), collected-valid, invalidValues)
	}
	export := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, append([]string{"export", "--db", db, "--form", "netizen_2019"}, args...)...)
	}
	readCSV := func(path string) [][]string {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "\ufeff"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}

	// Never cleaned: an error naming both ways out; --all-responses
	// exports every response without validity columns.
	code, _, errs := export("--out", filepath.Join(dir, "refused.csv"))
	if code != 1 || !strings.Contains(errs, "govsurvey clean --form netizen_2019") || !strings.Contains(errs, "--all-responses") {
		t.Errorf("export before cleaning: exit %d, stderr %q; want 1 and a hint to clean or pass --all-responses", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "refused.csv")); !os.IsNotExist(err) {
		t.Errorf("a refused export left a file: %v", err)
	}
	raw := filepath.Join(dir, "raw.csv")
	if code, _, errs := export("--all-responses", "--out", raw); code != 0 {
		t.Fatalf("export --all-responses before cleaning: exit %d: %s", code, errs)
	}
	if recs := readCSV(raw); len(recs) != 1+collected || slices.Contains(recs[0], "valid") {
		t.Errorf("uncleaned --all-responses: %d rows, header %v; want %d rows and no valid column", len(recs)-1, recs[0], collected)
	}
	code, cb, errs := export("--format", "codebook", "--all-responses", "--out", "-")
	if code != 0 || !strings.Contains(cb, "cleaning: none applied yet") {
		t.Errorf("codebook before cleaning: exit %d %s; lacks the no-cleaning line", code, errs)
	}

	if code, _, errs := runCLI(t, "clean", "--db", db, "--form", "netizen_2019"); code != 0 {
		t.Fatalf("clean: exit %d: %s", code, errs)
	}

	t.Run("valid only", func(t *testing.T) {
		for _, format := range []string{"csv", "xlsx"} {
			path := filepath.Join(dir, "valid."+format)
			code, stdout, errs := export("--format", format, "--out", path)
			if want := fmt.Sprintf("wrote %d valid responses", valid); code != 0 || !strings.Contains(stdout, want) {
				t.Errorf("%s: exit %d, stdout %q (%s); want %q", format, code, stdout, errs, want)
			}
		}
		recs := readCSV(filepath.Join(dir, "valid.csv"))
		if len(recs) != 1+valid || slices.Contains(recs[0], "valid") {
			t.Fatalf("%d rows, header %v; want %d rows and no validity column", len(recs)-1, recs[0], valid)
		}
		for _, r := range recs[1:] {
			if why, bad := reasons[r[0]]; bad {
				t.Errorf("invalid response %s (%s) exported", r[0], why)
			}
		}
		code, stdout, errs := export("--format", "sav", "--out", filepath.Join(dir, "valid.sav"))
		if want := fmt.Sprintf("wrote %d valid responses", valid); code != 0 || !strings.Contains(stdout, want) || strings.Contains(stdout, "written as missing") {
			t.Errorf("sav: exit %d, stdout %q (%s); want %q and no invalid answer", code, stdout, errs, want)
		}
		code, cb, errs := export("--format", "codebook", "--out", "-")
		if code != 0 || !strings.Contains(cb, "only the valid responses are exported") || !strings.Contains(cb, "cleaning run: ") {
			t.Errorf("codebook: exit %d %s; lacks the valid-only and run lines", code, errs)
		}
	})

	t.Run("all responses", func(t *testing.T) {
		path := filepath.Join(dir, "all.csv")
		if code, _, errs := export("--all-responses", "--out", path); code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		recs := readCSV(path)
		h := recs[0]
		if len(recs) != 1+collected || len(h) < 2 || h[len(h)-2] != "valid" || h[len(h)-1] != "invalid_reasons" {
			t.Fatalf("%d rows, header ends %v; want %d rows and valid, invalid_reasons", len(recs)-1, h[max(0, len(h)-2):], collected)
		}
		nValid := 0
		for _, r := range recs[1:] {
			v, rs := r[len(r)-2], r[len(r)-1]
			why, bad := reasons[r[0]]
			switch {
			case !bad && v == "1" && rs == "":
				nValid++
			case bad && v == "0" && rs != "":
				// The rules may find more than the generator planted
				// (a duplicate is also fast, say): each planted reason
				// must be among them.
				for _, c := range strings.Fields(why) {
					if !slices.Contains(strings.Fields(rs), c) {
						t.Errorf("%s: reasons %q lack %q", r[0], rs, c)
					}
				}
			default:
				t.Errorf("%s: valid=%q invalid_reasons=%q, generator says %q", r[0], v, rs, why)
			}
		}
		if nValid != valid {
			t.Errorf("%d rows valid=1, want %d", nValid, valid)
		}
		// Invalid values are missing in the analyst formats, and counted.
		code, stdout, errs := export("--format", "dta", "--all-responses", "--out", filepath.Join(dir, "all.dta"))
		want := fmt.Sprintf("wrote %d responses (every stored response, with valid and invalid_reasons), ", collected)
		miss := fmt.Sprintf("; %d answers failing their question's type or choices written as missing", invalidValues)
		if code != 0 || !strings.Contains(stdout, want) || !strings.Contains(stdout, miss) {
			t.Errorf("dta: exit %d, stdout %q (%s); want %q and %q", code, stdout, errs, want, miss)
		}
		code, cb, errs := export("--format", "codebook", "--all-responses", "--out", "-")
		if code != 0 || !strings.Contains(cb, "variable valid is cleaning's verdict") || !strings.Contains(cb, "| `valid` |") {
			t.Errorf("codebook: exit %d %s; lacks the validity line or variable", code, errs)
		}
	})
}

package export

import (
	"bytes"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSAVReadByPSPP reads the .sav back with GNU PSPP, the reader the
// system-file documentation comes from: the file information (encoding,
// cases, weight), the multiple response sets, and the values through
// pspp-convert. PSPP names any problem it finds in a file as a warning.
func TestSAVReadByPSPP(t *testing.T) {
	pspp := needTool(t, "pspp")
	convert := needTool(t, "pspp-convert")
	st, fv, f := fixture(t)
	weights := map[string]float64{"r1": 2, "r2": 0.5, "r3": 1}
	path := exportFile(t, st, fv, f, Options{Format: "sav", Weights: &Weights{
		Of: func(id string) (float64, bool) { w, ok := weights[id]; return w, ok },
	}})

	dir := t.TempDir()
	syntax := filepath.Join(dir, "read.sps")
	script := "SYSFILE INFO FILE='" + path + "'.\nGET FILE='" + path + "'.\nMRSETS /DISPLAY NAME=ALL.\n"
	if err := os.WriteFile(syntax, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.csv")
	cmd := exec.Command(pspp, "-O", "format=csv", "-o", out, syntax)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pspp: %v\n%s", err, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if strings.Contains(strings.ToLower(text), "warning") || strings.Contains(strings.ToLower(text), "error") {
		t.Errorf("PSPP found problems:\n%s", text)
	}
	for _, want := range []string{
		"Encoding,UTF-8", "Cases,3", "Weight,权重", // PSPP names the weight variable by its label
		"Variables,18", "Label,混合题型测试",
		"$services,使用过的服务（多选）,Dichotomies,1,\"services_web\nservices_app\nservices_counter\nservices_phone_line\"",
		"$a_rather_long_question_name_for_,关注的话题,Dichotomies,1,\"a_rather_long_question_name_fo_1\na_rather_long_question_name_fo_2\"",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("PSPP output lacks %q:\n%s", want, text)
		}
	}

	values := filepath.Join(dir, "values.csv")
	if out, err := exec.Command(convert, path, values).CombinedOutput(); err != nil {
		t.Fatalf("pspp-convert: %v\n%s", err, out)
	}
	vf, err := os.Open(values)
	if err != nil {
		t.Fatal(err)
	}
	defer vf.Close()
	rows, err := csv.NewReader(vf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(fixtureRows) {
		t.Fatalf("pspp-convert wrote %d rows, want %d", len(rows), 1+len(fixtureRows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	// PSPP writes a missing number as a space and dates as MM/DD/YYYY.
	want := map[string][]string{
		"instance_id":         {"r1", "r2", "r3"},
		"started":             {"07/01/2019 08:00:00", "07/01/2019 09:00:00", "07/01/2019 10:00:00"},
		"gender":              {"2", " ", " "},
		"safety":              {"1", "3", "2"},
		"services_counter":    {"0", " ", "1"},
		"comment":             {"很好，继续努力", longText, "a | pipe, 'quotes' and \"double\""},
		"score":               {"7.5", " ", " "},
		"visit_date":          {"07/03/2019", " ", " "},
		"callback_at":         {"07/04/2019 02:30:00", " ", " "},
		"weight":              {"2", "0.5", "1"},
		"services_phone_line": {"0", " ", "1"},
	}
	for name, vals := range want {
		i, ok := col[name]
		if !ok {
			t.Errorf("pspp-convert output has no column %s: %q", name, rows[0])
			continue
		}
		for r, w := range vals {
			if got := strings.TrimRight(rows[r+1][i], " "); got != strings.TrimRight(w, " ") {
				t.Errorf("%s[%d] = %q, want %q", name, r, got, w)
			}
		}
	}
}

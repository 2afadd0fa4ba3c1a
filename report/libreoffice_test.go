package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/report"
	"github.com/govsurvey/govsurvey/report/charts"
)

// officeTool finds a program the LibreOffice test needs, with
// internal/browsertest's rule: skip on a developer's machine without it,
// fail in CI (CI is set), where a skip would hide a report LibreOffice
// cannot open.
func officeTool(t *testing.T, pkg string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	skipOrFailOffice(t, names[0]+" not found; install Debian's "+pkg)
	return ""
}

func skipOrFailOffice(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "" {
		t.Skip(why)
	}
	t.Fatalf("CI is set but %s", why)
}

// squash drops white space: pdftotext breaks justified lines and puts
// table cells on lines of their own.
func squash(s string) string { return strings.Join(strings.Fields(s), "") }

// TestLibreOfficeOpensOutputs is issue #8's acceptance check on the seed
// report itself: report.docx, with a chart picture for every chart,
// converts with `libreoffice --headless --convert-to pdf` and the PDF
// holds the title, the captions, the sentences and the pictures; and
// tables.xlsx opens in LibreOffice Calc with every sheet's caption, cells
// and bases as the report's tables have them.
func TestLibreOfficeOpensOutputs(t *testing.T) {
	soffice := officeTool(t, "libreoffice-writer-nogui", "libreoffice", "soffice")
	pdftotext := officeTool(t, "poppler-utils", "pdftotext")
	pdfimages := officeTool(t, "poppler-utils", "pdfimages")

	x := seedFixture(t)
	r, _ := build(t, report.Inputs{Store: x.st, Form: x.f, BaseForm: x.bf})

	// The pictures are what `govsurvey report` puts in Word: the
	// Renderer's PNGs of the figures' own chart options.
	renderer, err := charts.NewRenderer(t.Context())
	if errors.Is(err, charts.ErrNoChromium) {
		skipOrFailOffice(t, err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	images, err := r.Images(t.Context(), renderer)
	// LibreOffice runs next; Chromium need not stay up beside it.
	if cerr := renderer.Close(); cerr != nil {
		t.Error(cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	charted := 0
	for _, f := range r.Figures() {
		if f.Chart() {
			charted++
		}
	}
	if charted == 0 || len(images) != charted {
		t.Fatalf("%d pictures for %d charts", len(images), charted)
	}

	dir := t.TempDir()
	docxPath := filepath.Join(dir, "report.docx")
	xlsxPath := filepath.Join(dir, "tables.xlsx")
	var doc, book bytes.Buffer
	if err := r.DOCX(&doc, images); err != nil {
		t.Fatal(err)
	}
	if err := r.XLSX(&book); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(docxPath, doc.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(xlsxPath, book.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	// A profile of its own, so parallel runs (and a desktop LibreOffice)
	// share no lock; the conversions below run one after the other on it.
	profile := "file://" + filepath.ToSlash(filepath.Join(dir, "lo-profile"))
	env := append(os.Environ(), "HOME="+dir)
	// report/charts' aliases, as for Chromium: 宋体 and 黑体 get the Noto
	// CJK faces rather than whatever fontconfig picks.
	if _, err := os.Stat(charts.SystemFontConfig); err == nil && os.Getenv("FONTCONFIG_FILE") == "" && os.Getenv("FONTCONFIG_PATH") == "" {
		conf := filepath.Join(dir, "fonts.conf")
		if err := os.WriteFile(conf, charts.FontConfig(charts.SystemFontConfig), 0o600); err != nil {
			t.Fatal(err)
		}
		env = append(env, "FONTCONFIG_FILE="+conf)
	}
	// convert runs one conversion into a directory of its own and returns
	// that directory. The bound is for a LibreOffice that hangs (a lock,
	// a dialog): the test then fails instead of waiting for go test's.
	convert := func(t *testing.T, src, to string) string {
		t.Helper()
		out := filepath.Join(dir, strings.SplitN(to, ":", 2)[0])
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, soffice, "-env:UserInstallation="+profile,
			"--headless", "--norestore", "--convert-to", to, "--outdir", out, src)
		cmd.Env = env
		msg, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("libreoffice --convert-to %s %s: %v\n%s", to, filepath.Base(src), err, msg)
		}
		if ents, _ := os.ReadDir(out); len(ents) == 0 {
			t.Fatalf("libreoffice wrote nothing for %s:\n%s", filepath.Base(src), msg)
		}
		return out
	}

	t.Run("report.docx to pdf", func(t *testing.T) {
		pdf := filepath.Join(convert(t, docxPath, "pdf"), "report.pdf")
		txt, err := exec.CommandContext(t.Context(), pdftotext, "-enc", "UTF-8", pdf, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext: %v", err)
		}
		got := squash(string(txt))

		fig := figureNumbered(t, r, "图 2-1")
		// A sentence of the figure that states a percentage of its table,
		// both taken from the report, not written here.
		var cell report.Cell
		for _, c := range fig.Table.Rows[0] {
			if c.Num && c.Unit == "%" {
				cell = c
				break
			}
		}
		sentence := ""
		for _, s := range fig.Narrative {
			if cell.Text != "" && strings.Contains(s, cell.Text+"%") {
				sentence = s
				break
			}
		}
		if sentence == "" {
			t.Fatalf("%s: no sentence states its first percentage %q: %q", fig.Number, cell.Text, fig.Narrative)
		}
		want := []string{r.Title, fig.Caption(), sentence}
		// The base row of the figure's table, cell by cell.
		for _, row := range fig.Table.Rows {
			if row[0].Text == "基数" {
				for _, c := range row {
					want = append(want, c.Text)
				}
			}
		}
		if len(want) == 3 {
			t.Errorf("%s has no base row", fig.Number)
		}
		for _, w := range want {
			if !strings.Contains(got, squash(w)) {
				t.Errorf("PDF text lacks %q", w)
			}
		}
		// Every caption, in order: no figure lost in the conversion.
		rest := got
		for _, f := range r.Figures() {
			i := strings.Index(rest, squash(f.Caption()))
			if i < 0 {
				t.Errorf("PDF text lacks the caption %q (or has it out of order)", f.Caption())
				continue
			}
			rest = rest[i:]
		}

		list, err := exec.CommandContext(t.Context(), pdfimages, "-list", pdf).Output()
		if err != nil {
			t.Fatalf("pdfimages: %v", err)
		}
		// Two header lines, then one line per image; the type column says
		// "image", or "smask" for the alpha channel of a PNG, which is
		// not a picture of its own.
		n := 0
		for _, line := range strings.Split(string(list), "\n") {
			if f := strings.Fields(line); len(f) > 2 && f[2] == "image" {
				n++
			}
		}
		if n < len(images) {
			t.Errorf("PDF has %d images, the document %d pictures:\n%s", n, len(images), list)
		}
	})

	t.Run("tables.xlsx in Calc", func(t *testing.T) {
		// Debian's libreoffice-writer-nogui alone cannot read a workbook;
		// Calc's library sits beside the soffice program.
		prog, err := filepath.EvalSymlinks(soffice)
		if err == nil {
			_, err = os.Stat(filepath.Join(filepath.Dir(prog), "libsclo.so"))
		}
		if err != nil {
			skipOrFailOffice(t, "LibreOffice Calc is not installed; install Debian's libreoffice-calc-nogui")
		}
		// Every sheet to its own tables-<sheet>.csv (token 12 = -1), in
		// UTF-8 (76), with the cells as shown (token 9), which is what an
		// analyst sees in Calc and must equal the report's text.
		out := convert(t, xlsxPath, `csv:Text - txt - csv (StarCalc):44,34,76,1,,1033,false,true,true,false,false,-1`)
		files, err := filepath.Glob(filepath.Join(out, "tables-*.csv"))
		if err != nil {
			t.Fatal(err)
		}
		figs := r.Figures()
		if len(files) != len(figs) {
			t.Errorf("Calc wrote %d sheets, the report has %d tables", len(files), len(figs))
		}
		for _, f := range figs {
			sheet := strings.ReplaceAll(f.Number, " ", "")
			raw, err := os.ReadFile(filepath.Join(out, "tables-"+sheet+".csv"))
			if err != nil {
				t.Errorf("sheet %s: %v", sheet, err)
				continue
			}
			cr := csv.NewReader(bytes.NewReader(raw))
			cr.FieldsPerRecord = -1
			rows, err := cr.ReadAll()
			if err != nil {
				t.Errorf("sheet %s: %v", sheet, err)
				continue
			}
			cell := func(i, j int) string {
				if i < len(rows) && j < len(rows[i]) {
					return rows[i][j]
				}
				return ""
			}
			if got := cell(0, 0); got != f.Caption() {
				t.Errorf("sheet %s: A1 %q, want the caption %q", sheet, got, f.Caption())
			}
			for j, h := range f.Table.Header {
				if got := cell(2, j); got != h {
					t.Errorf("sheet %s: header %d is %q, want %q", sheet, j+1, got, h)
				}
			}
			for i, row := range f.Table.Rows {
				for j, c := range row {
					if got := cell(3+i, j); got != c.Text {
						t.Errorf("sheet %s: row %d column %d is %q, the report's table has %q", sheet, 4+i, j+1, got, c.Text)
					}
				}
			}
			// The notes, with the bases, after a blank row.
			for k, n := range f.Table.Notes {
				if got := cell(3+len(f.Table.Rows)+1+k, 0); got != n {
					t.Errorf("sheet %s: note %d is %q, want %q", sheet, k+1, got, n)
				}
			}
		}
	})
}

// figureNumbered returns the report's figure with that number.
func figureNumbered(t *testing.T, r *report.Report, number string) *report.Figure {
	t.Helper()
	for _, f := range r.Figures() {
		if f.Number == number {
			return f
		}
	}
	t.Fatalf("the report has no %s", number)
	return nil
}

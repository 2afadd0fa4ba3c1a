package main

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// reportWave registers the instrument of base under formID, imports the
// seed plan of formID at 1/100 and, when clean is set, cleans it.
func reportWave(t *testing.T, dir, db, base, formID string, clean bool) {
	t.Helper()
	importWave(t, dir, db, base, formID, seedPlan(t, formID))
	if clean {
		if code, _, errs := runCLI(t, "clean", "--db", db, "--form", formID); code != 0 {
			t.Fatalf("clean: exit %d: %s", code, errs)
		}
	}
}

// TestReport: the report of the netizen form against its 2018 wave, from
// the command line: HTML and workbook written, progress on stderr, what to
// install said when Chromium is missing; the definition written for
// editing and read back.
func TestReport(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "govsurvey.db")
	reportWave(t, dir, db, "netizen_2019", "netizen_2019", false)
	reportWave(t, dir, db, "netizen_2019", "netizen_2018", true)

	out := filepath.Join(dir, "out")
	if code, _, errs := runCLI(t, "report", "--db", db, "--form", "netizen_2019", "--out", out); code != 1 || !strings.Contains(errs, "govsurvey clean --form netizen_2019") {
		t.Fatalf("report before cleaning: exit %d, %q; want 1 and advice to clean", code, errs)
	}
	if code, _, errs := runCLI(t, "clean", "--db", db, "--form", "netizen_2019"); code != 0 {
		t.Fatalf("clean: exit %d: %s", code, errs)
	}

	t.Setenv("GOVSURVEY_CHROMIUM", filepath.Join(dir, "no-chromium"))
	code, stdout, errs := runCLI(t, "report", "--db", db, "--form", "netizen_2019", "--out", out)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errs)
	}
	for _, w := range []string{"report: 读取 netizen_2019 的问卷…", "report: 读取 netizen_2018 的问卷…", "report: 写出 report.html…", "apt-get install chromium", "report.pdf was not written"} {
		if !strings.Contains(errs, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errs)
		}
	}
	if !strings.Contains(stdout, filepath.Join(out, "report.html")) || !strings.Contains(stdout, filepath.Join(out, "tables.xlsx")) {
		t.Errorf("stdout: %s", stdout)
	}
	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"共收回问卷 1,895 份", "共有 1,721 份问卷纳入统计", "图 2-1 参与调查的公众及从业人员的性别比例", "未列入：practitioner_2019（未登记）", "较去年增加了"} {
		if !strings.Contains(string(page), w) {
			t.Errorf("report.html lacks %q", w)
		}
	}
	wb, err := excelize.OpenFile(filepath.Join(out, "tables.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(wb.GetSheetList()); n < 20 {
		t.Errorf("tables.xlsx has %d sheets", n)
	}
	wb.Close()
	if _, err := os.Stat(filepath.Join(out, "report.pdf")); err == nil {
		t.Error("report.pdf written without Chromium")
	}
	if docx, err := os.ReadFile(filepath.Join(out, "report.docx")); err != nil || !bytes.HasPrefix(docx, []byte("PK")) {
		t.Errorf("report.docx without Chromium: %v", err)
	}

	defPath := filepath.Join(dir, "netizen.json")
	if code, _, errs := runCLI(t, "report", "--db", db, "--form", "netizen_2019", "--init-definition", defPath); code != 0 {
		t.Fatalf("--init-definition: exit %d: %s", code, errs)
	}
	if code, _, errs := runCLI(t, "report", "--db", db, "--form", "netizen_2019", "--init-definition", defPath); code != 1 || !strings.Contains(errs, "not overwritten") {
		t.Errorf("--init-definition over a file: exit %d, %q", code, errs)
	}
	en := filepath.Join(dir, "en")
	code, _, errs = runCLI(t, "report", "--db", db, "--form", "netizen_2019", "--definition", defPath, "--base", "netizen_2018", "--lang", "en", "--out", en)
	if code != 0 {
		t.Fatalf("report --definition --lang en: exit %d: %s", code, errs)
	}
	// Progress follows --lang.
	if !strings.Contains(errs, "report: load netizen_2019…") || !strings.Contains(errs, "report: write report.html…") || strings.Contains(errs, "读取") {
		t.Errorf("English progress on stderr:\n%s", errs)
	}
	page, err = os.ReadFile(filepath.Join(en, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), `<html lang="en">`) || !strings.Contains(string(page), "Figure 2-1 Gender of the netizens and practitioners surveyed") {
		t.Error("English report not written from the edited definition")
	}

	for _, args := range [][]string{
		{"report", "--db", db, "--form", "netizen_2019"},
		{"report", "--db", db, "--form", "netizen_2019", "--out", out, "--lang", "fr"},
		{"report", "--db", db, "--form", "netizen_2019", "--out", out, "--init-definition", defPath},
	} {
		if code, _, errs := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d (%s), want a usage error", args, code, errs)
		}
	}
}

// TestReportPDF prints the report with headless Chromium.
func TestReportPDF(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil && os.Getenv("GOVSURVEY_CHROMIUM") == "" {
		t.Skip("Chromium not installed (apt-get install chromium)")
	}
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "govsurvey.db")
	reportWave(t, dir, db, "practitioner_2019", "practitioner_2019", true)
	out := filepath.Join(dir, "out")
	code, _, errs := runCLI(t, "report", "--db", db, "--form", "practitioner_2019", "--out", out)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errs)
	}
	docx, err := zip.OpenReader(filepath.Join(out, "report.docx"))
	if err != nil {
		t.Fatal(err)
	}
	pictures := 0
	for _, f := range docx.File {
		if strings.HasPrefix(f.Name, "word/media/") {
			pictures++
		}
	}
	docx.Close()
	if pictures < 10 {
		t.Errorf("report.docx holds %d chart pictures", pictures)
	}
	pdf, err := os.ReadFile(filepath.Join(out, "report.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(pdf), "%PDF-") || len(pdf) < 10000 {
		t.Errorf("report.pdf is %d bytes starting %q", len(pdf), pdf[:min(8, len(pdf))])
	}
}

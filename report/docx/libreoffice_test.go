package docx

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/report/charts"
)

// lookTool finds a program the conversion test needs, with
// internal/browsertest's rule: skip on a developer's machine without it,
// fail in CI (CI is set), where a skip would hide a Word file LibreOffice
// cannot open.
func lookTool(t *testing.T, pkg string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "" {
		t.Skipf("%s not found; install Debian's %s to run this test", names[0], pkg)
	}
	t.Fatalf("CI is set but %s (Debian %s) is missing", names[0], pkg)
	return ""
}

// TestLibreOfficeConverts is the acceptance check: the .docx
// converts with `libreoffice --headless --convert-to pdf`, and the PDF holds
// the heading, the Chinese body text, a table cell and both pictures. With
// report/charts' fontconfig aliases (FONTCONFIG_FILE, for this process
// only), the 宋体 body text is set in Noto Serif CJK SC and the 黑体
// headings in Noto Sans CJK SC.
func TestLibreOfficeConverts(t *testing.T) {
	soffice := lookTool(t, "libreoffice-writer-nogui", "libreoffice", "soffice")
	pdftotext := lookTool(t, "poppler-utils", "pdftotext")
	pdfimages := lookTool(t, "poppler-utils", "pdfimages")
	pdffonts := lookTool(t, "poppler-utils", "pdffonts")

	dir := t.TempDir()
	src := filepath.Join(dir, "report.docx")
	if err := os.WriteFile(src, writeDocx(t, sampleDocument(t, "zh-CN")), 0o600); err != nil {
		t.Fatal(err)
	}
	// A profile of its own, so parallel runs (and a desktop LibreOffice)
	// do not share a lock.
	profile := "file://" + filepath.ToSlash(filepath.Join(dir, "lo-profile"))
	cmd := exec.CommandContext(t.Context(), soffice, "-env:UserInstallation="+profile,
		"--headless", "--norestore", "--convert-to", "pdf", "--outdir", dir, src)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	fontsChecked := false
	if _, err := os.Stat(charts.SystemFontConfig); err == nil && os.Getenv("FONTCONFIG_FILE") == "" && os.Getenv("FONTCONFIG_PATH") == "" {
		conf := filepath.Join(dir, "fonts.conf")
		if err := os.WriteFile(conf, charts.FontConfig(charts.SystemFontConfig), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd.Env = append(cmd.Env, "FONTCONFIG_FILE="+conf)
		fontsChecked = true
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("libreoffice: %v\n%s", err, out)
	}
	pdf := filepath.Join(dir, "report.pdf")
	if _, err := os.Stat(pdf); err != nil {
		t.Fatalf("libreoffice wrote no PDF: %v\n%s", err, out)
	}

	txt, err := exec.CommandContext(t.Context(), pdftotext, "-enc", "UTF-8", pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	// pdftotext may break a justified line or put cells on separate lines;
	// compare without white space.
	squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
	got := squash(string(txt))
	for _, want := range []string{headingText, bodyText, captionText, tableCaption, cellText, "115,290", "2.1.1细分"} {
		if !strings.Contains(got, squash(want)) {
			t.Errorf("PDF text lacks %q; got:\n%s", want, txt)
		}
	}

	list, err := exec.CommandContext(t.Context(), pdfimages, "-list", pdf).Output()
	if err != nil {
		t.Fatalf("pdfimages: %v", err)
	}
	// Two header lines, then one line per image.
	if n := len(strings.Split(strings.TrimSpace(string(list)), "\n")) - 2; n != 2 {
		t.Errorf("PDF has %d images, want 2:\n%s", n, list)
	}

	if !fontsChecked {
		return
	}
	fonts, err := exec.CommandContext(t.Context(), pdffonts, pdf).Output()
	if err != nil {
		t.Fatalf("pdffonts: %v", err)
	}
	// Without the aliases, 宋体 falls to fontconfig's default for Chinese,
	// which is sans: no serif CJK face would appear at all.
	for _, want := range []string{"NotoSerifCJK", "NotoSansCJK"} {
		if !strings.Contains(string(fonts), want) {
			t.Errorf("PDF fonts lack %s (is fonts-noto-cjk installed?):\n%s", want, fonts)
		}
	}
}

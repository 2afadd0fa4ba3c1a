package report_test

import (
	"archive/zip"
	"bytes"
	"image"
	"image/png"
	"io"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/report"
)

// TestDOCX: the Word document has every caption, sentence and table, and a
// picture for every chart it is given one for.
func TestDOCX(t *testing.T) {
	x := seedFixture(t)
	r, _ := build(t, report.Inputs{Store: x.st, Form: x.f, BaseForm: x.bf})
	var pic bytes.Buffer
	if err := png.Encode(&pic, image.NewRGBA(image.Rect(0, 0, 8, 4))); err != nil {
		t.Fatal(err)
	}
	images := map[string][]byte{}
	charts := 0
	for _, f := range r.Figures() {
		if f.Chart() {
			images[f.ID] = pic.Bytes()
			charts++
		}
	}
	for _, tc := range []struct {
		name   string
		images map[string][]byte
		media  int
	}{{"with pictures", images, charts}, {"without Chromium", nil, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := r.DOCX(&buf, tc.images); err != nil {
				t.Fatal(err)
			}
			zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err != nil {
				t.Fatal(err)
			}
			media := 0
			var doc string
			for _, f := range zr.File {
				if strings.HasPrefix(f.Name, "word/media/") {
					media++
				}
				if f.Name == "word/document.xml" {
					rc, err := f.Open()
					if err != nil {
						t.Fatal(err)
					}
					b, _ := io.ReadAll(rc)
					rc.Close()
					doc = string(b)
				}
			}
			if media != tc.media {
				t.Errorf("%d pictures, want %d", media, tc.media)
			}
			for _, f := range r.Figures() {
				if !strings.Contains(doc, f.Caption()) {
					t.Errorf("document lacks the caption %q", f.Caption())
				}
				for _, s := range f.Narrative {
					if !strings.Contains(doc, s) {
						t.Errorf("document lacks %q", s)
					}
				}
			}
			if tc.images == nil && !strings.Contains(doc, "Chromium") {
				t.Error("no note that the charts need Chromium")
			}
		})
	}
}

package report

import (
	"fmt"
	"io"

	"github.com/govsurvey/govsurvey/report/docx"
)

// Chart size in Word: the PNGs of Images, 16 cm wide (A4 less margins).
const (
	wordWidthCm = 16.0
)

// DOCX writes the report as a Word document: headings, the sentences,
// every chart as a picture from images (keyed by figure ID, as Images
// returns them) with its numbered caption, and every table. A chart
// without an image (no Chromium) is left out with a note; its table stays.
func (r *Report) DOCX(w io.Writer, images map[string][]byte) error {
	lang := "zh-CN"
	if r.Lang == "en" {
		lang = "en"
	}
	d := docx.New(r.Title, lang)
	d.Heading(1, r.Title)
	d.Paragraph(r.meta())
	for _, ch := range r.Chapters {
		d.Heading(1, ch.Heading)
		for _, p := range ch.Intro {
			d.Paragraph(p)
		}
		for _, f := range ch.Figures {
			if f.Section != "" {
				d.Heading(2, f.Section)
			}
			for _, p := range f.Narrative {
				d.Paragraph(p)
			}
			rows := make([][]string, len(f.Table.Rows))
			for i, row := range f.Table.Rows {
				rows[i] = make([]string, len(row))
				for j, c := range row {
					rows[i][j] = c.Text
				}
			}
			if f.Chart() {
				if png, ok := images[f.ID]; ok {
					h := wordWidthCm * imageHeight / imageWidth
					if f.tall() {
						h = wordWidthCm * tallHeight / imageWidth
					}
					if err := d.Image(png, wordWidthCm, h, f.Caption()); err != nil {
						return fmt.Errorf("report: docx: %s: %w", f.Number, err)
					}
				} else {
					d.Paragraph(r.noImage())
				}
				d.Caption(f.Caption())
				d.Table(f.Table.Header, rows)
			} else {
				d.Caption(f.Caption())
				d.Table(f.Table.Header, rows)
			}
			for _, n := range f.Table.Notes {
				d.Paragraph(n)
			}
		}
	}
	if _, err := d.WriteTo(w); err != nil {
		return fmt.Errorf("report: docx: %w", err)
	}
	return nil
}

func (r *Report) noImage() string {
	if r.Lang == "en" {
		return "[Chart not rendered: Chromium is needed for chart pictures; the table below holds its numbers.]"
	}
	return "［图表未渲染：生成图片需要 Chromium；数据见下表。］"
}

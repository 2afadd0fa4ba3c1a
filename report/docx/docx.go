// Package docx writes Word documents (Office Open XML, .docx) with the
// standard library: the report as a Chinese government office edits and
// files it — real heading styles (so Word's navigation pane and table of
// contents work), 宋体 body text with a two-character first-line indent,
// numbered captions, bordered tables whose header repeats on every page, and
// chart pictures with alt text, on A4 paper.
//
// The fonts are named as Word names them (宋体, 黑体), for the offices that
// open the file in Word or WPS. LibreOffice on Linux has neither and asks
// fontconfig, which by default gives 宋体 a sans face; with
// FONTCONFIG_FILE pointing at report/charts.FontConfig's file, 宋体 gets
// Noto Serif CJK SC and 黑体 Noto Sans CJK SC (the LibreOffice test does
// this; no system file changes).
package docx

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image/png"
	"io"
	"strings"
)

// emuPerCm converts centimetres to the English Metric Units of DrawingML.
const emuPerCm = 360000

// maxImageCm bounds a picture's side: an A4 page is 29.7 cm tall.
const maxImageCm = 100

// Document is a Word document under construction. Add content in reading
// order, then call WriteTo once or more.
type Document struct {
	title string
	zh    bool // lang "zh-CN": Chinese typography
	body  bytes.Buffer
	media [][]byte // PNGs, word/media/image1.png …
}

// New starts a document. The title goes into the document properties (what
// Word shows under File › Info and uses as the PDF title), not into the body:
// add it with Heading if the first page should show it. lang is "zh-CN"
// (Chinese typography) or "en"; anything else is treated as "en".
func New(title, lang string) *Document {
	return &Document{title: title, zh: lang == "zh-CN"}
}

// Heading adds a heading with Word's built-in style "heading 1" to
// "heading 3". Levels outside 1..3 are clamped, since a report has no deeper
// structure and Word's navigation pane shows only these.
func (d *Document) Heading(level int, text string) {
	level = min(max(level, 1), 3)
	d.paragraph(fmt.Sprintf("Heading%d", level), "", text)
}

// Paragraph adds body text (style "Body Text": 12 pt, and for Chinese, 宋体
// with a first-line indent of two characters). A newline in text becomes a
// line break within the paragraph.
func (d *Document) Paragraph(text string) {
	d.paragraph("BodyText", "", text)
}

// Caption adds a centred caption ("图 2-1 …" below a figure, "表 2-1 …"
// above a table). The caption keeps with the next paragraph, so a table's
// caption never ends a page alone.
func (d *Document) Caption(text string) {
	d.paragraph("Caption", "", text)
}

// PageBreak starts a new page.
func (d *Document) PageBreak() {
	d.body.WriteString(`<w:p><w:r><w:br w:type="page"/></w:r></w:p>`)
}

// paragraph writes one paragraph of one style; extraPPr is added to its
// paragraph properties.
func (d *Document) paragraph(style, extraPPr, text string) {
	fmt.Fprintf(&d.body, `<w:p><w:pPr><w:pStyle w:val="%s"/>%s</w:pPr>`, style, extraPPr)
	d.runs("", text)
	d.body.WriteString(`</w:p>`)
}

// runs writes text as runs with run properties rPr, turning newlines into
// line breaks and tabs into tab characters.
func (d *Document) runs(rPr, text string) {
	for i, line := range strings.Split(text, "\n") {
		d.body.WriteString(`<w:r>`)
		d.body.WriteString(rPr)
		if i > 0 {
			d.body.WriteString(`<w:br/>`)
		}
		for j, part := range strings.Split(line, "\t") {
			if j > 0 {
				d.body.WriteString(`<w:tab/>`)
			}
			if part != "" {
				d.body.WriteString(`<w:t xml:space="preserve">`)
				escape(&d.body, part)
				d.body.WriteString(`</w:t>`)
			}
		}
		d.body.WriteString(`</w:r>`)
	}
}

// escape writes s as XML character data (also safe in an attribute value).
// Characters that XML 1.0 forbids, such as most control characters, become
// U+FFFD rather than breaking the document.
func escape(w *bytes.Buffer, s string) {
	xml.EscapeText(w, []byte(strings.ReplaceAll(s, "\r", "")))
}

// Table adds a bordered table that fills the text width. The header row is
// bold, shaded, and repeated at the top of every page the table spans; no row
// splits across pages. Short rows are padded with empty cells.
func (d *Document) Table(header []string, rows [][]string) {
	cols := len(header)
	for _, r := range rows {
		cols = max(cols, len(r))
	}
	if cols == 0 {
		return
	}
	colW := textWidthTwips / cols
	b := &d.body
	b.WriteString(`<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="5000" w:type="pct"/><w:jc w:val="center"/>`)
	// Borders also set directly: not every editor applies a table style's
	// borders.
	b.WriteString(tableBorders)
	b.WriteString(`<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" w:lastColumn="0" w:noHBand="0" w:noVBand="1"/></w:tblPr><w:tblGrid>`)
	for range cols {
		fmt.Fprintf(b, `<w:gridCol w:w="%d"/>`, colW)
	}
	b.WriteString(`</w:tblGrid>`)
	row := func(cells []string, isHeader bool) {
		b.WriteString(`<w:tr><w:trPr><w:cantSplit/>`)
		if isHeader {
			b.WriteString(`<w:tblHeader/>`)
		}
		b.WriteString(`</w:trPr>`)
		for i := range cols {
			text := ""
			if i < len(cells) {
				text = cells[i]
			}
			fmt.Fprintf(b, `<w:tc><w:tcPr><w:tcW w:w="%d" w:type="dxa"/>`, colW)
			if isHeader {
				b.WriteString(`<w:shd w:val="clear" w:color="auto" w:fill="E7E6E6"/>`)
			}
			b.WriteString(`<w:vAlign w:val="center"/></w:tcPr><w:p><w:pPr><w:pStyle w:val="TableText"/>`)
			// The first column holds labels; the others numbers.
			if i == 0 && !isHeader {
				b.WriteString(`<w:jc w:val="left"/>`)
			}
			b.WriteString(`</w:pPr>`)
			rPr := ""
			if isHeader {
				rPr = `<w:rPr><w:b/></w:rPr>`
			}
			d.runs(rPr, text)
			b.WriteString(`</w:p></w:tc>`)
		}
		b.WriteString(`</w:tr>`)
	}
	if len(header) > 0 {
		row(header, true)
	}
	for _, r := range rows {
		row(r, false)
	}
	b.WriteString(`</w:tbl>`)
	// Word needs a paragraph between two tables, and one after a table that
	// ends the document; an empty one is harmless elsewhere.
	b.WriteString(`<w:p><w:pPr><w:pStyle w:val="TableText"/></w:pPr></w:p>`)
}

const tableBorders = `<w:tblBorders>` +
	`<w:top w:val="single" w:sz="4" w:space="0" w:color="000000"/>` +
	`<w:left w:val="single" w:sz="4" w:space="0" w:color="000000"/>` +
	`<w:bottom w:val="single" w:sz="4" w:space="0" w:color="000000"/>` +
	`<w:right w:val="single" w:sz="4" w:space="0" w:color="000000"/>` +
	`<w:insideH w:val="single" w:sz="4" w:space="0" w:color="000000"/>` +
	`<w:insideV w:val="single" w:sz="4" w:space="0" w:color="000000"/>` +
	`</w:tblBorders>`

// Image adds a PNG as an inline picture in its own centred paragraph, sized
// widthCm×heightCm, with alt text for screen readers (Word's "descr"). The
// picture keeps with the next paragraph, its caption.
func (d *Document) Image(pngData []byte, widthCm, heightCm float64, alt string) error {
	if !(widthCm > 0 && heightCm > 0 && widthCm <= maxImageCm && heightCm <= maxImageCm) {
		return fmt.Errorf("docx: image size %g×%g cm out of range", widthCm, heightCm)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(pngData))
	if err != nil {
		return fmt.Errorf("docx: image is not a PNG: %w", err)
	}
	if cfg.Width == 0 || cfg.Height == 0 {
		return errors.New("docx: image is empty")
	}
	d.media = append(d.media, bytes.Clone(pngData))
	n := len(d.media)
	cx, cy := int64(widthCm*emuPerCm), int64(heightCm*emuPerCm)
	b := &d.body
	b.WriteString(`<w:p><w:pPr><w:pStyle w:val="FigureParagraph"/></w:pPr><w:r><w:drawing>`)
	fmt.Fprintf(b, `<wp:inline distT="0" distB="0" distL="0" distR="0"><wp:extent cx="%d" cy="%d"/><wp:effectExtent l="0" t="0" r="0" b="0"/>`, cx, cy)
	fmt.Fprintf(b, `<wp:docPr id="%d" name="Picture %d" descr="`, n, n)
	escape(b, alt)
	b.WriteString(`"/><wp:cNvGraphicFramePr><a:graphicFrameLocks noChangeAspect="1"/></wp:cNvGraphicFramePr>`)
	b.WriteString(`<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic>`)
	fmt.Fprintf(b, `<pic:nvPicPr><pic:cNvPr id="%d" name="image%d.png" descr="`, n, n)
	escape(b, alt)
	b.WriteString(`"/><pic:cNvPicPr/></pic:nvPicPr>`)
	fmt.Fprintf(b, `<pic:blipFill><a:blip r:embed="%s"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>`, imageRelID(n))
	fmt.Fprintf(b, `<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="%d" cy="%d"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr>`, cx, cy)
	b.WriteString(`</pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>`)
	return nil
}

// imageRelID is the relationship ID of the n-th picture, apart from the
// rId1… of the fixed parts.
func imageRelID(n int) string {
	return fmt.Sprintf("rIdImg%d", n)
}

// WriteTo writes the .docx (a ZIP package) to w.
func (d *Document) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	z := zip.NewWriter(cw)
	parts := []struct {
		name string
		data []byte
	}{
		{"[Content_Types].xml", []byte(contentTypes)},
		{"_rels/.rels", []byte(packageRels)},
		{"docProps/core.xml", d.coreXML()},
		{"docProps/app.xml", []byte(appXML)},
		{"word/document.xml", d.documentXML()},
		{"word/_rels/document.xml.rels", d.documentRels()},
		{"word/styles.xml", stylesXML(d.zh)},
		{"word/settings.xml", settingsXML(d.zh)},
		{"word/fontTable.xml", []byte(fontTableXML)},
		{"word/footer1.xml", []byte(footerXML)},
	}
	for i, m := range d.media {
		parts = append(parts, struct {
			name string
			data []byte
		}{fmt.Sprintf("word/media/image%d.png", i+1), m})
	}
	for _, p := range parts {
		method := zip.Deflate
		if strings.HasSuffix(p.name, ".png") {
			method = zip.Store // already compressed
		}
		f, err := z.CreateHeader(&zip.FileHeader{Name: p.name, Method: method})
		if err != nil {
			return cw.n, fmt.Errorf("docx: %w", err)
		}
		if _, err := f.Write(p.data); err != nil {
			return cw.n, fmt.Errorf("docx: %w", err)
		}
	}
	if err := z.Close(); err != nil {
		return cw.n, fmt.Errorf("docx: %w", err)
	}
	return cw.n, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

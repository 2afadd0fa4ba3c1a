package docx

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"path"
	"slices"
	"strings"
	"testing"
)

// Text with everything XML must escape, Chinese, and a tab and a newline.
const (
	tricky       = `<b>&amp; "引号" 'single' & 5 < 6 > 4`
	headingText  = "第二章 网民安全感"
	bodyText     = "参与调查的公众网民中，男性占比 67.00%，女性占比 33.00%。"
	captionText  = "图 2-1 网民性别分布"
	tableCaption = "表 2-1 网民性别分布 <n>"
	cellText     = "男性 & <其他>"
	altText      = `柱状图："男性" 67.00%，女性 33.00%`
)

func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), 80, uint8(y * 255 / h), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// sampleDocument uses every method, as a report does.
func sampleDocument(t *testing.T, lang string) *Document {
	t.Helper()
	d := New("2019年全国网民网络安全感满意度调查报告 <&>", lang)
	d.Heading(1, headingText)
	d.Paragraph(bodyText)
	d.Paragraph(tricky + "\n第二行\t制表")
	d.Heading(2, "2.1 性别")
	if err := d.Image(testPNG(t, 64, 36), 15, 8.4, altText); err != nil {
		t.Fatal(err)
	}
	d.Caption(captionText)
	d.Caption(tableCaption)
	d.Table([]string{"性别", "人数", "占比"}, [][]string{
		{cellText, "115,290", "67.00%"},
		{"女性", "56,785", "33.00%"},
		{"合计"}, // short row: padded
	})
	d.Heading(3, "2.1.1 细分")
	d.PageBreak()
	if err := d.Image(testPNG(t, 20, 20), 5, 5, "第二张图"); err != nil {
		t.Fatal(err)
	}
	return d
}

func writeDocx(t *testing.T, d *Document) []byte {
	t.Helper()
	var b bytes.Buffer
	n, err := d.WriteTo(&b)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(b.Len()) {
		t.Errorf("WriteTo reported %d bytes, wrote %d", n, b.Len())
	}
	return b.Bytes()
}

// node is a parsed XML element, enough to walk a part.
type node struct {
	Name     xml.Name
	Attr     []xml.Attr
	Children []*node
	Text     string
}

func (n *node) attr(space, local string) (string, bool) {
	for _, a := range n.Attr {
		if a.Name.Space == space && a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

func (n *node) walk(fn func(*node)) {
	fn(n)
	for _, c := range n.Children {
		c.walk(fn)
	}
}

func parseXML(t *testing.T, name string, data []byte) *node {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", name, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{Name: tok.Name, Attr: slices.Clone(tok.Attr)}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			} else if root != nil {
				t.Fatalf("%s has two root elements", name)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(tok)
			}
		}
	}
	if root == nil {
		t.Fatalf("%s is empty", name)
	}
	return root
}

type pkg struct {
	files map[string][]byte
	xml   map[string]*node
}

func openPackage(t *testing.T, data []byte) pkg {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("not a ZIP: %v", err)
	}
	p := pkg{files: map[string][]byte{}, xml: map[string]*node{}}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if _, dup := p.files[f.Name]; dup {
			t.Errorf("%s twice in the package", f.Name)
		}
		p.files[f.Name] = b
		if strings.HasSuffix(f.Name, ".xml") || strings.HasSuffix(f.Name, ".rels") {
			p.xml[f.Name] = parseXML(t, f.Name, b)
		}
	}
	return p
}

// text is the concatenated w:t text of the part, one line per paragraph.
func text(root *node) string {
	var b strings.Builder
	var rec func(n *node)
	rec = func(n *node) {
		if n.Name.Space == nsW {
			switch n.Name.Local {
			case "t":
				b.WriteString(n.Text)
			case "tab":
				b.WriteString("\t")
			case "br":
				b.WriteString("\n")
			}
		}
		for _, c := range n.Children {
			rec(c)
		}
		if n.Name.Space == nsW && n.Name.Local == "p" {
			b.WriteString("\n")
		}
	}
	rec(root)
	return b.String()
}

func TestPackage(t *testing.T) {
	for _, lang := range []string{"zh-CN", "en"} {
		t.Run(lang, func(t *testing.T) {
			p := openPackage(t, writeDocx(t, sampleDocument(t, lang)))

			for _, name := range []string{"[Content_Types].xml", "_rels/.rels", "word/document.xml", "word/_rels/document.xml.rels",
				"word/styles.xml", "word/settings.xml", "docProps/core.xml", "docProps/app.xml", "word/media/image1.png", "word/media/image2.png"} {
				if _, ok := p.files[name]; !ok {
					t.Errorf("package lacks %s", name)
				}
			}
			checkContentTypes(t, p)
			checkRelationships(t, p)
			checkStyles(t, p, lang)

			doc := p.xml["word/document.xml"]
			got := text(doc)
			for _, want := range []string{headingText, bodyText, tricky + "\n第二行\t制表", captionText, tableCaption, cellText, "67.00%"} {
				if !strings.Contains(got, want) {
					t.Errorf("document text lacks %q", want)
				}
			}

			// A4 portrait.
			doc.walk(func(n *node) {
				if n.Name.Local == "pgSz" {
					w, _ := n.attr(nsW, "w")
					h, _ := n.attr(nsW, "h")
					if w != "11906" || h != "16838" {
						t.Errorf("page %s×%s twips, want A4 11906×16838", w, h)
					}
				}
			})

			// Pictures: alt text kept exactly, unique ids.
			var descrs, ids []string
			doc.walk(func(n *node) {
				if n.Name.Space == nsWP && n.Name.Local == "docPr" {
					d, _ := n.attr("", "descr")
					id, _ := n.attr("", "id")
					descrs, ids = append(descrs, d), append(ids, id)
				}
			})
			if want := []string{altText, "第二张图"}; !slices.Equal(descrs, want) {
				t.Errorf("picture descr %q, want %q", descrs, want)
			}
			slices.Sort(ids)
			if len(slices.Compact(ids)) != 2 {
				t.Errorf("picture ids %q are not unique", ids)
			}

			// Table: header row repeats; every row has the grid's cells.
			doc.walk(func(n *node) {
				if n.Name.Local != "tbl" {
					return
				}
				var rows []*node
				cols := 0
				for _, c := range n.Children {
					switch c.Name.Local {
					case "tr":
						rows = append(rows, c)
					case "tblGrid":
						cols = len(c.Children)
					}
				}
				if len(rows) != 4 || cols != 3 {
					t.Fatalf("table has %d rows, %d columns; want 4, 3", len(rows), cols)
				}
				header := false
				rows[0].walk(func(n *node) { header = header || n.Name.Local == "tblHeader" })
				if !header {
					t.Error("first row is not a repeated header row")
				}
				for i, r := range rows {
					cells := 0
					for _, c := range r.Children {
						if c.Name.Local == "tc" {
							cells++
						}
					}
					if cells != cols {
						t.Errorf("row %d has %d cells, want %d", i, cells, cols)
					}
				}
			})

			core := p.xml["docProps/core.xml"]
			var title, language string
			core.walk(func(n *node) {
				switch n.Name.Local {
				case "title":
					title = n.Text
				case "language":
					language = n.Text
				}
			})
			if title != "2019年全国网民网络安全感满意度调查报告 <&>" {
				t.Errorf("core title %q", title)
			}
			if want := map[string]string{"zh-CN": "zh-CN", "en": "en-US"}[lang]; language != want {
				t.Errorf("core language %q, want %q", language, want)
			}
		})
	}
}

func checkContentTypes(t *testing.T, p pkg) {
	t.Helper()
	defaults, overrides := map[string]bool{}, map[string]bool{}
	for _, c := range p.xml["[Content_Types].xml"].Children {
		switch c.Name.Local {
		case "Default":
			ext, _ := c.attr("", "Extension")
			defaults[ext] = true
		case "Override":
			part, _ := c.attr("", "PartName")
			overrides[part] = true
			if _, ok := p.files[strings.TrimPrefix(part, "/")]; !ok {
				t.Errorf("content type override for missing part %s", part)
			}
		}
	}
	for name := range p.files {
		if name == "[Content_Types].xml" {
			continue
		}
		if !overrides["/"+name] && !defaults[strings.TrimPrefix(path.Ext(name), ".")] {
			t.Errorf("part %s has no content type", name)
		}
	}
}

// checkRelationships: every internal relationship target exists, and every
// r:id / r:embed in the document names a relationship of the document.
func checkRelationships(t *testing.T, p pkg) {
	t.Helper()
	docRels := map[string]string{}
	for name, root := range p.xml {
		if !strings.HasSuffix(name, ".rels") {
			continue
		}
		// _rels/.rels is relative to the package root; word/_rels/x.rels to word/.
		base := path.Dir(path.Dir(name))
		for _, r := range root.Children {
			id, _ := r.attr("", "Id")
			target, _ := r.attr("", "Target")
			if mode, _ := r.attr("", "TargetMode"); mode == "External" {
				t.Errorf("%s: external relationship %s", name, target)
				continue
			}
			full := path.Clean(path.Join(base, target))
			if _, ok := p.files[full]; !ok {
				t.Errorf("%s: %s targets missing part %s", name, id, full)
			}
			if name == "word/_rels/document.xml.rels" {
				docRels[id] = full
			}
		}
	}
	embedded := 0
	p.xml["word/document.xml"].walk(func(n *node) {
		for _, a := range n.Attr {
			if a.Name.Space != nsR {
				continue
			}
			target, ok := docRels[a.Value]
			if !ok {
				t.Errorf("document refers to unknown relationship %s", a.Value)
			}
			if a.Name.Local == "embed" {
				embedded++
				if _, err := png.Decode(bytes.NewReader(p.files[target])); err != nil {
					t.Errorf("picture %s: %v", target, err)
				}
			}
		}
	})
	if embedded != 2 {
		t.Errorf("%d embedded pictures, want 2", embedded)
	}
}

// checkStyles: every style the document and footer use is defined, with
// the properties the brief asks for.
func checkStyles(t *testing.T, p pkg, lang string) {
	t.Helper()
	styles := map[string]*node{}
	for _, s := range p.xml["word/styles.xml"].Children {
		if s.Name.Local == "style" {
			id, _ := s.attr(nsW, "styleId")
			if styles[id] != nil {
				t.Errorf("style %s defined twice", id)
			}
			styles[id] = s
		}
	}
	for _, part := range []string{"word/document.xml", "word/footer1.xml"} {
		p.xml[part].walk(func(n *node) {
			switch n.Name.Local {
			case "pStyle", "rStyle", "tblStyle":
				v, _ := n.attr(nsW, "val")
				if styles[v] == nil {
					t.Errorf("%s uses undefined style %q", part, v)
				}
			}
		})
	}
	for _, s := range styles {
		s.walk(func(n *node) {
			if n.Name.Local == "basedOn" || n.Name.Local == "next" {
				v, _ := n.attr(nsW, "val")
				if styles[v] == nil {
					t.Errorf("style refers to undefined style %q", v)
				}
			}
		})
	}
	has := func(styleID, local, attr, want string) bool {
		found := false
		if s := styles[styleID]; s != nil {
			s.walk(func(n *node) {
				if n.Name.Local == local {
					if v, _ := n.attr(nsW, attr); v == want {
						found = true
					}
				}
			})
		}
		return found
	}
	for i, name := range []string{"heading 1", "heading 2", "heading 3"} {
		id := "Heading" + string(rune('1'+i))
		if !has(id, "name", "val", name) || !has(id, "outlineLvl", "val", string(rune('0'+i))) {
			t.Errorf("%s is not Word's built-in %q with outline level %d", id, name, i)
		}
		if !has(id, "rFonts", "eastAsia", "黑体") {
			t.Errorf("%s East Asian font is not 黑体", id)
		}
	}
	if !has("Caption", "jc", "val", "center") || !has("Caption", "name", "val", "caption") {
		t.Error("Caption is not Word's centred caption style")
	}
	if !has("TableGrid", "insideH", "val", "single") {
		t.Error("TableGrid has no inner borders")
	}
	var defaults string
	for _, c := range p.xml["word/styles.xml"].Children {
		if c.Name.Local == "docDefaults" {
			c.walk(func(n *node) {
				if n.Name.Local == "rFonts" {
					defaults, _ = n.attr(nsW, "eastAsia")
				}
				if n.Name.Local == "sz" {
					if v, _ := n.attr(nsW, "val"); v != "24" {
						t.Errorf("default size %s half-points, want 24 (小四)", v)
					}
				}
			})
		}
	}
	if defaults != "宋体" {
		t.Errorf("default East Asian font %q, want 宋体", defaults)
	}
	indented := has("BodyText", "ind", "firstLineChars", "200")
	if want := lang == "zh-CN"; indented != want {
		t.Errorf("body first-line indent of two characters: %v, want %v", indented, want)
	}
}

func TestHeadingLevelClamped(t *testing.T) {
	tests := []struct {
		level int
		style string
	}{{0, "Heading1"}, {1, "Heading1"}, {2, "Heading2"}, {3, "Heading3"}, {7, "Heading3"}}
	for _, tt := range tests {
		d := New("t", "zh-CN")
		d.Heading(tt.level, "标题")
		if want := `<w:pStyle w:val="` + tt.style + `"/>`; !strings.Contains(d.body.String(), want) {
			t.Errorf("Heading(%d, …) = %s, want style %s", tt.level, d.body.String(), tt.style)
		}
	}
}

func TestImageRejects(t *testing.T) {
	var jpegLike bytes.Buffer
	jpegLike.WriteString("\xff\xd8\xff\xe0 not a png")
	tests := []struct {
		name string
		data []byte
		w, h float64
	}{
		{"not an image", []byte("hello"), 10, 5},
		{"not a PNG", jpegLike.Bytes(), 10, 5},
		{"zero width", testPNG(t, 4, 4), 0, 5},
		{"negative height", testPNG(t, 4, 4), 10, -1},
		{"absurd size", testPNG(t, 4, 4), 1000, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New("t", "en")
			if err := d.Image(tt.data, tt.w, tt.h, "alt"); err == nil {
				t.Error("Image accepted it")
			}
			if len(d.media) != 0 || d.body.Len() != 0 {
				t.Error("a rejected image left content behind")
			}
		})
	}
}

func TestControlCharactersStayWellFormed(t *testing.T) {
	d := New("标题\x00\x1b", "zh-CN")
	d.Paragraph("响应\x01\x08值\r\n下一行")
	d.Table([]string{"列\x0b"}, [][]string{{"\x1f"}})
	p := openPackage(t, writeDocx(t, d)) // parses every part
	if got := text(p.xml["word/document.xml"]); !strings.Contains(got, "值\n下一行") {
		t.Errorf("document text %q", got)
	}
}

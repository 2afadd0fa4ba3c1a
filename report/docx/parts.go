package docx

import (
	"bytes"
	"fmt"
)

// Page geometry in twentieths of a point (twips): A4 portrait, with the
// margins of Word's Chinese default page (2.54 cm top and bottom, 3.17 cm
// left and right).
const (
	pageWidthTwips  = 11906
	pageHeightTwips = 16838
	marginTBTwips   = 1440
	marginLRTwips   = 1797
	textWidthTwips  = pageWidthTwips - 2*marginLRTwips
)

const (
	nsW   = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
	nsR   = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	nsWP  = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
	nsA   = "http://schemas.openxmlformats.org/drawingml/2006/main"
	nsPic = "http://schemas.openxmlformats.org/drawingml/2006/picture"
	nsRel = "http://schemas.openxmlformats.org/package/2006/relationships"
	relOD = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
)

const xmlHeader = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"

const contentTypes = xmlHeader + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
	`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
	`<Default Extension="xml" ContentType="application/xml"/>` +
	`<Default Extension="png" ContentType="image/png"/>` +
	`<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>` +
	`<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>` +
	`<Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/>` +
	`<Override PartName="/word/fontTable.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.fontTable+xml"/>` +
	`<Override PartName="/word/footer1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/>` +
	`<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>` +
	`<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>` +
	`</Types>`

const packageRels = xmlHeader + `<Relationships xmlns="` + nsRel + `">` +
	`<Relationship Id="rId1" Type="` + relOD + `officeDocument" Target="word/document.xml"/>` +
	`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>` +
	`<Relationship Id="rId3" Type="` + relOD + `extended-properties" Target="docProps/app.xml"/>` +
	`</Relationships>`

const appXML = xmlHeader + `<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">` +
	`<Application>govsurvey</Application><DocSecurity>0</DocSecurity></Properties>`

func (d *Document) coreXML() []byte {
	var b bytes.Buffer
	b.WriteString(xmlHeader + `<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>`)
	escape(&b, d.title)
	b.WriteString(`</dc:title><dc:creator>govsurvey</dc:creator><dc:language>`)
	b.WriteString(d.lang())
	// No creation date: the same data give the same file.
	b.WriteString(`</dc:language></cp:coreProperties>`)
	return b.Bytes()
}

func (d *Document) lang() string {
	if d.zh {
		return "zh-CN"
	}
	return "en-US"
}

func (d *Document) documentRels() []byte {
	var b bytes.Buffer
	b.WriteString(xmlHeader + `<Relationships xmlns="` + nsRel + `">` +
		`<Relationship Id="rId1" Type="` + relOD + `styles" Target="styles.xml"/>` +
		`<Relationship Id="rId2" Type="` + relOD + `settings" Target="settings.xml"/>` +
		`<Relationship Id="rId3" Type="` + relOD + `fontTable" Target="fontTable.xml"/>` +
		`<Relationship Id="rId4" Type="` + relOD + `footer" Target="footer1.xml"/>`)
	for i := range d.media {
		fmt.Fprintf(&b, `<Relationship Id="%s" Type="`+relOD+`image" Target="media/image%d.png"/>`, imageRelID(i+1), i+1)
	}
	b.WriteString(`</Relationships>`)
	return b.Bytes()
}

func (d *Document) documentXML() []byte {
	var b bytes.Buffer
	b.WriteString(xmlHeader + `<w:document xmlns:w="` + nsW + `" xmlns:r="` + nsR + `" xmlns:wp="` + nsWP + `" xmlns:a="` + nsA + `" xmlns:pic="` + nsPic + `"><w:body>`)
	b.Write(d.body.Bytes())
	fmt.Fprintf(&b, `<w:sectPr><w:footerReference w:type="default" r:id="rId4"/>`+
		`<w:pgSz w:w="%d" w:h="%d"/>`+
		`<w:pgMar w:top="%d" w:right="%d" w:bottom="%d" w:left="%d" w:header="851" w:footer="992" w:gutter="0"/>`+
		`<w:cols w:space="425"/><w:docGrid w:type="lines" w:linePitch="312"/></w:sectPr>`,
		pageWidthTwips, pageHeightTwips, marginTBTwips, marginLRTwips, marginTBTwips, marginLRTwips)
	b.WriteString(`</w:body></w:document>`)
	return b.Bytes()
}

// Fonts: Word's Chinese names, with the English names as alternatives, so
// both Chinese and English Word (and LibreOffice's substitution table) find
// them.
const (
	fontSong  = "宋体" // SimSun: body text
	fontHei   = "黑体" // SimHei: headings and captions
	fontLatin = "Times New Roman"
)

const fontTableXML = xmlHeader + `<w:fonts xmlns:w="` + nsW + `">` +
	`<w:font w:name="` + fontSong + `"><w:altName w:val="SimSun"/><w:charset w:val="86"/><w:family w:val="auto"/><w:pitch w:val="variable"/></w:font>` +
	`<w:font w:name="` + fontHei + `"><w:altName w:val="SimHei"/><w:charset w:val="86"/><w:family w:val="modern"/><w:pitch w:val="fixed"/></w:font>` +
	`<w:font w:name="` + fontLatin + `"><w:charset w:val="00"/><w:family w:val="roman"/><w:pitch w:val="variable"/></w:font>` +
	`</w:fonts>`

// rFonts sets the Latin and the East Asian font of a style.
func rFonts(eastAsia string) string {
	return `<w:rFonts w:ascii="` + fontLatin + `" w:eastAsia="` + eastAsia + `" w:hAnsi="` + fontLatin + `" w:cs="` + fontLatin + `"/>`
}

// stylesXML holds every style document.xml refers to. Sizes are in half
// points: 32 三号 16 pt, 28 四号 14 pt, 24 小四 12 pt, 21 五号 10.5 pt.
func stylesXML(zh bool) []byte {
	var b bytes.Buffer
	lang := `<w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/>`
	b.WriteString(xmlHeader + `<w:styles xmlns:w="` + nsW + `">`)
	b.WriteString(`<w:docDefaults><w:rPrDefault><w:rPr>` + rFonts(fontSong) + `<w:kern w:val="2"/><w:sz w:val="24"/><w:szCs w:val="24"/>` + lang + `</w:rPr></w:rPrDefault>`)
	b.WriteString(`<w:pPrDefault><w:pPr><w:widowControl/><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr></w:pPrDefault></w:docDefaults>`)

	b.WriteString(`<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/>`)
	if zh {
		b.WriteString(`<w:pPr><w:jc w:val="both"/></w:pPr>`)
	}
	b.WriteString(`</w:style>`)

	// Body text: 1.5 lines; Chinese paragraphs indent their first line by
	// two characters, English ones are separated by space instead.
	b.WriteString(`<w:style w:type="paragraph" w:styleId="BodyText"><w:name w:val="Body Text"/><w:basedOn w:val="Normal"/><w:qFormat/><w:pPr>`)
	if zh {
		b.WriteString(`<w:spacing w:after="0" w:line="360" w:lineRule="auto"/><w:ind w:firstLineChars="200" w:firstLine="480"/>`)
	} else {
		b.WriteString(`<w:spacing w:after="160" w:line="360" w:lineRule="auto"/>`)
	}
	b.WriteString(`</w:pPr></w:style>`)

	// Built-in heading names ("heading 1") and outline levels make Word
	// treat them as headings: navigation pane, table of contents, PDF
	// bookmarks.
	for i, h := range []struct{ size, before, after int }{{32, 480, 240}, {28, 360, 180}, {24, 240, 120}} {
		fmt.Fprintf(&b, `<w:style w:type="paragraph" w:styleId="Heading%d"><w:name w:val="heading %d"/><w:basedOn w:val="Normal"/><w:next w:val="BodyText"/><w:uiPriority w:val="9"/><w:qFormat/>`, i+1, i+1)
		fmt.Fprintf(&b, `<w:pPr><w:keepNext/><w:keepLines/><w:spacing w:before="%d" w:after="%d" w:line="360" w:lineRule="auto"/><w:jc w:val="left"/><w:outlineLvl w:val="%d"/></w:pPr>`, h.before, h.after, i)
		b.WriteString(`<w:rPr>` + rFonts(fontHei))
		if !zh || i == 2 {
			// 黑体 is already heavy; only the smallest Chinese level is bold.
			b.WriteString(`<w:b/><w:bCs/>`)
		}
		fmt.Fprintf(&b, `<w:sz w:val="%d"/><w:szCs w:val="%d"/></w:rPr></w:style>`, h.size, h.size)
	}

	b.WriteString(`<w:style w:type="paragraph" w:styleId="Caption"><w:name w:val="caption"/><w:basedOn w:val="Normal"/><w:next w:val="BodyText"/><w:uiPriority w:val="35"/><w:qFormat/>` +
		`<w:pPr><w:keepNext/><w:spacing w:before="120" w:after="120" w:line="240" w:lineRule="auto"/><w:jc w:val="center"/></w:pPr>` +
		`<w:rPr>` + rFonts(fontHei) + `<w:sz w:val="21"/><w:szCs w:val="21"/></w:rPr></w:style>`)
	b.WriteString(`<w:style w:type="paragraph" w:customStyle="1" w:styleId="FigureParagraph"><w:name w:val="Figure Paragraph"/><w:basedOn w:val="Normal"/><w:next w:val="Caption"/><w:qFormat/>` +
		`<w:pPr><w:keepNext/><w:spacing w:before="120" w:after="0" w:line="240" w:lineRule="auto"/><w:jc w:val="center"/></w:pPr></w:style>`)
	b.WriteString(`<w:style w:type="paragraph" w:customStyle="1" w:styleId="TableText"><w:name w:val="Table Text"/><w:basedOn w:val="Normal"/><w:qFormat/>` +
		`<w:pPr><w:spacing w:before="40" w:after="40" w:line="240" w:lineRule="auto"/><w:jc w:val="center"/></w:pPr>` +
		`<w:rPr><w:sz w:val="21"/><w:szCs w:val="21"/></w:rPr></w:style>`)
	b.WriteString(`<w:style w:type="paragraph" w:styleId="Footer"><w:name w:val="footer"/><w:basedOn w:val="Normal"/>` +
		`<w:pPr><w:jc w:val="center"/></w:pPr><w:rPr><w:sz w:val="18"/><w:szCs w:val="18"/></w:rPr></w:style>`)

	b.WriteString(`<w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/><w:uiPriority w:val="99"/><w:semiHidden/><w:unhideWhenUsed/>` +
		`<w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/><w:left w:w="108" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/><w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style>`)
	b.WriteString(`<w:style w:type="table" w:styleId="TableGrid"><w:name w:val="Table Grid"/><w:basedOn w:val="TableNormal"/><w:uiPriority w:val="39"/>` +
		`<w:tblPr>` + tableBorders + `</w:tblPr></w:style>`)
	b.WriteString(`</w:styles>`)
	return b.Bytes()
}

func settingsXML(zh bool) []byte {
	var b bytes.Buffer
	b.WriteString(xmlHeader + `<w:settings xmlns:w="` + nsW + `"><w:zoom w:percent="100"/><w:defaultTabStop w:val="420"/>`)
	if zh {
		// Chinese punctuation takes half width at line ends, as Word's
		// Chinese template does.
		b.WriteString(`<w:characterSpacingControl w:val="compressPunctuation"/>`)
	} else {
		b.WriteString(`<w:characterSpacingControl w:val="doNotCompress"/>`)
	}
	b.WriteString(`<w:compat><w:compatSetting w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word" w:val="15"/></w:compat>`)
	b.WriteString(`<w:themeFontLang w:val="en-US" w:eastAsia="zh-CN"/></w:settings>`)
	return b.Bytes()
}

// footerXML numbers the pages, centred.
const footerXML = xmlHeader + `<w:ftr xmlns:w="` + nsW + `" xmlns:r="` + nsR + `"><w:p><w:pPr><w:pStyle w:val="Footer"/></w:pPr>` +
	`<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>` +
	`<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>1</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p></w:ftr>`

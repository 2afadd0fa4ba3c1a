package form

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// rawXLSX packs a one-sheet workbook (sheet "survey") from the XML of its
// parts, so that tests can write what excelize itself would not: any
// number format, style or cell. styles and sharedStrings may be "".
func rawXLSX(t *testing.T, workbookPr, sheetData, styles, sharedStrings string) []byte {
	t.Helper()
	const ns = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`
	parts := [][2]string{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8"?><workbook ` + ns + ` xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` + workbookPr + `<sheets><sheet name="survey" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`},
		{"xl/worksheets/sheet1.xml", `<?xml version="1.0" encoding="UTF-8"?><worksheet ` + ns + `><sheetData>` + sheetData + `</sheetData></worksheet>`},
	}
	if styles != "" {
		parts = append(parts, [2]string{"xl/styles.xml", `<?xml version="1.0" encoding="UTF-8"?><styleSheet ` + ns + `>` + styles + `</styleSheet>`})
	}
	if sharedStrings != "" {
		parts = append(parts, [2]string{"xl/sharedStrings.xml", `<?xml version="1.0" encoding="UTF-8"?><sst ` + ns + `>` + sharedStrings + `</sst>`})
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range parts {
		w, err := zw.Create(p[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(p[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// numFmtStyles declares custom formats 164… with the given codes and one
// cell style per code, in order (style 1 uses 164), then one per built-in
// id in builtins.
func numFmtStyles(codes []string, builtins ...int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<numFmts count="%d">`, len(codes))
	for i, c := range codes {
		fmt.Fprintf(&b, `<numFmt numFmtId="%d" formatCode="%s"/>`, 164+i, strings.ReplaceAll(c, `"`, "&quot;"))
	}
	fmt.Fprintf(&b, `</numFmts><cellXfs count="%d"><xf numFmtId="0"/>`, 1+len(codes)+len(builtins))
	for i := range codes {
		fmt.Fprintf(&b, `<xf numFmtId="%d" applyNumberFormat="1"/>`, 164+i)
	}
	for _, id := range builtins {
		fmt.Fprintf(&b, `<xf numFmtId="%d" applyNumberFormat="1"/>`, id)
	}
	b.WriteString(`</cellXfs>`)
	return b.String()
}

// TestReadXLSXNumberFormats: values read as pyxform reads them through
// openpyxl, whatever number format the cell has. The expected dates were
// worked out by hand from Excel's serial numbers (43647 is 2019-07-01).
func TestReadXLSXNumberFormats(t *testing.T) {
	styles := numFmtStyles([]string{
		"0.00",                      // s=1
		"yyyy-mm-dd",                // s=2
		"h:mm",                      // s=3
		"[h]:mm",                    // s=4
		`"Day "0`,                   // s=5: d and y only in a literal
		strings.Repeat("0", 20_000), // s=6: excelize formats this in quadratic time
		"[$-409]mmmm d, yyyy;@",     // s=7
	}, 14) // s=8: Excel's built-in short date
	header := `<row r="1"><c r="A1" t="inlineStr"><is><t>type</t></is></c><c r="B1" t="inlineStr"><is><t>name</t></is></c><c r="C1" t="inlineStr"><is><t>value</t></is></c></row>`
	tests := []struct {
		name, cell, workbookPr, want string
	}{
		{"decimal places ignored", `<c r="C2" s="1"><v>1.5</v></c>`, "", "1.5"},
		{"date", `<c r="C2" s="2"><v>43647</v></c>`, "", "2019-07-01 00:00:00"},
		{"date with time", `<c r="C2" s="8"><v>43647.5</v></c>`, "", "2019-07-01 12:00:00"},
		{"locale date", `<c r="C2" s="7"><v>43647</v></c>`, "", "2019-07-01 00:00:00"},
		{"time of day", `<c r="C2" s="3"><v>0.43055555555555558</v></c>`, "", "10:20:00"},
		{"elapsed time", `<c r="C2" s="4"><v>1.0833333333333333</v></c>`, "", "1 day, 2:00:00"},
		{"literal is not a date", `<c r="C2" s="5"><v>7</v></c>`, "", "7"},
		{"long format", `<c r="C2" s="6"><v>2</v></c>`, "", "2"},
		{"text in a date style", `<c r="C2" s="2" t="inlineStr"><is><t>2019-07-01 text</t></is></c>`, "", "2019-07-01 text"},
		{"boolean in a date style", `<c r="C2" s="2" t="b"><v>1</v></c>`, "", "TRUE"},
		{"1904 date system", `<c r="C2" s="2"><v>43647</v></c>`, `<workbookPr date1904="1"/>`, "2023-07-02 00:00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := rawXLSX(t, tt.workbookPr, header+`<row r="2"><c r="A2" t="inlineStr"><is><t>text</t></is></c>`+tt.cell+`</row>`, styles, "")
			wb, err := ReadWorkbook("f.xlsx", data)
			if err != nil {
				t.Fatal(err)
			}
			checkCells(t, wb, []cell{{"survey", 2, "value", tt.want}})
		})
	}
}

func TestPyDateTime(t *testing.T) {
	tests := []struct {
		v                  float64
		date1904, duration bool
		want               string // "" when out of range
	}{
		{1, false, false, "1900-01-01 00:00:00"},
		{59, false, false, "1900-02-28 00:00:00"},
		{60, false, false, "1900-02-28 00:00:00"}, // Excel's 1900-02-29, as openpyxl reads it
		{61, false, false, "1900-03-01 00:00:00"},
		{-1, false, false, "1899-12-29 00:00:00"},
		{0, false, false, "00:00:00"},
		{0.5, false, false, "12:00:00"},
		{1.0 / 86400, false, false, "00:00:01"},
		{43647 + 0.5/86400, false, false, "2019-07-01 00:00:00.500000"},
		{1.5, true, false, "1904-01-02 12:00:00"},
		{2958465, false, false, "9999-12-31 00:00:00"},
		{2958466, false, false, ""},
		{-700000, false, false, ""},
		{1.0833333333333333, false, true, "1 day, 2:00:00"},
		{2.5, false, true, "2 days, 12:00:00"},
		{-0.5, false, true, "-1 day, 12:00:00"},
		{0.25, false, true, "6:00:00"},
	}
	for _, tt := range tests {
		got, ok := pyDateTime(tt.v, tt.date1904, tt.duration)
		if ok != (tt.want != "") || got != tt.want {
			t.Errorf("pyDateTime(%v, %v, %v) = %q, %v; want %q", tt.v, tt.date1904, tt.duration, got, ok, tt.want)
		}
	}
}

func TestFormatCodeKind(t *testing.T) {
	tests := []struct {
		code string
		want numFmtKind
	}{
		{"General", kindNumber},
		{"@", kindNumber},
		{"0.00", kindNumber},
		{"0.00E+00", kindNumber},
		{"#,##0_);[Red](#,##0)", kindNumber},
		{`_("$"* #,##0.00_)`, kindNumber},
		{`"Day "0`, kindNumber},
		{`\d0`, kindNumber},
		{"[Red]0;[Blue]yyyy", kindNumber}, // only the first section counts
		{"yyyy-mm-dd", kindDate},
		{"d-mmm", kindDate},
		{"h:mm AM/PM", kindDate},
		{"mm:ss", kindDate},
		{"[$-409]mmmm d, yyyy;@", kindDate},
		{`yyyy"年"m"月"d"日"`, kindDate},
		{"[h]:mm:ss", kindDuration},
		{"[mm]:ss", kindDuration},
		{"[ss].00", kindDuration},
	}
	for _, tt := range tests {
		if got := formatCodeKind(tt.code); got != tt.want {
			t.Errorf("formatCodeKind(%q) = %d, want %d", tt.code, got, tt.want)
		}
	}
}

// TestReadXLSXLimits: a workbook beyond the reader's limits is refused
// with one problem saying which, before the work it would cost is done.
func TestReadXLSXLimits(t *testing.T) {
	// An unpacked size over the limit, in a zip of a few kilobytes.
	var bomb bytes.Buffer
	zw := zip.NewWriter(&bomb)
	w, err := zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, maxXLSXUnpacked+1)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}

	// Rows whose last cell is in column XFD, the last one: 16,384
	// positions each.
	var wide strings.Builder
	for r := 1; r <= maxXLSXCells/16384+1; r++ {
		fmt.Fprintf(&wide, `<row r="%d"><c r="XFD%d"><v>1</v></c></row>`, r, r)
	}

	// One shared string of 1 MiB used by more cells than the text limit
	// allows.
	var many strings.Builder
	for r := 1; r <= maxXLSXText>>20+1; r++ {
		fmt.Fprintf(&many, `<row r="%d"><c r="A%d" t="s"><v>0</v></c></row>`, r, r)
	}
	long := `<si><t>` + strings.Repeat("a", 1<<20) + `</t></si>`

	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"encrypted or legacy", append(append([]byte(nil), oleMagic...), make([]byte, 504)...), "password-protected workbook or an Excel 97–2003 file"},
		{"unpacked size", bomb.Bytes(), "unpacks to more than 32 MB"},
		{"cells", rawXLSX(t, "", wide.String(), "", ""), "survey: the workbook holds more than 1000000 cells"},
		{"text", rawXLSX(t, "", many.String(), "", long), "survey: the workbook holds more than 64 MB of text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadWorkbook("f.xlsx", tt.data)
			var fe *Error
			if !errors.As(err, &fe) || len(fe.Problems) != 1 {
				t.Fatalf("err = %v, want an *Error with one problem", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

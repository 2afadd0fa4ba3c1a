package publish

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/xuri/excelize/v2"
)

// The file formats of a release.
//
// CSV: UTF-8 with a byte-order mark (so that Excel and WPS open Chinese
// labels correctly, as govsurvey's exports do, CONTRACTS.md §2), comma
// separated, "\n" line ends, one header row, long ("tidy") layout: one row
// per cell, so that every table has the same columns and one CSVW schema
// describes them all. A suppressed cell has empty count and percent and
// suppressed = true; which suppressed cells were small is never said.

// bom starts every CSV file of a release.
const bom = "\ufeff"

// csvColumns are the columns of every table CSV, with their CSVW titles
// and datatypes.
var csvColumns = []struct {
	name, zh, en, datatype string
}{
	{"table", "表", "Table", "string"},
	{"question", "题目", "Question", "string"},
	{"by", "分组变量", "Grouped by", "string"},
	{"group", "组", "Group", "string"},
	{"group_label_zh", "组（中文）", "Group (Chinese)", "string"},
	{"group_label_en", "组（英文）", "Group (English)", "string"},
	{"choice", "选项", "Choice", "string"},
	{"choice_label_zh", "选项（中文）", "Choice (Chinese)", "string"},
	{"choice_label_en", "选项（英文）", "Choice (English)", "string"},
	{"count", "人数（未加权）", "Respondents (unweighted)", "integer"},
	{"percent", "百分比", "Percent", "number"},
	{"base", "基数", "Base", "integer"},
	{"suppressed", "已抑制", "Suppressed", "boolean"},
}

// totalGroup names the row-total rows of a cross-tab's CSV.
const totalGroup = "_total"

func cellStrings(c Cell) (count, percent string) {
	if c.Count != nil {
		count = strconv.Itoa(*c.Count)
	}
	if c.Percent != nil {
		percent = strconv.FormatFloat(*c.Percent, 'f', -1, 64)
	}
	return count, percent
}

// CSV writes t in the long layout.
func (t *Table) CSV() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(bom)
	w := csv.NewWriter(&buf)
	head := make([]string, len(csvColumns))
	for k, c := range csvColumns {
		head[k] = c.name
	}
	w.Write(head)
	for j, col := range t.Cols {
		base, _ := cellStrings(t.Base(j))
		for i, row := range t.Rows {
			c := t.Cell(i, j)
			n, p := cellStrings(c)
			w.Write([]string{t.Name, t.Question, t.By, col.Name, col.Label.ZH, col.Label.EN,
				row.Name, row.Label.ZH, row.Label.EN, n, p, base, strconv.FormatBool(c.Suppressed)})
		}
	}
	for i, row := range t.Rows {
		c, ok := t.RowTotal(i)
		if !ok {
			break
		}
		n, _ := cellStrings(c)
		w.Write([]string{t.Name, t.Question, t.By, totalGroup, "合计", "Total",
			row.Name, row.Label.ZH, row.Label.EN, n, "", "", strconv.FormatBool(c.Suppressed)})
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// TableJSON is a table as published in tables/NAME.json and by the API.
type TableJSON struct {
	Name      string   `json:"name"`
	Question  string   `json:"question"`
	Type      string   `json:"type"`
	By        string   `json:"by,omitempty"`
	Title     Text     `json:"title"`
	Rows      []Level  `json:"rows"`
	Columns   []Level  `json:"columns"`
	Bases     []Cell   `json:"bases"`
	Cells     [][]Cell `json:"cells"`                // rows × columns
	RowTotals []Cell   `json:"row_totals,omitempty"` // cross-tabs
	Note      Text     `json:"note"`
}

// JSON returns the table as published.
func (t *Table) JSON(rule Rule) TableJSON {
	out := TableJSON{Name: t.Name, Question: t.Question, Type: t.Type, By: t.By, Title: t.Title,
		Rows: t.Rows, Columns: t.Cols, Note: suppressionNote(rule)}
	for j := range t.Cols {
		out.Bases = append(out.Bases, t.Base(j))
	}
	for i := range t.Rows {
		var row []Cell
		for j := range t.Cols {
			row = append(row, t.Cell(i, j))
		}
		out.Cells = append(out.Cells, row)
		if c, ok := t.RowTotal(i); ok {
			out.RowTotals = append(out.RowTotals, c)
		}
	}
	return out
}

func suppressionNote(rule Rule) Text {
	return Text{
		ZH: fmt.Sprintf("人数少于 %d 的单元格已抑制（不公布），并对其他单元格作补充抑制，使其无法由行、列合计推算；被抑制单元格的百分比也不公布。人数为未加权的受访者数。", rule.MinCount),
		EN: fmt.Sprintf("Cells with fewer than %d respondents are suppressed (not published), and further cells are suppressed so that none can be derived from the row and column totals; percentages of suppressed cells are not published either. Counts are unweighted respondents.", rule.MinCount),
	}
}

func marshalJSON(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// csvwMetadata is csv-metadata.json: a W3C CSVW table group describing
// every table CSV of the release.
func csvwMetadata(id string, title Text, tables []*Table, rule Rule) ([]byte, error) {
	type column struct {
		Name     string            `json:"name"`
		Titles   map[string]string `json:"titles"`
		Datatype string            `json:"datatype"`
	}
	// CSVW's default null is the empty string: a suppressed count.
	var cols []column
	for _, c := range csvColumns {
		cols = append(cols, column{Name: c.name, Titles: map[string]string{"zh": c.zh, "en": c.en}, Datatype: c.datatype})
	}
	type table struct {
		URL   string            `json:"url"`
		Title map[string]string `json:"dc:title"`
	}
	var ts []table
	for _, t := range tables {
		ts = append(ts, table{URL: "tables/" + t.Name + ".csv", Title: map[string]string{"zh": t.Title.ZH, "en": t.Title.EN}})
	}
	note := suppressionNote(rule)
	doc := map[string]any{
		"@context":      []any{"http://www.w3.org/ns/csvw", map[string]string{"@language": "zh"}},
		"dc:identifier": id,
		"dc:title":      map[string]string{"zh": title.ZH, "en": title.EN},
		"dialect":       map[string]any{"encoding": "utf-8", "header": true, "delimiter": ","},
		"tableSchema":   map[string]any{"columns": cols},
		"tables":        ts,
		"notes": []map[string]any{{
			"type":           "suppression",
			"min_count":      rule.MinCount,
			"method":         rule.Method,
			"description_zh": note.ZH,
			"description_en": note.EN,
		}},
	}
	return marshalJSON(doc)
}

// workbook writes tables.xlsx: an "about" sheet, then one sheet per table
// laid out wide (choices down, groups across), suppressed cells as "x".
func workbook(id string, title Text, tables []*Table, rule Rule) ([]byte, error) {
	x := excelize.NewFile()
	defer x.Close()
	about := "说明 About"
	if err := x.SetSheetName("Sheet1", about); err != nil {
		return nil, err
	}
	note := suppressionNote(rule)
	rows := [][]any{{id}, {title.ZH}, {title.EN}, {}, {note.ZH}, {note.EN}, {"x = 已抑制 suppressed"}, {}}
	for _, t := range tables {
		rows = append(rows, []any{t.Name, t.Title.ZH, t.Title.EN})
	}
	for r, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, r+1)
		if err := x.SetSheetRow(about, cell, &row); err != nil {
			return nil, err
		}
	}
	used := map[string]bool{about: true}
	for _, t := range tables {
		name := sheetName(t.Name, used)
		if _, err := x.NewSheet(name); err != nil {
			return nil, err
		}
		head := []any{"选项 choice", "标签 label"}
		for _, c := range t.Cols {
			head = append(head, c.Label.ZH+" n", c.Label.ZH+" %")
		}
		if t.RowTotals {
			head = append(head, "合计 total n")
		}
		out := [][]any{{t.Title.ZH + " / " + t.Title.EN}, head}
		for i, r := range t.Rows {
			row := []any{r.Name, r.Label.ZH}
			for j := range t.Cols {
				c := t.Cell(i, j)
				if c.Suppressed {
					row = append(row, "x", "x")
					continue
				}
				var p any = ""
				if c.Percent != nil {
					p = *c.Percent
				}
				row = append(row, *c.Count, p)
			}
			if c, ok := t.RowTotal(i); ok {
				if c.Suppressed {
					row = append(row, "x")
				} else {
					row = append(row, *c.Count)
				}
			}
			out = append(out, row)
		}
		base := []any{"base", "基数"}
		for j := range t.Cols {
			if c := t.Base(j); c.Suppressed {
				base = append(base, "x", "")
			} else {
				base = append(base, *c.Count, "")
			}
		}
		out = append(out, base)
		for r, row := range out {
			cell, _ := excelize.CoordinatesToCellName(1, r+1)
			if err := x.SetSheetRow(name, cell, &row); err != nil {
				return nil, err
			}
		}
	}
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		return nil, fmt.Errorf("publish: tables.xlsx: %w", err)
	}
	return buf.Bytes(), nil
}

// sheetName fits a table name into Excel's 31 characters, uniquely.
func sheetName(name string, used map[string]bool) string {
	base := name
	if len(base) > 28 {
		base = base[:28]
	}
	s := base
	for k := 2; used[s]; k++ {
		s = fmt.Sprintf("%s~%d", base, k)
	}
	used[s] = true
	return s
}

package form

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// An .xlsx is uploaded by survey offices to a shared server, so what one
// file can make the reader do is bounded. A zip of a few kilobytes can
// unpack to gigabytes of repetitive XML, and excelize's cost per cell is
// unbounded in what the file declares: it re-parses the cell's number
// format for every cell, in time that grows with the square of the
// format's length (a 30,000-character format on 3,000 cells took minutes)
// and, for date formats, tens of microseconds even for the built-in ones.
// Hence: the package is checked before excelize unpacks it, number formats
// are reduced to the distinction pyxform makes (see normalizeNumFmts), and
// the cells and text read are counted against a budget for the workbook.
// The limits are far above any questionnaire (pyxform's largest test form
// has 105,000 cell positions and unpacks to 2.2 MB).
const (
	// maxXLSXUnpacked bounds the unpacked size of all parts together, as
	// the zip declares them (archive/zip refuses data beyond the
	// declared size). It is also excelize's limit for keeping a part in
	// memory, so no upload is ever spilled to temporary files.
	maxXLSXUnpacked = 32 << 20
	// maxXLSXCells bounds the cell positions read in all sheets: a row
	// counts up to its last cell, empty cells before it included, which
	// is the work excelize does for it.
	maxXLSXCells = 1_000_000
	// maxXLSXText bounds the bytes of cell text read in all sheets; a
	// shared string counts each time a cell uses it.
	maxXLSXText = 64 << 20
)

// oleMagic starts an OLE2 compound file: a legacy .xls, or an .xlsx
// encrypted with a password (which excelize would try to decrypt with a
// key-stretching loop whose length the file chooses).
var oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// readXLSX reads every sheet of an .xlsx workbook. Values are read as
// pyxform reads them through openpyxl: text as written, numbers in
// Excel's General format whatever their number format (2019 reads
// "2019", 1.5 with format 0.00 reads "1.5"), TRUE and FALSE, and a number
// with a date or time format as Python prints the date, "2019-07-01
// 00:00:00", or time, "10:20:00". Cells are trimmed, with non-breaking
// spaces made plain as pyxform does. The first row is the header; empty
// rows are skipped but keep their numbers, so a problem names the row the
// user sees.
func readXLSX(data []byte) (*Workbook, []Problem, error) {
	if err := checkXLSXPackage(data); err != nil {
		return nil, nil, &Error{Problems: []Problem{{Message: "cannot read the .xlsx workbook: " + err.Error()}}}
	}
	xf, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{
		UnzipSizeLimit:    maxXLSXUnpacked,
		UnzipXMLSizeLimit: maxXLSXUnpacked,
	})
	if err != nil {
		return nil, nil, &Error{Problems: []Problem{{Message: "cannot read the .xlsx workbook: " + err.Error()}}}
	}
	defer xf.Close()
	r := xlsxReader{file: xf}
	if r.dates, err = normalizeNumFmts(xf); err != nil {
		return nil, nil, &Error{Problems: []Problem{{Message: "cannot read the .xlsx workbook: styles: " + err.Error()}}}
	}
	if r.dates {
		props, err := xf.GetWorkbookProps()
		if err != nil {
			return nil, nil, &Error{Problems: []Problem{{Message: "cannot read the .xlsx workbook: " + err.Error()}}}
		}
		r.date1904 = props.Date1904 != nil && *props.Date1904
	}

	wb := newWorkbook()
	var problems []Problem
	for _, name := range xf.GetSheetList() {
		s, err := r.sheet(name)
		var over *xlsxLimitError
		if errors.As(err, &over) {
			return nil, nil, &Error{Problems: []Problem{{Sheet: name, Message: over.Error()}}}
		}
		if err != nil {
			// A chart or otherwise unreadable sheet matters only if it is
			// one the form needs.
			if knownSheet(strings.ToLower(name)) {
				problems = append(problems, Problem{Sheet: name, Message: "cannot read the sheet: " + err.Error()})
			}
			continue
		}
		problems = append(problems, duplicateHeaders(s)...)
		wb.add(s)
	}
	return wb, problems, nil
}

// checkXLSXPackage refuses, before excelize unpacks anything, a file that
// is not a zip or would unpack to more than maxXLSXUnpacked bytes.
func checkXLSXPackage(data []byte) error {
	if bytes.HasPrefix(data, oleMagic) {
		return errors.New("this is a password-protected workbook or an Excel 97–2003 file, not .xlsx: remove the password, or save it as .xls or .xlsx")
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	var total uint64
	for _, f := range zr.File {
		// Checked one by one so that the sum cannot overflow.
		if f.UncompressedSize64 > maxXLSXUnpacked || total+f.UncompressedSize64 > maxXLSXUnpacked {
			return fmt.Errorf("it unpacks to more than %d MB; a form is far smaller", maxXLSXUnpacked>>20)
		}
		total += f.UncompressedSize64
	}
	return nil
}

// xlsxLimitError is a workbook that holds more than the reader reads.
type xlsxLimitError struct{ what string }

func (e *xlsxLimitError) Error() string {
	return "the workbook holds more than " + e.what + "; a form is far smaller: delete unused rows, columns and sheets, or move a long choice list to a CSV file (select_one_from_file)"
}

// xlsxReader reads the sheets of one workbook against one budget.
type xlsxReader struct {
	file     *excelize.File
	dates    bool // some cell style has a date or time format (see normalizeNumFmts)
	date1904 bool // the workbook counts dates from 1904, as old Mac Excel did
	cells    int  // cell positions read so far
	text     int  // bytes of cell text read so far
}

// sheet reads one sheet; an *xlsxLimitError means the workbook's budget
// is spent.
func (r *xlsxReader) sheet(name string) (*Sheet, error) {
	rows, err := r.file.Rows(name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	s := &Sheet{Name: name}
	num := 0
	for rows.Next() {
		num++
		cells, err := rows.Columns()
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", num, err)
		}
		if r.cells += len(cells); r.cells > maxXLSXCells {
			return nil, &xlsxLimitError{fmt.Sprintf("%d cells (counting the empty cells before the last one in each row)", maxXLSXCells)}
		}
		for i, c := range cells {
			if r.text += len(c); r.text > maxXLSXText {
				return nil, &xlsxLimitError{fmt.Sprintf("%d MB of text", maxXLSXText>>20)}
			}
			if r.dates {
				c = r.dateCell(c)
			}
			cells[i] = strings.TrimSpace(strings.ReplaceAll(c, "\u00a0", " "))
		}
		if num == 1 {
			s.Header = collapseSpaces(cells)
			continue
		}
		if row, ok := rowFromCells(num, s.Header, cells); ok {
			s.Rows = append(s.Rows, row)
		}
	}
	if err := rows.Error(); err != nil {
		return nil, err
	}
	return s, nil
}

// Markers of a number in a cell whose style has a date or time format
// ("\uE000") or an elapsed-time format such as [h]:mm ("\uE001"):
// normalizeNumFmts gives such cells the format \<marker>0.00000000000000E+00,
// so excelize prints the number behind a private-use character (a number
// format leaves text cells as they are) and dateCell turns it into what
// pyxform prints. The scientific form keeps the text short whatever the
// number (a fixed-point format prints 1E+300 in 301 digits, slowly), and
// its 15 significant digits hold a date to a millisecond or better
// until the year 2700 (openpyxl keeps milliseconds).
const (
	dateMarker     = "\uE000"
	durationMarker = "\uE001"
)

// dateCell renders a marked number as pyxform does, and returns any other
// cell unchanged.
func (r *xlsxReader) dateCell(c string) string {
	num, neg := c, false
	if rest, ok := strings.CutPrefix(num, "-"); ok {
		num, neg = rest, true
	}
	var duration bool
	switch {
	case strings.HasPrefix(num, dateMarker):
		num = num[len(dateMarker):]
	case strings.HasPrefix(num, durationMarker):
		num, duration = num[len(durationMarker):], true
	default:
		return c
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return c
	}
	if neg {
		v = -v
	}
	if s, ok := pyDateTime(v, r.date1904, duration); ok {
		return s
	}
	// Outside the dates Python can print (years 1 to 9999), where
	// openpyxl fails; the number is more use than an error.
	return strconv.FormatFloat(v, 'G', 15, 64)
}

// Epochs of Excel serial dates, as openpyxl has them. In the 1900 system
// day 61 is 1900-03-01 counted from 1899-12-30; Excel counts a fictitious
// 1900-02-29 as day 60, so pyDateTime moves days below 60 one day on
// (day 1 is 1900-01-01) and day 60 reads 1900-02-28, as in openpyxl.
var (
	windowsEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	macEpoch     = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
)

// pyDateTime is openpyxl's from_excel followed by Python's str(): a
// datetime "2019-07-01 10:20:30", a time "10:20:30" for a serial in
// [0, 1), or a timedelta "1 day, 2:00:00" for an elapsed-time format; with
// ".ffffff" when there are milliseconds. ok is false outside years 1–9999.
func pyDateTime(v float64, date1904, duration bool) (string, bool) {
	const msPerDay = 86_400_000
	if math.IsNaN(v) || math.Abs(v) > 3_000_000 { // beyond year 9999 either way
		return "", false
	}
	if duration {
		// timedelta(days=v), rounded to the millisecond.
		ms := int64(math.RoundToEven(v * msPerDay))
		days := floorDiv(ms, msPerDay)
		return pyDays(days) + pyClock(ms-days*msPerDay, false), true
	}
	day := math.Floor(v)
	ms := int64(math.RoundToEven((v - day) * msPerDay)) // Python's round() rounds half to even
	if v >= 0 && v < 1 && ms < msPerDay {
		return pyClock(ms, true), true
	}
	epoch := windowsEpoch
	if date1904 {
		epoch = macEpoch
	} else if v > 0 && v < 60 {
		day++
	}
	t := epoch.AddDate(0, 0, int(day)).Add(time.Duration(ms) * time.Millisecond)
	if t.Year() < 1 || t.Year() > 9999 {
		return "", false
	}
	return fmt.Sprintf("%04d-%02d-%02d ", t.Year(), t.Month(), t.Day()) + pyClock(int64(t.Hour()*3_600_000+t.Minute()*60_000+t.Second()*1000+t.Nanosecond()/1e6), true), true
}

// pyDays is the days part of str(timedelta): "", "1 day, ", "-2 days, ".
func pyDays(d int64) string {
	switch d {
	case 0:
		return ""
	case 1, -1:
		return strconv.FormatInt(d, 10) + " day, "
	}
	return strconv.FormatInt(d, 10) + " days, "
}

// pyClock prints milliseconds since midnight as Python prints a time,
// "02:20:30" or "02:20:30.250000", or with padHours false as it prints the
// clock part of a timedelta, "2:20:30".
func pyClock(ms int64, padHours bool) string {
	h, m, s, frac := ms/3_600_000, ms/60_000%60, ms/1000%60, ms%1000
	format := "%02d:%02d:%02d"
	if !padHours {
		format = "%d:%02d:%02d"
	}
	out := fmt.Sprintf(format, h, m, s)
	if frac != 0 {
		out += fmt.Sprintf(".%06d", frac*1000)
	}
	return out
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Kinds of number format, as openpyxl tells them apart: it turns a number
// into a datetime (or a timedelta) when its format is a date (or an
// elapsed-time) format, and otherwise ignores the format; pyxform then
// prints the value.
type numFmtKind int

const (
	kindNumber numFmtKind = iota
	kindDate
	kindDuration
)

// normalizeNumFmts rewrites the workbook's cell styles, in memory, so that
// every number format is General except that date and time formats print
// the number behind dateMarker or durationMarker: values come out as
// pyxform reads them, and excelize's cost per cell no longer depends on
// what formats the file declares. It reports whether any style has a date
// or time format.
func normalizeNumFmts(xf *excelize.File) (bool, error) {
	ss := xf.Styles
	if ss == nil || ss.CellXfs == nil {
		return false, nil
	}
	custom := make(map[int]string)
	if ss.NumFmts != nil {
		for _, nf := range ss.NumFmts.NumFmt {
			if nf == nil {
				continue
			}
			code := nf.FormatCode
			if nf.FormatCode16 != "" {
				code = nf.FormatCode16
			}
			if _, seen := custom[nf.NumFmtID]; !seen { // excelize uses the first
				custom[nf.NumFmtID] = code
			}
		}
		// excelize scans the custom formats for every cell: keep none but
		// the markers added below.
		ss.NumFmts.NumFmt = ss.NumFmts.NumFmt[:0]
		ss.NumFmts.Count = 0
	}
	n := len(ss.CellXfs.Xf)
	kinds := make([]numFmtKind, n)
	var need [3]bool
	for i, x := range ss.CellXfs.Xf {
		id := 0
		if x.NumFmtID != nil {
			id = *x.NumFmtID
		}
		if code, ok := custom[id]; ok {
			kinds[i] = formatCodeKind(code)
		} else {
			kinds[i] = builtinNumFmtKind(id)
		}
		need[kinds[i]] = true
	}
	var markerFmt [3]int
	for _, k := range []numFmtKind{kindDate, kindDuration} {
		if !need[k] {
			continue
		}
		code := `\` + dateMarker + `0.00000000000000E+00`
		if k == kindDuration {
			code = `\` + durationMarker + `0.00000000000000E+00`
		}
		// NewStyle is the only way to add a number format; the cell style
		// it adds is not used. Its id is looked up by code, as NewStyle
		// may return an existing style instead of adding one.
		if _, err := xf.NewStyle(&excelize.Style{CustomNumFmt: &code}); err != nil {
			return false, err
		}
		found := false
		for i := 0; ss.NumFmts != nil && i < len(ss.NumFmts.NumFmt); i++ {
			if nf := ss.NumFmts.NumFmt[i]; nf != nil && nf.FormatCode == code {
				markerFmt[k], found = nf.NumFmtID, true
			}
		}
		if !found {
			return false, errors.New("cannot add a number format")
		}
	}
	for i := range n {
		id := markerFmt[kinds[i]] // General (0) for kindNumber
		ss.CellXfs.Xf[i].NumFmtID = &id
	}
	return need[kindDate] || need[kindDuration], nil
}

// builtinNumFmtKind classes Excel's built-in formats as openpyxl's table
// of them does (14–22 and 45–47 are dates and times, 46 [h]:mm:ss elapsed
// time), plus the East Asian built-in dates 27–36 and 50–58, which
// openpyxl does not know and would read as plain numbers: a Chinese
// Excel's short date must not read as a serial number.
func builtinNumFmtKind(id int) numFmtKind {
	switch {
	case id == 46:
		return kindDuration
	case id >= 14 && id <= 22, id >= 45 && id <= 47, id >= 27 && id <= 36, id >= 50 && id <= 58:
		return kindDate
	}
	return kindNumber
}

// elapsedFormat is openpyxl's TIMEDELTA_RE, matched at the start.
var elapsedFormat = regexp.MustCompile(`(?i)^(?:\[hh?\](?::mm(?::ss(?:\.0*)?)?)?|\[mm?\](?::ss(?:\.0*)?)?|\[ss?\](?:\.0*)?)`)

// formatCodeKind is openpyxl's is_date_format and is_timedelta_format:
// in the first section of the code, with quoted literals and bracketed
// colours, conditions and locales removed (but not [h], [mm], [s]), a
// date is any of d m y h s not escaped by \ or _.
func formatCodeKind(code string) numFmtKind {
	first, _, _ := strings.Cut(code, ";")
	var b strings.Builder
	for i := 0; i < len(first); {
		switch first[i] {
		case '"':
			if j := strings.IndexByte(first[i+1:], '"'); j >= 0 {
				i += j + 2
				continue
			}
		case '[':
			if j := strings.IndexByte(first[i+1:], ']'); j >= 0 {
				switch first[i+1 : i+1+j] {
				case "h", "hh", "m", "mm", "s", "ss":
				default:
					i += j + 2
					continue
				}
			}
		}
		b.WriteByte(first[i])
		i++
	}
	stripped := b.String()
	for i := 0; i < len(stripped); i++ {
		if strings.IndexByte("dmhysDMHYS", stripped[i]) < 0 || i > 0 && (stripped[i-1] == '\\' || stripped[i-1] == '_') {
			continue
		}
		if elapsedFormat.MatchString(first) {
			return kindDuration
		}
		return kindDate
	}
	return kindNumber
}

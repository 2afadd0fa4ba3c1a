package form

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/richardlehane/mscfb"
)

// readXLS reads a legacy Excel 97–2003 workbook (.xls, BIFF8), still
// common among forms shared from older KoboToolbox and ODK projects. Only
// what a form needs is read: sheet names and cell values (text, numbers,
// booleans and cached formula results); formatting is ignored, so a date
// cell reads as its serial number. The OLE2 container is opened with
// mscfb (already used by excelize); the records are parsed here.
func readXLS(data []byte) (*Workbook, []Problem, error) {
	stream, err := xlsWorkbookStream(data)
	if err != nil {
		return nil, nil, &Error{Problems: []Problem{{Message: "cannot read the .xls workbook: " + err.Error()}}}
	}
	wb, err := parseBIFF8(stream)
	if err != nil {
		return nil, nil, &Error{Problems: []Problem{{Message: "cannot read the .xls workbook: " + err.Error()}}}
	}
	var problems []Problem
	for _, k := range wb.Order {
		problems = append(problems, duplicateHeaders(wb.Sheets[k])...)
	}
	return wb, problems, nil
}

// maxXLSStream bounds what is read from the container: a form is small.
const maxXLSStream = 64 << 20

func xlsWorkbookStream(data []byte) (b []byte, err error) {
	defer func() {
		// mscfb trusts sector chains it reads; a corrupt file must not
		// bring the server down.
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("corrupt OLE2 container")
		}
	}()
	doc, err := mscfb.New(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	for entry, err := doc.Next(); err == nil; entry, err = doc.Next() {
		if entry.Name != "Workbook" && entry.Name != "Book" {
			continue
		}
		if entry.Size > maxXLSStream {
			return nil, fmt.Errorf("workbook stream larger than %d bytes", maxXLSStream)
		}
		b, err := io.ReadAll(io.LimitReader(entry, maxXLSStream))
		if err != nil {
			return nil, err
		}
		if entry.Name == "Book" {
			return nil, errors.New("Excel 5.0/95 workbooks are not supported; save the file as .xlsx")
		}
		return b, nil
	}
	return nil, errors.New("no Workbook stream (is this an Excel file?)")
}

// BIFF8 record types used here.
const (
	recBOF        = 0x0809
	recEOF        = 0x000A
	recBoundSheet = 0x0085
	recSST        = 0x00FC
	recContinue   = 0x003C
	recLabelSST   = 0x00FD
	recLabel      = 0x0204
	recNumber     = 0x0203
	recRK         = 0x027E
	recMulRK      = 0x00BD
	recFormula    = 0x0006
	recString     = 0x0207
	recBoolErr    = 0x0205
)

type biffRecord struct {
	typ  uint16
	data []byte
	cont [][]byte // CONTINUE records that follow
}

// biffRecords splits a stream into records starting at off, attaching
// CONTINUE records to the record they continue.
func biffRecords(stream []byte, off int) ([]biffRecord, error) {
	var out []biffRecord
	for off+4 <= len(stream) {
		typ := binary.LittleEndian.Uint16(stream[off:])
		n := int(binary.LittleEndian.Uint16(stream[off+2:]))
		off += 4
		if off+n > len(stream) {
			return out, errors.New("truncated record")
		}
		data := stream[off : off+n]
		off += n
		if typ == recContinue && len(out) > 0 {
			out[len(out)-1].cont = append(out[len(out)-1].cont, data)
			continue
		}
		out = append(out, biffRecord{typ: typ, data: data})
		if typ == recEOF {
			break
		}
	}
	return out, nil
}

type xlsSheetRef struct {
	name string
	pos  int
	kind byte
}

func parseBIFF8(stream []byte) (*Workbook, error) {
	globals, err := biffRecords(stream, 0)
	if err != nil && len(globals) == 0 {
		return nil, err
	}
	if len(globals) == 0 || globals[0].typ != recBOF || len(globals[0].data) < 2 || binary.LittleEndian.Uint16(globals[0].data) != 0x0600 {
		return nil, errors.New("not a BIFF8 (Excel 97–2003) workbook")
	}
	var sheets []xlsSheetRef
	var sst []string
	for _, r := range globals {
		switch r.typ {
		case recBoundSheet:
			if len(r.data) < 8 {
				return nil, errors.New("short BOUNDSHEET record")
			}
			cur := &biffReader{parts: [][]byte{r.data[6:]}}
			cch := int(r.data[6])
			cur.pos = 1
			name, err := cur.chars(cch)
			if err != nil {
				return nil, err
			}
			sheets = append(sheets, xlsSheetRef{name: name, pos: int(binary.LittleEndian.Uint32(r.data)), kind: r.data[5]})
		case recSST:
			sst, err = parseSST(r)
			if err != nil {
				return nil, err
			}
		}
	}
	wb := newWorkbook()
	for _, sr := range sheets {
		if sr.kind != 0 { // charts, macro sheets
			continue
		}
		if sr.pos < 0 || sr.pos >= len(stream) {
			return nil, fmt.Errorf("sheet %q: bad offset", sr.name)
		}
		s, err := parseXLSSheet(sr.name, stream, sr.pos, sst)
		if err != nil {
			return nil, fmt.Errorf("sheet %q: %w", sr.name, err)
		}
		wb.add(s)
	}
	return wb, nil
}

// biffReader reads a record's payload across its CONTINUE records.
type biffReader struct {
	parts [][]byte
	part  int
	pos   int
}

func (b *biffReader) avail() int {
	for b.part < len(b.parts) && b.pos >= len(b.parts[b.part]) {
		b.part++
		b.pos = 0
	}
	if b.part >= len(b.parts) {
		return 0
	}
	return len(b.parts[b.part]) - b.pos
}

func (b *biffReader) bytes(n int) ([]byte, error) {
	out := make([]byte, 0, min(n, 1<<16))
	for n > 0 {
		a := b.avail()
		if a == 0 {
			return nil, io.ErrUnexpectedEOF
		}
		k := min(a, n)
		out = append(out, b.parts[b.part][b.pos:b.pos+k]...)
		b.pos += k
		n -= k
	}
	return out, nil
}

func (b *biffReader) u8() (byte, error) {
	p, err := b.bytes(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

func (b *biffReader) u16() (uint16, error) {
	p, err := b.bytes(2)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(p), nil
}

func (b *biffReader) u32() (uint32, error) {
	p, err := b.bytes(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(p), nil
}

// chars reads cch characters that follow an option byte (already at the
// reader's position); a string split by CONTINUE restarts with a new
// option byte there.
func (b *biffReader) chars(cch int) (string, error) {
	flags, err := b.u8()
	if err != nil {
		return "", err
	}
	return b.charsWith(cch, flags, false)
}

func (b *biffReader) charsWith(cch int, flags byte, rich bool) (string, error) {
	var runs, ext int
	if rich {
		if flags&0x08 != 0 {
			n, err := b.u16()
			if err != nil {
				return "", err
			}
			runs = int(n)
		}
		if flags&0x04 != 0 {
			n, err := b.u32()
			if err != nil {
				return "", err
			}
			ext = int(n)
		}
	}
	units := make([]uint16, 0, min(cch, 1<<15))
	wide := flags&0x01 != 0
	for len(units) < cch {
		if b.avail() == 0 {
			return "", io.ErrUnexpectedEOF
		}
		if b.pos == 0 && len(units) > 0 {
			// A CONTINUE boundary inside the string: a new option byte.
			f, _ := b.u8()
			wide = f&0x01 != 0
			continue
		}
		if wide {
			u, err := b.u16()
			if err != nil {
				return "", err
			}
			units = append(units, u)
		} else {
			c, _ := b.u8()
			units = append(units, uint16(c))
		}
	}
	if rich {
		if _, err := b.bytes(4*runs + ext); err != nil {
			return "", err
		}
	}
	return string(utf16.Decode(units)), nil
}

func parseSST(r biffRecord) ([]string, error) {
	b := &biffReader{parts: append([][]byte{r.data}, r.cont...)}
	if _, err := b.u32(); err != nil {
		return nil, err
	}
	unique, err := b.u32()
	if err != nil {
		return nil, err
	}
	var out []string
	for i := 0; i < int(unique) && b.avail() > 0; i++ {
		cch, err := b.u16()
		if err != nil {
			return out, err
		}
		flags, err := b.u8()
		if err != nil {
			return out, err
		}
		s, err := b.charsWith(int(cch), flags, true)
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
	return out, nil
}

// xlsNumber formats a number as pyxform does: integers without a decimal
// point, others in the shortest form.
func xlsNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func rkNumber(rk uint32) float64 {
	var f float64
	if rk&0x02 != 0 {
		f = float64(int32(rk) >> 2)
	} else {
		f = math.Float64frombits(uint64(rk&0xFFFFFFFC) << 32)
	}
	if rk&0x01 != 0 {
		f /= 100
	}
	return f
}

// maxXLSCells bounds the cells kept from one sheet.
const maxXLSCells = 4 << 20

func parseXLSSheet(name string, stream []byte, pos int, sst []string) (*Sheet, error) {
	recs, _ := biffRecords(stream, pos)
	cells := map[int]map[int]string{}
	count := 0
	set := func(row, col int, v string) {
		if v == "" || count >= maxXLSCells {
			return
		}
		if cells[row] == nil {
			cells[row] = map[int]string{}
		}
		cells[row][col] = v
		count++
	}
	pendingRow, pendingCol := -1, -1
	for _, r := range recs {
		d := r.data
		rc := func() (int, int, bool) {
			if len(d) < 6 {
				return 0, 0, false
			}
			return int(binary.LittleEndian.Uint16(d)), int(binary.LittleEndian.Uint16(d[2:])), true
		}
		switch r.typ {
		case recLabelSST:
			row, col, ok := rc()
			if ok && len(d) >= 10 {
				if i := int(binary.LittleEndian.Uint32(d[6:])); i < len(sst) {
					set(row, col, sst[i])
				}
			}
		case recLabel:
			row, col, ok := rc()
			if ok && len(d) >= 9 {
				b := &biffReader{parts: append([][]byte{d[6:]}, r.cont...)}
				cch, _ := b.u16()
				if s, err := b.chars(int(cch)); err == nil {
					set(row, col, s)
				}
			}
		case recNumber:
			row, col, ok := rc()
			if ok && len(d) >= 14 {
				set(row, col, xlsNumber(math.Float64frombits(binary.LittleEndian.Uint64(d[6:]))))
			}
		case recRK:
			row, col, ok := rc()
			if ok && len(d) >= 10 {
				set(row, col, xlsNumber(rkNumber(binary.LittleEndian.Uint32(d[6:]))))
			}
		case recMulRK:
			row, col, ok := rc()
			if ok {
				for off := 4; off+6 <= len(d)-2; off += 6 {
					set(row, col, xlsNumber(rkNumber(binary.LittleEndian.Uint32(d[off+2:]))))
					col++
				}
			}
		case recBoolErr:
			row, col, ok := rc()
			if ok && len(d) >= 8 && d[7] == 0 {
				set(row, col, map[bool]string{true: "TRUE", false: "FALSE"}[d[6] != 0])
			}
		case recFormula:
			row, col, ok := rc()
			if !ok || len(d) < 14 {
				continue
			}
			res := d[6:14]
			if res[6] == 0xFF && res[7] == 0xFF {
				switch res[0] {
				case 0: // the text follows in a STRING record
					pendingRow, pendingCol = row, col
				case 1:
					set(row, col, map[bool]string{true: "TRUE", false: "FALSE"}[res[2] != 0])
				}
				continue
			}
			set(row, col, xlsNumber(math.Float64frombits(binary.LittleEndian.Uint64(res))))
		case recString:
			if pendingRow >= 0 && len(d) >= 3 {
				b := &biffReader{parts: append([][]byte{d}, r.cont...)}
				cch, _ := b.u16()
				if s, err := b.chars(int(cch)); err == nil {
					set(pendingRow, pendingCol, s)
				}
			}
			pendingRow, pendingCol = -1, -1
		}
	}
	s := &Sheet{Name: name}
	rows := make([]int, 0, len(cells))
	for r := range cells {
		rows = append(rows, r)
	}
	sort.Ints(rows)
	line := func(r int, width int) []string {
		m := cells[r]
		last := -1
		for c := range m {
			last = max(last, c)
		}
		// Cells right of the header are not read, so a wide stray cell
		// costs nothing.
		last = min(last, width-1)
		out := make([]string, last+1)
		for c, v := range m {
			if c <= last {
				out[c] = strings.TrimSpace(strings.ReplaceAll(v, "\u00a0", " "))
			}
		}
		return out
	}
	for _, r := range rows {
		if r == 0 {
			s.Header = collapseSpaces(line(0, 1<<14)) // Excel's column limit
			continue
		}
		if row, ok := rowFromCells(r+1, s.Header, line(r, len(s.Header))); ok {
			s.Rows = append(s.Rows, row)
		}
	}
	return s, nil
}

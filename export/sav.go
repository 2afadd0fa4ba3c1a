package export

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// The SPSS system file, as the PSPP developers' guide documents it
// ("System File Format"): a header record, one variable record per 8 bytes
// of a case, value labels, extension records (machine info, display
// parameters, long names, very long strings, encoding, multiple response
// sets), the dictionary terminator, then the cases. Little-endian, UTF-8.

const (
	savMaxString  = 32767 // the longest string SPSS holds
	savSegment    = 252   // a very long string has one 255-wide segment per 252 bytes of its width
	savBias       = 100.0 // compression bias: codes 1..251 are the whole numbers -99..151
	savLabelMax   = 255   // variable and value labels, in bytes
	savEpochShift = 12219379200.0
)

// sysmis is SPSS's system-missing value, -DBL_MAX.
var sysmis = -math.MaxFloat64

// savVar is one variable's layout in the file.
type savVar struct {
	v        *Variable
	width    int      // string width in bytes, 0 for numbers
	segments []int    // very long strings: the width of each segment; otherwise one entry
	short    []string // 8-byte short name of each segment
	index    int      // 1-based dictionary index of the first variable record
	slots    int      // 8-byte units in a case
	format   int32
}

func savSegments(width int) []int {
	if width <= 255 {
		return []int{width}
	}
	n := (width + savSegment - 1) / savSegment
	segs := make([]int, n)
	for i := range segs {
		segs[i] = 255
	}
	segs[n-1] = width - savSegment*(n-1)
	return segs
}

func roundUp(n, to int) int { return (n + to - 1) / to * to }

func writeSAV(ctx context.Context, st store.Store, fv store.FormVersion, f *form.Form, d *Dictionary, w io.Writer, opts Options, tick *progressTicker) (rows, truncated int, err error) {
	sp, m, err := scan(ctx, st, fv, f, d, opts, tick)
	if err != nil {
		return 0, 0, err
	}
	defer sp.close()

	// Lay the variables out.
	shorts := newShortNamer()
	vars := make([]savVar, len(d.Variables))
	index := 1
	for i := range d.Variables {
		v := &d.Variables[i]
		sv := savVar{v: v, index: index}
		if v.Kind == KindString {
			sv.width = max(1, min(m.width[i], savMaxString))
			sv.segments = savSegments(sv.width)
			for k, seg := range sv.segments {
				sv.short = append(sv.short, shorts.take(v.Name, k))
				sv.slots += roundUp(seg, 8) / 8
			}
			sv.format = savFormat(1, min(sv.width, 255), 0)
		} else {
			sv.segments = []int{0}
			sv.short = []string{shorts.take(v.Name, 0)}
			sv.slots = 1
			sv.format = savNumericFormat(v, d)
		}
		index += sv.slots
		vars[i] = sv
	}
	caseSlots := index - 1

	bw := bufio.NewWriterSize(w, 1<<16)
	sw := &savWriter{w: bw}
	compressed := !opts.SAVUncompressed

	// File header.
	sw.bytes([]byte("$FL2"))
	sw.padded("@(#) SPSS DATA FILE govsurvey "+d.FormID, 60, ' ')
	sw.int32(2) // layout code
	sw.int32(int32(caseSlots))
	if compressed {
		sw.int32(1)
	} else {
		sw.int32(0)
	}
	if d.Weight >= 0 {
		sw.int32(int32(vars[d.Weight].index))
	} else {
		sw.int32(0)
	}
	sw.int32(int32(min(m.rows, math.MaxInt32)))
	sw.float64(savBias)
	now := opts.Now
	sw.padded(now.Format("02 Jan 06"), 9, ' ')
	sw.padded(now.Format("15:04:05"), 8, ' ')
	title := d.Title
	if title == "" {
		title = d.FormID
	}
	sw.padded(truncateUTF8(title, 64), 64, ' ')
	sw.bytes([]byte{0, 0, 0})

	// Variable records.
	for _, sv := range vars {
		v := sv.v
		for k, seg := range sv.segments {
			sw.int32(2)
			sw.int32(int32(seg))
			label := ""
			if k == 0 {
				label = truncateUTF8(v.Label, savLabelMax)
			}
			if label != "" {
				sw.int32(1)
			} else {
				sw.int32(0)
			}
			sw.int32(0) // no user-missing values
			format := sv.format
			if v.Kind == KindString {
				format = savFormat(1, seg, 0)
			}
			sw.int32(format)
			sw.int32(format)
			sw.padded(sv.short[k], 8, ' ')
			if label != "" {
				sw.int32(int32(len(label)))
				sw.padded(label, roundUp(len(label), 4), ' ')
			}
			// Continuation records for the rest of the segment's 8-byte units.
			for range roundUp(max(seg, 1), 8)/8 - 1 {
				sw.int32(2)
				sw.int32(-1)
				sw.int32(0)
				sw.int32(0)
				sw.int32(0)
				sw.int32(0)
				sw.padded("", 8, ' ')
			}
		}
	}

	// Value labels: one record pair per choice list.
	for set := range d.ValueLabels {
		var idx []int32
		for _, sv := range vars {
			if sv.v.ValueLabels == set {
				idx = append(idx, int32(sv.index))
			}
		}
		if len(idx) == 0 {
			continue
		}
		labels := d.ValueLabels[set].Labels
		sw.int32(3)
		sw.int32(int32(len(labels)))
		for _, l := range labels {
			sw.float64(float64(l.Value))
			text := truncateUTF8(l.Label, savLabelMax)
			sw.bytes([]byte{byte(len(text))})
			sw.padded(text, roundUp(len(text)+1, 8)-1, ' ')
		}
		sw.int32(4)
		sw.int32(int32(len(idx)))
		for _, i := range idx {
			sw.int32(i)
		}
	}

	// Machine integer info: version, machine code, IEEE floats,
	// compression, little-endian, UTF-8 (code page 65001).
	var compression int32 = 1
	sw.ext(3, 4, 8)
	for _, x := range []int32{1, 0, 0, -1, 1, compression, 2, 65001} {
		sw.int32(x)
	}
	// Machine floating-point info: sysmis, highest, lowest.
	sw.ext(4, 8, 3)
	sw.float64(sysmis)
	sw.float64(math.MaxFloat64)
	sw.float64(math.Nextafter(-math.MaxFloat64, 0))

	// Multiple response sets (subtype 7): "$name=D1 1 <len> <label> vars\n",
	// the variables by short name, as readers look them up before long names
	// are applied.
	if len(d.Sets) > 0 {
		var b strings.Builder
		for _, s := range d.Sets {
			label := truncateUTF8(s.Label, savLabelMax)
			fmt.Fprintf(&b, "%s=D1 1 %d %s", s.Name, len(label), label)
			for _, i := range s.Variables {
				b.WriteByte(' ')
				b.WriteString(strings.ToLower(vars[i].short[0]))
			}
			b.WriteByte('\n')
		}
		sw.ext(7, 1, b.Len())
		sw.bytes([]byte(b.String()))
	}

	// Variable display parameters: measure, width, alignment per segment.
	var segs int
	for _, sv := range vars {
		segs += len(sv.segments)
	}
	sw.ext(11, 4, segs*3)
	for _, sv := range vars {
		for _, seg := range sv.segments {
			sw.int32(int32(sv.v.Measure))
			if sv.v.Kind == KindString {
				sw.int32(int32(min(max(seg, 8), 40)))
				sw.int32(0) // left
			} else {
				sw.int32(int32(max(8, min(len(sv.v.Name), 20))))
				sw.int32(1) // right
			}
		}
	}

	// Long variable names.
	var names strings.Builder
	for i, sv := range vars {
		if i > 0 {
			names.WriteByte('\t')
		}
		names.WriteString(sv.short[0] + "=" + sv.v.Name)
	}
	sw.ext(13, 1, names.Len())
	sw.bytes([]byte(names.String()))

	// Very long strings: "SHORT=00600\0\t" each.
	var vls strings.Builder
	for _, sv := range vars {
		if len(sv.segments) > 1 {
			fmt.Fprintf(&vls, "%s=%05d\x00\t", sv.short[0], sv.width)
		}
	}
	if vls.Len() > 0 {
		sw.ext(14, 1, vls.Len())
		sw.bytes([]byte(vls.String()))
	}

	// Character encoding.
	sw.ext(20, 1, len("UTF-8"))
	sw.bytes([]byte("UTF-8"))

	// Dictionary terminator.
	sw.int32(999)
	sw.int32(0)
	if sw.err != nil {
		return 0, 0, fmt.Errorf("export: sav: %w", sw.err)
	}

	// Cases.
	var cw savCases
	if compressed {
		cw = &savCompressed{w: bw}
	} else {
		cw = &savRaw{w: bw}
	}
	err = sp.each(kindsOf(d), func(row []value) error {
		for i, sv := range vars {
			if sv.width == 0 {
				x := row[i].num
				switch {
				case math.IsNaN(x):
					cw.missing()
				case sv.v.Kind == KindDate || sv.v.Kind == KindDateTime:
					cw.number(x + savEpochShift) // SPSS counts from 1582-10-14
				default:
					cw.number(x)
				}
				continue
			}
			s := row[i].str
			if len(s) > sv.width {
				s = truncateUTF8(s, sv.width)
				truncated++
			}
			for k, seg := range sv.segments {
				part := ""
				// Readers (PSPP, ReadStat) take all 255 bytes of each
				// segment; only the segment count goes by 252.
				if off := k * 255; off < len(s) {
					part = s[off:min(len(s), off+seg)]
				}
				cw.str(part, roundUp(max(seg, 1), 8))
			}
		}
		rows++
		tick.update("writing", rows)
		return cw.err()
	})
	if err == nil {
		err = cw.flush()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return rows, truncated, fmt.Errorf("export: sav: %w", err)
	}
	return rows, truncated, nil
}

func kindsOf(d *Dictionary) []Kind {
	kinds := make([]Kind, len(d.Variables))
	for i, v := range d.Variables {
		kinds[i] = v.Kind
	}
	return kinds
}

// savFormat packs a print/write format: type, width, decimals.
func savFormat(typ, width, decimals int) int32 {
	return int32(typ<<16 | width<<8 | decimals)
}

// SPSS format types used here.
const (
	fmtA        = 1
	fmtF        = 5
	fmtDate     = 20
	fmtDateTime = 22
)

func savNumericFormat(v *Variable, d *Dictionary) int32 {
	switch v.Kind {
	case KindCode:
		n := 1
		if v.ValueLabels >= 0 {
			n = len(strconv.Itoa(len(d.ValueLabels[v.ValueLabels].Labels)))
		}
		return savFormat(fmtF, max(n, 1), 0)
	case KindDichotomy:
		return savFormat(fmtF, 1, 0)
	case KindInteger:
		return savFormat(fmtF, 11, 0)
	case KindDate:
		return savFormat(fmtDate, 11, 0)
	case KindDateTime:
		return savFormat(fmtDateTime, 20, 0)
	}
	if v.Source == "weight" {
		return savFormat(fmtF, 12, 6)
	}
	return savFormat(fmtF, 12, 4)
}

// savWriter writes dictionary records, keeping the first error.
type savWriter struct {
	w   io.Writer
	err error
	b   [8]byte
}

func (s *savWriter) bytes(b []byte) {
	if s.err == nil {
		_, s.err = s.w.Write(b)
	}
}

func (s *savWriter) int32(x int32) {
	binary.LittleEndian.PutUint32(s.b[:4], uint32(x))
	s.bytes(s.b[:4])
}

func (s *savWriter) float64(x float64) {
	binary.LittleEndian.PutUint64(s.b[:], math.Float64bits(x))
	s.bytes(s.b[:])
}

// padded writes str cut or padded with pad to exactly n bytes.
func (s *savWriter) padded(str string, n int, pad byte) {
	str = truncateUTF8(str, n)
	s.bytes([]byte(str))
	for range n - len(str) {
		s.bytes([]byte{pad})
	}
}

// ext starts an extension record (type 7).
func (s *savWriter) ext(subtype, size, count int) {
	s.int32(7)
	s.int32(int32(subtype))
	s.int32(int32(size))
	s.int32(int32(count))
}

// savCases writes case data.
type savCases interface {
	number(x float64)
	missing()
	str(s string, n int) // s padded with spaces to n bytes, a multiple of 8
	flush() error
	err() error
}

type savRaw struct {
	w *bufio.Writer
	e error
	b [8]byte
}

func (r *savRaw) number(x float64) {
	binary.LittleEndian.PutUint64(r.b[:], math.Float64bits(x))
	r.write(r.b[:])
}

func (r *savRaw) missing() { r.number(sysmis) }

func (r *savRaw) str(s string, n int) {
	if r.e == nil {
		_, r.e = r.w.WriteString(s)
	}
	for range n - len(s) {
		if r.e == nil {
			r.e = r.w.WriteByte(' ')
		}
	}
}

func (r *savRaw) write(b []byte) {
	if r.e == nil {
		_, r.e = r.w.Write(b)
	}
}

func (r *savRaw) flush() error { return r.e }
func (r *savRaw) err() error   { return r.e }

// savCompressed is bytecode compression: blocks of eight one-byte codes,
// each followed by the 8-byte values of its code-253 entries. Codes: 0
// padding, 1..251 the whole number code-bias, 253 a raw 8 bytes follow,
// 254 eight spaces, 255 system-missing.
type savCompressed struct {
	w     *bufio.Writer
	e     error
	codes [8]byte
	n     int
	data  [64]byte
	nd    int
}

func (c *savCompressed) code(b byte) {
	c.codes[c.n] = b
	c.n++
	if c.n == 8 {
		c.emit()
	}
}

func (c *savCompressed) emit() {
	if c.e == nil {
		if _, c.e = c.w.Write(c.codes[:]); c.e == nil {
			_, c.e = c.w.Write(c.data[:c.nd])
		}
	}
	c.n, c.nd = 0, 0
	c.codes = [8]byte{}
}

func (c *savCompressed) raw(b []byte) {
	copy(c.data[c.nd:c.nd+8], b)
	c.nd += 8
	c.code(253)
}

func (c *savCompressed) number(x float64) {
	if x == math.Trunc(x) && x >= 1-savBias && x <= 251-savBias {
		c.code(byte(x + savBias))
		return
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
	c.raw(b[:])
}

func (c *savCompressed) missing() { c.code(255) }

func (c *savCompressed) str(s string, n int) {
	var b [8]byte
	for off := 0; off < n; off += 8 {
		chunk := ""
		if off < len(s) {
			chunk = s[off:min(len(s), off+8)]
		}
		if strings.TrimRight(chunk, " ") == "" {
			c.code(254)
			continue
		}
		copy(b[:], chunk)
		for i := len(chunk); i < 8; i++ {
			b[i] = ' '
		}
		c.raw(b[:])
	}
}

func (c *savCompressed) flush() error {
	if c.n > 0 {
		c.emit()
	}
	return c.e
}

func (c *savCompressed) err() error { return c.e }

// shortNamer makes the unique 8-byte upper-case names of the variable
// records; long names map onto them.
type shortNamer struct{ used map[string]bool }

func newShortNamer() *shortNamer { return &shortNamer{used: map[string]bool{}} }

func (s *shortNamer) take(name string, segment int) string {
	base := strings.ToUpper(name)
	if len(base) > 8 {
		base = base[:8]
	}
	cand := base
	if segment > 0 {
		cand = ""
	}
	for i := 1; cand == "" || s.used[cand]; i++ {
		suffix := strconv.Itoa(i)
		b := base
		if len(b) > 8-len(suffix) {
			b = b[:8-len(suffix)]
		}
		cand = b + suffix
	}
	s.used[cand] = true
	return cand
}

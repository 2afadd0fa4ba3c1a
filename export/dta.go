package export

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"unicode/utf8"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// The Stata .dta file, format 118 (Stata 14 and later, UTF-8), as Stata's
// own "dta" help describes it: tagged sections, a map of their offsets,
// fixed-width rows, long strings (strL) in their own section after the
// data, and value labels last. Little-endian ("LSF").

const (
	dtaStrMax   = 2045 // the widest str#; wider columns are strL
	dtaStrL     = 32768
	dtaDouble   = 65526
	dtaLong     = 65528
	dtaInt      = 65529
	dtaByte     = 65530
	gsoHeader   = 3 + 4 + 8 + 1 + 4 // "GSO", v, o, type, length
	dtaNameLen  = 129
	dtaFmtLen   = 57
	dtaLabelLen = 321
)

// Stata's missing value "." for each numeric type.
var (
	dtaByteMissing   = []byte{101}
	dtaIntMissing    = binary.LittleEndian.AppendUint16(nil, 32741)
	dtaLongMissing   = binary.LittleEndian.AppendUint32(nil, 2147483621)
	dtaDoubleMissing = binary.LittleEndian.AppendUint64(nil, 0x7fe0000000000000)
)

// Stata's epochs: %td counts days and %tc milliseconds from 1960-01-01.
const unixTo1960 = 315619200.0 // seconds from 1960-01-01 to 1970-01-01

type dtaVar struct {
	v      *Variable
	typ    int
	width  int // bytes in a row
	format string
}

func writeDTA(ctx context.Context, st store.Store, fv store.FormVersion, f *form.Form, d *Dictionary, w io.Writer, opts Options, tick *progressTicker) (rows int, err error) {
	if len(d.Variables) > math.MaxInt16 {
		return 0, fmt.Errorf("export: dta: %d variables, format 118 holds at most 32,767", len(d.Variables))
	}
	sp, m, err := scan(ctx, st, fv, f, d, opts, tick)
	if err != nil {
		return 0, err
	}
	defer sp.close()

	vars := make([]dtaVar, len(d.Variables))
	rowWidth := 0
	var strLBytes int64
	for i := range d.Variables {
		v := &d.Variables[i]
		dv := dtaVar{v: v}
		switch v.Kind {
		case KindString:
			if wd := m.width[i]; wd > dtaStrMax {
				dv.typ, dv.width, dv.format = dtaStrL, 8, "%9s"
				strLBytes += m.strLBytes[i]
			} else {
				wd = max(wd, 1)
				dv.typ, dv.width, dv.format = wd, wd, fmt.Sprintf("%%-%ds", min(wd, 60))
			}
		case KindCode:
			n := len(d.ValueLabels[v.ValueLabels].Labels)
			switch {
			case n <= 100:
				dv.typ, dv.width = dtaByte, 1
			case n <= 32740:
				dv.typ, dv.width = dtaInt, 2
			default:
				dv.typ, dv.width = dtaLong, 4
			}
			dv.format = "%8.0g"
		case KindDichotomy:
			dv.typ, dv.width, dv.format = dtaByte, 1, "%8.0g"
		case KindDate:
			dv.typ, dv.width, dv.format = dtaLong, 4, "%td"
		case KindDateTime:
			dv.typ, dv.width, dv.format = dtaDouble, 8, "%tc"
		case KindInteger:
			dv.typ, dv.width, dv.format = dtaDouble, 8, "%12.0g"
		default:
			dv.typ, dv.width, dv.format = dtaDouble, 8, "%10.0g"
		}
		rowWidth += dv.width
		vars[i] = dv
	}
	k := len(vars)

	// Everything before the data, with the map filled in below.
	var h bytes.Buffer
	var mp [14]uint64
	h.WriteString("<stata_dta><header><release>118</release><byteorder>LSF</byteorder><K>")
	h.Write(binary.LittleEndian.AppendUint16(nil, uint16(k)))
	h.WriteString("</K><N>")
	h.Write(binary.LittleEndian.AppendUint64(nil, uint64(m.rows)))
	h.WriteString("</N><label>")
	title := truncateRunes(d.Title, 80, 320)
	h.Write(binary.LittleEndian.AppendUint16(nil, uint16(len(title))))
	h.WriteString(title)
	h.WriteString("</label><timestamp>")
	stamp := opts.Now.Format("02 Jan 2006 15:04")
	h.WriteByte(byte(len(stamp)))
	h.WriteString(stamp)
	h.WriteString("</timestamp></header>")
	mp[1] = uint64(h.Len())
	h.WriteString("<map>")
	mapAt := h.Len()
	h.Write(make([]byte, 8*14))
	h.WriteString("</map>")
	mp[2] = uint64(h.Len())
	h.WriteString("<variable_types>")
	for _, dv := range vars {
		h.Write(binary.LittleEndian.AppendUint16(nil, uint16(dv.typ)))
	}
	h.WriteString("</variable_types>")
	mp[3] = uint64(h.Len())
	h.WriteString("<varnames>")
	for _, dv := range vars {
		fixed(&h, dv.v.Name, dtaNameLen)
	}
	h.WriteString("</varnames>")
	mp[4] = uint64(h.Len())
	h.WriteString("<sortlist>")
	h.Write(make([]byte, 2*(k+1)))
	h.WriteString("</sortlist>")
	mp[5] = uint64(h.Len())
	h.WriteString("<formats>")
	for _, dv := range vars {
		fixed(&h, dv.format, dtaFmtLen)
	}
	h.WriteString("</formats>")
	mp[6] = uint64(h.Len())
	h.WriteString("<value_label_names>")
	for _, dv := range vars {
		name := ""
		if dv.v.ValueLabels >= 0 {
			name = d.ValueLabels[dv.v.ValueLabels].Name
		}
		fixed(&h, name, dtaNameLen)
	}
	h.WriteString("</value_label_names>")
	mp[7] = uint64(h.Len())
	h.WriteString("<variable_labels>")
	for _, dv := range vars {
		fixed(&h, truncateRunes(dv.v.Label, 80, dtaLabelLen-1), dtaLabelLen)
	}
	h.WriteString("</variable_labels>")
	mp[8] = uint64(h.Len())
	h.WriteString("<characteristics></characteristics>")
	mp[9] = uint64(h.Len())

	dataLen := uint64(len("<data>")+len("</data>")) + uint64(m.rows)*uint64(rowWidth)
	mp[10] = mp[9] + dataLen
	strlsLen := uint64(len("<strls>")+len("</strls>")) + uint64(strLBytes)
	mp[11] = mp[10] + strlsLen
	labels := dtaValueLabels(d)
	mp[12] = mp[11] + uint64(len(labels))
	mp[13] = mp[12] + uint64(len("</stata_dta>"))
	out := h.Bytes()
	for i, off := range mp {
		binary.LittleEndian.PutUint64(out[mapAt+8*i:], off)
	}

	bw := bufio.NewWriterSize(w, 1<<16)
	bw.Write(out)
	bw.WriteString("<data>")
	kinds := kindsOf(d)
	var buf []byte
	err = sp.each(kinds, func(row []value) error {
		rows++
		buf = buf[:0]
		for i, dv := range vars {
			buf = dtaCell(buf, dv, row[i], i+1, rows)
		}
		tick.update("writing", rows)
		_, err := bw.Write(buf)
		return err
	})
	if err != nil {
		return rows, fmt.Errorf("export: dta: %w", err)
	}
	bw.WriteString("</data><strls>")
	if strLBytes > 0 {
		// A second read of the spool writes the long strings, in the
		// order the data refer to them.
		o := 0
		err = sp.each(kinds, func(row []value) error {
			o++
			for i, dv := range vars {
				if dv.typ != dtaStrL || row[i].str == "" {
					continue
				}
				s := row[i].str
				bw.WriteString("GSO")
				var hdr [4 + 8 + 1 + 4]byte
				binary.LittleEndian.PutUint32(hdr[0:], uint32(i+1))
				binary.LittleEndian.PutUint64(hdr[4:], uint64(o))
				hdr[12] = 130 // text, NUL-terminated
				binary.LittleEndian.PutUint32(hdr[13:], uint32(len(s)+1))
				bw.Write(hdr[:])
				bw.WriteString(s)
				if err := bw.WriteByte(0); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return rows, fmt.Errorf("export: dta: %w", err)
		}
	}
	bw.WriteString("</strls>")
	bw.Write(labels)
	bw.WriteString("</stata_dta>")
	if err := bw.Flush(); err != nil {
		return rows, fmt.Errorf("export: dta: %w", err)
	}
	return rows, nil
}

// dtaCell appends one cell of observation obs (1-based); v is the
// variable's number (1-based), for strL references.
func dtaCell(buf []byte, dv dtaVar, x value, v, obs int) []byte {
	switch dv.typ {
	case dtaStrL:
		if x.str == "" {
			return append(buf, 0, 0, 0, 0, 0, 0, 0, 0)
		}
		// (v,o): v in 2 bytes, o in 6, little-endian.
		buf = binary.LittleEndian.AppendUint16(buf, uint16(v))
		o := uint64(obs)
		return append(buf, byte(o), byte(o>>8), byte(o>>16), byte(o>>24), byte(o>>32), byte(o>>40))
	case dtaByte:
		if math.IsNaN(x.num) {
			return append(buf, dtaByteMissing...)
		}
		return append(buf, byte(int8(x.num)))
	case dtaInt:
		if math.IsNaN(x.num) {
			return append(buf, dtaIntMissing...)
		}
		return binary.LittleEndian.AppendUint16(buf, uint16(int16(x.num)))
	case dtaLong:
		if math.IsNaN(x.num) {
			return append(buf, dtaLongMissing...)
		}
		n := x.num
		if dv.v.Kind == KindDate {
			n = math.Floor((n + unixTo1960) / 86400)
		}
		return binary.LittleEndian.AppendUint32(buf, uint32(int32(n)))
	case dtaDouble:
		if math.IsNaN(x.num) {
			return append(buf, dtaDoubleMissing...)
		}
		n := x.num
		if dv.v.Kind == KindDateTime {
			n = math.Round((n + unixTo1960) * 1000)
		}
		return binary.LittleEndian.AppendUint64(buf, math.Float64bits(n))
	}
	// str#: the bytes, NUL-padded to the width.
	s := x.str
	if len(s) > dv.width {
		s = truncateUTF8(s, dv.width)
	}
	buf = append(buf, s...)
	for range dv.width - len(s) {
		buf = append(buf, 0)
	}
	return buf
}

// dtaValueLabels is the <value_labels> section: one <lbl> per choice list.
func dtaValueLabels(d *Dictionary) []byte {
	var b bytes.Buffer
	b.WriteString("<value_labels>")
	for _, set := range d.ValueLabels {
		var txt bytes.Buffer
		var offs, vals []byte
		for _, l := range set.Labels {
			offs = binary.LittleEndian.AppendUint32(offs, uint32(txt.Len()))
			vals = binary.LittleEndian.AppendUint32(vals, uint32(int32(l.Value)))
			txt.WriteString(truncateUTF8(l.Label, 32000))
			txt.WriteByte(0)
		}
		n := len(set.Labels)
		table := 4 + 4 + 8*n + txt.Len()
		b.WriteString("<lbl>")
		b.Write(binary.LittleEndian.AppendUint32(nil, uint32(table)))
		fixed(&b, set.Name, dtaNameLen)
		b.Write([]byte{0, 0, 0})
		b.Write(binary.LittleEndian.AppendUint32(nil, uint32(n)))
		b.Write(binary.LittleEndian.AppendUint32(nil, uint32(txt.Len())))
		b.Write(offs)
		b.Write(vals)
		b.Write(txt.Bytes())
		b.WriteString("</lbl>")
	}
	b.WriteString("</value_labels>")
	return b.Bytes()
}

// fixed writes s NUL-padded to exactly n bytes, always leaving a NUL.
func fixed(b *bytes.Buffer, s string, n int) {
	s = truncateUTF8(s, n-1)
	b.WriteString(s)
	b.Write(make([]byte, n-len(s)))
}

// truncateRunes cuts s to at most n characters and at most max bytes.
func truncateRunes(s string, n, maxBytes int) string {
	if utf8.RuneCountInString(s) > n {
		i := 0
		for j := range s {
			if i == n {
				s = s[:j]
				break
			}
			i++
		}
	}
	return truncateUTF8(s, maxBytes)
}

package export

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// value is one cell: a number (NaN when missing) or a string ("" when
// missing), as the variable's Kind says.
type value struct {
	num float64
	str string
}

var missing = math.NaN()

// converter turns stored responses into rows of a dictionary's variables.
type converter struct {
	d      *Dictionary
	forms  *collect.Forms
	fv     store.FormVersion
	f      *form.Form
	fields []*form.Question
	revs   map[int]*revisionFields
	vals   []string // per field of the latest revision, for the current response
	codes  []map[string]int
	// wall: date-times as wall-clock seconds in d.Location (SPSS, Stata),
	// otherwise as Unix seconds (Parquet, whose timestamps are UTC).
	wall    bool
	weights func(string) (float64, bool)
	invalid func(string) (string, bool)
	row     []value
	// multi caches, per field and row, whether a select_multiple answer
	// names only choices of its list (0: not yet known, 1: yes, 2: no).
	multi []int8
	// Invalid counts the answers written as missing because they fail
	// their question's type or choices (cleaning flags them invalid_value).
	Invalid int
}

// revisionFields maps the fields of one revision onto the latest's.
type revisionFields struct {
	f   *form.Form
	buf []string
	to  []int // index in the latest fields, -1 when the latest has no such question
}

func newConverter(st store.Store, fv store.FormVersion, f *form.Form, d *Dictionary, opts Options, wall bool) *converter {
	fields := f.Fields()
	c := &converter{
		d: d, forms: collect.NewForms(st), fv: fv, f: f, fields: fields,
		revs: map[int]*revisionFields{}, vals: make([]string, len(fields)),
		codes: make([]map[string]int, len(fields)), wall: wall,
		row: make([]value, len(d.Variables)), multi: make([]int8, len(fields)),
	}
	if opts.Weights != nil {
		c.weights = opts.Weights.Of
	}
	if opts.Cleaning != nil {
		c.invalid = opts.Cleaning.Invalid
	}
	for _, v := range d.Variables {
		if v.Kind == KindCode || v.Kind == KindDichotomy {
			if c.codes[v.field] == nil {
				m := map[string]int{}
				for j, ch := range f.Choices[v.Question.ListName] {
					if _, dup := m[ch.Name]; !dup {
						m[ch.Name] = j + 1
					}
				}
				c.codes[v.field] = m
			}
		}
	}
	return c
}

// convert fills and returns the row of r; the row is reused by the next call.
func (c *converter) convert(ctx context.Context, r store.Response) ([]value, error) {
	rf, err := c.revision(ctx, r.Revision)
	if err != nil {
		return nil, err
	}
	if err := rf.f.DecodeInto(r.Answers, rf.buf); err != nil {
		return nil, fmt.Errorf("export: response %s: %w", r.InstanceID, err)
	}
	clear(c.vals)
	for j, v := range rf.buf {
		if k := rf.to[j]; k >= 0 {
			c.vals[k] = v
		}
	}
	row := c.row
	clear(c.multi)
	for i := range c.d.Variables {
		v := &c.d.Variables[i]
		switch v.Source {
		case "meta":
			switch v.Name {
			case "instance_id":
				row[i] = value{str: r.InstanceID}
			case "started":
				row[i] = value{num: c.instant(r.Started)}
			case "ended":
				row[i] = value{num: c.instant(r.Ended)}
			case "submitted_at":
				row[i] = value{num: c.instant(r.SubmittedAt)}
			case "client":
				row[i] = value{str: r.Client}
			}
		case "validity":
			reasons, bad := c.invalid(r.InstanceID)
			if v.Kind == KindString {
				row[i] = value{str: reasons}
			} else if bad {
				row[i] = value{num: 0}
			} else {
				row[i] = value{num: 1}
			}
		case "weight":
			w, ok := c.weights(r.InstanceID)
			if !ok {
				w = missing
			}
			row[i] = value{num: w}
		case "choice":
			s := c.vals[v.field]
			switch {
			case s == "" || !c.choicesValid(v.field, s):
				row[i] = value{num: missing}
			case chosen(s, v.Choice.Name):
				row[i] = value{num: 1}
			default:
				row[i] = value{num: 0}
			}
		case "question":
			row[i] = c.answer(v, c.vals[v.field])
			if s := c.vals[v.field]; s != "" && v.Kind != KindString && math.IsNaN(row[i].num) {
				c.Invalid++
			}
		}
	}
	return row, nil
}

// choicesValid reports whether every name in the select_multiple answer s
// is a choice of field's list. One that is not makes the whole answer
// missing: its dichotomies could not say what was chosen.
func (c *converter) choicesValid(field int, s string) bool {
	switch c.multi[field] {
	case 1:
		return true
	case 2:
		return false
	}
	ok := true
	for _, tok := range strings.Fields(s) {
		if _, found := c.codes[field][tok]; !found {
			ok = false
			break
		}
	}
	if ok {
		c.multi[field] = 1
	} else {
		c.multi[field] = 2
		c.Invalid++
	}
	return ok
}

// chosen reports whether name is one of the space-separated names in s.
func chosen(s, name string) bool {
	for len(s) > 0 {
		var tok string
		tok, s, _ = strings.Cut(s, " ")
		if tok == name {
			return true
		}
	}
	return false
}

// answer converts one answer. A value that does not fit its question (a
// name not in the list, a number that does not parse) is missing here:
// cleaning flags it invalid_value, and the CSV export keeps it as given.
func (c *converter) answer(v *Variable, s string) value {
	if s == "" {
		if v.Kind == KindString {
			return value{}
		}
		return value{num: missing}
	}
	switch v.Kind {
	case KindString:
		return value{str: s}
	case KindCode:
		if code, ok := c.codes[v.field][s]; ok {
			return value{num: float64(code)}
		}
	case KindInteger, KindDecimal:
		if x, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && !math.IsInf(x, 0) && !math.IsNaN(x) {
			if v.Kind == KindInteger && x != math.Trunc(x) {
				break
			}
			return value{num: x}
		}
	case KindDate:
		if t, err := time.Parse(time.DateOnly, strings.TrimSpace(s)); err == nil {
			return value{num: float64(t.Unix())}
		}
	case KindDateTime:
		if t, ok := parseDateTime(s); ok {
			return value{num: c.instant(t)}
		}
	}
	return value{num: missing}
}

// parseDateTime reads an ODK dateTime: RFC 3339, with or without the colon
// in the offset.
func parseDateTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// instant is t in seconds, as Unix time or as wall-clock time in the
// dictionary's zone; NaN when unknown.
func (c *converter) instant(t time.Time) float64 {
	if t.IsZero() {
		return missing
	}
	sec := float64(t.Unix()) + float64(t.Nanosecond())/1e9
	if c.wall {
		_, off := t.In(c.d.Location).Zone()
		sec += float64(off)
	}
	return sec
}

func (c *converter) revision(ctx context.Context, rev int) (*revisionFields, error) {
	if rf, ok := c.revs[rev]; ok {
		return rf, nil
	}
	f := c.f
	if rev != c.fv.Revision {
		var err error
		if f, err = c.forms.Revision(ctx, c.fv.FormID, rev); err != nil {
			return nil, fmt.Errorf("export: form %s revision %d: %w", c.fv.FormID, rev, err)
		}
	}
	index := make(map[string]int, len(c.fields))
	for i, q := range c.fields {
		index[q.Name] = i
	}
	fields := f.Fields()
	rf := &revisionFields{f: f, buf: make([]string, len(fields)), to: make([]int, len(fields))}
	for j, q := range fields {
		k, ok := index[q.Name]
		if !ok {
			k = -1
		}
		rf.to[j] = k
	}
	c.revs[rev] = rf
	return rf, nil
}

// measures is what the first pass learns that .sav and .dta headers need.
type measures struct {
	rows  int
	width []int // per variable: the longest string in bytes (strings only)
	// strLBytes is the size the variable's values take in Stata's strL
	// section, should it be too wide for a str#.
	strLBytes []int64
}

// spool keeps converted rows in a temporary file, compactly: per cell one
// tag byte, 0 missing, 1 a float64, 2 a string (uvarint length and bytes),
// 3+k the small whole number k.
type spool struct {
	f  *os.File
	w  *bufio.Writer
	b  []byte
	vs []value
}

const smallMax = 255 - 3

func newSpool(dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, "govsurvey-export-*.spool")
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return &spool{f: f, w: bufio.NewWriterSize(f, 1<<16)}, nil
}

func (s *spool) write(row []value, kinds []Kind) error {
	b := s.b[:0]
	for i, v := range row {
		if kinds[i] == KindString {
			if v.str == "" {
				b = append(b, 0)
				continue
			}
			b = append(b, 2)
			b = binary.AppendUvarint(b, uint64(len(v.str)))
			b = append(b, v.str...)
			continue
		}
		switch x := v.num; {
		case math.IsNaN(x):
			b = append(b, 0)
		case x >= 0 && x <= smallMax && x == math.Trunc(x):
			b = append(b, byte(3+int(x)))
		default:
			b = append(b, 1)
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		}
	}
	s.b = b
	_, err := s.w.Write(b)
	return err
}

// each reads the spooled rows back, in order.
func (s *spool) each(kinds []Kind, fn func([]value) error) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("export: spool: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("export: spool: %w", err)
	}
	r := bufio.NewReaderSize(s.f, 1<<16)
	if cap(s.vs) < len(kinds) {
		s.vs = make([]value, len(kinds))
	}
	row := s.vs[:len(kinds)]
	var buf []byte
	for {
		for i := range kinds {
			tag, err := r.ReadByte()
			if err != nil {
				if errors.Is(err, io.EOF) && i == 0 {
					return nil
				}
				return fmt.Errorf("export: spool: %w", err)
			}
			switch {
			case tag == 0:
				row[i] = value{num: missing}
			case tag == 1:
				var b [8]byte
				if _, err := io.ReadFull(r, b[:]); err != nil {
					return fmt.Errorf("export: spool: %w", err)
				}
				row[i] = value{num: math.Float64frombits(binary.LittleEndian.Uint64(b[:]))}
			case tag == 2:
				n, err := binary.ReadUvarint(r)
				if err != nil {
					return fmt.Errorf("export: spool: %w", err)
				}
				if uint64(cap(buf)) < n {
					buf = make([]byte, n)
				}
				buf = buf[:n]
				if _, err := io.ReadFull(r, buf); err != nil {
					return fmt.Errorf("export: spool: %w", err)
				}
				row[i] = value{str: string(buf)}
			default:
				row[i] = value{num: float64(tag - 3)}
			}
		}
		if err := fn(row); err != nil {
			return err
		}
	}
}

func (s *spool) close() {
	s.f.Close()
	os.Remove(s.f.Name())
}

package stats

import (
	"encoding/binary"
	"errors"
	"strings"

	"github.com/govsurvey/govsurvey/form"
)

// Reading choice codes straight from the stored answers.
//
// (*form.Form).DecodeInto turns every answer back into its text (a
// select_multiple into a new space-separated string), which the loader
// would at once turn into codes again: about 1.7 µs a response, most of
// the time of loading a million. The stored encoding already holds choice
// codes and bitsets (form/answers.go, version 1), so the loader reads them
// directly. This file is the only place outside package form that knows
// that layout; anything it does not recognise (another version, a
// malformed record) goes through DecodeInto, and a test decodes generated
// responses both ways and requires the same columns. When package form
// offers a code-level decoder, this file gives way to it.
//
// The layout, positional over f.Fields():
//
//	version byte (1), uvarint number of fields, then per field a uvarint
//	tag t: 0 unanswered; odd: t>>1 bytes of the value as given; even:
//	select_one choice t>>1 − 1, or select_multiple a bitset of t>>1 bytes
//	(bit i, least significant first, is choice i).

const answersV1 = 1

var errNotV1 = errors.New("stats: not a version 1 answers record")

// rawKind is what one field of a record holds.
type rawKind uint8

const (
	rawNone   rawKind = iota // unanswered
	rawText                  // the value as given: b[lo:hi]
	rawChoice                // select_one: choice code (0-based in the revision's list)
	rawSet                   // select_multiple: bitset bytes b[lo:hi]
)

type rawField struct {
	kind   rawKind
	code   int
	lo, hi int
}

// revCodes is what reading codes needs of one revision's fields.
type revCodes struct {
	multiple []bool     // the field is a select_multiple with choice codes
	coded    []bool     // the field may hold choice codes (a select with a list)
	names    [][]string // per field: the revision's choice names
	// toCode maps, per field that is a dataset column, the revision's
	// choice index to the column's 1-based code (NoChoice when the
	// column's list lacks the name).
	toCode [][]uint16
	// sameList is set when the revision's list equals the column's, so a
	// bitset can be copied as it is.
	sameList []bool
}

func newRevCodes(f *form.Form, fields []*form.Question, toCol []int, cols []*colPlan) *revCodes {
	rc := &revCodes{multiple: make([]bool, len(fields)), coded: make([]bool, len(fields)),
		names: make([][]string, len(fields)), toCode: make([][]uint16, len(fields)), sameList: make([]bool, len(fields))}
	for i, q := range fields {
		if q.Type != "select_one" && q.Type != "select_multiple" {
			continue
		}
		list := f.Choices[q.ListName]
		if len(list) == 0 {
			continue
		}
		rc.coded[i] = true
		rc.multiple[i] = q.Type == "select_multiple"
		names := make([]string, len(list))
		for j, ch := range list {
			names[j] = ch.Name
		}
		rc.names[i] = names
		k := toCol[i]
		if k < 0 || cols[k].col.Kind == Numeric {
			continue
		}
		p := cols[k]
		m := make([]uint16, len(list))
		same := len(list) == len(p.col.Choices)
		for j, name := range names {
			code, ok := p.index[name]
			if !ok {
				code = NoChoice
			}
			m[j] = code
			if int(code) != j+1 {
				same = false
			}
		}
		rc.toCode[i] = m
		rc.sameList[i] = same
	}
	return rc
}

// parseV1 splits a version 1 record into its fields.
func parseV1(b []byte, rc *revCodes, out []rawField) error {
	if len(b) < 2 || b[0] != answersV1 {
		return errNotV1
	}
	p := 1
	n, k := binary.Uvarint(b[p:])
	if k <= 0 || n != uint64(len(out)) {
		return errNotV1
	}
	p += k
	for i := range out {
		if p >= len(b) {
			return errNotV1
		}
		if b[p] == 0 {
			out[i] = rawField{}
			p++
			continue
		}
		t, k := binary.Uvarint(b[p:])
		if k <= 0 {
			return errNotV1
		}
		p += k
		size := t >> 1
		switch {
		case t&1 == 1:
			if size == 0 || size > uint64(len(b)-p) {
				return errNotV1
			}
			out[i] = rawField{kind: rawText, lo: p, hi: p + int(size)}
			p += int(size)
		case !rc.coded[i]:
			return errNotV1
		case rc.multiple[i]:
			if size == 0 || size > uint64(len(b)-p) || size > uint64(len(rc.names[i])+7)/8 || b[p+int(size)-1] == 0 {
				return errNotV1
			}
			out[i] = rawField{kind: rawSet, lo: p, hi: p + int(size)}
			p += int(size)
		default:
			if size-1 >= uint64(len(rc.names[i])) {
				return errNotV1
			}
			out[i] = rawField{kind: rawChoice, code: int(size - 1)}
		}
	}
	if p != len(b) {
		return errNotV1
	}
	return nil
}

// text returns field i's value as DecodeInto would, for relevance.
func (rc *revCodes) text(b []byte, raw []rawField, i int) string {
	f := raw[i]
	switch f.kind {
	case rawText:
		return string(b[f.lo:f.hi])
	case rawChoice:
		return rc.names[i][f.code]
	case rawSet:
		var sb strings.Builder
		for k, x := range b[f.lo:f.hi] {
			for bit := 0; bit < 8; bit++ {
				if x&(1<<bit) == 0 {
					continue
				}
				j := k*8 + bit
				if j >= len(rc.names[i]) {
					continue
				}
				if sb.Len() > 0 {
					sb.WriteByte(' ')
				}
				sb.WriteString(rc.names[i][j])
			}
		}
		return sb.String()
	}
	return ""
}

// holds checks conditions ${name} = 'literal' on a record: the field's
// text equals the literal (an unanswered or missing field is "").
func (rc *revCodes) holds(b []byte, raw []rawField, eqs []relEq, pos []int) bool {
	for j, eq := range eqs {
		i := pos[j]
		if i < 0 {
			if eq.literal != "" {
				return false
			}
			continue
		}
		f := raw[i]
		var ok bool
		switch f.kind {
		case rawNone:
			ok = eq.literal == ""
		case rawChoice:
			ok = rc.names[i][f.code] == eq.literal
		case rawText:
			ok = string(b[f.lo:f.hi]) == eq.literal
		default:
			ok = rc.text(b, raw, i) == eq.literal
		}
		if !ok {
			return false
		}
	}
	return true
}

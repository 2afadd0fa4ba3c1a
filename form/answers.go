package form

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Answers are one response's answers: field name → value as in
// CONTRACTS.md §2 (a select_multiple holds chosen names separated by single
// spaces). An empty or absent value is unanswered.
type Answers map[string]string

// The answers encoding, version 1, positional over f.Fields():
//
//	version byte (1)
//	uvarint number of fields
//	per field one uvarint tag t, then:
//	  t == 0       unanswered
//	  t odd        the value as given: t>>1 bytes follow (at least one)
//	  t even, > 0  select_one: choice number t>>1 - 1 of the field's list
//	               select_multiple: a bitset of t>>1 bytes follows, bit i
//	               (least significant first) meaning choice i is chosen
//
// Choice codes are used only when decoding gives back exactly the string
// given (a select_multiple in list order with single spaces) and the set is
// no longer than the names; anything else, including a value that is not a
// choice, is stored as given. So an
// unanswered field costs one byte, a select_one answer usually one, and
// decoding needs no JSON.
const answersVersion = 1

var errTruncated = errors.New("form: answers: truncated")

// fieldIndex is what the codec needs of a form, built once.
type fieldIndex struct {
	fields []*Question
	pos    map[string]int // name, and group path, → position
	codes  []*choiceCodes // per field; nil when values are always stored as given
}

type choiceCodes struct {
	multiple bool
	names    []string
	index    map[string]int // name → first position in the list
}

// fieldIndex returns the form's field index, building it on first use. Two
// goroutines may both build it; they build the same thing and one is kept.
func (f *Form) fieldIndex() *fieldIndex {
	if ix := f.index.Load(); ix != nil {
		return ix
	}
	fields := f.Fields()
	ix := &fieldIndex{
		fields: fields,
		pos:    make(map[string]int, 2*len(fields)),
		codes:  make([]*choiceCodes, len(fields)),
	}
	for i, q := range fields {
		if _, dup := ix.pos[q.Name]; !dup {
			ix.pos[q.Name] = i
		}
		if q.Path != "" && q.Path != q.Name {
			if _, dup := ix.pos[q.Path]; !dup {
				ix.pos[q.Path] = i
			}
		}
		if q.Type != "select_one" && q.Type != "select_multiple" {
			continue
		}
		list := f.Choices[q.ListName]
		if len(list) == 0 {
			continue
		}
		cc := &choiceCodes{multiple: q.Type == "select_multiple", names: make([]string, len(list)), index: make(map[string]int, len(list))}
		for j, ch := range list {
			cc.names[j] = ch.Name
			if _, dup := cc.index[ch.Name]; !dup {
				cc.index[ch.Name] = j
			}
		}
		ix.codes[i] = cc
	}
	f.index.CompareAndSwap(nil, ix)
	return f.index.Load()
}

// EncodeAnswers encodes a response's answers against this form version.
// Keys are field names (or group paths such as "demo/gender"); a key that
// is no field of the form is an error naming it.
func (f *Form) EncodeAnswers(a Answers) ([]byte, error) {
	ix := f.fieldIndex()
	vals := make([]string, len(ix.fields))
	var unknown []string
	size := 2 + len(ix.fields)
	for k, v := range a {
		i, ok := ix.pos[k]
		if !ok {
			unknown = append(unknown, k)
			continue
		}
		if vals[i] != "" && v != "" && vals[i] != v {
			return nil, fmt.Errorf("form: field %q is given twice with different values", ix.fields[i].Name)
		}
		if v != "" {
			vals[i] = v
			size += len(v) + binary.MaxVarintLen64
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		if len(unknown) == 1 {
			return nil, fmt.Errorf("form: unknown field %q in form %s", unknown[0], f.ID)
		}
		return nil, fmt.Errorf("form: unknown fields %s in form %s", quoteList(unknown), f.ID)
	}
	return ix.encode(vals, size), nil
}

// FieldPosition is the place of the field named name (or at group path
// name) in EncodeValues' argument, or -1 when the form has no such field.
func (f *Form) FieldPosition(name string) int {
	if i, ok := f.fieldIndex().pos[name]; ok {
		return i
	}
	return -1
}

// NumFields is the length of EncodeValues' argument.
func (f *Form) NumFields() int { return len(f.fieldIndex().fields) }

// EncodeValues is EncodeAnswers for answers already placed by
// FieldPosition ("" unanswered): the ingest path, which has them so
// from validation, skips the map. vals must be NumFields long.
func (f *Form) EncodeValues(vals []string) []byte {
	ix := f.fieldIndex()
	if len(vals) != len(ix.fields) {
		panic(fmt.Sprintf("form: EncodeValues given %d values for %d fields", len(vals), len(ix.fields)))
	}
	size := 2 + len(vals)
	for _, v := range vals {
		if v != "" {
			size += len(v) + binary.MaxVarintLen64
		}
	}
	return ix.encode(vals, size)
}

// encode encodes vals, one per field, in a buffer of capacity size.
func (ix *fieldIndex) encode(vals []string, size int) []byte {
	buf := make([]byte, 0, size)
	buf = append(buf, answersVersion)
	buf = binary.AppendUvarint(buf, uint64(len(ix.fields)))
	for i, v := range vals {
		if v == "" {
			buf = append(buf, 0)
			continue
		}
		if cc := ix.codes[i]; cc != nil {
			if out, ok := cc.encode(buf, v); ok {
				buf = out
				continue
			}
		}
		buf = binary.AppendUvarint(buf, uint64(len(v))<<1|1)
		buf = append(buf, v...)
	}
	return buf
}

// encode appends v as a choice code when that decodes back to v exactly.
func (cc *choiceCodes) encode(buf []byte, v string) ([]byte, bool) {
	if !cc.multiple {
		j, ok := cc.index[v]
		if !ok {
			return buf, false
		}
		return binary.AppendUvarint(buf, uint64(j+1)<<1), true
	}
	// Canonical select_multiple: known names, strictly in list order, one
	// space apart. Anything else is kept as written.
	last := -1
	rest := v
	var bits []byte
	for {
		name, tail, more := strings.Cut(rest, " ")
		j, ok := cc.index[name]
		if !ok || j <= last {
			return buf, false
		}
		for len(bits) <= j/8 {
			bits = append(bits, 0)
		}
		bits[j/8] |= 1 << (j % 8)
		last = j
		if !more {
			break
		}
		rest = tail
	}
	if len(bits) > len(v) {
		// A long list with only late choices: the names are shorter.
		return buf, false
	}
	buf = binary.AppendUvarint(buf, uint64(len(bits))<<1)
	return append(buf, bits...), true
}

// DecodeAnswers decodes answers encoded with this form version. Unanswered
// fields are absent from the result. Malformed input is an error, never a
// panic.
func (f *Form) DecodeAnswers(b []byte) (Answers, error) {
	ix := f.fieldIndex()
	vals := make([]string, len(ix.fields))
	if err := ix.decode(b, vals); err != nil {
		return nil, err
	}
	a := make(Answers, len(vals))
	for i, v := range vals {
		if v != "" {
			a[ix.fields[i].Name] = v
		}
	}
	return a, nil
}

// DecodeInto decodes answers positionally: dst[i] becomes the value of
// f.Fields()[i], "" when unanswered. len(dst) must equal the number of
// fields. On error dst may be partly written. It allocates only for values
// that are not single choice names.
func (f *Form) DecodeInto(b []byte, dst []string) error {
	ix := f.fieldIndex()
	if len(dst) != len(ix.fields) {
		return fmt.Errorf("form: answers: destination holds %d values, form %s has %d fields", len(dst), f.ID, len(ix.fields))
	}
	return ix.decode(b, dst)
}

func (ix *fieldIndex) decode(b []byte, dst []string) error {
	if len(b) == 0 {
		return errTruncated
	}
	if b[0] != answersVersion {
		return fmt.Errorf("form: answers: unknown encoding version %d", b[0])
	}
	p := 1
	n, k := binary.Uvarint(b[p:])
	if k <= 0 {
		return errTruncated
	}
	p += k
	if n != uint64(len(ix.fields)) {
		return fmt.Errorf("form: answers: encoded for %d fields, the form has %d (wrong form version?)", n, len(ix.fields))
	}
	for i := range ix.fields {
		if p >= len(b) {
			return errTruncated
		}
		if b[p] == 0 { // the common unanswered case, without a varint call
			dst[i] = ""
			p++
			continue
		}
		t, k := binary.Uvarint(b[p:])
		if k <= 0 {
			return fmt.Errorf("form: answers: field %d: bad length", i)
		}
		p += k
		size := t >> 1
		if t&1 == 1 {
			if size == 0 || size > uint64(len(b)-p) {
				return fmt.Errorf("form: answers: field %d: bad length", i)
			}
			dst[i] = string(b[p : p+int(size)])
			p += int(size)
			continue
		}
		cc := ix.codes[i]
		if cc == nil {
			return fmt.Errorf("form: answers: field %d: choice code for a field without choices", i)
		}
		if !cc.multiple {
			if size-1 >= uint64(len(cc.names)) {
				return fmt.Errorf("form: answers: field %d: choice %d out of range", i, size-1)
			}
			dst[i] = cc.names[size-1]
			continue
		}
		if size == 0 || size > uint64(len(b)-p) || size > uint64(len(cc.names)+7)/8 {
			return fmt.Errorf("form: answers: field %d: bad choice set", i)
		}
		bits := b[p : p+int(size)]
		p += int(size)
		v, err := cc.decodeSet(bits)
		if err != nil {
			return fmt.Errorf("form: answers: field %d: %w", i, err)
		}
		dst[i] = v
	}
	if p != len(b) {
		return fmt.Errorf("form: answers: %d bytes after the last field", len(b)-p)
	}
	return nil
}

// AllCoded reports whether b, answers encoded with f, holds choice codes
// only: every answered field is a select whose answer is stored as the
// numbers of its choices, none as given. Such answers say nothing but
// choice names. It reads b without decoding it into strings, and reports
// false for anything it cannot read (Decode then says what is wrong).
func (f *Form) AllCoded(b []byte) bool {
	ix := f.fieldIndex()
	if len(b) == 0 || b[0] != answersVersion {
		return false
	}
	p := 1
	n, k := binary.Uvarint(b[p:])
	if k <= 0 || n != uint64(len(ix.fields)) {
		return false
	}
	p += k
	for i := range ix.fields {
		if p >= len(b) {
			return false
		}
		if b[p] == 0 {
			p++
			continue
		}
		t, k := binary.Uvarint(b[p:])
		if k <= 0 || t&1 == 1 || ix.codes[i] == nil {
			return false
		}
		p += k
		if ix.codes[i].multiple {
			size := t >> 1
			if size > uint64(len(b)-p) {
				return false
			}
			p += int(size)
		}
	}
	return p == len(b)
}

func (cc *choiceCodes) decodeSet(bits []byte) (string, error) {
	if bits[len(bits)-1] == 0 {
		return "", errors.New("bad choice set")
	}
	var sb strings.Builder
	for j := 0; j < len(bits)*8; j++ {
		if bits[j/8]&(1<<(j%8)) == 0 {
			continue
		}
		if j >= len(cc.names) {
			return "", errors.New("choice out of range")
		}
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(cc.names[j])
	}
	return sb.String(), nil
}

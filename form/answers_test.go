package form

import (
	"bytes"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// codecForm has a select_one, a select_multiple over ten choices (a two-byte
// set), text, a field inside a group, and metadata that holds no answer.
const codecForm = `
| survey |
| | type | name | label |
| | start | started | |
| | select_one yn | agree | Agree? |
| | select_multiple ten | picks | Picks |
| | begin_group | g | G |
| | text | comment | Comment |
| | end_group | | |
| | integer | n | N |
| choices |
| | list_name | name | label |
| | yn | yes | Yes |
| | yn | no | No |
| | ten | c0 | 0 |
| | ten | c1 | 1 |
| | ten | c2 | 2 |
| | ten | c3 | 3 |
| | ten | c4 | 4 |
| | ten | c5 | 5 |
| | ten | c6 | 6 |
| | ten | c7 | 7 |
| | ten | c8 | 8 |
| | ten | c9 | 9 |
`

func codecTestForm(t testing.TB) *Form {
	t.Helper()
	f, err := Parse("codec.md", []byte(codecForm))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestAnswersRoundTrip(t *testing.T) {
	f := codecTestForm(t)
	tests := []struct {
		name string
		in   Answers
		want Answers // nil: same as in
		size int     // exact encoded size, 0: not checked
	}{
		{name: "nothing answered costs one byte a field", in: Answers{}, size: 2 + 4},
		{name: "empty values are unanswered", in: Answers{"agree": "", "comment": ""}, want: Answers{}, size: 6},
		{name: "a choice is one byte", in: Answers{"agree": "no"}, size: 6},
		{name: "choice set in list order", in: Answers{"picks": "c0 c3 c9"}, size: 6 + 2},
		{name: "choice set out of list order is kept as given", in: Answers{"picks": "c9 c0"}},
		{name: "double space kept as given", in: Answers{"picks": "c0  c1"}},
		{name: "invalid choice kept as given", in: Answers{"agree": "maybe", "picks": "c1 zz"}},
		{name: "text with any bytes", in: Answers{"comment": "网上办事更方便了 \x00 \"quoted\"", "n": "-12"}},
		{name: "group path as key", in: Answers{"g/comment": "via path"}, want: Answers{"comment": "via path"}},
		{name: "long value", in: Answers{"comment": strings.Repeat("长", 500)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := f.EncodeAnswers(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if tt.size != 0 && len(b) != tt.size {
				t.Errorf("encoded size = %d, want %d (% x)", len(b), tt.size, b)
			}
			got, err := f.DecodeAnswers(b)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == nil {
				want = tt.in
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded %q, want %q", got, want)
			}
			dst := make([]string, len(f.Fields()))
			if err := f.DecodeInto(b, dst); err != nil {
				t.Fatal(err)
			}
			for i, q := range f.Fields() {
				if dst[i] != want[q.Name] {
					t.Errorf("DecodeInto[%d] (%s) = %q, want %q", i, q.Name, dst[i], want[q.Name])
				}
			}
		})
	}
}

func TestEncodeAnswersUnknownField(t *testing.T) {
	f := codecTestForm(t)
	_, err := f.EncodeAnswers(Answers{"agree": "yes", "nope": "x"})
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("err = %v, want one naming field nope", err)
	}
	// start is carried in the response itself, not in its answers.
	if _, err := f.EncodeAnswers(Answers{"started": "2019-07-01T00:00:00Z"}); err == nil {
		t.Errorf("metadata start accepted as an answer")
	}
}

func TestDecodeAnswersRefusesGarbage(t *testing.T) {
	f := codecTestForm(t)
	good, err := f.EncodeAnswers(Answers{"agree": "yes", "picks": "c8", "comment": "hi"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"unknown version", append([]byte{9}, good[1:]...)},
		{"wrong field count", []byte{1, 3, 0, 0, 0}},
		{"truncated", good[:len(good)-1]},
		{"trailing bytes", append(append([]byte(nil), good...), 0)},
		{"choice out of range", []byte{1, 4, 3 << 1, 0, 0, 0}},
		{"choice code on a text field", []byte{1, 4, 0, 0, 2, 0}},
		{"set with a zero last byte", []byte{1, 4, 0, 2 << 1, 1, 0, 0, 0}},
		{"set bit past the list", []byte{1, 4, 0, 2 << 1, 0, 0x04, 0, 0}},
		{"set longer than the list", []byte{1, 4, 0, 3 << 1, 1, 1, 1, 0, 0}},
		{"raw length past the end", []byte{1, 4, 0, 0, 9<<1 | 1, 'a', 0}},
		{"empty raw value", []byte{1, 4, 0, 0, 1, 0}},
		{"non-minimal zero on a set", []byte{1, 4, 0, 0x80, 0x00, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := f.DecodeAnswers(tt.b); err == nil {
				t.Errorf("DecodeAnswers(% x) succeeded", tt.b)
			}
		})
	}
	if err := f.DecodeInto(good, make([]string, 2)); err == nil {
		t.Errorf("DecodeInto accepted a destination of the wrong length")
	}
}

// TestAnswersConcurrent encodes and decodes with one fresh form from many
// goroutines, so the lazily built field index is raced for (go test -race).
func TestAnswersConcurrent(t *testing.T) {
	f := codecTestForm(t)
	in := Answers{"agree": "yes", "picks": "c1 c2", "comment": "x"}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := f.EncodeAnswers(in)
			if err == nil {
				var got Answers
				got, err = f.DecodeAnswers(b)
				if err == nil && !reflect.DeepEqual(got, in) {
					t.Errorf("decoded %q, want %q", got, in)
				}
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func FuzzDecodeAnswers(f *testing.F) {
	form := codecTestForm(f)
	for _, a := range []Answers{{}, {"agree": "yes", "picks": "c0 c9"}, {"comment": "hello", "n": "3"}, {"picks": "c9 c0", "agree": "maybe"}} {
		b, err := form.EncodeAnswers(a)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{1, 4, 0, 0x80, 0x00, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := form.DecodeAnswers(b)
		if err != nil {
			return
		}
		// Whatever decodes must encode and decode to the same answers.
		b2, err := form.EncodeAnswers(a)
		if err != nil {
			t.Fatalf("re-encode of %q: %v", a, err)
		}
		a2, err := form.DecodeAnswers(b2)
		if err != nil || !reflect.DeepEqual(a, a2) {
			t.Fatalf("round trip %q → %q (%v)", a, a2, err)
		}
		b3, err := form.EncodeAnswers(a2)
		if err != nil || !bytes.Equal(b2, b3) {
			t.Fatalf("encoding is not deterministic: % x, % x (%v)", b2, b3, err)
		}
	})
}

func BenchmarkDecodeInto(b *testing.B) {
	f := codecTestForm(b)
	enc, err := f.EncodeAnswers(Answers{"agree": "yes", "picks": "c1 c5", "comment": "网上办事更方便了", "n": "42"})
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]string, len(f.Fields()))
	b.ReportAllocs()
	for b.Loop() {
		if err := f.DecodeInto(enc, dst); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAllCoded: only answers stored as choice numbers count as coded; a
// value kept as given (text, a number, a name not in the list, a set out
// of list order) or bytes that do not decode do not.
func TestAllCoded(t *testing.T) {
	f := codecTestForm(t)
	tests := []struct {
		a    Answers
		want bool
	}{
		{Answers{}, true},
		{Answers{"agree": "yes"}, true},
		{Answers{"agree": "no", "picks": "c1 c9"}, true},
		{Answers{"agree": "yes", "comment": "hello"}, false},
		{Answers{"n": "3"}, false},
		{Answers{"agree": "maybe"}, false},
		{Answers{"picks": "c9 c1"}, false},
	}
	for _, tt := range tests {
		b, err := f.EncodeAnswers(tt.a)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.AllCoded(b); got != tt.want {
			t.Errorf("%v: AllCoded = %v, want %v", tt.a, got, tt.want)
		}
		// Every proper prefix is truncated, and one byte more is too much.
		for i := range len(b) {
			if f.AllCoded(b[:i]) {
				t.Errorf("%v: the first %d bytes of %x count as coded", tt.a, i, b)
			}
		}
		if f.AllCoded(append(bytes.Clone(b), 0)) {
			t.Errorf("%v: a trailing byte counts as coded", tt.a)
		}
	}
}

package collect

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/form"
)

func loadForm(t testing.TB, path string) *form.Form {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := form.Parse(path, b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// answersJSON decodes a JSON object the way DecodeSubmission does.
func answersJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	sub, err := DecodeSubmission([]byte(`{"instance_id":"x","answers":` + s + `}`))
	if err != nil {
		t.Fatal(err)
	}
	return sub.Answers
}

func TestValidate(t *testing.T) {
	f := loadForm(t, "testdata/webform.md")
	now := time.Date(2019, 7, 1, 9, 0, 0, 0, time.UTC)
	// An adult who works, the base most cases change one thing of.
	const adult = `"consent_ok":"yes","age":"30","employed":"yes","employer":"Acme","province":"p1","city":"c1"`
	tests := []struct {
		name      string
		answers   string
		want      form.Answers // when valid
		field     string       // when refused
		code      string
		wantValue string
	}{
		{name: "adult", answers: `{` + adult + `}`,
			want: form.Answers{"consent_ok": "yes", "age": "30", "employed": "yes", "employer": "Acme",
				"province": "p1", "city": "c1", "adult": "yes"}},
		{name: "minor skips the work group", answers: `{"consent_ok":"yes","age":15,"province":"p2","city":"c3"}`,
			want: form.Answers{"consent_ok": "yes", "age": "15", "province": "p2", "city": "c3", "adult": "no"}},
		{name: "minor answering the work group", answers: `{"consent_ok":"yes","age":"15","employed":"no","province":"p2","city":"c3"}`,
			field: "employed", code: "not_relevant"},
		{name: "adult without employed", answers: `{"consent_ok":"yes","age":"30","province":"p1","city":"c1"}`,
			field: "employed", code: "required"},
		{name: "required_if true and empty", answers: `{"consent_ok":"yes","age":"30","employed":"yes","province":"p1","city":"c1"}`,
			field: "employer", code: "required"},
		{name: "required_if false", answers: `{"consent_ok":"yes","age":"30","employed":"no","province":"p1","city":"c1"}`,
			want: form.Answers{"consent_ok": "yes", "age": "30", "employed": "no", "province": "p1", "city": "c1", "adult": "yes"}},
		{name: "constraint", answers: `{"consent_ok":"yes","age":"5","province":"p1","city":"c1"}`,
			field: "age", code: "constraint"},
		{name: "not an integer", answers: `{"consent_ok":"yes","age":"thirty","province":"p1","city":"c1"}`,
			field: "age", code: "bad_type"},
		{name: "choice_filter", answers: `{` + adult + `,"city":"c3"}`, field: "city", code: "invalid_value", wantValue: "c3"},
		{name: "not a choice", answers: `{` + adult + `,"province":"p9"}`, field: "province", code: "invalid_value", wantValue: "p9"},
		{name: "select_multiple in list order", answers: `{` + adult + `,"topics":["t3","t1","t3"]}`,
			want: form.Answers{"consent_ok": "yes", "age": "30", "employed": "yes", "employer": "Acme",
				"province": "p1", "city": "c1", "adult": "yes", "topics": "t1 t3"}},
		{name: "select_multiple as a string", answers: `{` + adult + `,"topics":"t2 t1"}`,
			want: form.Answers{"consent_ok": "yes", "age": "30", "employed": "yes", "employer": "Acme",
				"province": "p1", "city": "c1", "adult": "yes", "topics": "t1 t2"}},
		{name: "select_multiple constraint", answers: `{` + adult + `,"topics":["t1","t2","t3"]}`, field: "topics", code: "constraint"},
		{name: "select_multiple unknown choice", answers: `{` + adult + `,"topics":["t1","t7"]}`, field: "topics", code: "invalid_value", wantValue: "t7"},
		{name: "unknown field", answers: `{` + adult + `,"nope":"1"}`, field: "nope", code: "unknown_field"},
		{name: "group path", answers: `{"consent_ok":"yes","age":"30","work/employed":"no","province":"p1","city":"c1"}`,
			want: form.Answers{"consent_ok": "yes", "age": "30", "employed": "no", "province": "p1", "city": "c1", "adult": "yes"}},
		{name: "number for a select", answers: `{` + adult + `,"province":1}`, field: "province", code: "bad_type"},
		{name: "array for a select_one", answers: `{` + adult + `,"province":["p1"]}`, field: "province", code: "bad_type"},
		{name: "decimal", answers: `{` + adult + `,"score":1.50}`,
			want: form.Answers{"consent_ok": "yes", "age": "30", "employed": "yes", "employer": "Acme",
				"province": "p1", "city": "c1", "adult": "yes", "score": "1.50"}},
		{name: "not a decimal", answers: `{` + adult + `,"score":"1,5"}`, field: "score", code: "bad_type"},
		{name: "not a date", answers: `{` + adult + `,"when":"2019-13-01"}`, field: "when", code: "bad_type"},
		{name: "acknowledge", answers: `{` + adult + `,"ack":true}`,
			want: form.Answers{"consent_ok": "yes", "age": "30", "employed": "yes", "employer": "Acme",
				"province": "p1", "city": "c1", "adult": "yes", "ack": "OK"}},
		{name: "calculation is the server's", answers: `{` + adult + `,"adult":"no","adult_ok":"yes"}`,
			want: form.Answers{"consent_ok": "yes", "age": "30", "employed": "yes", "employer": "Acme",
				"province": "p1", "city": "c1", "adult": "yes", "adult_ok": "yes"}},
		{name: "relevance through a calculation", answers: `{"consent_ok":"yes","age":"15","province":"p1","city":"c1","adult_ok":"yes"}`,
			field: "adult_ok", code: "not_relevant"},
		{name: "null and empty are unanswered", answers: `{` + adult + `,"score":null,"when":"","topics":[]}`,
			want: form.Answers{"consent_ok": "yes", "age": "30", "employed": "yes", "employer": "Acme",
				"province": "p1", "city": "c1", "adult": "yes"}},
		{name: "NUL byte", answers: `{` + adult + `,"employer":"a\u0000b"}`, field: "employer", code: "bad_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Validate(f, answersJSON(t, tt.answers), now)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !maps.Equal(got, tt.want) {
					t.Errorf("answers = %v\nwant      %v", got, tt.want)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v (answers %v), want a FieldError", err, got)
			}
			if fe.Field != tt.field || fe.Code != tt.code || fe.Value != tt.wantValue {
				t.Errorf("refused %s/%s (value %q), want %s/%s (%q)", fe.Field, fe.Code, fe.Value, tt.field, tt.code, tt.wantValue)
			}
		})
	}
}

func TestFieldErrorMessage(t *testing.T) {
	f := loadForm(t, "testdata/webform.md")
	tests := []struct {
		answers, lang, want string
	}{
		{`{"consent_ok":"yes","age":"5","province":"p1","city":"c1"}`, "en", "12 to 99 only"},
		{`{"age":"30"}`, "zh", "此题为必答题。"},
		{`{"age":"30"}`, "en", "This question is required."},
		{`{"consent_ok":"yes","age":"30","employed":"no","province":"p9"}`, "en", "'p9' is not a choice of this question."},
		{`{"consent_ok":"yes","age":"30","employed":"no","province":"p9"}`, "zh", "“p9”不是本题的选项。"},
	}
	for _, tt := range tests {
		_, err := Validate(f, answersJSON(t, tt.answers), time.Now())
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("%s: err = %v", tt.answers, err)
		}
		if got := fe.Message(tt.lang); got != tt.want {
			t.Errorf("%s in %s: %q, want %q", tt.answers, tt.lang, got, tt.want)
		}
	}
}

func TestDecodeSubmission(t *testing.T) {
	tests := []struct {
		body string
		ok   bool
	}{
		{`{"instance_id":"a","answers":{"x":"1"}}`, true},
		{`{"instance_id":"a","answers":{}} `, true},
		{`{"instance_id":"a"`, false},
		{`[]`, false},
		{`{"instance_id":1}`, false},
		{`{"instance_id":"a"} {"instance_id":"b"}`, false},
		{`{"instance_id":"a","answers":["x"]}`, false},
	}
	for _, tt := range tests {
		_, err := DecodeSubmission([]byte(tt.body))
		var bad *BadRequestError
		if tt.ok != (err == nil) || (err != nil && !errors.As(err, &bad)) {
			t.Errorf("%s: err = %v", tt.body, err)
		}
	}
	// Numbers keep their text.
	s, err := DecodeSubmission([]byte(`{"instance_id":"a","answers":{"x":1.50}}`))
	if err != nil || s.Answers["x"] != json.Number("1.50") {
		t.Errorf("number decoded as %#v, %v", s.Answers["x"], err)
	}
}

func TestInstanceID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"uuid:2b1f0a4e-1111-4c4c-8888-0123456789ab", "2b1f0a4e-1111-4c4c-8888-0123456789ab"},
		{" abc ", "abc"},
		{"a.b_c:d-e", "a.b_c:d-e"},
		{"", ""}, {"uuid:", ""}, {"a b", ""}, {"a/b", ""}, {"中文", ""}, {"x\x00", ""},
		{string(make([]byte, 101)), ""},
	}
	for _, tt := range tests {
		got, ok := InstanceID(tt.in)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("InstanceID(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

func TestReceipt(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		r := NewReceipt()
		if len(r) != 19 || r[4] != '-' || r[9] != '-' || r[14] != '-' {
			t.Fatalf("receipt %q is not XXXX-XXXX-XXXX-XXXX", r)
		}
		if seen[r] {
			t.Fatalf("receipt %q twice", r)
		}
		seen[r] = true
		if got, ok := ParseReceipt(r); !ok || got != r {
			t.Errorf("ParseReceipt(%q) = %q, %v", r, got, ok)
		}
	}
	// Later receipts sort after earlier ones (the index appends), and the
	// random half differs between receipts of one millisecond.
	t0 := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	a, b, c := newReceipt(t0), newReceipt(t0), newReceipt(t0.Add(time.Millisecond))
	if a[:9] != b[:9] || a == b || !(a < c && b < c) {
		t.Errorf("receipts %s, %s (same ms), %s (1 ms later)", a, b, c)
	}
	if d := newReceipt(time.Date(2058, 1, 1, 0, 0, 0, 0, time.UTC)); len(d) != 19 {
		t.Errorf("receipt in 2058: %q", d)
	}
	tests := []struct{ in, want string }{
		{"7k3m-9qxa-2d4f-hj8w", "7K3M-9QXA-2D4F-HJ8W"},
		{"7K3M 9QXA 2D4F HJ8W", "7K3M-9QXA-2D4F-HJ8W"},
		{"7K3M9QXA2D4FHJ8W", "7K3M-9QXA-2D4F-HJ8W"},
		{"OIL0-0000-0000-0000", "0110-0000-0000-0000"},
		{"7K3M-9QXA-2D4F-HJ8", ""},     // too short
		{"7K3M-9QXA-2D4F-HJ8WX", ""},   // too long
		{"7K3M-9QXA-2D4F-HJ8U", ""},    // U is not in the alphabet
		{"7K3M-9QXA-2D4F-HJ8W;--", ""}, // not a receipt
		{"７K3M-9QXA-2D4F-HJ8W", ""},    // full-width digit
	}
	for _, tt := range tests {
		got, ok := ParseReceipt(tt.in)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("ParseReceipt(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

// TestValidateChoiceOrder: a select_multiple comes back in list order, a
// rank in the order given; a name given twice counts once.
func TestValidateChoiceOrder(t *testing.T) {
	src := `# order

| survey |
| | type | name | label |
| | select_multiple t | picks | Picks |
| | rank t | ranked | Ranked |

| choices |
| | list_name | name | label |
| | t | alpha | A |
| | t | beta | B |
| | t | gamma | C |

| settings |
| | form_id | version |
| | order | 1 |
`
	f, err := form.Parse("order.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Validate(f, answersJSON(t, `{"picks":["gamma","alpha","gamma"],"ranked":["gamma","alpha","gamma","beta"]}`), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got["picks"] != "alpha gamma" || got["ranked"] != "gamma alpha beta" {
		t.Errorf("got %v", got)
	}
	got, err = Validate(f, answersJSON(t, `{"picks":"beta  alpha","ranked":"beta alpha"}`), time.Now())
	if err != nil || got["picks"] != "alpha beta" || got["ranked"] != "beta alpha" {
		t.Errorf("from strings: %v, %v", got, err)
	}
}

// TestValidateEncode checks the ingest path's encoding of checked answers
// (placed by position, no map) against the §2 map encoded by
// form.EncodeAnswers, byte for byte, and the quota lookup against the map.
func TestValidateEncode(t *testing.T) {
	f := netizenForm(t)
	now := time.Now()
	for i, s := range netizenSubmissions(t, f, 300) {
		c, err := validate(f, s.Answers, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range c.rs.items {
			if r.field && c.rs.pos[r.index] < 0 {
				t.Fatalf("field %s has no place in the encoding", r.q.Name)
			}
		}
		got := c.encode()
		a, err := Validate(f, s.Answers, now)
		if err != nil {
			t.Fatal(err)
		}
		want, err := f.EncodeAnswers(a)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("submission %d: encoded %x, want %x", i, got, want)
		}
		for name, v := range a {
			if c.answer(name) != v {
				t.Fatalf("submission %d: answer(%q) = %q, want %q", i, name, c.answer(name), v)
			}
		}
		if c.answer("no_such_field") != "" {
			t.Fatal("an unknown field has an answer")
		}
	}
}

package collect

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// webformWith parses testdata/webform.md with one extra settings column.
func webformWith(t *testing.T, name, value string) *form.Form {
	t.Helper()
	b, err := os.ReadFile("testdata/webform.md")
	if err != nil {
		t.Fatal(err)
	}
	md := strings.Replace(string(b), "| form_id | version |", "| form_id | version | "+name+" |", 1)
	md = strings.Replace(md, "| webform | 1       |", "| webform | 1       | "+value+" |", 1)
	f, err := form.Parse("webform.md", []byte(md))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestParseQuotas(t *testing.T) {
	tests := []struct {
		settings string
		want     []store.Quota // nil with wantErr
		wantErr  bool
	}{
		{settings: "", want: nil},
		{settings: "province=p1:1000", want: []store.Quota{{Field: "province", Value: "p1", Limit: 1000}}},
		{settings: " province = p1 : 3 ; topics=t3:0;", want: []store.Quota{
			{Field: "province", Value: "p1", Limit: 3}, {Field: "topics", Value: "t3", Limit: 0}}},
		{settings: "province=p1：5；province=p2:6", want: []store.Quota{
			{Field: "province", Value: "p1", Limit: 5}, {Field: "province", Value: "p2", Limit: 6}}},
		{settings: "age=30:2", want: []store.Quota{{Field: "age", Value: "30", Limit: 2}}},
		{settings: "province=p1", wantErr: true},
		{settings: "province:5", wantErr: true},
		{settings: "=p1:5", wantErr: true},
		{settings: "province=p1:many", wantErr: true},
		{settings: "province=p1:-1", wantErr: true},
		{settings: "province=p9:5", wantErr: true},
		{settings: "nosuch=x:5", wantErr: true},
		{settings: "work=x:5", wantErr: true}, // a group holds no answer
		{settings: "province=p1:5; province=p1:6", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.settings, func(t *testing.T) {
			got, err := ParseQuotas(webformWith(t, "quotas", tt.settings))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseQuotas = %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ParseQuotas = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("quota %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestAnswered(t *testing.T) {
	tests := []struct {
		v, value string
		multi    bool
		want     bool
	}{
		{"p1", "p1", false, true},
		{"p2", "p1", false, false},
		{"", "p1", false, false},
		{"t1 t3", "t3", true, true},
		{"t1 t3", "t2", true, false},
		{"a b", "a", false, false}, // a text answer is not split
	}
	for _, tt := range tests {
		if got := answered(tt.v, tt.value, tt.multi); got != tt.want {
			t.Errorf("answered(%q, %q, %v) = %v, want %v", tt.v, tt.value, tt.multi, got, tt.want)
		}
	}
}

func isQuotaFull(field, value string) func(error) bool {
	return func(err error) bool {
		var qe *QuotaFullError
		return errors.As(err, &qe) && qe.Field == field && qe.Value == value
	}
}

func TestSubmitQuotas(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			st := b.Open(t)
			addTestForm(t, st, "quotas=province=p1:2; topics=t3:1")
			c := newCollector(t, st, Options{})
			sub := func(id, province string, topics ...any) Submission {
				s := submission(t, id)
				s.Answers["province"] = province
				s.Answers["city"] = map[string]string{"p1": "c1", "p2": "c3"}[province]
				s.Answers["topics"] = topics
				return s
			}
			count := func(field, value string) int {
				t.Helper()
				return storetest.QuotaCount(t, st, "webform", field, value)
			}
			first, err := c.Submit(ctx, "webform", sub("q1", "p1"), Meta{})
			if err != nil || !first.Created {
				t.Fatalf("q1: %+v, %v", first, err)
			}
			// A retry takes no second slot.
			if rc, err := c.Submit(ctx, "webform", sub("q1", "p1"), Meta{}); err != nil || rc.Created || rc.Receipt != first.Receipt {
				t.Fatalf("q1 retry: %+v, %v", rc, err)
			}
			if n := count("province", "p1"); n != 1 {
				t.Errorf("province=p1 after a retry: %d, want 1", n)
			}
			steps := []struct {
				s    Submission
				full func(error) bool // nil: accepted
			}{
				{sub("q2", "p1"), nil},
				{sub("q3", "p1"), isQuotaFull("province", "p1")},
				{sub("q4", "p2"), nil}, // not a quota's choice
				{sub("q5", "p2", "t3"), nil},
				{sub("q6", "p2", "t1", "t3"), isQuotaFull("topics", "t3")},
				{sub("q7", "p2", "t1"), nil},
			}
			for _, s := range steps {
				rc, err := c.Submit(ctx, "webform", s.s, Meta{})
				switch {
				case s.full == nil && (err != nil || !rc.Created):
					t.Errorf("%s: %+v, %v; want it stored", s.s.InstanceID, rc, err)
				case s.full != nil && !s.full(err):
					t.Errorf("%s: %+v, %v; want a full quota", s.s.InstanceID, rc, err)
				}
			}
			if _, err := st.Response(ctx, "webform", "q3"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("q3 refused but stored: %v", err)
			}
			_, err = c.Submit(ctx, "webform", sub("q3", "p1"), Meta{})
			var qe *QuotaFullError
			if !errors.As(err, &qe) || !strings.Contains(qe.Message(), "名额已满") || !strings.Contains(qe.Message(), "quota is full") ||
				!strings.Contains(qe.MessageIn("en"), "Province: P1") {
				t.Errorf("full quota message: %v", err)
			}
			// Withdrawing q1 frees its slot for q3; q1's retry takes none.
			if _, err := c.Withdraw(ctx, first.Receipt); err != nil {
				t.Fatal(err)
			}
			if n := count("province", "p1"); n != 1 {
				t.Errorf("province=p1 after a withdrawal: %d, want 1", n)
			}
			if rc, err := c.Submit(ctx, "webform", sub("q1", "p1"), Meta{}); err != nil || rc.Created {
				t.Errorf("withdrawn q1 again: %+v, %v", rc, err)
			}
			if rc, err := c.Submit(ctx, "webform", sub("q3", "p1"), Meta{}); err != nil || !rc.Created {
				t.Errorf("q3 after the withdrawal: %+v, %v", rc, err)
			}
			if n := count("province", "p1"); n != 2 {
				t.Errorf("province=p1 at the end: %d, want 2", n)
			}
			if n, _ := st.CountResponses(ctx, "webform"); n != 5 { // q2 q3 q4 q5 q7
				t.Errorf("%d responses, want 5", n)
			}
		})
	}
}

// A quota setting that does not parse closes the form rather than
// admitting everyone.
func TestSubmitBadQuotaSetting(t *testing.T) {
	st := storetest.OpenSQLite(t)
	addTestForm(t, st, "quotas=province=p9:2")
	c := newCollector(t, st, Options{})
	var closed *ClosedError
	if _, err := c.Submit(t.Context(), "webform", submission(t, "b1"), Meta{}); !errors.As(err, &closed) {
		t.Errorf("submission with a broken quota setting: %v, want *ClosedError", err)
	}
}

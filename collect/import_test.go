package collect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// importNow is the import time of the tests: rows without submitted_at get it.
var importNow = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// want is a response as it should be stored.
type want struct {
	id                        string
	started, ended, submitted time.Time
	client                    string
	answers                   form.Answers
}

func importString(ctx context.Context, st store.Store, fv store.FormVersion, f *form.Form, name, data string, opts ImportOptions) (ImportResult, error) {
	if opts.Now.IsZero() {
		opts.Now = importNow
	}
	return Import(ctx, st, fv, f, ImportSource{Name: name, Data: strings.NewReader(data)}, opts)
}

// checkStored compares the stored responses with w.
func checkStored(t *testing.T, st store.Store, fv store.FormVersion, f *form.Form, ws []want) {
	t.Helper()
	ctx := context.Background()
	for _, w := range ws {
		r, err := st.Response(ctx, fv.FormID, w.id)
		if err != nil {
			t.Errorf("response %s: %v", w.id, err)
			continue
		}
		if r.Revision != fv.Revision || r.Channel != "import" {
			t.Errorf("%s: revision %d channel %q, want %d import", w.id, r.Revision, r.Channel, fv.Revision)
		}
		if !r.Started.Equal(w.started) || !r.Ended.Equal(w.ended) || !r.SubmittedAt.Equal(w.submitted) {
			t.Errorf("%s: times %v %v %v, want %v %v %v", w.id, r.Started, r.Ended, r.SubmittedAt, w.started, w.ended, w.submitted)
		}
		if r.Client != w.client {
			t.Errorf("%s: client %q, want %q", w.id, r.Client, w.client)
		}
		got, err := f.DecodeAnswers(r.Answers)
		if err != nil {
			t.Errorf("%s: decoding answers: %v", w.id, err)
			continue
		}
		maps.DeleteFunc(got, func(_, v string) bool { return v == "" })
		if !maps.Equal(got, w.answers) {
			t.Errorf("%s: answers\n got %v\nwant %v", w.id, got, w.answers)
		}
	}
}

func TestImportShapes(t *testing.T) {
	cases := []struct {
		name string
		csv  string
		rows int
		want []want
	}{
		{
			name: "names, offsets to UTC, select_multiple put in list order",
			csv: "instance_id,started,ended,submitted_at,client,gender,gov_risks,gov_should\n" +
				"r1,2019-07-01T08:00:00+08:00,2019-07-01T08:05:00+08:00,2019-07-01T08:05:01+08:00,k1,male,phishing pii_leak,other  laws_crackdown\n" +
				"r2,,,,,female,zz pii_leak pii_leak,\n",
			rows: 2,
			want: []want{
				{"r1", ts("2019-07-01T00:00:00Z"), ts("2019-07-01T00:05:00Z"), ts("2019-07-01T00:05:01Z"), "k1",
					form.Answers{"gender": "male", "gov_risks": "pii_leak phishing", "gov_should": "laws_crackdown other"}},
				{"r2", time.Time{}, time.Time{}, importNow, "",
					form.Answers{"gender": "female", "gov_risks": "pii_leak zz"}},
			},
		},
		{
			name: "BOM, uuid: prefix, group/name headers",
			csv:  "\ufeffinstance_id,demo/gender,govsvc/gov_risks,perception/overall_safety\nuuid:g1,female,pii_leak,safe\n",
			rows: 1,
			want: []want{{"g1", time.Time{}, time.Time{}, importNow, "",
				form.Answers{"gender": "female", "gov_risks": "pii_leak", "overall_safety": "safe"}}},
		},
		{
			name: "KoboToolbox: 0/1 columns and meta columns",
			csv: "started,ended,demo/gender,govsvc/gov_risks/pii_leak,govsvc/gov_risks/ops_mgmt,govsvc/gov_risks/phishing,govsvc/gov_risks/zz," +
				"meta/instanceID,_id,_uuid,_submission_time,_validation_status,_notes,_status,_submitted_by,__version__,_tags,_index\n" +
				"2019-07-01T08:00:00.000+08:00,2019-07-01T08:06:00.000+08:00,male,1,0,TRUE,0,uuid:k1,101,k1,2019-07-01T00:06:02,,[],submitted_via_web,,vX,[],1\n" +
				",,female,,,,,uuid:k2,102,k2,2019-07-01T00:07:00,,[],submitted_via_web,,vX,[],2\n" +
				",,male,false,true,0,1,uuid:k3,103,k3,2019-07-01T00:08:00.5,,[],submitted_via_web,,vX,[],3\n",
			rows: 3,
			want: []want{
				{"k1", ts("2019-07-01T00:00:00Z"), ts("2019-07-01T00:06:00Z"), ts("2019-07-01T00:06:02Z"), "",
					form.Answers{"gender": "male", "gov_risks": "pii_leak phishing"}},
				{"k2", time.Time{}, time.Time{}, ts("2019-07-01T00:07:00Z"), "", form.Answers{"gender": "female"}},
				{"k3", time.Time{}, time.Time{}, ts("2019-07-01T00:08:00.5Z"), "",
					form.Answers{"gender": "male", "gov_risks": "ops_mgmt zz"}},
			},
		},
		{
			name: "both select_multiple shapes, agreeing",
			csv: "instance_id,gov_risks,gov_risks/pii_leak,gov_risks/phishing\n" +
				"b1,phishing pii_leak,1,1\nb2,pii_leak,1,0\nb3,,,\nb4,other,0,0\n",
			rows: 4,
			want: []want{
				{"b1", time.Time{}, time.Time{}, importNow, "", form.Answers{"gov_risks": "pii_leak phishing"}},
				{"b2", time.Time{}, time.Time{}, importNow, "", form.Answers{"gov_risks": "pii_leak"}},
				{"b3", time.Time{}, time.Time{}, importNow, "", form.Answers{}},
				{"b4", time.Time{}, time.Time{}, importNow, "", form.Answers{"gov_risks": "other"}},
			},
		},
		{
			name: "ODK Central: group-name headers and meta columns",
			csv: "SubmissionDate,started,ended,demo-gender,govsvc-gov_risks,meta-instanceID,KEY,SubmitterID,SubmitterName," +
				"AttachmentsPresent,AttachmentsExpected,Status,ReviewState,DeviceID,Edits,FormVersion\n" +
				"2019-07-01T00:06:02.123Z,2019-07-01T00:00:00.000Z,2019-07-01T00:06:00.000Z,male,phishing pii_leak,uuid:o1,uuid:o1,5,Enum,0,0,,,,0,2019\n",
			rows: 1,
			want: []want{{"o1", ts("2019-07-01T00:00:00Z"), ts("2019-07-01T00:06:00Z"), ts("2019-07-01T00:06:02.123Z"), "",
				form.Answers{"gender": "male", "gov_risks": "pii_leak phishing"}}},
		},
		{
			name: "a cell spanning lines, an all-empty row, values that are not choices",
			csv:  "instance_id,gender,province\nm1,\"male\nfemale\",beijing\n,,\nm2,female,\" atlantis\"\n",
			rows: 2,
			want: []want{
				{"m1", time.Time{}, time.Time{}, importNow, "", form.Answers{"gender": "male\nfemale", "province": "beijing"}},
				{"m2", time.Time{}, time.Time{}, importNow, "", form.Answers{"gender": "female", "province": " atlantis"}},
			},
		},
	}
	eachBackend(t, func(t *testing.T, st store.Store) {
		fv, f := addNetizen(t, st)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res, err := importString(context.Background(), st, fv, f, "in.csv", tc.csv, ImportOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if res != (ImportResult{Rows: tc.rows, Added: len(tc.want)}) {
					t.Errorf("result %+v, want %d rows all added", res, tc.rows)
				}
				checkStored(t, st, fv, f, tc.want)
			})
		}
	})
}

func TestImportMalformed(t *testing.T) {
	many := "instance_id,started\n" + strings.Repeat("x,yesterday\n", 150)
	cases := []struct {
		name string
		csv  string
		want []string
		more int
	}{
		{"bad UTF-8 on line 3", "instance_id,gender\na1,male\na2,\xff\n",
			[]string{"bad.csv:3: invalid UTF-8 in column 'gender'"}, 0},
		{"wrong column count on line 4", "instance_id,gender\na1,male\na2,female\na3,male,extra\na4,female\n",
			[]string{"bad.csv:4: row has 3 columns, the header has 2"}, 0},
		{"unparsable timestamp", "instance_id,started,submitted_at\na1,2019-07-01T08:00:00Z,2019-07-01 08:00\n",
			[]string{`bad.csv:2: column 'submitted_at': "2019-07-01 08:00" is not an RFC 3339 time`}, 0},
		{"no instance_id column", "gender\nmale\n",
			[]string{"bad.csv:1: no instance_id column (nor meta/instanceID or _uuid)"}, 0},
		{"empty instance_id", "instance_id,gender\na1,male\n,female\nuuid:,male\n",
			[]string{"bad.csv:3: empty instance_id", "bad.csv:4: empty instance_id"}, 0},
		{"duplicate header", "instance_id,gender,gender\na1,male,male\n",
			[]string{"bad.csv:1: duplicate column 'gender' (also column 2)"}, 0},
		{"unknown column", "instance_id,foo,demo/gender\na1,x,male\n",
			[]string{"bad.csv:1: unknown column 'foo'"}, 0},
		{"question under another path", "instance_id,policy/gender\na1,male\n",
			[]string{"bad.csv:1: unknown column 'policy/gender' (question gender is at 'demo/gender')"}, 0},
		{"one question in two columns", "instance_id,gender,demo/gender\na1,male,male\n",
			[]string{"bad.csv:1: columns 'gender' and 'demo/gender' both give question gender"}, 0},
		{"select_multiple shapes disagree", "instance_id,gov_risks,gov_risks/pii_leak,gov_risks/phishing\na1,pii_leak,1,1\na2,pii_leak phishing,1,0\n",
			[]string{
				"bad.csv:2: column 'gov_risks/phishing' says phishing was chosen but column 'gov_risks' does not list it",
				"bad.csv:3: column 'gov_risks/phishing' says phishing was not chosen but column 'gov_risks' lists it",
			}, 0},
		{"not 0 or 1", "instance_id,gov_risks/pii_leak\na1,yes\n",
			[]string{`bad.csv:2: column 'gov_risks/pii_leak': "yes" is not 0 or 1`}, 0},
		{"physical lines under cells spanning lines", "instance_id,gender\na1,\"male\nfemale\"\na2,male,extra\na3,\"x\n\xff\"\n",
			[]string{"bad.csv:4: row has 3 columns, the header has 2", "bad.csv:6: invalid UTF-8 in column 'gender'"}, 0},
		{"bare quote", "instance_id,gender\na1,ma\"le\n",
			[]string{`bad.csv:2: bare " in non-quoted-field`}, 0},
		{"empty file", "", []string{"bad.csv:1: empty file: no header row"}, 0},
		{"bad UTF-8 in the header", "instance_id,gen\xffder\n",
			[]string{"bad.csv:1: invalid UTF-8 in the name of column 2", "bad.csv:1: unknown column 'gen\uFFFDder'"}, 0},
		{"more than 100 problems", many, nil, 50},
	}
	for i := range 100 {
		cases[len(cases)-1].want = append(cases[len(cases)-1].want,
			fmt.Sprintf(`bad.csv:%d: column 'started': "yesterday" is not an RFC 3339 time`, i+2))
	}
	eachBackend(t, func(t *testing.T, st store.Store) {
		fv, f := addNetizen(t, st)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ctx := context.Background()
				_, err := importString(ctx, st, fv, f, "bad.csv", tc.csv, ImportOptions{})
				var fe *FileError
				if !errors.As(err, &fe) {
					t.Fatalf("err = %v, want a *FileError", err)
				}
				var got []string
				for _, p := range fe.Problems {
					got = append(got, fmt.Sprintf("%s:%d: %s", fe.File, p.Line, p.Message))
				}
				if !slices.Equal(got, tc.want) || fe.More != tc.more {
					t.Errorf("problems (and %d more):\n%s\nwant (and %d more):\n%s", fe.More, strings.Join(got, "\n"), tc.more, strings.Join(tc.want, "\n"))
				}
				wantMsg := strings.Join(tc.want, "\n")
				if tc.more > 0 {
					wantMsg += fmt.Sprintf("\nbad.csv: and %d more problems", tc.more)
				}
				if err.Error() != wantMsg {
					t.Errorf("Error() =\n%s\nwant\n%s", err.Error(), wantMsg)
				}
				// Refused whole: not even the good rows are stored.
				if n, err := st.CountResponses(ctx, fv.FormID); err != nil || n != 0 {
					t.Errorf("stored %d responses (%v), want none", n, err)
				}
			})
		}
	})
}

func TestImportAgain(t *testing.T) {
	dup := "instance_id,gender\nd1,male\nd2,female\nuuid:d1,female\n"
	for _, batch := range []int{1000, 1} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) {
			eachBackend(t, func(t *testing.T, st store.Store) {
				ctx := context.Background()
				fv, f := addNetizen(t, st)
				opts := ImportOptions{BatchSize: batch, Now: importNow}
				src := ImportSource{Path: "testdata/canonical.csv"}
				res, err := Import(ctx, st, fv, f, src, opts)
				if err != nil || res != (ImportResult{Rows: 4, Added: 4}) {
					t.Fatalf("first import: %+v, %v; want 4 added", res, err)
				}
				res, err = Import(ctx, st, fv, f, src, opts)
				if err != nil || res != (ImportResult{Rows: 4, AlreadyPresent: 4}) {
					t.Fatalf("second import: %+v, %v; want 4 already present", res, err)
				}
				// A repeated id within one file: the first row counts.
				res, err = importString(ctx, st, fv, f, "dup.csv", dup, opts)
				if err != nil || res != (ImportResult{Rows: 3, Added: 2, AlreadyPresent: 1}) {
					t.Fatalf("file with a repeated id: %+v, %v; want 2 added, 1 already present", res, err)
				}
				checkStored(t, st, fv, f, []want{{"d1", time.Time{}, time.Time{}, importNow, "", form.Answers{"gender": "male"}}})
				if n, err := st.CountResponses(ctx, fv.FormID); err != nil || n != 6 {
					t.Errorf("stored %d responses (%v), want 6", n, err)
				}
			})
		})
	}
}

func TestImportProgressAndSpool(t *testing.T) {
	st := openSQLite(t)
	fv, f := addNetizen(t, st)
	data := "instance_id,gender\np1,male\np2,female\n"
	// A stream that cannot seek, as standard input.
	src, remove, err := Spool("-", io.MultiReader(strings.NewReader(data)))
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	var done []Progress
	res, err := Import(context.Background(), st, fv, f, src, ImportOptions{Now: importNow, Progress: func(p Progress) {
		if p.Done {
			done = append(done, p)
		}
	}})
	if err != nil || res.Added != 2 {
		t.Fatalf("%+v, %v; want 2 added", res, err)
	}
	n := int64(len(data))
	wantDone := []Progress{
		{Phase: "checking", Bytes: n, Total: n, Rows: 2, Done: true},
		{Phase: "storing", Bytes: n, Total: n, Rows: 2, Done: true},
	}
	if !slices.Equal(done, wantDone) {
		t.Errorf("final progress %+v, want %+v", done, wantDone)
	}
}

func TestJoinMultiple(t *testing.T) {
	order := map[string]int{"a": 0, "b": 1, "c": 2}
	cases := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"a", "c"}, "a c"},
		{[]string{"c", "a"}, "a c"},
		{[]string{"b", "b", "a"}, "a b"},
		{[]string{"x", "c", "w", "a"}, "a c x w"},
		{[]string{"x", "x"}, "x x"},
	}
	for _, tc := range cases {
		if got := joinMultiple(order, tc.in); got != tc.want {
			t.Errorf("joinMultiple(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestImportStartEndNames: a form whose start/end fields are called start
// and end, as KoboToolbox names them, reads those columns as started/ended;
// a note holds no answer, so a column for it is refused.
func TestImportStartEndNames(t *testing.T) {
	st := openSQLite(t)
	data, err := os.ReadFile("testdata/tiny.md")
	if err != nil {
		t.Fatal(err)
	}
	fv, f := addForm(t, st, "tiny.md", data)
	ctx := context.Background()
	in := "_uuid,start,end,g/pick/z,g/pick/x,g/pick/y\n" +
		"t1,2019-07-01T08:00:00+08:00,2019-07-01T08:01:00+08:00,1,1,0\n"
	if _, err := importString(ctx, st, fv, f, "tiny.csv", in, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	checkStored(t, st, fv, f, []want{{"t1", ts("2019-07-01T00:00:00Z"), ts("2019-07-01T00:01:00Z"), importNow, "",
		form.Answers{"pick": "x z"}}})

	_, err = importString(ctx, st, fv, f, "tiny.csv", "instance_id,intro\nt2,hello\n", ImportOptions{})
	if err == nil || err.Error() != "tiny.csv:1: unknown column 'intro' (intro is a note, which holds no answer)" {
		t.Errorf("note column: %v", err)
	}
}

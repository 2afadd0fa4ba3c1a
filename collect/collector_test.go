package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

func testKey(t testing.TB) security.PseudonymKey {
	t.Helper()
	k, err := security.GeneratePseudonymKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// addTestForm registers testdata/webform.md, with extra settings columns
// appended to its settings table when given.
func addTestForm(t testing.TB, st store.Store, settings ...string) {
	t.Helper()
	b, err := os.ReadFile("testdata/webform.md")
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, s := range settings {
		name, value, _ := strings.Cut(s, "=")
		md = strings.Replace(md, "| form_id | version |", "| form_id | version | "+name+" |", 1)
		md = strings.Replace(md, "| webform | 1       |", "| webform | 1       | "+value+" |", 1)
	}
	if _, _, _, err := AddForm(t.Context(), st, "webform.md", []byte(md)); err != nil {
		t.Fatal(err)
	}
}

const validAnswers = `{"consent_ok":"yes","age":"30","employed":"no","province":"p1","city":"c2","topics":["t2"]}`

func submission(t testing.TB, id string) Submission {
	t.Helper()
	s, err := DecodeSubmission([]byte(`{"instance_id":"` + id + `","started":"2019-07-01T08:00:00+08:00",` +
		`"ended":"2019-07-01T08:04:30.5+08:00","answers":` + validAnswers + `,` +
		`"paradata":{"lang":"en","pages":[{"page":"p1","ms":1200},{"page":"p2","ms":3400}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newCollector(t testing.TB, st store.Store, opts Options) *Collector {
	t.Helper()
	opts.Store = st
	opts.PseudonymKey = testKey(t)
	c, err := NewCollector(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestSubmit(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			st := b.Open(t)
			addTestForm(t, st)
			now := time.Date(2019, 7, 1, 0, 5, 0, 123456000, time.UTC)
			c := newCollector(t, st, Options{Now: func() time.Time { return now }})
			cookie := "0123456789abcdef0123456789abcdef"
			meta := Meta{Client: c.ClientKey(cookie), Agent: "wechat", Channel: "web"}

			first, err := c.Submit(ctx, "webform", submission(t, "uuid:inst-1"), meta)
			if err != nil {
				t.Fatal(err)
			}
			if !first.Created || first.InstanceID != "inst-1" {
				t.Errorf("first submission: %+v", first)
			}
			if _, ok := ParseReceipt(first.Receipt); !ok {
				t.Errorf("receipt %q", first.Receipt)
			}
			// The same instance again, even with other answers: nothing new,
			// the same receipt.
			again := submission(t, "inst-1")
			again.Answers["age"] = "31"
			second, err := c.Submit(ctx, "webform", again, meta)
			if err != nil {
				t.Fatal(err)
			}
			if second.Created || second.Receipt != first.Receipt {
				t.Errorf("re-submission: %+v, first %+v", second, first)
			}
			// Even a re-submission the form would now refuse.
			bad := submission(t, "inst-1")
			bad.Answers["age"] = "5"
			if rc, err := c.Submit(ctx, "webform", bad, meta); err != nil || rc.Receipt != first.Receipt || rc.Created {
				t.Errorf("refusable re-submission: %+v, %v", rc, err)
			}
			if n, _ := st.CountResponses(ctx, "webform"); n != 1 {
				t.Errorf("%d responses stored, want 1", n)
			}

			r, err := st.Response(ctx, "webform", "inst-1")
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case r.Revision != 1 || r.Channel != "web" || r.Receipt != first.Receipt || r.Honeypot:
				t.Errorf("stored %+v", r)
			case !r.SubmittedAt.Equal(now.Truncate(time.Microsecond)):
				t.Errorf("SubmittedAt = %v, want %v", r.SubmittedAt, now)
			case !r.Started.Equal(time.Date(2019, 7, 1, 0, 0, 0, 0, time.UTC)) ||
				!r.Ended.Equal(time.Date(2019, 7, 1, 0, 4, 30, 500000000, time.UTC)):
				t.Errorf("Started %v, Ended %v", r.Started, r.Ended)
			case r.Client == "" || strings.Contains(r.Client, cookie) || r.Client != c.ClientKey(cookie):
				t.Errorf("Client = %q: want the keyed hash of the cookie", r.Client)
			}
			var para Paradata
			if err := json.Unmarshal(r.Paradata, &para); err != nil {
				t.Fatalf("paradata %q: %v", r.Paradata, err)
			}
			if para.Lang != "en" || para.Agent != "wechat" || len(para.Pages) != 2 || para.Pages[1] != (PageTime{"p2", 3400}) {
				t.Errorf("paradata = %+v", para)
			}
			f, err := NewForms(st).Revision(ctx, "webform", 1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.DecodeAnswers(r.Answers)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"consent_ok": "yes", "age": "30", "employed": "no", "province": "p1",
				"city": "c2", "topics": "t2", "adult": "yes"}
			if !maps.Equal(got, want) {
				t.Errorf("stored answers %v, want %v", got, want)
			}

			// A honeypot filled in is stored and flagged, and answered as usual.
			bot := submission(t, "bot-1")
			bot.Honeypot = "http://spam.example"
			if rc, err := c.Submit(ctx, "webform", bot, Meta{}); err != nil || !rc.Created {
				t.Fatalf("bot: %+v, %v", rc, err)
			}
			if r, _ := st.Response(ctx, "webform", "bot-1"); !r.Honeypot || r.Client != "" || r.Channel != "api" {
				t.Errorf("bot stored as %+v", r)
			}

			// Refusals.
			for _, tt := range []struct {
				name   string
				formID string
				mod    func(*Submission)
				check  func(error) bool
			}{
				{"no such form", "nope", nil, func(err error) bool { return errors.Is(err, store.ErrNotFound) }},
				{"no instance id", "webform", func(s *Submission) { s.InstanceID = "" }, isField("instance_id", "required")},
				{"bad instance id", "webform", func(s *Submission) { s.InstanceID = "a b" }, isField("instance_id", "bad_type")},
				{"bad started", "webform", func(s *Submission) { s.Started = "yesterday" }, isField("started", "bad_type")},
				{"bad answer", "webform", func(s *Submission) { s.Answers["city"] = "c3" }, isField("city", "invalid_value")},
				{"no such revision", "webform", func(s *Submission) { s.Revision = 7 }, func(err error) bool { return errors.Is(err, store.ErrNotFound) }},
			} {
				s := submission(t, "refused-"+tt.name[:2])
				if tt.mod != nil {
					tt.mod(&s)
				}
				if _, err := c.Submit(ctx, tt.formID, s, meta); !tt.check(err) {
					t.Errorf("%s: err = %v", tt.name, err)
				}
			}
		})
	}
}

func isField(field, code string) func(error) bool {
	return func(err error) bool {
		var fe *FieldError
		return errors.As(err, &fe) && fe.Field == field && fe.Code == code
	}
}

func TestSubmitClosedAndRevisions(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			st := b.Open(t)
			addTestForm(t, st, "close_at=2019-07-31")
			now := time.Date(2019, 7, 31, 15, 0, 0, 0, time.UTC) // 23:00 in China: still open
			c := newCollector(t, st, Options{Now: func() time.Time { return now }})
			open, err := c.Submit(ctx, "webform", submission(t, "before-close"), Meta{})
			if err != nil {
				t.Fatal(err)
			}
			now = now.Add(time.Hour)
			var closed *ClosedError
			if _, err := c.Submit(ctx, "webform", submission(t, "after-close"), Meta{}); !errors.As(err, &closed) || closed.NotYet {
				t.Errorf("after close: %v", err)
			}
			// The retry of a stored submission still learns its receipt.
			if rc, err := c.Submit(ctx, "webform", submission(t, "before-close"), Meta{}); err != nil || rc.Receipt != open.Receipt {
				t.Errorf("retry after close: %+v, %v", rc, err)
			}

			// A new revision: a submission pinned to revision 1 is checked
			// and stored against it.
			addTestForm(t, st, "close_at=2019-08-31", "title=changed")
			c2 := newCollector(t, st, Options{Now: func() time.Time { return now }})
			s := submission(t, "pinned")
			s.Revision = 1
			if _, err := c2.Submit(ctx, "webform", s, Meta{}); err != nil {
				t.Fatal(err)
			}
			if r, _ := st.Response(ctx, "webform", "pinned"); r.Revision != 1 {
				t.Errorf("pinned submission stored with revision %d", r.Revision)
			}
			if _, err := c2.Submit(ctx, "webform", submission(t, "latest"), Meta{}); err != nil {
				t.Fatal(err)
			}
			if r, _ := st.Response(ctx, "webform", "latest"); r.Revision != 2 {
				t.Errorf("unpinned submission stored with revision %d", r.Revision)
			}
		})
	}
}

func TestWithdraw(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			st := b.Open(t)
			addTestForm(t, st)
			var audited []string
			c := newCollector(t, st, Options{Withdrawn: func(_ context.Context, r store.Response) {
				audited = append(audited, r.FormID+"/"+r.InstanceID)
			}})
			rc, err := c.Submit(ctx, "webform", submission(t, "w1"), Meta{Client: c.ClientKey("0123456789abcdef0123456789abcdef")})
			if err != nil {
				t.Fatal(err)
			}
			typed := strings.ToLower(strings.ReplaceAll(rc.Receipt, "-", " "))
			r, err := c.Withdraw(ctx, typed)
			if err != nil {
				t.Fatal(err)
			}
			if r.WithdrawnAt.IsZero() || len(r.Answers) != 0 || r.Client != "" || r.Paradata != nil {
				t.Errorf("withdrawn response %+v", r)
			}
			if n, _ := st.CountResponses(ctx, "webform"); n != 0 {
				t.Errorf("%d responses counted after withdrawal", n)
			}
			if _, err := c.Withdraw(ctx, rc.Receipt); err != nil {
				t.Errorf("second withdrawal: %v", err)
			}
			if _, err := c.Withdraw(ctx, "0000-0000-0000-0000"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("unknown receipt: %v", err)
			}
			if _, err := c.Withdraw(ctx, "nonsense"); !errors.Is(err, ErrBadReceipt) {
				t.Errorf("malformed receipt: %v", err)
			}
			// Re-submitting the withdrawn instance brings nothing back.
			if again, err := c.Submit(ctx, "webform", submission(t, "w1"), Meta{}); err != nil || again.Created {
				t.Errorf("re-submission after withdrawal: %+v, %v", again, err)
			}
			if n, _ := st.CountResponses(ctx, "webform"); n != 0 {
				t.Errorf("%d responses counted after re-submission", n)
			}
			if fmt.Sprint(audited) != "[webform/w1 webform/w1]" {
				t.Errorf("audited %v", audited)
			}
		})
	}
}

func TestAllow(t *testing.T) {
	st := storetest.OpenSQLite(t)
	c := newCollector(t, st, Options{
		IPLimit: Limit{Rate: 0.001, Burst: 4}, ClientLimit: Limit{Rate: 0.001, Burst: 2},
	})
	a := netip.MustParseAddr("203.0.113.7")
	b := netip.MustParseAddr("2001:db8:1:2:3:4:5:6")
	b2 := netip.MustParseAddr("2001:db8:1:2:ffff::1") // the same /64
	steps := []struct {
		addr   netip.Addr
		cookie string
		ok     bool
	}{
		{a, "c1", true}, {a, "c1", true},
		{a, "c1", false}, // the cookie's burst (a request all the same: the address's third)
		{a, "c2", true},  // the address's fourth
		{a, "c3", false}, // the address's burst
		{b, "", true}, {b2, "", true}, {b, "", true}, {b2, "", true}, {b, "", false},
		{netip.Addr{}, "c4", true},
	}
	for i, s := range steps {
		ok, wait := c.Allow(s.addr, c.ClientKey(s.cookie))
		if ok != s.ok || (!ok && wait <= 0) {
			t.Errorf("step %d (%v, %q): %v, wait %v", i, s.addr, s.cookie, ok, wait)
		}
	}
}

// gateStore holds every AddResponses until the test lets it through, so
// that the test knows what is queued behind it.
type gateStore struct {
	store.Store
	entered chan int
	release chan struct{}
}

func (g *gateStore) AddResponses(ctx context.Context, rs []store.Response) ([]bool, error) {
	g.entered <- len(rs)
	<-g.release
	return g.Store.AddResponses(ctx, rs)
}

func TestCommitterBatches(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t)
			addTestForm(t, st)
			g := &gateStore{Store: st, entered: make(chan int), release: make(chan struct{})}
			c := NewCommitter(g, CommitOptions{Window: time.Millisecond})
			resp := func(id string) store.Response {
				return store.Response{FormID: "webform", Revision: 1, InstanceID: id,
					SubmittedAt: time.Now(), Channel: "api", Answers: []byte{1, 0}}
			}
			type result struct {
				id    string
				added bool
				err   error
			}
			results := make(chan result, 100)
			add := func(id string) {
				added, err := c.Add(context.Background(), resp(id))
				results <- result{id, added, err}
			}
			go add("first")
			if n := <-g.entered; n != 1 {
				t.Fatalf("first batch has %d responses", n)
			}
			// While the first batch commits, 63 more arrive (one id twice).
			const more = 63
			for i := range more {
				id := fmt.Sprintf("r%02d", i)
				if i == more-1 {
					id = "r00"
				}
				go add(id)
			}
			for len(c.in)+int(c.forming.Load()) < more {
				time.Sleep(time.Millisecond)
			}
			g.release <- struct{}{}
			if n := <-g.entered; n != more {
				t.Errorf("second batch has %d responses, want all %d queued", n, more)
			}
			g.release <- struct{}{}
			added := map[string]int{}
			for range more + 1 {
				r := <-results
				if r.err != nil {
					t.Fatalf("%s: %v", r.id, r.err)
				}
				if r.added {
					added[r.id]++
				}
			}
			if len(added) != more || added["r00"] != 1 {
				t.Errorf("added %v: want each of %d ids once", added, more)
			}
			if got := c.Stats().Batches.Load(); got != 2 {
				t.Errorf("%d batches, want 2", got)
			}
			c.Close()
			if _, err := c.Add(context.Background(), resp("late")); !errors.Is(err, ErrClosed) {
				t.Errorf("Add after Close: %v", err)
			}
			if n, _ := st.CountResponses(t.Context(), "webform"); n != more {
				t.Errorf("%d stored, want %d", n, more)
			}
		})
	}
}

// A response the store refuses fails alone; its batch-mates are stored.
func TestCommitterIsolatesFailures(t *testing.T) {
	st := storetest.OpenSQLite(t)
	addTestForm(t, st)
	c := NewCommitter(st, CommitOptions{Window: 50 * time.Millisecond})
	defer c.Close()
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range 5 {
		wg.Go(func() {
			r := store.Response{FormID: "webform", Revision: 1, InstanceID: fmt.Sprint("ok", i),
				SubmittedAt: time.Now(), Answers: []byte{1}}
			if i == 2 {
				r.Revision = 9 // no such revision
			}
			_, errs[i] = c.Add(context.Background(), r)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if (i == 2) != (err != nil) {
			t.Errorf("response %d: %v", i, err)
		}
	}
	if n, _ := st.CountResponses(t.Context(), "webform"); n != 4 {
		t.Errorf("%d stored, want 4", n)
	}
}

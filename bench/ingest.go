package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/internal/cputime"
	"github.com/govsurvey/govsurvey/sample"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/web"
)

// IngestOptions configure Ingest.
type IngestOptions struct {
	Clients  int           // concurrent connections; default 64
	Duration time.Duration // measured time per server; default 10 s
	Warmup   time.Duration // driven but not measured, before the rounds; default 1 s
	Rounds   int           // the duration is split into rounds, alternating the servers; default 5
	Form     string        // built-in form; default netizen_2019
	Seed     uint64
	Commit   collect.CommitOptions
	// SkipBare leaves out the bare handler run.
	SkipBare bool
	// RandomIDs makes the clients send random (version 4) UUIDs, as ODK
	// Collect does, instead of the time-ordered (version 7) ones
	// govsurvey's web form makes when a respondent first presses submit.
	// Random ids land all over the store's unique index: on SQLite each
	// one dirties a page of its own in the transaction.
	RandomIDs bool
	// KeepRaw archives every submission body, sealed, as serve --keep-raw
	// does; the store must have a master key (GOVSURVEY_MASTER_KEY).
	KeepRaw bool
}

// IngestRun is what driving one server measured.
type IngestRun struct {
	Acked    int // 201 answers in the measured time
	Failed   int // anything else, transport errors included
	Elapsed  time.Duration
	Rate     float64 // acknowledged per second
	P50, P99 time.Duration
	// CPU is the process's CPU time (clients and server together) per
	// acknowledged submission: unlike the rate, it hardly moves when
	// other work shares the machine. 0 where it is not measured.
	CPU time.Duration
	// Alloc is the bytes the process allocated (clients and server) per
	// acknowledged submission: what the garbage collector's share of the
	// CPU grows with.
	Alloc int64
}

func (r IngestRun) String() string {
	return fmt.Sprintf("%8.0f acknowledged/s  p50 %6.2f ms  p99 %6.2f ms  CPU %5.0f µs, %5.1f KB allocated each  (%d acknowledged, %d failed in %s)",
		r.Rate, ms(r.P50), ms(r.P99), float64(r.CPU)/float64(time.Microsecond), float64(r.Alloc)/1000,
		r.Acked, r.Failed, r.Elapsed.Round(time.Millisecond))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// IngestResult is the whole benchmark: govsurvey's submission endpoint,
// and a bare handler that only decodes the same JSON, driven alike.
type IngestResult struct {
	Clients   int
	Server    IngestRun
	Bare      IngestRun
	Ratio     float64       // Server.Rate / Bare.Rate
	Verified  int           // acknowledged instance ids found in the store afterwards
	Missing   int           // acknowledged but not stored: must be 0
	Batches   int64         // group-commit transactions
	AvgBatch  float64       // responses per transaction
	AvgCommit time.Duration // wall time of a transaction, on average
	BodyBytes int           // mean size of a submission body
	GOMAXPROC int
	Rounds    int
	// RoundRatios are the rate ratios of each round pair (govsurvey's
	// round, then the bare handler's right after): how much the machine's
	// changing speed moves the ratio within one run.
	RoundRatios []float64
}

func (r IngestResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "clients %d, GOMAXPROCS %d, submission body ≈ %d B, %d alternating rounds\n", r.Clients, r.GOMAXPROC, r.BodyBytes, r.Rounds)
	fmt.Fprintf(&b, "govsurvey  %s\n", r.Server)
	if r.Bare.Acked > 0 {
		fmt.Fprintf(&b, "bare       %s\n", r.Bare)
		fmt.Fprintf(&b, "ratio      %.2f of the bare handler's rate", r.Ratio)
		if len(r.RoundRatios) > 1 {
			lo, mid, hi := spread(r.RoundRatios)
			fmt.Fprintf(&b, " (rounds %.2f–%.2f, median %.2f)", lo, hi, mid)
		}
		if r.Server.CPU > 0 {
			fmt.Fprintf(&b, "; %.2f of its CPU cost", float64(r.Bare.CPU)/float64(r.Server.CPU))
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "group commit: %d transactions, %.1f responses and %s each on average\n",
		r.Batches, r.AvgBatch, r.AvgCommit.Round(time.Microsecond))
	fmt.Fprintf(&b, "verified: %d of %d acknowledged submissions are stored (%d missing)",
		r.Verified, r.Verified+r.Missing, r.Missing)
	return b.String()
}

// Ingest starts govsurvey's HTTP server on st (fsync on, as in
// production), drives POST /api/v1/forms/{form}/submissions with
// opts.Clients concurrent keep-alive connections over loopback, then
// checks that every acknowledged submission is stored. It drives a bare
// handler the same way for comparison. The two are driven in alternating
// rounds, so that other work on a shared machine weighs on both alike.
// Clients and servers share the machine, as a load test on one host does.
func Ingest(ctx context.Context, st store.Store, opts IngestOptions) (IngestResult, error) {
	if opts.Clients <= 0 {
		opts.Clients = 64
	}
	if opts.Duration <= 0 {
		opts.Duration = 10 * time.Second
	}
	if opts.Warmup <= 0 {
		opts.Warmup = time.Second
	}
	if opts.Rounds <= 0 {
		opts.Rounds = 5
	}
	if opts.Form == "" {
		opts.Form = "netizen_2019"
	}
	data, name, err := form.Template(opts.Form)
	if err != nil {
		return IngestResult{}, err
	}
	fv, f, _, err := collect.AddForm(ctx, st, name, data)
	if err != nil {
		return IngestResult{}, err
	}
	bodies, err := submissionBodies(f, opts.Seed, 2000)
	if err != nil {
		return IngestResult{}, err
	}
	res := IngestResult{Clients: opts.Clients, GOMAXPROC: runtime.GOMAXPROCS(0), Rounds: opts.Rounds}
	for _, b := range bodies {
		res.BodyBytes += len(b.head) + len(b.tail) + 40
	}
	res.BodyBytes /= len(bodies)
	path := "/api/v1/forms/" + fv.FormID + "/submissions"

	srv, err := web.New(web.Options{Store: st, Collect: collect.Options{
		Commit: opts.Commit, KeepRaw: opts.KeepRaw,
		// The limits run, as in production, but never refuse: every
		// client here comes from one address.
		IPLimit: collect.Limit{Rate: 1e9, Burst: 1 << 30}, ClientLimit: collect.Limit{Rate: 1e9, Burst: 1 << 30},
	}})
	if err != nil {
		return res, err
	}
	gov, err := newLoad("govsurvey", srv, path, bodies, opts.Clients, opts.RandomIDs)
	if err != nil {
		srv.Close()
		return res, err
	}
	loads := []*load{gov}
	var bare *load
	if !opts.SkipBare {
		if bare, err = newLoad("bare", bareHandler(), path, bodies, opts.Clients, opts.RandomIDs); err != nil {
			gov.close()
			srv.Close()
			return res, err
		}
		loads = append(loads, bare)
	}
	for _, l := range loads {
		if err := l.drive(ctx, opts.Warmup, false); err != nil {
			break
		}
	}
	slice := opts.Duration / time.Duration(opts.Rounds)
	for r := 0; r < opts.Rounds && err == nil; r++ {
		for _, l := range loads {
			if err = l.drive(ctx, slice, true); err != nil {
				break
			}
		}
	}
	for _, l := range loads {
		l.close()
	}
	srv.Close()
	if err != nil {
		return res, err
	}
	res.Server = gov.result()
	if bare != nil {
		res.Bare = bare.result()
		if res.Bare.Rate > 0 {
			res.Ratio = res.Server.Rate / res.Bare.Rate
		}
		for i := range min(len(gov.rounds), len(bare.rounds)) {
			if bare.rounds[i] > 0 {
				res.RoundRatios = append(res.RoundRatios, gov.rounds[i]/bare.rounds[i])
			}
		}
	}
	stats := srv.Collector().CommitStats()
	res.Batches = stats.Batches.Load()
	if res.Batches > 0 {
		res.AvgBatch = float64(stats.Responses.Load()) / float64(res.Batches)
		res.AvgCommit = time.Duration(stats.CommitNS.Load() / res.Batches)
	}

	stored := make(map[string]bool, len(gov.acked))
	err = st.EachResponse(ctx, store.ResponseFilter{FormID: fv.FormID}, func(r store.Response) error {
		if _, ok := gov.acked[r.InstanceID]; ok {
			stored[r.InstanceID] = true
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	res.Verified = len(stored)
	res.Missing = len(gov.acked) - len(stored)
	return res, nil
}

// spread returns the least, the median and the greatest of xs (not
// empty); the median of an even count is the mean of the middle two.
func spread(xs []float64) (lo, median, hi float64) {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	median = s[n/2]
	if n%2 == 0 {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	return s[0], median, s[n-1]
}

// body is one generated submission with its instance id left out:
// head + id + tail is the JSON.
type body struct{ head, tail []byte }

// submissionBodies makes n distinct valid submissions of f from the
// sample generator, as the web form would send them.
func submissionBodies(f *form.Form, seed uint64, n int) ([]body, error) {
	g, err := sample.New(f, sample.Options{Seed: seed, Start: time.Now().UTC().Add(-time.Hour)})
	if err != nil {
		return nil, err
	}
	var out []body
	for tries := 0; len(out) < n; tries++ {
		if tries > 10*n {
			return nil, errors.New("bench: the sample generator makes too few valid submissions")
		}
		r := g.Next()
		answers := make(map[string]any, len(r.Answers))
		for k, v := range r.Answers {
			if q := f.Question(k); q != nil && q.Type == "select_multiple" {
				answers[k] = strings.Fields(v)
			} else {
				answers[k] = v
			}
		}
		tail, err := json.Marshal(map[string]any{
			"started": r.Started.Format(time.RFC3339), "ended": r.Ended.Format(time.RFC3339),
			"answers": answers, "paradata": collect.Paradata{Lang: "zh", Pages: []collect.PageTime{
				{Page: "demo", MS: 41000}, {Page: "perception", MS: 12000}, {Page: "govsvc", MS: 65000}, {Page: "policy", MS: 30000}}},
		})
		if err != nil {
			return nil, err
		}
		// Only what the form accepts: the benchmark measures storing, not
		// refusing.
		var s collect.Submission
		if err := json.Unmarshal(tail, &s); err != nil {
			return nil, err
		}
		if _, err := collect.Validate(f, s.Answers, time.Now()); err != nil {
			continue
		}
		out = append(out, body{head: []byte(`{"instance_id":"`), tail: append([]byte(`",`), tail[1:]...)})
	}
	return out, nil
}

// bareHandler only decodes the submission, as govsurvey does, and answers
// as govsurvey does: the floor under any real handler.
func bareHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s, err := collect.DecodeSubmission(b)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusCreated)
		// The same bytes, written the same way, as govsurvey's answer.
		rc := collect.Receipt{InstanceID: s.InstanceID, Receipt: "0000-0000-0000-0000"}
		w.Write(append(rc.AppendJSON(make([]byte, 0, 128)), '\n'))
	})
}

// load is one server on a loopback port and the clients that drive it.
type load struct {
	name    string
	srv     *http.Server
	url     string
	client  *http.Client
	bodies  []body
	cookies []string
	random  bool  // version 4 instance ids instead of version 7
	next    []int // per client: the number of its next request

	latencies []time.Duration // measured rounds only
	rounds    []float64       // acknowledged/s of each measured round
	failed    int
	elapsed   time.Duration
	cpu       time.Duration
	alloc     uint64              // bytes allocated, measured rounds only
	acked     map[string]struct{} // every 201, warm-up included
}

// newLoad starts a server for h. Its goroutines carry the profiler label
// server=name, and the clients' client=name, so that a CPU profile of the
// run (--cpuprofile) splits by them: go tool pprof -tagfocus server=bare.
func newLoad(name string, h http.Handler, path string, bodies []body, clients int, randomIDs bool) (*load, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go pprof.Do(context.Background(), pprof.Labels("server", name), func(context.Context) { srv.Serve(ln) })
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	l := &load{
		name: name, srv: srv, url: "http://" + ln.Addr().String() + path,
		client: &http.Client{Transport: tr, Timeout: 30 * time.Second},
		bodies: bodies, random: randomIDs, next: make([]int, clients),
		acked: make(map[string]struct{}),
	}
	for range clients {
		cookie := make([]byte, 16)
		rand.Read(cookie)
		l.cookies = append(l.cookies, "gs_client="+hex.EncodeToString(cookie))
	}
	return l, nil
}

// newID makes an instance id as a client would: a version 7 UUID (the
// time now, then random bits) like govsurvey's web form, or a random one.
func (l *load) newID() string {
	if l.random {
		return uuid.NewString()
	}
	return uuid.Must(uuid.NewV7()).String()
}

func (l *load) close() {
	l.client.CloseIdleConnections()
	l.srv.Close()
}

func (l *load) result() IngestRun {
	all := slices.Clone(l.latencies)
	slices.Sort(all)
	run := IngestRun{Acked: len(all), Failed: l.failed, Elapsed: l.elapsed}
	if l.elapsed > 0 {
		run.Rate = float64(run.Acked) / l.elapsed.Seconds()
	}
	if run.Acked > 0 {
		run.CPU = l.cpu / time.Duration(run.Acked)
		run.Alloc = int64(l.alloc) / int64(run.Acked)
	}
	if len(all) > 0 {
		run.P50 = all[len(all)/2]
		run.P99 = all[min(len(all)-1, len(all)*99/100)]
	}
	return run
}

// drive posts from every client, each on its own keep-alive connection
// and with its own cookie, for d; measured rounds count.
func (l *load) drive(ctx context.Context, d time.Duration, measured bool) error {
	type clientResult struct {
		latencies []time.Duration
		acked     []string
		failed    int
	}
	results := make([]clientResult, len(l.next))
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := cputime.Process()
	start := time.Now()
	stop := start.Add(d)
	var wg sync.WaitGroup
	for c := range l.next {
		wg.Go(func() {
			// The transport's connection goroutines, started from here,
			// carry the label too.
			pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("client", l.name)))
			res := &results[c]
			var buf bytes.Buffer
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(stop) {
					return
				}
				i := l.next[c]
				l.next[c]++
				id := l.newID()
				b := l.bodies[(c*7919+i)%len(l.bodies)]
				buf.Reset()
				buf.Write(b.head)
				buf.WriteString(id)
				buf.Write(b.tail)
				req, _ := http.NewRequestWithContext(ctx, "POST", l.url, bytes.NewReader(buf.Bytes()))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Cookie", l.cookies[c])
				resp, err := l.client.Do(req)
				ok := false
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					ok = resp.StatusCode == http.StatusCreated
				}
				lat := time.Since(t0)
				if ok {
					res.acked = append(res.acked, id)
					res.latencies = append(res.latencies, lat)
				} else {
					res.failed++
				}
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), cputime.Process()-cpu0
	if err := ctx.Err(); err != nil {
		return err
	}
	before := len(l.latencies)
	for _, r := range results {
		for _, id := range r.acked {
			l.acked[id] = struct{}{}
		}
		if measured {
			l.latencies = append(l.latencies, r.latencies...)
			l.failed += r.failed
		}
	}
	if measured {
		// One latency per acknowledged submission.
		l.rounds = append(l.rounds, float64(len(l.latencies)-before)/elapsed.Seconds())
		var m1 runtime.MemStats
		runtime.ReadMemStats(&m1)
		l.elapsed += elapsed
		l.cpu += cpu
		l.alloc += m1.TotalAlloc - m0.TotalAlloc
	}
	return nil
}

package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/web"
)

// SoakOptions configure Soak.
type SoakOptions struct {
	Duration time.Duration // default 10 min
	Every    time.Duration // sampling interval; default 5 s
	// Submitters post submissions, together at most SubmitRate a second
	// (default 16 clients, 200/s): a steady load, not the ceiling, since
	// a soak looks for what grows over time.
	Submitters int
	SubmitRate float64
	// MaxRows caps the responses the soak adds (default 20000); after
	// that, submitters send instance ids already stored (answered 200
	// after the same validation and group commit), so that the data the
	// readers and analysts load stops growing and memory can be judged.
	MaxRows int
	// Readers read the staff API and console in a loop (default 2);
	// Analysts ask for analyses (default 1): each with a pause of Pause
	// (default 200 ms) between requests.
	Readers, Analysts int
	Pause             time.Duration
	Form              string // built-in form; default netizen_2019
	Seed              uint64
	// Log, if not nil, is told each sample as it is taken.
	Log io.Writer
}

// SoakSample is one look at the process.
type SoakSample struct {
	At         time.Duration
	HeapLive   uint64 // live heap after the last GC
	HeapInUse  uint64
	RSS        uint64 // resident set (Linux); 0 elsewhere
	Goroutines int
	Submitted  int64 // acknowledged submissions so far
	Reads      int64 // successful staff reads so far
	Analyses   int64 // successful analyses so far
	Failed     int64 // non-2xx answers and transport errors so far
}

// SoakResult is the samples and their verdict.
type SoakResult struct {
	Samples  []SoakSample
	Statuses map[string]int64 // "route status" → count
	Missing  int              // acknowledged submissions not in the store: must be 0
	// Slopes over the second half of the run (the first is warm-up, while
	// the data grows to MaxRows and caches fill), per minute.
	HeapSlope, RSSSlope, GoroutineSlope float64
	// GoroutinesBefore is the process's count before the load started,
	// GoroutinesAfter once it ended and the server shut down.
	GoroutinesBefore, GoroutinesAfter int
	// Flat: over the second half, the live heap grew by less than 10% of
	// its mean (or 4 MiB), and the goroutines came back to where they
	// were before the load (at most 2 more).
	Flat bool
}

func (r SoakResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%8s %10s %10s %10s %6s %10s %8s %8s %7s\n", "t", "heap live", "heap inuse", "RSS", "gor.", "submitted", "reads", "analyses", "failed")
	for _, s := range r.Samples {
		fmt.Fprintf(&b, "%8s %10s %10s %10s %6d %10d %8d %8d %7d\n", s.At.Round(time.Second), mib(s.HeapLive), mib(s.HeapInUse), mib(s.RSS),
			s.Goroutines, s.Submitted, s.Reads, s.Analyses, s.Failed)
	}
	keys := make([]string, 0, len(r.Statuses))
	for k := range r.Statuses {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(&b, "answers:")
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s ×%d", k, r.Statuses[k])
	}
	fmt.Fprintf(&b, "\nsecond half, per minute: live heap %+.2f MiB, RSS %+.2f MiB, goroutines %+.1f\n",
		r.HeapSlope/(1<<20), r.RSSSlope/(1<<20), r.GoroutineSlope)
	fmt.Fprintf(&b, "goroutines: %d before the load, %d after it ended\n", r.GoroutinesBefore, r.GoroutinesAfter)
	verdict := "memory and goroutines FLAT"
	if !r.Flat {
		verdict = "NOT FLAT: memory or goroutines grew in the second half"
	}
	fmt.Fprintf(&b, "%s; %d acknowledged submissions missing from the store", verdict, r.Missing)
	return b.String()
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// Soak serves st in-process as serve does (with staff accounts, the audit
// log and sealing) and runs a mixed load against it over loopback for
// Duration: submissions, staff reads (form list and definition, console,
// exports) and analyses; every Every it samples the live heap, RSS and
// goroutines. It finally checks that every acknowledged submission is
// stored. Clients share the process: their memory is in the figures, and
// constant.
func Soak(ctx context.Context, st store.Store, opts SoakOptions) (SoakResult, error) {
	if opts.Duration <= 0 {
		opts.Duration = 10 * time.Minute
	}
	if opts.Every <= 0 {
		opts.Every = 5 * time.Second
	}
	if opts.Submitters <= 0 {
		opts.Submitters = 16
	}
	if opts.SubmitRate <= 0 {
		opts.SubmitRate = 200
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = 20000
	}
	if opts.Readers <= 0 {
		opts.Readers = 2
	}
	if opts.Analysts <= 0 {
		opts.Analysts = 1
	}
	if opts.Pause <= 0 {
		opts.Pause = 200 * time.Millisecond
	}
	if opts.Form == "" {
		opts.Form = "netizen_2019"
	}
	res := SoakResult{Statuses: map[string]int64{}}

	master, err := security.GenerateMasterKey()
	if err != nil {
		return res, err
	}
	keys, err := security.OpenKeys(ctx, st, master, security.KeyOptions{})
	if err != nil {
		return res, err
	}
	sealing := security.NewSealingStore(st, keys.Sealer())
	audit := security.NewAuditLog(st, keys.Audit, security.AuditOptions{})
	accounts, err := security.NewAccounts(sealing, security.AccountOptions{Audit: audit})
	if err != nil {
		return res, err
	}
	var idb [4]byte
	rand.Read(idb[:])
	user := "soak" + hex.EncodeToString(idb[:])
	pw := make([]byte, 16)
	rand.Read(pw)
	if err := accounts.AddUser(ctx, "bench", user, []security.Role{security.RoleAnalyst, security.RoleDataOfficer, security.RoleDesigner},
		"Soak-"+hex.EncodeToString(pw)); err != nil {
		return res, err
	}
	token, _, err := accounts.NewToken(ctx, "bench", user, "soak", []security.Permission{
		security.PermFormsRead, security.PermResponsesRead, security.PermResponsesExport, security.PermAnalysisRead,
	}, opts.Duration+time.Hour)
	if err != nil {
		return res, err
	}

	data, name, err := form.Template(opts.Form)
	if err != nil {
		return res, err
	}
	fv, f, _, err := collect.AddForm(ctx, sealing, name, data)
	if err != nil {
		return res, err
	}
	bodies, err := submissionBodies(f, opts.Seed, 2000)
	if err != nil {
		return res, err
	}
	srv, err := web.New(web.Options{
		Store: sealing, Sealing: sealing, Accounts: accounts, Audit: audit,
		AuditVerifier: keys.Audit.Verifier(), PseudonymKey: &keys.Pseudonym,
		Collect: collect.Options{
			IPLimit: collect.Limit{Rate: 1e9, Burst: 1 << 30}, ClientLimit: collect.Limit{Rate: 1e9, Burst: 1 << 30},
		},
	})
	if err != nil {
		return res, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return res, err
	}
	t := web.DefaultTimeouts()
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read, WriteTimeout: t.Write, IdleTimeout: t.Idle}
	go hs.Serve(ln)
	base := "http://" + ln.Addr().String()
	clients := opts.Submitters + opts.Readers + opts.Analysts
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: true}}

	var (
		submitted, reads, analyses, failed atomic.Int64
		mu                                 sync.Mutex
		acked                              = map[string]struct{}{}
	)
	count := func(route string, status int, err error) bool {
		key := route + " " + strconv.Itoa(status)
		if err != nil {
			key = route + " error"
		}
		mu.Lock()
		res.Statuses[key]++
		mu.Unlock()
		ok := err == nil && status >= 200 && status < 300
		if !ok {
			failed.Add(1)
		}
		return ok
	}
	// send does req and reads its answer to the end, so that the
	// connection is used again; status 0: no answer.
	send := func(req *http.Request) (status int, err error) {
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	get := func(ctx context.Context, route, path string) bool {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		status, err := send(req)
		if ctx.Err() != nil {
			return false
		}
		return count(route, status, err)
	}

	run, stop := context.WithTimeout(ctx, opts.Duration)
	defer stop()
	var wg sync.WaitGroup
	// Submissions: one shared ticket stream paces them all at SubmitRate.
	tickets := make(chan int)
	wg.Go(func() {
		defer close(tickets)
		tick := time.NewTicker(time.Duration(float64(time.Second) / opts.SubmitRate))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-run.Done():
				return
			case <-tick.C:
			}
			select {
			case tickets <- i:
			case <-run.Done():
				return
			}
		}
	})
	runID := hex.EncodeToString(idb[:])
	path := "/api/v1/forms/" + fv.FormID + "/submissions"
	for c := range opts.Submitters {
		wg.Go(func() {
			cookie := make([]byte, 16)
			rand.Read(cookie)
			var buf bytes.Buffer
			for i := range tickets {
				id := fmt.Sprintf("soak-%s-%d", runID, i%opts.MaxRows)
				b := bodies[(c*7919+i)%len(bodies)]
				buf.Reset()
				buf.Write(b.head)
				buf.WriteString(id)
				buf.Write(b.tail)
				req, _ := http.NewRequestWithContext(run, "POST", base+path, bytes.NewReader(buf.Bytes()))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Cookie", "gs_client="+hex.EncodeToString(cookie))
				status, err := send(req)
				if run.Err() != nil {
					return
				}
				if count("submit", status, err) {
					submitted.Add(1)
					mu.Lock()
					acked[id] = struct{}{}
					mu.Unlock()
				}
			}
		})
	}
	pause := func() bool {
		select {
		case <-run.Done():
			return false
		case <-time.After(opts.Pause):
			return true
		}
	}
	readPaths := []struct{ route, path string }{
		{"forms", "/api/v1/forms"},
		{"form", "/api/v1/forms/" + fv.FormID},
		{"console", "/console"},
		{"console form", "/console/forms/" + fv.FormID},
		{"export", "/api/v1/forms/" + fv.FormID + "/responses"},
	}
	for r := range opts.Readers {
		wg.Go(func() {
			for i := r; pause(); i++ {
				p := readPaths[i%len(readPaths)]
				if get(run, p.route, p.path) {
					reads.Add(1)
				}
			}
		})
	}
	analysisPaths := []string{
		"/api/v1/forms/" + fv.FormID + "/analysis",
		"/api/v1/forms/" + fv.FormID + "/analysis?by=gender",
	}
	for a := range opts.Analysts {
		wg.Go(func() {
			for i := a; pause(); i++ {
				if i%10 == 0 {
					// Analyses read the last cleaning run: the analyst
					// cleans again now and then, as the data grows.
					_, err := clean.Run(run, sealing, fv.FormID)
					if run.Err() != nil {
						return
					}
					status := http.StatusOK
					if err != nil {
						status = http.StatusInternalServerError
					}
					count("clean", status, nil)
					continue
				}
				if get(run, "analysis", analysisPaths[i%len(analysisPaths)]) {
					analyses.Add(1)
				}
			}
		})
	}

	start := time.Now()
	before := runtime.NumGoroutine()
	sample := func() {
		s := SoakSample{At: time.Since(start), Goroutines: runtime.NumGoroutine(),
			Submitted: submitted.Load(), Reads: reads.Load(), Analyses: analyses.Load(), Failed: failed.Load()}
		s.HeapLive, s.HeapInUse = heapFigures()
		s.RSS = residentBytes()
		res.Samples = append(res.Samples, s)
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, "soak %6s: heap live %s, RSS %s, %d goroutines, %d submitted, %d reads, %d analyses, %d failed\n",
				s.At.Round(time.Second), mib(s.HeapLive), mib(s.RSS), s.Goroutines, s.Submitted, s.Reads, s.Analyses, s.Failed)
		}
	}
	sample()
	tick := time.NewTicker(opts.Every)
sampling:
	for {
		select {
		case <-run.Done():
			break sampling
		case <-tick.C:
			sample()
		}
	}
	tick.Stop()
	wg.Wait()
	client.CloseIdleConnections()
	shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	hs.Shutdown(shutdown)
	cancel()
	srv.Close()
	if err := ctx.Err(); err != nil {
		return res, err
	}

	stored := 0
	if err := st.EachResponse(ctx, store.ResponseFilter{FormID: fv.FormID}, func(r store.Response) error {
		if _, ok := acked[r.InstanceID]; ok {
			stored++
		}
		return nil
	}); err != nil {
		return res, err
	}
	res.Missing = len(acked) - stored

	// With the load gone and the server shut down, every goroutine the run
	// started should have ended: poll a little, they end asynchronously.
	res.GoroutinesBefore = before
	for range 50 {
		if res.GoroutinesAfter = runtime.NumGoroutine(); res.GoroutinesAfter <= before {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	res.judge()
	return res, nil
}

// judge fits lines through the second half of the samples.
func (r *SoakResult) judge() {
	half := r.Samples[len(r.Samples)/2:]
	if len(half) < 3 {
		r.Flat = false
		return
	}
	var heap, rss, gor, at []float64
	for _, s := range half {
		at = append(at, s.At.Minutes())
		heap = append(heap, float64(s.HeapLive))
		rss = append(rss, float64(s.RSS))
		gor = append(gor, float64(s.Goroutines))
	}
	r.HeapSlope, r.RSSSlope, r.GoroutineSlope = slope(at, heap), slope(at, rss), slope(at, gor)
	span := at[len(at)-1] - at[0]
	mean := 0.0
	for _, h := range heap {
		mean += h
	}
	mean /= float64(len(heap))
	r.Flat = r.HeapSlope*span <= math.Max(0.10*mean, 4<<20) && r.GoroutinesAfter <= r.GoroutinesBefore+2
}

// slope is the least-squares slope of y over x.
func slope(x, y []float64) float64 {
	n := float64(len(x))
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		sxy += x[i] * y[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// heapFigures reads the live heap (as of the last GC) and the heap in use.
func heapFigures() (live, inuse uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		live = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		inuse = s[1].Value.Uint64()
	}
	return live, inuse
}

// residentBytes is the process's resident set size from /proc (Linux);
// 0 where there is none.
func residentBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}

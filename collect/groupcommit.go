package collect

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govsurvey/govsurvey/store"
)

// ErrBusy is returned when submissions arrive faster than the store takes
// them and the queue is full: the caller should answer 503 and the client
// retry (safely: the instance_id makes a retry idempotent).
var ErrBusy = errors.New("collect: too many submissions waiting to be stored")

// ErrClosed is returned for a submission that arrives while the committer
// shuts down.
var ErrClosed = errors.New("collect: shutting down")

// CommitOptions tune group commit. The zero value is a good default for
// SQLite.
type CommitOptions struct {
	// Window is how long a batch stays open for more submissions after
	// its first one when a committer is idle (default 1 ms). It bounds
	// the latency group commit adds to a lone submission. When every
	// committer is busy the batch stays open until one is free instead:
	// it fills while the last transaction commits, and waiting longer
	// would only leave the store idle.
	Window time.Duration
	// MaxBatch closes a batch early (default 512).
	MaxBatch int
	// Committers is the number of batches in flight at once (default 1).
	// SQLite has one writer, so more only queue there; PostgreSQL commits
	// several transactions in parallel and gains from 2-4.
	Committers int
	// Queue bounds the submissions waiting for a batch (default 8192);
	// beyond it Add returns ErrBusy instead of letting memory grow.
	Queue int
}

// Committer batches concurrent AddResponses calls: it collects the
// submissions that arrive within a millisecond or so, stores them in one
// transaction (one fsync), and only then answers every one of them. One
// fsync per submission caps ingest at the disk's commit rate (≈2.5k/s
// here); per batch, the HTTP and decoding work becomes the ceiling.
type Committer struct {
	st      store.Store
	opts    CommitOptions
	in      chan *pending   // submissions waiting for a batch
	batches chan []*pending // formed batches waiting for a committer

	mu     sync.RWMutex // guards closed against the close of in
	closed bool
	wg     sync.WaitGroup

	forming atomic.Int64 // submissions in the batch being formed (for tests)
	busy    atomic.Int64 // committers inside a transaction
	stats   CommitStats
}

// CommitStats count the committer's work, for metrics and benchmarks.
type CommitStats struct {
	Batches   atomic.Int64 // transactions tried
	Responses atomic.Int64 // responses in the committed ones
	Failed    atomic.Int64 // responses whose transaction failed
	CommitNS  atomic.Int64 // total time inside AddResponses
}

type pending struct {
	r    store.Response
	done chan commitResult
}

type commitResult struct {
	added bool
	err   error
}

// NewCommitter starts the committers. Close stops them.
func NewCommitter(st store.Store, opts CommitOptions) *Committer {
	if opts.Window <= 0 {
		opts.Window = time.Millisecond
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	if opts.Committers <= 0 {
		opts.Committers = 1
	}
	if opts.Queue <= 0 {
		opts.Queue = 8192
	}
	c := &Committer{st: st, opts: opts, in: make(chan *pending, opts.Queue), batches: make(chan []*pending)}
	c.wg.Go(c.collect)
	for range opts.Committers {
		c.wg.Go(c.run)
	}
	return c
}

// Add stores r durably, together with whatever else arrives meanwhile,
// and tells whether it was new (false: its instance id was already
// stored). When ctx ends first, Add returns ctx.Err() but r may still be
// stored: the batch is not the caller's to cancel.
func (c *Committer) Add(ctx context.Context, r store.Response) (bool, error) {
	p := pendingPool.Get().(*pending)
	p.r = r
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		p.release()
		return false, ErrClosed
	}
	select {
	case c.in <- p:
	default:
		c.mu.RUnlock()
		p.release()
		return false, ErrBusy
	}
	c.mu.RUnlock()
	select {
	case res := <-p.done:
		// The committer answers once and forgets p: it can be reused.
		p.release()
		return res.added, res.err
	case <-ctx.Done():
		// The committer will still answer on p.done: p is left to it.
		return false, ctx.Err()
	}
}

// pendingPool recycles the waiters of Add, a response-sized struct and a
// channel for every submission.
var pendingPool = sync.Pool{New: func() any { return &pending{done: make(chan commitResult, 1)} }}

// release returns p, whose done channel is empty, to the pool.
func (p *pending) release() {
	p.r = store.Response{}
	pendingPool.Put(p)
}

// Stats returns the committer's counters.
func (c *Committer) Stats() *CommitStats { return &c.stats }

// Close stops taking submissions, stores those already queued, and waits
// for the last batch.
func (c *Committer) Close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.in)
	}
	c.mu.Unlock()
	c.wg.Wait()
}

// collect forms batches. A batch opens with its first submission and,
// if a committer is idle, stays open for the window; then for as long as
// every committer is busy:
// under load the batch being formed takes in everything that arrives while
// the last one commits, so the store is never idle between transactions
// and a transaction holds as many submissions as there are. The collector
// sleeps through the window rather than waking for each arrival.
func (c *Committer) collect() {
	defer close(c.batches)
	for {
		first, ok := <-c.in
		if !ok {
			return
		}
		batch := make([]*pending, 1, 64)
		batch[0] = first
		c.forming.Store(1)
		if c.busy.Load() < int64(c.opts.Committers) {
			time.Sleep(c.opts.Window)
		}
		open := true
	drain:
		for len(batch) < c.opts.MaxBatch {
			select {
			case p, ok := <-c.in:
				if !ok {
					open = false
					break drain
				}
				batch = append(batch, p)
				c.forming.Store(int64(len(batch)))
			default:
				break drain
			}
		}
	handoff:
		for open && len(batch) < c.opts.MaxBatch {
			select {
			case c.batches <- batch:
				batch = nil
				c.forming.Store(0)
				break handoff
			case p, ok := <-c.in:
				if !ok {
					open = false
					break handoff
				}
				batch = append(batch, p)
				c.forming.Store(int64(len(batch)))
			}
		}
		if batch != nil {
			c.batches <- batch
			c.forming.Store(0)
		}
		if !open {
			return
		}
	}
}

// run commits the batches collect forms.
func (c *Committer) run() {
	for batch := range c.batches {
		c.busy.Add(1)
		c.commit(batch)
		c.busy.Add(-1)
	}
}

// commit stores a batch and answers each waiter. A failed batch is tried
// again one response at a time, so that one response the store refuses
// does not fail the others.
func (c *Committer) commit(batch []*pending) {
	rs := make([]store.Response, len(batch))
	for i, p := range batch {
		rs[i] = p.r
	}
	// Not the request's context: a batch belongs to many requests, and a
	// client that hangs up must not undo the others' commit.
	ctx := context.Background()
	start := time.Now()
	added, err := c.st.AddResponses(ctx, rs)
	c.stats.CommitNS.Add(int64(time.Since(start)))
	c.stats.Batches.Add(1)
	if err == nil {
		c.stats.Responses.Add(int64(len(rs)))
		for i, p := range batch {
			p.done <- commitResult{added: added[i]}
		}
		return
	}
	if len(batch) == 1 {
		c.stats.Failed.Add(1)
		batch[0].done <- commitResult{err: err}
		return
	}
	for _, p := range batch {
		c.commit([]*pending{p})
	}
}

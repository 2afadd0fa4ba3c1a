package security

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/govsurvey/govsurvey/store"
)

// LoginThrottle slows down password guessing. The login handler calls Check
// before verifying a password and refuses the attempt (without verifying,
// and without calling Failure) while the wait is positive; it then calls
// Failure or Success. MemoryThrottle serves one node; StoreThrottle keeps
// the state in the database, so that several serve nodes on one database
// give an attacker one budget, not one per node.
type LoginThrottle interface {
	// Check returns how long the caller must wait before trying key again;
	// zero means go ahead.
	Check(ctx context.Context, key string) (time.Duration, error)
	// Failure records a failed attempt for key.
	Failure(ctx context.Context, key string) error
	// Success forgets key's failures.
	Success(ctx context.Context, key string) error
}

// LoginThrottleKey is the throttling key of an attempt: the account name and
// the pseudonymous client (Pseudonym(key, PurposeRateLimit, ip)), so one
// attacker cannot lock a colleague out from elsewhere. Account names compare
// case-insensitively.
func LoginThrottleKey(account, clientPseudonym string) string {
	return strings.ToLower(strings.TrimSpace(account)) + "\x00" + clientPseudonym
}

// ThrottlePolicy is the exponential back-off: after FreeFailures failures
// each further failure doubles the wait, starting at BaseDelay, up to
// MaxDelay. A key is forgotten ForgetAfter its last failure.
type ThrottlePolicy struct {
	FreeFailures int
	BaseDelay    time.Duration
	MaxDelay     time.Duration
	ForgetAfter  time.Duration
	MaxKeys      int // bound on remembered keys, so a spray of keys cannot exhaust memory
}

// DefaultThrottlePolicy: 3 free failures, then 1 s, 2 s, 4 s … up to 15
// minutes; forgotten after a day; at most 100 000 keys (a few MB).
func DefaultThrottlePolicy() ThrottlePolicy {
	return ThrottlePolicy{
		FreeFailures: 3,
		BaseDelay:    time.Second,
		MaxDelay:     15 * time.Minute,
		ForgetAfter:  24 * time.Hour,
		MaxKeys:      100_000,
	}
}

// Delay is the wait imposed after the n-th consecutive failure.
func (p ThrottlePolicy) Delay(n int) time.Duration {
	if n <= p.FreeFailures {
		return 0
	}
	d := p.BaseDelay
	for i := p.FreeFailures + 1; i < n; i++ {
		d *= 2
		if d >= p.MaxDelay {
			return p.MaxDelay
		}
	}
	return min(d, p.MaxDelay)
}

// MemoryThrottle is a LoginThrottle for one process.
type MemoryThrottle struct {
	policy ThrottlePolicy
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]*throttleEntry
}

type throttleEntry struct {
	failures    int
	lastFailure time.Time
	until       time.Time
}

// NewMemoryThrottle returns an empty throttle. now is the clock (time.Now
// when nil); tests pass a fake one.
func NewMemoryThrottle(p ThrottlePolicy, now func() time.Time) *MemoryThrottle {
	if now == nil {
		now = time.Now
	}
	if p.MaxKeys < 1 {
		p.MaxKeys = 1
	}
	return &MemoryThrottle{policy: p, now: now, entries: map[string]*throttleEntry{}}
}

var _ LoginThrottle = (*MemoryThrottle)(nil)

// Check implements LoginThrottle.
func (t *MemoryThrottle) Check(ctx context.Context, key string) (time.Duration, error) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[key]
	if e == nil {
		return 0, nil
	}
	if t.expired(e, now) {
		delete(t.entries, key)
		return 0, nil
	}
	return max(e.until.Sub(now), 0), nil
}

// Failure implements LoginThrottle.
func (t *MemoryThrottle) Failure(ctx context.Context, key string) error {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[key]
	if e != nil && t.expired(e, now) {
		e = nil
	}
	if e == nil {
		t.makeRoom(now)
		e = &throttleEntry{}
		t.entries[key] = e
	}
	e.failures++
	e.lastFailure = now
	e.until = now.Add(t.policy.Delay(e.failures))
	return nil
}

// Success implements LoginThrottle.
func (t *MemoryThrottle) Success(ctx context.Context, key string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, key)
	return nil
}

func (t *MemoryThrottle) expired(e *throttleEntry, now time.Time) bool {
	return now.Sub(e.lastFailure) >= t.policy.ForgetAfter && !now.Before(e.until)
}

// makeRoom keeps the map under MaxKeys: first by dropping expired keys, then
// the key whose last failure is oldest.
func (t *MemoryThrottle) makeRoom(now time.Time) {
	if len(t.entries) < t.policy.MaxKeys {
		return
	}
	for k, e := range t.entries {
		if t.expired(e, now) {
			delete(t.entries, k)
		}
	}
	for len(t.entries) >= t.policy.MaxKeys {
		var oldest string
		var oldestAt time.Time
		first := true
		for k, e := range t.entries {
			if first || e.lastFailure.Before(oldestAt) {
				oldest, oldestAt, first = k, e.lastFailure, false
			}
		}
		delete(t.entries, oldest)
	}
}

// StoreThrottle is a LoginThrottle kept in the store's counters
// (store.ClusterStore), shared by every serve node on the database, with
// the same policy as MemoryThrottle.
//
// Check claims the attempt: in one transaction it refuses while the wait
// lasts or else counts the attempt as a failure, so that concurrent
// attempts on any nodes cannot all pass one check before any failure is
// recorded. Failure then has nothing left to count, and Success forgets
// the key. An attempt that ends in an error counts as a failure.
//
// The counter's name is a keyed hash of the throttle key (the typed name,
// which may be a mistyped password, and the client's pseudonym), so the
// database holds neither.
type StoreThrottle struct {
	st     store.ClusterStore
	key    PseudonymKey
	policy ThrottlePolicy
	now    func() time.Time

	mu        sync.Mutex
	lastSweep time.Time
}

// sweepEvery bounds how often one node deletes expired counters.
const sweepEvery = 10 * time.Minute

// NewStoreThrottle returns a throttle over st, naming counters with key.
// now is the clock (time.Now when nil). MaxKeys does not apply: expired
// counters are swept instead, at most every ten minutes per node.
func NewStoreThrottle(st store.ClusterStore, key PseudonymKey, p ThrottlePolicy, now func() time.Time) *StoreThrottle {
	if now == nil {
		now = time.Now
	}
	return &StoreThrottle{st: st, key: key, policy: p, now: now}
}

var _ LoginThrottle = (*StoreThrottle)(nil)

// counterName is the store counter of a throttle key.
func (t *StoreThrottle) counterName(key string) string {
	return "login:" + Pseudonym(t.key, PurposeRateLimit, "login\x00"+key)
}

// window is how long a counter is kept after its last failure: ForgetAfter,
// but never less than the longest wait, which must not be forgotten early.
func (t *StoreThrottle) window() time.Duration {
	return max(t.policy.ForgetAfter, t.policy.MaxDelay, time.Second)
}

// Check implements LoginThrottle, claiming the attempt when it returns 0.
func (t *StoreThrottle) Check(ctx context.Context, key string) (time.Duration, error) {
	now := t.now()
	t.sweep(ctx, now)
	_, wait, err := t.st.TakeCounter(ctx, t.counterName(key), t.window(), now, t.policy.Delay)
	if err != nil {
		return 0, fmt.Errorf("security: login throttle: %w", err)
	}
	return wait, nil
}

// Failure implements LoginThrottle: Check has counted the attempt already.
func (t *StoreThrottle) Failure(ctx context.Context, key string) error { return nil }

// Success implements LoginThrottle.
func (t *StoreThrottle) Success(ctx context.Context, key string) error {
	if err := t.st.ResetCounter(ctx, t.counterName(key)); err != nil {
		return fmt.Errorf("security: login throttle: %w", err)
	}
	return nil
}

// sweep deletes expired counters, at most every sweepEvery on this node.
// A failed sweep is not the login's failure: the next one retries.
func (t *StoreThrottle) sweep(ctx context.Context, now time.Time) {
	t.mu.Lock()
	due := now.Sub(t.lastSweep) >= sweepEvery
	if due {
		t.lastSweep = now
	}
	t.mu.Unlock()
	if due {
		t.st.DeleteExpiredCounters(ctx, now)
	}
}

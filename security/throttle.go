package security

import (
	"context"
	"strings"
	"sync"
	"time"
)

// LoginThrottle slows down password guessing. The login handler calls Check
// before verifying a password and refuses the attempt (without verifying,
// and without calling Failure) while the wait is positive; it then calls
// Failure or Success. MemoryThrottle serves one node; several serve nodes on
// one database need an implementation that keeps the same state in the store.
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

package collect

import (
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// Limiter is a set of token buckets, one per key (a pseudonymous IP or
// client key): each holds up to Burst tokens, refilled at Rate a second,
// and a request takes one. Memory is bounded: a bucket that has refilled
// is the same as none and is dropped when the set grows past MaxKeys. Safe
// for concurrent use.
type Limiter struct {
	rate    float64
	burst   float64
	maxKeys int
	seed    maphash.Seed
	shards  [limiterShards]limiterShard
}

const limiterShards = 32

type limiterShard struct {
	mu      sync.Mutex
	buckets map[string]bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewLimiter returns a limiter allowing burst requests at once per key
// and rate a second after that. rate <= 0 turns limiting off.
func NewLimiter(rate float64, burst, maxKeys int) *Limiter {
	if burst < 1 {
		burst = 1
	}
	if maxKeys <= 0 {
		maxKeys = 1 << 20
	}
	l := &Limiter{rate: rate, burst: float64(burst), maxKeys: maxKeys, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].buckets = make(map[string]bucket)
	}
	return l
}

// Allow takes a token for key at now. When there is none it returns false
// and how long until there will be one.
func (l *Limiter) Allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil || l.rate <= 0 {
		return true, 0
	}
	sh := &l.shards[maphash.String(l.seed, key)%limiterShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b, ok := sh.buckets[key]
	if !ok {
		if len(sh.buckets) >= l.maxKeys/limiterShards {
			l.sweep(sh, now)
		}
		b = bucket{tokens: l.burst, at: now}
	}
	if dt := now.Sub(b.at).Seconds(); dt > 0 {
		b.tokens = math.Min(l.burst, b.tokens+dt*l.rate)
	}
	b.at = now
	if b.tokens < 1 {
		sh.buckets[key] = b
		wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
		return false, max(wait, time.Second)
	}
	b.tokens--
	sh.buckets[key] = b
	return true, 0
}

// sweep drops the buckets that are full again; if that frees too little
// (a flood of distinct keys), it drops all of them: forgetting a key only
// gives it a fresh burst.
func (l *Limiter) sweep(sh *limiterShard, now time.Time) {
	for k, b := range sh.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(sh.buckets, k)
		}
	}
	if len(sh.buckets) >= l.maxKeys/limiterShards {
		clear(sh.buckets)
	}
}

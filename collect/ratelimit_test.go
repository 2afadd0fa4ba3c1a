package collect

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t0 := time.Date(2019, 7, 1, 8, 0, 0, 0, time.UTC)
	l := NewLimiter(0.5, 3, 0) // 3 at once, then one every 2 s
	steps := []struct {
		key  string
		at   time.Duration
		ok   bool
		wait time.Duration // when refused
	}{
		{"a", 0, true, 0},
		{"a", 0, true, 0},
		{"a", 0, true, 0},
		{"a", 0, false, 2 * time.Second},
		{"b", 0, true, 0}, // keys are independent
		{"a", 1 * time.Second, false, time.Second},
		{"a", 2 * time.Second, true, 0},
		{"a", 2 * time.Second, false, 2 * time.Second},
		{"a", 60 * time.Second, true, 0}, // refilled, but only to the burst
		{"a", 60 * time.Second, true, 0},
		{"a", 60 * time.Second, true, 0},
		{"a", 60 * time.Second, false, 2 * time.Second},
	}
	for i, s := range steps {
		ok, wait := l.Allow(s.key, t0.Add(s.at))
		if ok != s.ok || (!ok && wait != s.wait) {
			t.Errorf("step %d (%s at %v): %v, wait %v; want %v, %v", i, s.key, s.at, ok, wait, s.ok, s.wait)
		}
	}
	off := NewLimiter(-1, 1, 0)
	for range 10 {
		if ok, _ := off.Allow("a", t0); !ok {
			t.Fatal("a limiter with a negative rate refused")
		}
	}
}

// The set of buckets stays bounded under a flood of distinct keys, and a
// key still being limited is not forgotten while there is room.
func TestLimiterBounded(t *testing.T) {
	t0 := time.Date(2019, 7, 1, 8, 0, 0, 0, time.UTC)
	l := NewLimiter(1, 1, 64*limiterShards)
	l.Allow("hot", t0)
	for i := range 10000 {
		l.Allow(fmt.Sprint("k", i), t0.Add(time.Duration(i)*time.Millisecond))
	}
	n := 0
	for i := range l.shards {
		n += len(l.shards[i].buckets)
	}
	if n > 64*limiterShards {
		t.Errorf("%d buckets kept, bound %d", n, 64*limiterShards)
	}
}

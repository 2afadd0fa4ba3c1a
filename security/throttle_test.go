package security

import (
	"context"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestThrottlePolicyDelay(t *testing.T) {
	p := ThrottlePolicy{FreeFailures: 3, BaseDelay: time.Second, MaxDelay: 10 * time.Second}
	want := map[int]time.Duration{
		0: 0, 1: 0, 3: 0,
		4:  1 * time.Second,
		5:  2 * time.Second,
		6:  4 * time.Second,
		7:  8 * time.Second,
		8:  10 * time.Second, // capped
		50: 10 * time.Second,
	}
	for n, d := range want {
		if got := p.Delay(n); got != d {
			t.Errorf("Delay(%d) = %v, want %v", n, got, d)
		}
	}
}

func TestMemoryThrottle(t *testing.T) {
	ctx := context.Background()
	p := ThrottlePolicy{FreeFailures: 2, BaseDelay: time.Second, MaxDelay: time.Minute, ForgetAfter: time.Hour, MaxKeys: 100}
	type step struct {
		op   string // "fail", "ok", "wait" (advance clock), "check"
		d    time.Duration
		want time.Duration // for check
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"fresh key", []step{{op: "check", want: 0}}},
		{"free failures", []step{{op: "fail"}, {op: "fail"}, {op: "check", want: 0}}},
		{"backoff starts", []step{{op: "fail"}, {op: "fail"}, {op: "fail"}, {op: "check", want: time.Second}}},
		{"backoff doubles", []step{{op: "fail"}, {op: "fail"}, {op: "fail"}, {op: "fail"}, {op: "check", want: 2 * time.Second}}},
		{"wait elapses", []step{{op: "fail"}, {op: "fail"}, {op: "fail"}, {op: "fail"}, {op: "wait", d: 1500 * time.Millisecond}, {op: "check", want: 500 * time.Millisecond}, {op: "wait", d: time.Second}, {op: "check", want: 0}}},
		{"success resets", []step{{op: "fail"}, {op: "fail"}, {op: "fail"}, {op: "ok"}, {op: "check", want: 0}, {op: "fail"}, {op: "check", want: 0}}},
		{"forgotten after an hour", []step{{op: "fail"}, {op: "fail"}, {op: "fail"}, {op: "wait", d: time.Hour}, {op: "fail"}, {op: "check", want: 0}}},
		{"remembered within the hour", []step{{op: "fail"}, {op: "fail"}, {op: "fail"}, {op: "wait", d: 30 * time.Minute}, {op: "fail"}, {op: "check", want: 2 * time.Second}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
			th := NewMemoryThrottle(p, clock.now)
			key := LoginThrottleKey("Alice", "pseudo1")
			for i, s := range tt.steps {
				switch s.op {
				case "fail":
					if err := th.Failure(ctx, key); err != nil {
						t.Fatal(err)
					}
				case "ok":
					if err := th.Success(ctx, key); err != nil {
						t.Fatal(err)
					}
				case "wait":
					clock.advance(s.d)
				case "check":
					got, err := th.Check(ctx, key)
					if err != nil {
						t.Fatal(err)
					}
					if got != s.want {
						t.Errorf("step %d: Check = %v, want %v", i, got, s.want)
					}
				}
			}
		})
	}
}

func TestMemoryThrottleKeysIndependent(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
	th := NewMemoryThrottle(ThrottlePolicy{FreeFailures: 0, BaseDelay: time.Second, MaxDelay: time.Minute, ForgetAfter: time.Hour, MaxKeys: 100}, clock.now)
	attacker := LoginThrottleKey("alice", "attacker-ip")
	if err := th.Failure(ctx, attacker); err != nil {
		t.Fatal(err)
	}
	if d, _ := th.Check(ctx, attacker); d == 0 {
		t.Fatal("attacker not throttled")
	}
	if d, _ := th.Check(ctx, LoginThrottleKey("alice", "office-ip")); d != 0 {
		t.Error("alice locked out from her office by someone else's failures")
	}
	if LoginThrottleKey("Alice ", "x") != LoginThrottleKey("alice", "x") {
		t.Error("account names not compared case-insensitively")
	}
	if LoginThrottleKey("a", "bc") == LoginThrottleKey("ab", "c") {
		t.Error("keys of different accounts collide")
	}
}

func TestMemoryThrottleBounded(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
	th := NewMemoryThrottle(ThrottlePolicy{FreeFailures: 0, BaseDelay: time.Second, MaxDelay: time.Minute, ForgetAfter: time.Hour, MaxKeys: 3}, clock.now)
	for _, k := range []string{"a", "b", "c", "d"} {
		clock.advance(time.Second)
		if err := th.Failure(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(th.entries); n > 3 {
		t.Errorf("%d keys remembered, limit 3", n)
	}
	if _, ok := th.entries["a"]; ok {
		t.Error("the oldest key was kept and a newer one dropped")
	}
	if d, _ := th.Check(ctx, "d"); d == 0 {
		t.Error("newest key not throttled")
	}
}

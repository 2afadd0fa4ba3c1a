package security

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/store/storetest"
)

// TestStoreThrottle runs login attempts as the login handler makes them
// (Check, then Failure or Success when allowed) through one or two
// throttles over one database: two nodes must give the budget of one.
func TestStoreThrottle(t *testing.T) {
	p := ThrottlePolicy{FreeFailures: 2, BaseDelay: time.Second, MaxDelay: time.Minute, ForgetAfter: time.Hour}
	type step struct {
		op   string        // "fail", "ok" (an attempt, on node i), "wait" (advance clock)
		node int           // 0 or 1
		d    time.Duration // for wait
		want time.Duration // the wait Check returns for an attempt
	}
	fail := func(node int, want time.Duration) step { return step{op: "fail", node: node, want: want} }
	tests := []struct {
		name  string
		steps []step
	}{
		{"free failures then back-off", []step{fail(0, 0), fail(0, 0), fail(0, 0), fail(0, time.Second)}},
		{"refused attempts count nothing", []step{fail(0, 0), fail(0, 0), fail(0, 0), fail(0, time.Second),
			{op: "wait", d: 400 * time.Millisecond}, fail(0, 600*time.Millisecond),
			{op: "wait", d: 600 * time.Millisecond}, fail(0, 0), fail(0, 2*time.Second)}},
		{"spread over two nodes", []step{fail(0, 0), fail(1, 0), fail(0, 0), fail(1, time.Second), fail(0, time.Second),
			{op: "wait", d: time.Second}, fail(1, 0), fail(0, 2*time.Second)}},
		{"success resets, on any node", []step{fail(0, 0), fail(1, 0), fail(0, 0),
			{op: "wait", d: time.Second}, {op: "ok", node: 1}, fail(0, 0), fail(0, 0), fail(1, 0), fail(0, time.Second)}},
		{"forgotten after an hour", []step{fail(0, 0), fail(0, 0), fail(0, 0),
			{op: "wait", d: time.Hour}, fail(1, 0), fail(1, 0), fail(1, 0), fail(1, time.Second)}},
		{"remembered within the hour", []step{fail(0, 0), fail(0, 0), fail(0, 0),
			{op: "wait", d: 30 * time.Minute}, fail(1, 0), fail(0, 2*time.Second)}},
	}
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t)
			key := testPseudonymKey(t, 7)
			for i, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					ctx := t.Context()
					clock := &fakeClock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
					nodes := []*StoreThrottle{NewStoreThrottle(st, key, p, clock.now), NewStoreThrottle(st, key, p, clock.now)}
					// One account per case: the cases share the database.
					k := LoginThrottleKey("alice"+string(rune('a'+i)), "pseudo1")
					for j, s := range tt.steps {
						if s.op == "wait" {
							clock.advance(s.d)
							continue
						}
						th := nodes[s.node]
						got, err := th.Check(ctx, k)
						if err != nil {
							t.Fatal(err)
						}
						if got != s.want {
							t.Errorf("step %d on node %d: Check = %v, want %v", j, s.node, got, s.want)
						}
						if got > 0 {
							continue
						}
						if s.op == "ok" {
							err = th.Success(ctx, k)
						} else {
							err = th.Failure(ctx, k)
						}
						if err != nil {
							t.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// TestStoreThrottleKeys: keys are independent, and what the database
// holds names neither the typed account nor the client.
func TestStoreThrottleKeys(t *testing.T) {
	st := storetest.OpenSQLite(t)
	ctx := t.Context()
	clock := &fakeClock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
	th := NewStoreThrottle(st, testPseudonymKey(t, 7), ThrottlePolicy{FreeFailures: 0, BaseDelay: time.Second, MaxDelay: time.Minute, ForgetAfter: time.Hour}, clock.now)
	attacker := LoginThrottleKey("hunter2-typed-as-name", "attacker-client")
	for range 2 {
		if _, err := th.Check(ctx, attacker); err != nil {
			t.Fatal(err)
		}
	}
	if d, _ := th.Check(ctx, attacker); d == 0 {
		t.Fatal("attacker not throttled")
	}
	if d, _ := th.Check(ctx, LoginThrottleKey("hunter2-typed-as-name", "office-client")); d != 0 {
		t.Error("the account is locked out from another client by the attacker's failures")
	}
	cs, err := st.Counters(ctx, "login:", clock.now())
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 {
		t.Fatalf("%d login counters, want 2 (one per key)", len(cs))
	}
	for _, c := range cs {
		for _, s := range []string{"hunter2", "attacker", "office"} {
			if strings.Contains(c.Name, s) {
				t.Errorf("counter name %q holds %q", c.Name, s)
			}
		}
	}
}

// TestStoreThrottleConcurrent: attempts fired at once from several nodes
// on a fresh key get exactly the free failures and one more through, as
// one node taking them one by one would.
func TestStoreThrottleConcurrent(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t)
			key := testPseudonymKey(t, 7)
			p := ThrottlePolicy{FreeFailures: 3, BaseDelay: time.Second, MaxDelay: time.Minute, ForgetAfter: time.Hour}
			clock := &fakeClock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
			var nodes []*StoreThrottle
			for range 3 {
				nodes = append(nodes, NewStoreThrottle(st, key, p, clock.now))
			}
			k := LoginThrottleKey("alice", "pseudo1")
			var wg sync.WaitGroup
			var mu sync.Mutex
			through := 0
			for i := range 12 {
				wg.Go(func() {
					d, err := nodes[i%len(nodes)].Check(t.Context(), k)
					if err != nil {
						t.Error(err)
						return
					}
					if d == 0 {
						mu.Lock()
						through++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if want := p.FreeFailures + 1; through != want {
				t.Errorf("%d concurrent attempts got through, want %d", through, want)
			}
		})
	}
}

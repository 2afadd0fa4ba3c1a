package faulttest

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// load is clients posting submissions until stopped, each retrying one
// instance id until it is acknowledged, the way the web form does: a 503
// or a lost connection is tried again with the same id.
type load struct {
	t      *testing.T
	client *http.Client
	stopc  chan struct{}
	once   sync.Once
	wg     sync.WaitGroup

	mu       sync.Mutex
	acked    []string
	receipts map[string]string // instance id → receipt given
	refusals map[string]int    // status and error code → count, of answers that were not receipts
	failures int               // transport errors
}

// startLoad starts clients posting to bases in turn (client i posts to
// bases[i%len(bases)]). unexpected, if not nil, is asked about every
// answer that is not a receipt and returns a complaint for the test.
func startLoad(t *testing.T, bases []string, clients int, prefix string, unexpected func(answer) string) *load {
	l := &load{
		t:        t,
		client:   &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}},
		stopc:    make(chan struct{}),
		refusals: map[string]int{},
		receipts: map[string]string{},
	}
	for c := range clients {
		base := bases[c%len(bases)]
		l.wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("%s-%d-%d", prefix, c, i)
				for {
					select {
					case <-l.stopc:
						return
					default:
					}
					a := submit(l.client, base, id)
					if a.acknowledged(t, id) {
						l.mu.Lock()
						l.acked = append(l.acked, id)
						l.receipts[id] = a.receipt()
						l.mu.Unlock()
						break
					}
					l.mu.Lock()
					if a.err != nil {
						l.failures++
					} else {
						l.refusals[fmt.Sprintf("%d %s", a.status, a.errorCode())]++
					}
					l.mu.Unlock()
					if unexpected != nil {
						if msg := unexpected(a); msg != "" {
							t.Errorf("%s: %s", id, msg)
						}
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	return l
}

// stop ends the load and returns the acknowledged ids. Calling it again
// is harmless (a deferred stop after the test's own).
func (l *load) stop() []string {
	l.once.Do(func() { close(l.stopc) })
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.acked...)
}

func (l *load) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

func (l *load) refused(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refusals[key]
}

// waitFor polls cond until it holds; the deadline only keeps a broken
// build from hanging the run, it is not a measurement.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// receipt is the receipt acknowledged for id ("" if none).
func (l *load) receipt(id string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.receipts[id]
}

package faulttest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/internal/proctest"
)

// TestSlowClients holds slow connections open against a node started with
// short timeouts: clients that send their headers a byte at a time, clients
// that send a submission's body a byte at a time, and kept-alive
// connections left idle. The server cuts every one of them off by itself,
// keeps answering other clients meanwhile, and its goroutine count
// (go_goroutines on /metrics) comes back down to where it was.
//
// Nothing here assumes how fast a busy machine accepts or serves: the test
// waits on what each connection shows (its answer, its 100 Continue, its
// end), and its deadlines only stop a hang. A server that never cuts a
// slow client still fails it.
func TestSlowClients(t *testing.T) {
	processTest(t)
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "slow.db")
	proctest.AddTemplate(t, dsn, "netizen_2019")
	n := startServe(t, dsn, proctest.MasterKey(),
		"--read-header-timeout", "1s", "--read-timeout", "2s", "--idle-timeout", "2s", "--write-timeout", "10s")
	addr := strings.TrimPrefix(n.URL, "http://")

	// go_goroutines jitters by one or two above its floor (the runtime's
	// and the node's own short-lived goroutines): the floor of a few
	// readings is the baseline.
	baseline := goroutines(t, n.URL)
	for range 4 {
		time.Sleep(50 * time.Millisecond)
		baseline = min(baseline, goroutines(t, n.URL))
	}
	const each = 10
	kinds := map[string]struct {
		start func(c net.Conn) error
		// taken reads what shows the server has taken the connection
		// (nil: only its cut can show it; a connection still in the
		// listen backlog is never cut).
		taken func(br *bufio.Reader) error
	}{
		"slow headers": {
			start: func(c net.Conn) error {
				if _, err := io.WriteString(c, "POST /api/v1/forms/netizen_2019/submissions HTTP/1.1\r\nHost: x\r\n"); err != nil {
					return err
				}
				return trickle(c, "X-Slow: ")
			},
		},
		"slow body": {
			// Expect: 100-continue makes the server say when the
			// handler starts reading the body.
			start: func(c net.Conn) error {
				if _, err := io.WriteString(c, "POST /api/v1/forms/netizen_2019/submissions HTTP/1.1\r\nHost: x\r\n"+
					"Content-Type: application/json\r\nContent-Length: 60000\r\nExpect: 100-continue\r\n\r\n{"); err != nil {
					return err
				}
				return trickle(c, " ")
			},
			taken: func(br *bufio.Reader) error {
				line, err := br.ReadString('\n')
				if err != nil {
					return fmt.Errorf("cut off before the handler read the body: %v", err)
				}
				if !strings.HasPrefix(line, "HTTP/1.1 100 ") {
					return fmt.Errorf("answered %q before reading the body", strings.TrimSpace(line))
				}
				return nil
			},
		},
		"idle keep-alive": {
			start: func(c net.Conn) error {
				_, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
				return err // and then say nothing more
			},
			taken: func(br *bufio.Reader) error {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					return fmt.Errorf("cut off before answering: %v", err)
				}
				defer resp.Body.Close()
				if _, err := io.Copy(io.Discard, resp.Body); err != nil {
					return err
				}
				if resp.StatusCode != http.StatusOK || resp.Close {
					return fmt.Errorf("answered %s, want 200 on a kept-alive connection", resp.Status)
				}
				return nil
			},
		},
	}

	var open, settled, cut atomic.Int64
	var wg sync.WaitGroup
	var conns []net.Conn
	// Runs before startServe's cleanup: on a failure, no client goroutine
	// outlives the test.
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	})
	for kind, k := range kinds {
		for range each {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			open.Add(1)
			closed := make(chan struct{})
			wg.Go(func() {
				br := bufio.NewReader(c)
				if k.taken != nil {
					if err := k.taken(br); err != nil {
						t.Errorf("%s: %v", kind, err)
					}
				}
				settled.Add(1)
				// The server ends the connection: reading sees its end
				// (after a 400/408 answer, or none).
				io.Copy(io.Discard, br)
				cut.Add(1)
				close(closed)
			})
			wg.Go(func() {
				defer c.Close()
				if err := k.start(c); err != nil {
					return // the server hung up while we wrote: cut off
				}
				// Keep the connection until the server ends it; the
				// deadline only stops a hang in a broken build.
				select {
				case <-closed:
				case <-time.After(time.Minute):
					t.Errorf("%s: the server kept the connection for a minute", kind)
				}
			})
		}
	}
	// Every idle connection answered and every slow body being read (or
	// already cut off, and so reported above if it was never taken).
	waitFor(t, "the slow connections to be taken", func() bool { return settled.Load() == open.Load() })
	peak := goroutines(t, n.URL)

	// Meanwhile the node serves everyone else. On a loaded machine the
	// slow connections may all be cut before this answer comes: the
	// overlap is logged, not required, as no deadline can promise it.
	if a := submit(http.DefaultClient, n.URL, "while-slow"); !a.acknowledged(t, "while-slow") {
		t.Errorf("a submission while slow clients hold connections: %v", a)
	}
	held := open.Load() - cut.Load()

	waitFor(t, "the server to cut off every slow connection", func() bool { return cut.Load() == open.Load() })
	wg.Wait()
	waitFor(t, "goroutines to come back to the baseline", func() bool { return goroutines(t, n.URL) <= baseline+2 })
	t.Logf("goroutines: %d before, %d with the slow connections taken, %d after all %d were cut off; "+
		"%d still held when the other submission was acknowledged",
		baseline, peak, goroutines(t, n.URL), open.Load(), held)
}

// trickle writes one more byte of s (repeated) every 100 ms until the
// server stops taking them.
func trickle(c net.Conn, s string) error {
	for i := 0; ; i++ {
		if _, err := io.WriteString(c, s[i%len(s):i%len(s)+1]); err != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// goroutines reads go_goroutines from the node's /metrics, over a
// connection of its own that is closed after, so it does not count.
func goroutines(t *testing.T, base string) int {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}
	}
	t.Fatal("no go_goroutines in /metrics")
	return 0
}

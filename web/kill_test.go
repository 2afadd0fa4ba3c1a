package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/internal/proctest"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// TestKillUnderLoad builds govsurvey, serves a store with it, posts
// submissions from many connections at once, kills the server with
// SIGKILL in the middle, and then requires every submission it
// acknowledged (201 or 200) to be in the store: an acknowledgement means
// the response was committed and synced, not merely queued.
func TestKillUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the govsurvey binary")
	}
	bin, err := proctest.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	backends := []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "kill.db") }},
		{"postgres", storetestPostgres},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			killUnderLoad(t, bin, dsn)
		})
	}
}

func storetestPostgres(t *testing.T) string { return storetest.NewPostgresDatabase(t) }

func killUnderLoad(t *testing.T, bin, dsn string) {
	proctest.AddTemplate(t, dsn, "netizen_2019")
	// Every client here comes from one address: Serve turns rate limits off.
	node := proctest.Serve(t, bin, dsn, proctest.MasterKey())
	base := node.URL
	var killed atomic.Bool

	const (
		clients = 24
		killAt  = 600 // acknowledged submissions before the kill
	)
	var (
		mu     sync.Mutex
		acked  []string
		enough = make(chan struct{})
		once   sync.Once
		wg     sync.WaitGroup
	)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	for c := range clients {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("kill-%d-%d", c, i)
				resp, err := client.Post(base+"/api/v1/forms/netizen_2019/submissions", "application/json",
					bytes.NewReader(fmt.Appendf(nil, proctest.NetizenBody, id)))
				if err != nil {
					return // the server is gone
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusCreated, http.StatusOK:
					var rc collect.Receipt
					if err := json.Unmarshal(b, &rc); err != nil || rc.InstanceID != id {
						t.Errorf("acknowledgement %s for %s", b, id)
					}
					mu.Lock()
					acked = append(acked, id)
					if len(acked) >= killAt {
						once.Do(func() { close(enough) })
					}
					mu.Unlock()
				default:
					if len(b) > 0 && !killed.Load() {
						t.Errorf("%s: %d %s", id, resp.StatusCode, b)
						return
					}
				}
			}
		})
	}
	select {
	case <-enough:
	case <-time.After(120 * time.Second):
		t.Fatal("too few submissions acknowledged before the deadline")
	}
	// Kill while the clients keep posting: some submissions are queued
	// for group commit, some in a transaction, some not yet read.
	killed.Store(true)
	node.Kill(t)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	n := proctest.CheckStored(t, dsn, "netizen_2019", acked)
	t.Logf("%d acknowledged before or during the kill; %d stored in all", len(acked), n)
}

package web_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// netizenBody is a valid netizen_2019 submission; %s is the instance id.
const netizenBody = `{"instance_id":"%s","started":"2019-07-01T08:00:00+08:00","ended":"2019-07-01T08:06:00+08:00",` +
	`"answers":{"gender":"female","age_band":"a19_24","education":"bachelor","net_age":"y4_6","occupation":"student",` +
	`"province":"beijing","overall_safety":"safe","safety_change":"up","used_gov_online":"yes","gov_services_used":["tax"],` +
	`"gov_services_need":["tax","bank"],"convenient":"convenient","convenience_improve":["feedback"],"gov_security":"safe",` +
	`"gov_risks":["pii_leak","phishing"],"leak_domains":["bank"],"legislation_view":"dedicated_law",` +
	`"gov_security_services":["knowledge"],"gov_should":["talent"]}}`

// TestKillUnderLoad builds govsurvey, serves a store with it, posts
// submissions from many connections at once, kills the server with
// SIGKILL in the middle, and then requires every submission it
// acknowledged (201 or 200) to be in the store: an acknowledgement means
// the response was committed and synced, not merely queued.
func TestKillUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the govsurvey binary")
	}
	bin := filepath.Join(t.TempDir(), "govsurvey")
	build := exec.Command("go", "build", "-o", bin, "../cmd/govsurvey")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
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
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	data, name, err := form.Template("netizen_2019")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := collect.AddForm(ctx, st, name, data); err != nil {
		t.Fatal(err)
	}
	st.Close()

	// Every client here comes from one address: no rate limit.
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", dsn, "--ip-rate", "0", "--client-rate", "0")
	// A server needs a master key (SECURITY.md); a fresh one per run.
	key := make([]byte, 16)
	rand.Read(key)
	cmd.Env = append(os.Environ(), "GOVSURVEY_DB=", "GOVSURVEY_MASTER_KEY="+hex.EncodeToString(key))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	urls := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
	}()
	var base string
	select {
	case base = <-urls:
	case <-time.After(60 * time.Second):
		t.Fatal("govsurvey serve did not say where it listens")
	}

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
					bytes.NewReader(fmt.Appendf(nil, netizenBody, id)))
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
					if len(b) > 0 && !killed {
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
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed = true
	cmd.Wait()
	wg.Wait()

	st, err = store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("reopening the store after the kill: %v", err)
	}
	defer st.Close()
	mu.Lock()
	defer mu.Unlock()
	missing := 0
	for _, id := range acked {
		if _, err := st.Response(ctx, "netizen_2019", id); err != nil {
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged %s is not stored: %v", id, err)
			}
		}
	}
	n, err := st.CountResponses(ctx, "netizen_2019")
	if err != nil {
		t.Fatal(err)
	}
	if missing > 0 || n < len(acked) {
		t.Errorf("%d of %d acknowledged submissions missing; %d stored", missing, len(acked), n)
	}
	t.Logf("%d acknowledged before or during the kill, %d of them missing; %d stored in all", len(acked), missing, n)
}

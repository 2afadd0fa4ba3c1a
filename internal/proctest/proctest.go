// Package proctest runs the govsurvey binary for process-level tests
// (web's kill test, faulttest): it builds the binary, starts `serve` on a
// store and waits until it listens, and checks afterwards that what a node
// acknowledged is stored. It is for tests only.
package proctest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// NetizenBody is a valid netizen_2019 submission; %s is the instance id.
const NetizenBody = `{"instance_id":"%s","started":"2019-07-01T08:00:00+08:00","ended":"2019-07-01T08:06:00+08:00",` +
	`"answers":{"gender":"female","age_band":"a19_24","education":"bachelor","net_age":"y4_6","occupation":"student",` +
	`"province":"beijing","overall_safety":"safe","safety_change":"up","used_gov_online":"yes","gov_services_used":["tax"],` +
	`"gov_services_need":["tax","bank"],"convenient":"convenient","convenience_improve":["feedback"],"gov_security":"safe",` +
	`"gov_risks":["pii_leak","phishing"],"leak_domains":["bank"],"legislation_view":"dedicated_law",` +
	`"gov_security_services":["knowledge"],"gov_should":["talent"]}}`

// Build builds the govsurvey binary into dir and returns its path. It
// takes no *testing.T so that a TestMain can build once for a package.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "govsurvey")
	build := exec.Command("go", "build", "-o", bin, "github.com/govsurvey/govsurvey/cmd/govsurvey")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("proctest: go build: %v\n%s", err, out)
	}
	return bin, nil
}

// MasterKey returns a fresh master key, as GOVSURVEY_MASTER_KEY takes it:
// a server refuses to run without one (SECURITY.md).
func MasterKey() string {
	key := make([]byte, 16)
	rand.Read(key)
	return hex.EncodeToString(key)
}

// Env is the environment of a govsurvey process with the master key key:
// GOVSURVEY_DB is emptied so that only --db names the store.
func Env(key string) []string {
	return append(os.Environ(), "GOVSURVEY_DB=", "GOVSURVEY_MASTER_KEY="+key)
}

// AddTemplate stores the built-in form id in the store at dsn, directly.
func AddTemplate(t testing.TB, dsn, id string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	data, name, err := form.Template(id)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := collect.AddForm(ctx, st, name, data); err != nil {
		t.Fatal(err)
	}
}

// Node is one running `govsurvey serve`.
type Node struct {
	Cmd  *exec.Cmd
	URL  string // http://127.0.0.1:port
	mu   sync.Mutex
	logs bytes.Buffer
	done chan struct{} // closed when the process's stderr ends
}

// Serve starts `govsurvey serve` (the binary bin) on dsn with the master
// key key and waits until it listens. Rate limits are off: every client of
// a test comes from one address. The process is killed when t ends, and
// its log is shown if the test failed.
func Serve(t testing.TB, bin, dsn, key string, extra ...string) *Node {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", dsn, "--ip-rate", "0", "--client-rate", "0"}, extra...)
	n := &Node{Cmd: exec.Command(bin, args...), done: make(chan struct{})}
	n.Cmd.Env = Env(key)
	stderr, err := n.Cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		defer close(n.done)
		re := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			n.mu.Lock()
			n.logs.Write(sc.Bytes())
			n.logs.WriteByte('\n')
			n.mu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		n.Cmd.Process.Kill()
		n.Cmd.Wait()
		if t.Failed() {
			t.Logf("log of %s:\n%s", strings.Join(args, " "), n.Log())
		}
	})
	select {
	case n.URL = <-urls:
	case <-n.done:
		n.Cmd.Wait()
		t.Fatalf("govsurvey serve exited before listening:\n%s", n.Log())
	case <-time.After(60 * time.Second):
		t.Fatalf("govsurvey serve did not say where it listens:\n%s", n.Log())
	}
	return n
}

// Log is what the node has written to stderr so far.
func (n *Node) Log() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.logs.String()
}

// Stop ends the node with SIGINT and waits: group commit stores what it
// holds before the process exits.
func (n *Node) Stop(t testing.TB) {
	t.Helper()
	if err := n.Cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	<-n.done
	if err := n.Cmd.Wait(); err != nil {
		t.Errorf("serve after SIGINT: %v\n%s", err, n.Log())
	}
}

// Kill ends the node with SIGKILL, as a crash would, and waits for it.
func (n *Node) Kill(t testing.TB) {
	t.Helper()
	if err := n.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-n.done
	n.Cmd.Wait()
}

// CheckStored requires every instance id in acked to be stored for formID
// in the store at dsn, and returns how many responses the form holds.
func CheckStored(t testing.TB, dsn, formID string, acked []string) (stored int) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("reopening the store: %v", err)
	}
	defer st.Close()
	missing := 0
	for _, id := range acked {
		if _, err := st.Response(ctx, formID, id); err != nil {
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged %s is not stored: %v", id, err)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged submissions missing", missing, len(acked))
	}
	n, err := st.CountResponses(ctx, formID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

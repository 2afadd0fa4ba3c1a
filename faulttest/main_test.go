package faulttest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// binary is the govsurvey binary TestMain builds once for every test.
var binary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run() // every test skips: see processTest
	}
	dir, err := os.MkdirTemp("", "faulttest-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "govsurvey")
	build := exec.Command("go", "build", "-o", binary, "github.com/govsurvey/govsurvey/cmd/govsurvey")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// processTest skips t under -short: it builds and runs the binary.
func processTest(t *testing.T) {
	t.Helper()
	if binary == "" {
		t.Skip("-short: process-level fault test")
	}
}

// netizenBody is a valid netizen_2019 submission; %s is the instance id.
const netizenBody = `{"instance_id":"%s","started":"2019-07-01T08:00:00+08:00","ended":"2019-07-01T08:06:00+08:00",` +
	`"answers":{"gender":"female","age_band":"a19_24","education":"bachelor","net_age":"y4_6","occupation":"student",` +
	`"province":"beijing","overall_safety":"safe","safety_change":"up","used_gov_online":"yes","gov_services_used":["tax"],` +
	`"gov_services_need":["tax","bank"],"convenient":"convenient","convenience_improve":["feedback"],"gov_security":"safe",` +
	`"gov_risks":["pii_leak","phishing"],"leak_domains":["bank"],"legislation_view":"dedicated_law",` +
	`"gov_security_services":["knowledge"],"gov_should":["talent"]}}`

// masterKey returns a fresh master key, as GOVSURVEY_MASTER_KEY takes it.
func masterKey() string {
	key := make([]byte, 16)
	rand.Read(key)
	return hex.EncodeToString(key)
}

// addTemplate stores a built-in form in the store at dsn, directly.
func addTemplate(t *testing.T, dsn, id string) {
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

// govsurvey runs a govsurvey command to its end with the master key key.
func govsurvey(t *testing.T, key string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "GOVSURVEY_DB=", "GOVSURVEY_MASTER_KEY="+key)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("govsurvey %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// node is one running `govsurvey serve`.
type node struct {
	cmd  *exec.Cmd
	url  string
	mu   sync.Mutex
	logs bytes.Buffer
	done chan struct{}
}

// startServe starts `govsurvey serve` on dsn with the master key key and
// waits until it listens. Rate limits are off: every client of a test
// comes from one address. The process is killed when t ends, and its log
// is shown if the test failed.
func startServe(t *testing.T, dsn, key string, extra ...string) *node {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", dsn, "--ip-rate", "0", "--client-rate", "0"}, extra...)
	n := &node{cmd: exec.Command(binary, args...), done: make(chan struct{})}
	n.cmd.Env = append(os.Environ(), "GOVSURVEY_DB=", "GOVSURVEY_MASTER_KEY="+key)
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
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
		n.cmd.Process.Kill()
		n.cmd.Wait()
		if t.Failed() {
			t.Logf("log of %s:\n%s", strings.Join(args, " "), n.log())
		}
	})
	select {
	case n.url = <-urls:
	case <-n.done:
		n.cmd.Wait()
		t.Fatalf("govsurvey serve exited before listening:\n%s", n.log())
	case <-time.After(60 * time.Second):
		t.Fatalf("govsurvey serve did not say where it listens:\n%s", n.log())
	}
	return n
}

func (n *node) log() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.logs.String()
}

// stop ends the node with SIGTERM and waits: group commit stores what it
// holds before the process exits.
func (n *node) stop(t *testing.T) {
	t.Helper()
	if err := n.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	<-n.done
	if err := n.cmd.Wait(); err != nil {
		t.Errorf("serve after SIGINT: %v\n%s", err, n.log())
	}
}

// answer is what a submission got back.
type answer struct {
	status     int
	body       []byte
	retryAfter string
	err        error // transport error: no answer at all
}

// errorCode is the "code" of an error body, "" if it is not one.
func (a answer) errorCode() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(a.body, &e) != nil {
		return ""
	}
	return e.Error.Code
}

func (a answer) String() string {
	if a.err != nil {
		return a.err.Error()
	}
	return strconv.Itoa(a.status) + " " + strings.TrimSpace(string(a.body))
}

// submit posts one netizen_2019 submission with instance id id to base.
func submit(client *http.Client, base, id string) answer {
	resp, err := client.Post(base+"/api/v1/forms/netizen_2019/submissions", "application/json",
		strings.NewReader(fmt.Sprintf(netizenBody, id)))
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: b, retryAfter: resp.Header.Get("Retry-After"), err: err}
}

// acknowledged tells whether a is a receipt for id: 201 (stored now) or
// 200 (stored before).
func (a answer) acknowledged(t *testing.T, id string) bool {
	if a.err != nil || (a.status != http.StatusCreated && a.status != http.StatusOK) {
		return false
	}
	var rc collect.Receipt
	if err := json.Unmarshal(a.body, &rc); err != nil || rc.InstanceID != id || rc.Receipt == "" {
		t.Errorf("acknowledgement %s for %s", a.body, id)
		return false
	}
	return true
}

// receipt is the receipt code of an acknowledgement.
func (a answer) receipt() string {
	var rc collect.Receipt
	json.Unmarshal(a.body, &rc)
	return rc.Receipt
}

// checkStored requires every id in acked to be stored in dsn, and the form
// to hold exactly want responses (−1: do not count).
func checkStored(t *testing.T, dsn string, acked []string, want int) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("reopening the store: %v", err)
	}
	defer st.Close()
	missing := 0
	for _, id := range acked {
		if _, err := st.Response(ctx, "netizen_2019", id); err != nil {
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged %s is not stored: %v", id, err)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged submissions missing", missing, len(acked))
	}
	if want >= 0 {
		n, err := st.CountResponses(ctx, "netizen_2019")
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%d responses stored, want %d", n, want)
		}
	}
}

// requirePostgresTools returns the directory of initdb and pg_ctl, or
// skips the test (fails it in CI) when there are none.
func requirePostgresTools(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p)
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pg_ctl")); err == nil {
			return dirs[i]
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("PostgreSQL binaries (initdb, pg_ctl) not found in CI")
	}
	t.Skip("PostgreSQL binaries (initdb, pg_ctl) not found: install postgresql")
	return ""
}

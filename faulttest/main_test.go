package faulttest

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/internal/proctest"
	"github.com/govsurvey/govsurvey/store/storetest"
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
	if binary, err = proctest.Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
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

// govsurvey runs a govsurvey command to its end with the master key key.
func govsurvey(t *testing.T, key string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = proctest.Env(key)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("govsurvey %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// startServe starts `govsurvey serve` on dsn with the master key key and
// waits until it listens (proctest.Serve).
func startServe(t *testing.T, dsn, key string, extra ...string) *proctest.Node {
	t.Helper()
	return proctest.Serve(t, binary, dsn, key, extra...)
}

// twoNodes starts two serve nodes on one fresh PostgreSQL database with the
// forms added; the nodes share the master key, as they must.
func twoNodes(t *testing.T, forms ...string) (dsn, key string, a, b *proctest.Node) {
	t.Helper()
	processTest(t)
	dsn = storetest.NewPostgresDatabase(t)
	for _, id := range forms {
		proctest.AddTemplate(t, dsn, id)
	}
	key = proctest.MasterKey()
	return dsn, key, startServe(t, dsn, key), startServe(t, dsn, key)
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
		strings.NewReader(fmt.Sprintf(proctest.NetizenBody, id)))
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
	if n := proctest.CheckStored(t, dsn, "netizen_2019", acked); want >= 0 && n != want {
		t.Errorf("%d responses stored, want %d", n, want)
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

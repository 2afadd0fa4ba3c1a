package faulttest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

// cluster is a PostgreSQL server of the test's own, in a temporary
// directory on a free loopback port, so that stopping it breaks no other
// test (scripts/with-postgres's server is shared by the whole run).
type cluster struct {
	bin   string // directory of initdb and pg_ctl
	dir   string // data directory's parent: socket and log live here too
	port  int
	runAs []string // runuser prefix when running as root
}

// newCluster initialises and starts a cluster, stopped and removed when
// t ends.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{bin: requirePostgresTools(t)}
	base := ""
	var pgUID, pgGID = -1, -1
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: run it as postgres, in a
		// directory that user can reach (t.TempDir's parents are root's).
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root and there is no postgres user to run PostgreSQL as: %v", err)
		}
		pgUID, _ = strconv.Atoi(u.Uid)
		pgGID, _ = strconv.Atoi(u.Gid)
		c.runAs = []string{"runuser", "-u", "postgres", "--"}
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "faulttest-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	if pgUID >= 0 {
		if err := os.Chown(dir, pgUID, pgGID); err != nil {
			t.Fatal(err)
		}
	}
	c.run(t, "initdb", "-D", c.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	c.start(t)
	t.Cleanup(func() { c.pgctl("stop", "-m", "immediate") })
	return c
}

func (c *cluster) data() string { return filepath.Join(c.dir, "data") }

// url is the URL of the cluster's postgres database.
func (c *cluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

func (c *cluster) command(name string, args ...string) *exec.Cmd {
	argv := append(append(append([]string{}, c.runAs...), filepath.Join(c.bin, name)), args...)
	return exec.Command(argv[0], argv[1:]...)
}

func (c *cluster) run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := c.command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

func (c *cluster) pgctl(args ...string) ([]byte, error) {
	args = append([]string{"-D", c.data(), "-w", "-t", "60"}, args...)
	return c.command("pg_ctl", args...).CombinedOutput()
}

// start starts the server (again) on its port, with fsync on.
func (c *cluster) start(t *testing.T) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=on", c.port, c.dir)
	if out, err := c.pgctl("-l", filepath.Join(c.dir, "server.log"), "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// stop stops the server the way an operator's restart does: active
// sessions are ended (admin shutdown) and new connections refused.
func (c *cluster) stop(t *testing.T) {
	t.Helper()
	if out, err := c.pgctl("stop", "-m", "fast"); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

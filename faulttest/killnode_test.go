package faulttest

import (
	"net/http"
	"testing"
	"time"
)

// TestKillOneOfTwoNodes kills one of two serve nodes on one PostgreSQL
// with SIGKILL under load (web's TestKillUnderLoad kills a lone node on
// each store; this is the multi-node case). The other node's clients see
// nothing but receipts; every submission either node acknowledged is
// stored; and the killed node, started again on the same database, answers
// a retry of what it had acknowledged with 200 and the same receipt.
func TestKillOneOfTwoNodes(t *testing.T) {
	dsn, key, a, b := twoNodes(t, "netizen_2019")

	atA := startLoad(t, []string{a.URL}, 6, "a", nil) // loses its node
	atB := startLoad(t, []string{b.URL}, 6, "b", func(ans answer) string {
		return "the surviving node answered " + ans.String()
	})
	defer atA.stop()
	defer atB.stop()
	waitFor(t, "load on both nodes", func() bool { return atA.ackedCount() >= 200 && atB.ackedCount() >= 200 })
	a.Kill(t)
	ackedA := atA.stop()
	survivors := atB.ackedCount()
	waitFor(t, "the surviving node to go on", func() bool { return atB.ackedCount() >= survivors+200 })
	ackedB := atB.stop()
	checkStored(t, dsn, append(append([]string(nil), ackedA...), ackedB...), -1)

	// The killed node comes back on the same database; its clients retry.
	a2 := startServe(t, dsn, key)
	client := &http.Client{Timeout: 30 * time.Second}
	for _, id := range ackedA[len(ackedA)-min(len(ackedA), 50):] {
		ans := submit(client, a2.URL, id)
		if ans.status != http.StatusOK || ans.receipt() != atA.receipt(id) {
			t.Errorf("retry of %s after the restart: %v; want 200 with receipt %s", id, ans, atA.receipt(id))
		}
	}
	t.Logf("node A acknowledged %d before it was killed, node B %d in all; refusals at A %v, transport errors at A %d",
		len(ackedA), len(ackedB), atA.refusals, atA.failures)
}

package faulttest

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/form"
)

// TestTwoNodes runs two serve nodes on one PostgreSQL database and posts
// to both at once: every acknowledged instance id is stored, and stored
// once — also when the same instance id reaches both nodes at the same
// moment, where exactly one node creates it and both hand out its one
// receipt. A form added while both run is served by both (no node caches
// a form's absence).
func TestTwoNodes(t *testing.T) {
	dsn, key, a, b := twoNodes(t, "netizen_2019")
	nodes := []string{a.URL, b.URL}

	l := startLoad(t, nodes, 8, "two", func(ans answer) string {
		return "want 201 or 200; got " + ans.String()
	})
	defer l.stop()

	// The same instance ids at both nodes at once.
	const dups = 60
	client := &http.Client{Timeout: 30 * time.Second}
	dupIDs := make([]string, dups)
	for i := range dups {
		id := fmt.Sprintf("dup-%d", i)
		dupIDs[i] = id
		var answers [2]answer
		var wg sync.WaitGroup
		for j, base := range nodes {
			wg.Go(func() { answers[j] = submit(client, base, id) })
		}
		wg.Wait()
		created := 0
		for j, ans := range answers {
			if !ans.acknowledged(t, id) {
				t.Errorf("%s at node %d: %v", id, j, ans)
			}
			if ans.status == http.StatusCreated {
				created++
			}
		}
		if created != 1 {
			t.Errorf("%s sent to both nodes at once: created %d times (%v, %v)", id, created, answers[0], answers[1])
		}
		if answers[0].receipt() != answers[1].receipt() {
			t.Errorf("%s: two receipts %q and %q for one response", id, answers[0].receipt(), answers[1].receipt())
		}
	}

	// A form added while both nodes run, through the command line as an
	// operator would, is served by both; before, both answer 404.
	for _, base := range nodes {
		if got := getStatus(t, client, base+"/f/practitioner_2019"); got != http.StatusNotFound {
			t.Fatalf("form not added yet: %s answered %d", base, got)
		}
	}
	data, name, err := form.Template("practitioner_2019")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	govsurvey(t, key, "form", "add", "--db", dsn, file)
	for _, base := range nodes {
		waitFor(t, "the new form at "+base, func() bool {
			return getStatus(t, client, base+"/f/practitioner_2019") == http.StatusOK
		})
	}

	waitFor(t, "load on both nodes", func() bool { return l.ackedCount() >= 400 })
	acked := l.stop()
	checkStored(t, dsn, append(acked, dupIDs...), len(acked)+dups)
	t.Logf("%d acknowledged across both nodes, %d instance ids sent to both at once", len(acked), dups)
}

func getStatus(t *testing.T, client *http.Client, url string) int {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

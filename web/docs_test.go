package web

import (
	"os"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/store/storetest"
)

// TestRoutesDocumented keeps docs/api.md in step with the route table:
// every registered pattern must appear there as a code span on a line
// (a table row) that also says who may call it — "public", "any staff",
// or the permission as a code span — so that a new route, or a route
// whose permission changes, fails here until the reference says so.
func TestRoutesDocumented(t *testing.T) {
	b, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	srv, err := New(Options{Store: storetest.OpenSQLite(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(srv.table) == 0 {
		t.Fatal("the server registered no routes")
	}
	for _, rt := range srv.table {
		span := "`" + rt.pattern + "`"
		who := "public"
		switch {
		case rt.staff && rt.perm == "":
			who = "any staff"
		case rt.staff:
			who = "`" + string(rt.perm) + "`"
		}
		found, right := false, false
		for _, l := range lines {
			if !strings.Contains(l, span) {
				continue
			}
			found = true
			if strings.Contains(l, who) {
				right = true
				break
			}
		}
		switch {
		case !found:
			t.Errorf("route %s is not in docs/api.md (write it as a code span in the route tables)", span)
		case !right:
			t.Errorf("route %s: no line of docs/api.md naming it says who may call it (%s)", span, who)
		}
	}
}

package report_test

import (
	"strings"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/report"
	"github.com/govsurvey/govsurvey/store"
)

// TestCollectionPeriod: the methods chapter states the collection period
// from the first and last submission (Beijing time), as one day when they
// fall on the same date — never "from 1 July to 1 July".
func TestCollectionPeriod(t *testing.T) {
	x := seedFixture(t)
	var first, last time.Time
	err := x.st.EachResponse(t.Context(), store.ResponseFilter{FormID: x.f.ID}, func(r store.Response) error {
		if first.IsZero() || r.SubmittedAt.Before(first) {
			first = r.SubmittedAt
		}
		if r.SubmittedAt.After(last) {
			last = r.SubmittedAt
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cst := time.FixedZone("CST", 8*3600)
	day := func(t time.Time) string { return t.In(cst).Format("2006年1月2日") }
	want := "调查于 " + day(first) + "至 " + day(last) + "（北京时间）在线收集。"
	if day(first) == day(last) {
		want = "调查于 " + day(first) + "（北京时间）在线收集。"
	}
	_, page := build(t, report.Inputs{Store: x.st, Form: x.f, BaseForm: x.bf})
	if !strings.Contains(page, want) {
		t.Errorf("the methods chapter lacks %q", want)
	}
	if strings.Contains(page, "调查于 "+day(first)+"至 "+day(first)) {
		t.Error("the methods chapter gives a one-day period as from a day to the same day")
	}
}

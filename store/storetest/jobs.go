package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/store"
)

// testJobs is the JobsStore part of the contract: background jobs shared
// by serve nodes.
func testJobs(t *testing.T, st store.Store) {
	// First, on the empty store: it counts every stale job it fails.
	t.Run("Stale", func(t *testing.T) { testJobStale(t, st) })
	t.Run("Lifecycle", func(t *testing.T) { testJobLifecycle(t, st) })
	t.Run("OneActivePerForm", func(t *testing.T) { testJobOneActive(t, st) })
	t.Run("ClaimConcurrent", func(t *testing.T) { testJobClaimConcurrent(t, st) })
	t.Run("LatestAndPrune", func(t *testing.T) { testJobPrune(t, st) })
}

var jobT0 = time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)

func addJob(t *testing.T, st store.Store, kind, formID, node string, at time.Time) store.Job {
	t.Helper()
	j, err := st.AddJob(t.Context(), store.Job{Kind: kind, FormID: formID, Node: node, CreatedBy: "analyst",
		Params: []byte(`{"lang":"en"}`)}, at)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// testJobLifecycle: queued, claimed, progress, done with files, each as
// another node reads it from the store.
func testJobLifecycle(t *testing.T, st store.Store) {
	ctx := t.Context()
	j := addJob(t, st, "life", "f", "node-a", jobT0)
	got, err := st.Job(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.JobQueued || got.Node != "node-a" || got.CreatedBy != "analyst" || string(got.Params) != `{"lang":"en"}` ||
		!got.CreatedAt.Equal(jobT0) || !got.ClaimedAt.IsZero() || !got.FinishedAt.IsZero() || len(got.Files) != 0 {
		t.Errorf("queued job: %+v", got)
	}
	// Only the owner may touch it, and before claiming only a queued job.
	if err := st.TouchJob(ctx, j.ID, "node-b", []byte(`{}`), jobT0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("TouchJob by another node: %v, want ErrConflict", err)
	}
	if err := st.FinishJob(ctx, j.ID, "node-a", nil, nil, jobT0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("FinishJob of a queued job: %v, want ErrConflict", err)
	}
	claimAt := jobT0.Add(time.Second)
	if won, err := st.ClaimJob(ctx, j.ID, "node-a", claimAt); err != nil || !won {
		t.Fatalf("ClaimJob = %v, %v", won, err)
	}
	if won, err := st.ClaimJob(ctx, j.ID, "node-b", claimAt); err != nil || won {
		t.Errorf("second ClaimJob = %v, %v; want false", won, err)
	}
	beat := jobT0.Add(time.Minute)
	progress := []byte(`{"stages":["read","write report.html"]}`)
	if err := st.TouchJob(ctx, j.ID, "node-a", progress, beat); err != nil {
		t.Fatal(err)
	}
	if got, err = st.Job(ctx, j.ID); err != nil || got.State != store.JobRunning || !bytes.Equal(got.Progress, progress) ||
		!got.Heartbeat.Equal(beat) || !got.ClaimedAt.Equal(claimAt) {
		t.Errorf("running job: %+v, %v", got, err)
	}
	files := []store.JobFile{
		{Name: "report.html", ContentType: "text/html; charset=utf-8", Bytes: []byte("<p>报告</p>")},
		{Name: "tables.xlsx", ContentType: "application/octet-stream", Bytes: []byte{'P', 'K', 0, 0xff, 0}},
		{Name: "empty.txt", ContentType: "text/plain", Bytes: nil},
	}
	// A file twice is refused, and nothing of the finish is kept.
	if err := st.FinishJob(ctx, j.ID, "node-a", progress, append(files, files[0]), beat); err == nil {
		t.Error("FinishJob with a repeated file succeeded")
	}
	if err := st.FinishJob(ctx, j.ID, "node-b", progress, files, beat); !errors.Is(err, store.ErrConflict) {
		t.Errorf("FinishJob by another node: %v, want ErrConflict", err)
	}
	done := jobT0.Add(2 * time.Minute)
	if err := st.FinishJob(ctx, j.ID, "node-a", progress, files, done); err != nil {
		t.Fatal(err)
	}
	if got, err = st.Job(ctx, j.ID); err != nil || got.State != store.JobDone || !got.FinishedAt.Equal(done) || got.Error != "" {
		t.Errorf("done job: %+v, %v", got, err)
	}
	sizes := map[string]int64{}
	for _, f := range got.Files {
		sizes[f.Name] = f.Size
		if f.Bytes != nil {
			t.Errorf("Job listed %s with its bytes", f.Name)
		}
	}
	for _, f := range files {
		if sizes[f.Name] != int64(len(f.Bytes)) {
			t.Errorf("listed size of %s = %d, want %d", f.Name, sizes[f.Name], len(f.Bytes))
		}
		b, err := st.JobFile(ctx, j.ID, f.Name)
		if err != nil || !bytes.Equal(b.Bytes, f.Bytes) || b.ContentType != f.ContentType || b.Size != int64(len(f.Bytes)) {
			t.Errorf("JobFile %s = %+v, %v", f.Name, b, err)
		}
	}
	if _, err := st.JobFile(ctx, j.ID, "other.txt"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("JobFile of a missing file: %v, want ErrNotFound", err)
	}
	if _, err := st.Job(ctx, j.ID+1000); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Job of a missing id: %v, want ErrNotFound", err)
	}
	// Finished: no more writes.
	if err := st.FailJob(ctx, j.ID, "node-a", nil, "late", done); !errors.Is(err, store.ErrConflict) {
		t.Errorf("FailJob of a done job: %v, want ErrConflict", err)
	}

	// Failing keeps the message and the progress so far.
	k := addJob(t, st, "life", "f", "node-b", done)
	if won, err := st.ClaimJob(ctx, k.ID, "node-b", done); err != nil || !won {
		t.Fatalf("ClaimJob = %v, %v", won, err)
	}
	if err := st.FailJob(ctx, k.ID, "node-b", []byte(`{"stages":["read"]}`), "not cleaned", done.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, err = st.Job(ctx, k.ID); err != nil || got.State != store.JobFailed || got.Error != "not cleaned" ||
		string(got.Progress) != `{"stages":["read"]}` || !got.FinishedAt.Equal(done.Add(time.Second)) {
		t.Errorf("failed job: %+v, %v", got, err)
	}
}

// testJobOneActive: one queued or running job per kind and form.
func testJobOneActive(t *testing.T, st store.Store) {
	ctx := t.Context()
	j := addJob(t, st, "one", "f", "node-a", jobT0)
	if _, err := st.AddJob(ctx, store.Job{Kind: "one", FormID: "f", Node: "node-b"}, jobT0); !errors.Is(err, store.ErrExists) {
		t.Errorf("second queued job: %v, want ErrExists", err)
	}
	addJob(t, st, "one", "g", "node-b", jobT0)   // another form
	addJob(t, st, "other", "f", "node-b", jobT0) // another kind
	if _, err := st.ClaimJob(ctx, j.ID, "node-a", jobT0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddJob(ctx, store.Job{Kind: "one", FormID: "f", Node: "node-b"}, jobT0); !errors.Is(err, store.ErrExists) {
		t.Errorf("job beside a running one: %v, want ErrExists", err)
	}
	if err := st.FinishJob(ctx, j.ID, "node-a", nil, nil, jobT0); err != nil {
		t.Fatal(err)
	}
	addJob(t, st, "one", "f", "node-b", jobT0.Add(time.Minute)) // allowed again

	// Nodes asking at once: exactly one gets it.
	const n = 6
	ids := make([]int64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			j, err := st.AddJob(ctx, store.Job{Kind: "race", FormID: "f", Node: fmt.Sprintf("node-%d", i)}, jobT0)
			ids[i], errs[i] = j.ID, err
		})
	}
	wg.Wait()
	added := 0
	for i, err := range errs {
		switch {
		case err == nil:
			added++
		case !errors.Is(err, store.ErrExists):
			t.Errorf("AddJob %d: %v", i, err)
		}
	}
	if added != 1 {
		t.Errorf("%d of %d concurrent AddJob succeeded, want 1", added, n)
	}
}

// testJobClaimConcurrent: of N nodes claiming one job, exactly one wins
// and owns it.
func testJobClaimConcurrent(t *testing.T, st store.Store) {
	const n = 8
	j := addJob(t, st, "claim", "f", "node-0", jobT0)
	won := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			won[i], errs[i] = st.ClaimJob(t.Context(), j.ID, fmt.Sprintf("node-%d", i), jobT0.Add(time.Second))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	winner := -1
	for i, w := range won {
		if w {
			if winner >= 0 {
				t.Errorf("nodes %d and %d both claimed the job", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("no node claimed the job")
	}
	got, err := st.Job(t.Context(), j.ID)
	if err != nil || got.State != store.JobRunning || got.Node != fmt.Sprintf("node-%d", winner) {
		t.Errorf("claimed job: %+v, %v; want running on node-%d", got, err, winner)
	}
}

// testJobStale: a queued or running job whose heartbeat is older than the
// timeout is marked failed (not handed to another node); its owner's
// later writes are refused, and a new job of the form may start.
func testJobStale(t *testing.T, st store.Store) {
	ctx := t.Context()
	const timeout = 2 * time.Minute
	running := addJob(t, st, "stale", "f", "node-a", jobT0)
	if _, err := st.ClaimJob(ctx, running.ID, "node-a", jobT0); err != nil {
		t.Fatal(err)
	}
	fresh := addJob(t, st, "stale", "g", "node-a", jobT0)
	if _, err := st.ClaimJob(ctx, fresh.ID, "node-a", jobT0); err != nil {
		t.Fatal(err)
	}
	queued := addJob(t, st, "stale", "h", "node-a", jobT0) // its node died before claiming it
	// fresh's node is alive and says so.
	now := jobT0.Add(5 * time.Minute)
	if err := st.TouchJob(ctx, fresh.ID, "node-a", nil, now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	n, err := st.FailStaleJobs(ctx, now.Add(-timeout), "node stopped", now)
	if err != nil || n != 2 {
		t.Errorf("FailStaleJobs = %d, %v; want 2", n, err)
	}
	for _, c := range []struct {
		id    int64
		state string
	}{{running.ID, store.JobFailed}, {queued.ID, store.JobFailed}, {fresh.ID, store.JobRunning}} {
		got, err := st.Job(ctx, c.id)
		if err != nil || got.State != c.state {
			t.Errorf("job %d: %+v, %v; want %s", c.id, got, err, c.state)
			continue
		}
		if c.state == store.JobFailed && (got.Error != "node stopped" || !got.FinishedAt.Equal(now)) {
			t.Errorf("stale job %d: error %q, finished %v", c.id, got.Error, got.FinishedAt)
		}
	}
	// The slow node comes back: too late.
	if err := st.TouchJob(ctx, running.ID, "node-a", nil, now); !errors.Is(err, store.ErrConflict) {
		t.Errorf("TouchJob of a stale job: %v, want ErrConflict", err)
	}
	if err := st.FinishJob(ctx, running.ID, "node-a", nil, []store.JobFile{{Name: "x"}}, now); !errors.Is(err, store.ErrConflict) {
		t.Errorf("FinishJob of a stale job: %v, want ErrConflict", err)
	}
	if got, err := st.Job(ctx, running.ID); err != nil || len(got.Files) != 0 {
		t.Errorf("stale job got files: %+v, %v", got, err)
	}
	if won, err := st.ClaimJob(ctx, queued.ID, "node-b", now); err != nil || won {
		t.Errorf("ClaimJob of a stale queued job = %v, %v; want false", won, err)
	}
	addJob(t, st, "stale", "f", "node-b", now) // the form is free again
	if n, err := st.FailStaleJobs(ctx, now.Add(-timeout), "node stopped", now); err != nil || n != 0 {
		t.Errorf("FailStaleJobs again = %d, %v; want 0", n, err)
	}
}

// testJobPrune: Jobs lists the newest first; PruneJobs keeps the newest
// few finished jobs of a form, with their files, and deletes the others'.
func testJobPrune(t *testing.T, st store.Store) {
	ctx := t.Context()
	var ids []int64
	for i := range 5 {
		at := jobT0.Add(time.Duration(i) * time.Minute)
		j := addJob(t, st, "prune", "f", "node-a", at)
		if _, err := st.ClaimJob(ctx, j.ID, "node-a", at); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishJob(ctx, j.ID, "node-a", nil, []store.JobFile{{Name: "report.html", ContentType: "text/html",
			Bytes: []byte(fmt.Sprint("build ", i))}}, at); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	other := addJob(t, st, "prune", "g", "node-a", jobT0) // another form: untouched
	running := addJob(t, st, "prune", "f", "node-a", jobT0.Add(time.Hour))
	ids = append(ids, running.ID)

	list, err := st.Jobs(ctx, "prune", "f", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].ID != ids[5] || list[1].ID != ids[4] || list[2].ID != ids[3] ||
		len(list[1].Files) != 1 || list[1].Files[0].Name != "report.html" {
		t.Errorf("Jobs(3) = %+v", list)
	}

	n, err := st.PruneJobs(ctx, "prune", "f", 3)
	if err != nil || n != 3 {
		t.Errorf("PruneJobs = %d, %v; want 3", n, err)
	}
	all, err := st.Jobs(ctx, "prune", "f", 100)
	if err != nil {
		t.Fatal(err)
	}
	var kept []int64
	for _, j := range all {
		kept = append(kept, j.ID)
	}
	if fmt.Sprint(kept) != fmt.Sprint([]int64{ids[5], ids[4], ids[3]}) {
		t.Errorf("kept jobs %v, want %v", kept, []int64{ids[5], ids[4], ids[3]})
	}
	for _, id := range ids[:3] {
		if _, err := st.JobFile(ctx, id, "report.html"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("file of pruned job %d: %v, want ErrNotFound", id, err)
		}
	}
	if f, err := st.JobFile(ctx, ids[4], "report.html"); err != nil || string(f.Bytes) != "build 4" {
		t.Errorf("file of a kept job: %q, %v", f.Bytes, err)
	}
	if _, err := st.Job(ctx, other.ID); err != nil {
		t.Errorf("job of another form: %v", err)
	}
	// A running job is never pruned, even past keep.
	if n, err := st.PruneJobs(ctx, "prune", "f", 0); err != nil || n != 2 {
		t.Errorf("PruneJobs(0) = %d, %v; want 2", n, err)
	}
	if got, err := st.Job(ctx, running.ID); err != nil || got.State != store.JobQueued {
		t.Errorf("active job after pruning: %+v, %v", got, err)
	}
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Background jobs that serve nodes share through the database (issue #10),
// such as the console's report builds: whichever node a request reaches
// reads a job's state, progress and files from here, so nothing a node
// keeps in memory matters.
//
// A job is queued by the node that was asked for it, which owns it (node)
// and keeps its heartbeat fresh while it waits; claiming moves it to
// running, on one node only. The owner reports progress, which also beats
// the heart, and finishes it with its files or fails it. A node that dies
// stops beating: FailStaleJobs marks its queued or running jobs failed
// rather than handing them to another node, because the work of a job so
// far is lost with the node and the caller (a person at the console) is
// better told to start again than left waiting for a silent rerun. Every
// write of the owner after that is refused with ErrConflict, so a node
// that was only slow cannot bring a failed job back to life.
//
// One queued or running job per kind and form: a second is ErrExists,
// decided by a unique index, so two nodes asked at once cannot both start.

// Job states.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// Job is one background job as it stands.
type Job struct {
	ID        int64
	Kind      string // e.g. "report"
	FormID    string
	Params    []byte // JSON of the caller's, e.g. the report's language
	State     string // JobQueued, JobRunning, JobDone or JobFailed
	Progress  []byte // JSON of the caller's: stages so far, notes
	Error     string // why it failed ("" unless failed)
	Node      string // the node that owns it
	CreatedBy string // the staff member who asked for it
	CreatedAt time.Time
	ClaimedAt time.Time // zero while queued
	Heartbeat time.Time // the owner's last sign of life
	// FinishedAt is when it was done or failed (zero before).
	FinishedAt time.Time
	// Files are the job's files without their bytes (JobFile has them),
	// in the order they were given to FinishJob.
	Files []JobFile
}

// JobFile is one file a job made. Bytes is filled only by JobFile.
type JobFile struct {
	Name        string
	ContentType string
	Size        int64
	Bytes       []byte
}

// JobsStore keeps background jobs shared by serve nodes.
type JobsStore interface {
	// AddJob queues j (Kind, FormID, Params, Node, CreatedBy) at now and
	// returns it with its ID; ErrExists when a job of the same kind and
	// form is already queued or running, on any node.
	AddJob(ctx context.Context, j Job, now time.Time) (Job, error)
	// ClaimJob moves a queued job to running on node and tells whether
	// this call did: of several nodes claiming at once, exactly one wins.
	ClaimJob(ctx context.Context, id int64, node string, now time.Time) (bool, error)
	// TouchJob records the progress of a queued or running job owned by
	// node, and its heartbeat at now; ErrConflict when node no longer owns
	// it as queued or running (it was failed as stale, say).
	TouchJob(ctx context.Context, id int64, node string, progress []byte, now time.Time) error
	// FinishJob marks a running job of node done, with its progress and
	// files, in one transaction; ErrConflict as for TouchJob.
	FinishJob(ctx context.Context, id int64, node string, progress []byte, files []JobFile, now time.Time) error
	// FailJob marks a queued or running job of node failed with msg;
	// ErrConflict as for TouchJob.
	FailJob(ctx context.Context, id int64, node string, progress []byte, msg string, now time.Time) error
	// FailStaleJobs marks failed, with msg, the queued or running jobs
	// whose heartbeat is older than before (their node died or hangs),
	// and returns how many.
	FailStaleJobs(ctx context.Context, before time.Time, msg string, now time.Time) (int, error)
	// Job returns one job with its file list, or ErrNotFound.
	Job(ctx context.Context, id int64) (Job, error)
	// Jobs returns the newest limit jobs of a kind and form, newest
	// first, with their file lists.
	Jobs(ctx context.Context, kind, formID string, limit int) ([]Job, error)
	// JobFile returns one file of a job with its bytes, or ErrNotFound.
	JobFile(ctx context.Context, id int64, name string) (JobFile, error)
	// PruneJobs deletes the finished jobs of a kind and form, and their
	// files, except the newest keep jobs; it returns how many it deleted.
	PruneJobs(ctx context.Context, kind, formID string, keep int) (int, error)
}

const (
	jobColumns = `id, kind, form_id, params, state, progress, error, node, created_by,
		created_at, claimed_at, heartbeat_at, finished_at`

	// The unique partial index jobs_active_idx makes a second active job
	// of the same kind and form a conflict: nothing is inserted, no row
	// is returned.
	insertJob = `INSERT INTO jobs (kind, form_id, params, state, progress, error, node, created_by, created_at, heartbeat_at)
		VALUES (?, ?, ?, 'queued', '{}', '', ?, ?, ?, ?)
		ON CONFLICT DO NOTHING
		RETURNING id`

	// In PostgreSQL a second claimer waits for the first one's row lock,
	// then finds the state changed and updates nothing; SQLite has one
	// writer anyway.
	claimJob = `UPDATE jobs SET state = 'running', node = ?, claimed_at = ?, heartbeat_at = ?
		WHERE id = ? AND state = 'queued'`

	touchJob = `UPDATE jobs SET progress = ?, heartbeat_at = ?
		WHERE id = ? AND node = ? AND state IN ('queued', 'running')`

	finishJob = `UPDATE jobs SET state = 'done', progress = ?, heartbeat_at = ?, finished_at = ?
		WHERE id = ? AND node = ? AND state = 'running'`

	insertJobFile = `INSERT INTO job_files (job_id, name, content_type, size, bytes) VALUES (?, ?, ?, ?, ?)`

	failJob = `UPDATE jobs SET state = 'failed', progress = ?, error = ?, heartbeat_at = ?, finished_at = ?
		WHERE id = ? AND node = ? AND state IN ('queued', 'running')`

	failStaleJobs = `UPDATE jobs SET state = 'failed', error = ?, finished_at = ?
		WHERE state IN ('queued', 'running') AND heartbeat_at < ?`

	queryJob = `SELECT ` + jobColumns + ` FROM jobs WHERE id = ?`

	queryJobs = `SELECT ` + jobColumns + ` FROM jobs WHERE kind = ? AND form_id = ? ORDER BY id DESC LIMIT ?`

	queryJobFiles = `SELECT name, content_type, size FROM job_files WHERE job_id = ? ORDER BY name`

	queryJobFile = `SELECT name, content_type, size, bytes FROM job_files WHERE job_id = ? AND name = ?`

	// oldJobs are the finished jobs of a kind and form other than the
	// newest few (the three ? are kind, form_id and how many to keep,
	// then kind and form_id again).
	oldJobs = `SELECT id FROM jobs WHERE kind = ? AND form_id = ? AND state IN ('done', 'failed')
		AND id NOT IN (SELECT id FROM jobs WHERE kind = ? AND form_id = ? ORDER BY id DESC LIMIT ?)`

	deleteOldJobFiles = `DELETE FROM job_files WHERE job_id IN (` + oldJobs + `)`

	deleteOldJobs = `DELETE FROM jobs WHERE id IN (` + oldJobs + `)`
)

func scanJob(row scanner) (Job, error) {
	var j Job
	var params, progress string
	var created, heartbeat int64
	var claimed, finished sql.NullInt64
	if err := row.Scan(&j.ID, &j.Kind, &j.FormID, &params, &j.State, &progress, &j.Error, &j.Node, &j.CreatedBy,
		&created, &claimed, &heartbeat, &finished); err != nil {
		return Job{}, err
	}
	j.Params, j.Progress = []byte(params), []byte(progress)
	j.CreatedAt, j.Heartbeat = fromMicros(created), fromMicros(heartbeat)
	j.ClaimedAt, j.FinishedAt = fromNullMicros(claimed), fromNullMicros(finished)
	return j, nil
}

func jobError(id int64, err error) error {
	if isNoRows(err) {
		err = ErrNotFound
	}
	return fmt.Errorf("store: job %d: %w", id, err)
}

// jsonOrEmpty stores nil JSON as an empty object.
func jsonOrEmpty(b []byte) string {
	if len(b) == 0 {
		return "{}"
	}
	return string(b)
}

func (s shared) AddJob(ctx context.Context, j Job, now time.Time) (Job, error) {
	if j.Kind == "" || j.FormID == "" || j.Node == "" {
		return Job{}, errors.New("store: a job needs a kind, a form and a node")
	}
	for _, f := range []struct{ what, s string }{{"kind", j.Kind}, {"form", j.FormID}, {"params", string(j.Params)},
		{"node", j.Node}, {"created by", j.CreatedBy}} {
		if err := checkText(f.what, f.s); err != nil {
			return Job{}, fmt.Errorf("store: job: %w", err)
		}
	}
	now = now.UTC().Truncate(time.Microsecond)
	err := s.d.tx(ctx, func(q querier) error {
		return q.queryRow(ctx, insertJob, j.Kind, j.FormID, jsonOrEmpty(j.Params), j.Node, j.CreatedBy,
			micros(now), micros(now)).Scan(&j.ID)
	})
	if isNoRows(err) {
		return Job{}, fmt.Errorf("store: %s job of %s: %w", j.Kind, j.FormID, ErrExists)
	}
	if err != nil {
		return Job{}, fmt.Errorf("store: %s job of %s: %w", j.Kind, j.FormID, err)
	}
	j.Params, j.Progress = []byte(jsonOrEmpty(j.Params)), []byte("{}")
	j.State, j.Error, j.CreatedAt, j.Heartbeat = JobQueued, "", now, now
	j.ClaimedAt, j.FinishedAt, j.Files = time.Time{}, time.Time{}, nil
	return j, nil
}

func (s shared) ClaimJob(ctx context.Context, id int64, node string, now time.Time) (bool, error) {
	if node == "" {
		return false, fmt.Errorf("store: job %d: claimed by no node", id)
	}
	var n int64
	err := s.d.tx(ctx, func(q querier) error {
		var err error
		n, err = q.exec(ctx, claimJob, node, micros(now), micros(now), id)
		return err
	})
	if err != nil {
		return false, jobError(id, err)
	}
	return n == 1, nil
}

// ownedUpdate runs one update of a job that node must own, and maps
// "changed nothing" to ErrConflict.
func (s shared) ownedUpdate(ctx context.Context, id int64, stmt string, args ...any) error {
	var n int64
	err := s.d.tx(ctx, func(q querier) error {
		var err error
		n, err = q.exec(ctx, stmt, args...)
		return err
	})
	if err != nil {
		return jobError(id, err)
	}
	if n == 0 {
		return jobError(id, ErrConflict)
	}
	return nil
}

func (s shared) TouchJob(ctx context.Context, id int64, node string, progress []byte, now time.Time) error {
	if err := checkText("progress", string(progress)); err != nil {
		return jobError(id, err)
	}
	return s.ownedUpdate(ctx, id, touchJob, jsonOrEmpty(progress), micros(now), id, node)
}

func (s shared) FinishJob(ctx context.Context, id int64, node string, progress []byte, files []JobFile, now time.Time) error {
	if err := checkText("progress", string(progress)); err != nil {
		return jobError(id, err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		if f.Name == "" || seen[f.Name] || checkText("file name", f.Name) != nil || checkText("content type", f.ContentType) != nil {
			return fmt.Errorf("store: job %d: bad or repeated file %q", id, f.Name)
		}
		seen[f.Name] = true
	}
	err := s.d.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, finishJob, jsonOrEmpty(progress), micros(now), micros(now), id, node)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrConflict
		}
		for _, f := range files {
			if _, err := q.exec(ctx, insertJobFile, id, f.Name, f.ContentType, int64(len(f.Bytes)), notNil(f.Bytes)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return jobError(id, err)
	}
	return nil
}

func (s shared) FailJob(ctx context.Context, id int64, node string, progress []byte, msg string, now time.Time) error {
	for _, t := range []string{string(progress), msg} {
		if err := checkText("job failure", t); err != nil {
			return jobError(id, err)
		}
	}
	return s.ownedUpdate(ctx, id, failJob, jsonOrEmpty(progress), msg, micros(now), micros(now), id, node)
}

func (s shared) FailStaleJobs(ctx context.Context, before time.Time, msg string, now time.Time) (int, error) {
	if err := checkText("job failure", msg); err != nil {
		return 0, fmt.Errorf("store: stale jobs: %w", err)
	}
	var n int64
	err := s.d.tx(ctx, func(q querier) error {
		var err error
		n, err = q.exec(ctx, failStaleJobs, msg, micros(now), micros(before))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: stale jobs: %w", err)
	}
	return int(n), nil
}

// jobFiles fills in j's file list.
func (s shared) jobFiles(ctx context.Context, q querier, j *Job) error {
	rows, err := q.query(ctx, queryJobFiles, j.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var f JobFile
		if err := rows.Scan(&f.Name, &f.ContentType, &f.Size); err != nil {
			return err
		}
		j.Files = append(j.Files, f)
	}
	return rows.Err()
}

func (s shared) Job(ctx context.Context, id int64) (Job, error) {
	q := s.d.reader()
	j, err := scanJob(q.queryRow(ctx, queryJob, id))
	if err != nil {
		return Job{}, jobError(id, err)
	}
	if err := s.jobFiles(ctx, q, &j); err != nil {
		return Job{}, jobError(id, err)
	}
	return j, nil
}

func (s shared) Jobs(ctx context.Context, kind, formID string, limit int) ([]Job, error) {
	if limit < 1 {
		return nil, fmt.Errorf("store: jobs: limit %d", limit)
	}
	q := s.d.reader()
	rows, err := q.query(ctx, queryJobs, kind, formID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: %s jobs of %s: %w", kind, formID, err)
	}
	var out []Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: %s jobs of %s: %w", kind, formID, err)
		}
		out = append(out, j)
	}
	err = rows.Err()
	rows.Close() // before the next queries: SQLite's read pool may be one connection
	if err != nil {
		return nil, fmt.Errorf("store: %s jobs of %s: %w", kind, formID, err)
	}
	for i := range out {
		if err := s.jobFiles(ctx, q, &out[i]); err != nil {
			return nil, jobError(out[i].ID, err)
		}
	}
	return out, nil
}

func (s shared) JobFile(ctx context.Context, id int64, name string) (JobFile, error) {
	var f JobFile
	err := s.d.reader().queryRow(ctx, queryJobFile, id, name).Scan(&f.Name, &f.ContentType, &f.Size, &f.Bytes)
	if err != nil {
		return JobFile{}, fmt.Errorf("store: job %d file %s: %w", id, name, notFoundIfNoRows(err))
	}
	return f, nil
}

func notFoundIfNoRows(err error) error {
	if isNoRows(err) {
		return ErrNotFound
	}
	return err
}

func (s shared) PruneJobs(ctx context.Context, kind, formID string, keep int) (int, error) {
	if keep < 0 {
		return 0, fmt.Errorf("store: pruning jobs: keep %d", keep)
	}
	var n int64
	err := s.d.tx(ctx, func(q querier) error {
		args := []any{kind, formID, kind, formID, keep}
		if _, err := q.exec(ctx, deleteOldJobFiles, args...); err != nil {
			return err
		}
		var err error
		n, err = q.exec(ctx, deleteOldJobs, args...)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: pruning %s jobs of %s: %w", kind, formID, err)
	}
	return int(n), nil
}

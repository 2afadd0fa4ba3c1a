package security

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/govsurvey/govsurvey/store"
)

// AuditLog writes the audit chain to the store: each Record links one
// entry to the newest stored one (in the store's transaction, so several
// nodes still make one chain), and every CheckpointEvery entries the
// newest is signed. The server also checkpoints on a timer and at
// shutdown (Checkpoint). Nothing in govsurvey deletes or changes entries;
// there is no purge, so the retention is the database's life (well over
// the 6 months Cybersecurity Law art. 21 asks), and Export copies the log
// out for an external archive.
type AuditLog struct {
	st     store.Store
	signer *AuditSigner
	every  uint64
	now    func() time.Time

	mu   sync.Mutex
	last uint64 // newest seq this process has checkpointed or seen checkpointed
}

// AuditOptions configure an AuditLog.
type AuditOptions struct {
	// CheckpointEvery signs a checkpoint after every that many entries
	// (default 100); the timer and shutdown checkpoints cover the rest.
	CheckpointEvery int
	Now             func() time.Time
}

// AuditEvent is what a caller records: the chain fields are the log's.
type AuditEvent struct {
	Actor   string // user name, "cli:<os user>", "system", or a respondent pseudonym
	Action  string // Action* constants
	Object  string // e.g. "form:netizen_2019", "user:alice"
	Outcome string // Outcome* constants
	Detail  string // never answer data
}

// NewAuditLog returns a log writing to st and signing with signer (nil:
// no checkpoints, which verify reports; only for tests and tools that
// cannot open the keys).
func NewAuditLog(st store.Store, signer *AuditSigner, opts AuditOptions) *AuditLog {
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = 100
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &AuditLog{st: st, signer: signer, every: uint64(opts.CheckpointEvery), now: opts.Now}
}

func toRecord(e AuditEntry) store.AuditRecord {
	return store.AuditRecord{Seq: int64(e.Seq), Time: e.Time, Actor: e.Actor, Action: e.Action, Object: e.Object,
		Outcome: e.Outcome, Detail: e.Detail, PrevHash: e.PrevHash, Hash: e.Hash}
}

func fromRecord(r store.AuditRecord) AuditEntry {
	return AuditEntry{Seq: uint64(r.Seq), Time: r.Time, Actor: r.Actor, Action: r.Action, Object: r.Object,
		Outcome: r.Outcome, Detail: r.Detail, PrevHash: r.PrevHash, Hash: r.Hash}
}

func toCheckpoint(c AuditCheckpoint) store.AuditCheckpoint {
	return store.AuditCheckpoint{Seq: int64(c.Seq), Time: c.Time, Hash: c.Hash, Signature: c.Signature}
}

func fromCheckpoint(c store.AuditCheckpoint) AuditCheckpoint {
	return AuditCheckpoint{Seq: uint64(c.Seq), Time: c.Time, Hash: c.Hash, Signature: c.Signature}
}

// Record appends ev to the log and returns the stored entry. An action
// whose record fails should fail too: what is not audited is not done.
func (l *AuditLog) Record(ctx context.Context, ev AuditEvent) (AuditEntry, error) {
	if ev.Action == "" || ev.Outcome == "" {
		return AuditEntry{}, errors.New("security: an audit event needs an action and an outcome")
	}
	rec, err := l.st.AppendAudit(ctx, func(prev *store.AuditRecord) (store.AuditRecord, error) {
		var p *AuditEntry
		if prev != nil {
			pe := fromRecord(*prev)
			p = &pe
		}
		e := LinkAuditEntry(p, AuditEntry{Time: l.now(), Actor: ev.Actor, Action: ev.Action,
			Object: ev.Object, Outcome: ev.Outcome, Detail: ev.Detail})
		return toRecord(e), nil
	})
	if err != nil {
		return AuditEntry{}, err
	}
	e := fromRecord(rec)
	if l.signer != nil && e.Seq%l.every == 0 {
		if err := l.checkpoint(ctx, e); err != nil {
			return e, err
		}
	}
	return e, nil
}

// Checkpoint signs the newest entry unless it is signed already. The
// server calls it periodically and at shutdown; key rotation and audit
// export call it too, so that what leaves the server is anchored.
func (l *AuditLog) Checkpoint(ctx context.Context) error {
	if l.signer == nil {
		return errors.New("security: audit checkpoint: no signing key")
	}
	var newest *AuditEntry
	// The newest entry: the log is read from the last checkpoint this
	// process knows, which keeps the periodic call cheap.
	l.mu.Lock()
	after := l.last
	l.mu.Unlock()
	if err := l.st.EachAudit(ctx, int64(after), func(r store.AuditRecord) error {
		e := fromRecord(r)
		newest = &e
		return nil
	}); err != nil {
		return err
	}
	if newest == nil {
		return nil
	}
	return l.checkpoint(ctx, *newest)
}

func (l *AuditLog) checkpoint(ctx context.Context, e AuditEntry) error {
	c, err := l.signer.Checkpoint(e, l.now())
	if err != nil {
		return err
	}
	if err := l.st.AddAuditCheckpoint(ctx, toCheckpoint(c)); err != nil {
		return err
	}
	l.mu.Lock()
	l.last = max(l.last, e.Seq)
	l.mu.Unlock()
	return nil
}

// ReadAudit returns the whole log and its checkpoints.
func ReadAudit(ctx context.Context, st store.Store) ([]AuditEntry, []AuditCheckpoint, error) {
	var entries []AuditEntry
	if err := st.EachAudit(ctx, 0, func(r store.AuditRecord) error {
		entries = append(entries, fromRecord(r))
		return nil
	}); err != nil {
		return nil, nil, err
	}
	cs, err := st.AuditCheckpoints(ctx)
	if err != nil {
		return nil, nil, err
	}
	checkpoints := make([]AuditCheckpoint, len(cs))
	for i, c := range cs {
		checkpoints[i] = fromCheckpoint(c)
	}
	return entries, checkpoints, nil
}

// AuditReport is the outcome of VerifyAudit.
type AuditReport struct {
	Entries     int
	Checkpoints int
	LastSeq     uint64
	// Unsigned counts the entries after the newest checkpoint: the chain
	// alone vouches for them.
	Unsigned int
}

// VerifyAudit checks the stored log against its hash chain and its
// checkpoints signed by any of keys. The error, when the log was altered,
// is a *ChainError naming each problem by seq.
func VerifyAudit(ctx context.Context, st store.Store, keys ...*AuditVerifier) (AuditReport, error) {
	entries, checkpoints, err := ReadAudit(ctx, st)
	if err != nil {
		return AuditReport{}, err
	}
	rep := AuditReport{Entries: len(entries), Checkpoints: len(checkpoints)}
	var signed uint64
	for _, c := range checkpoints {
		signed = max(signed, c.Seq)
	}
	for _, e := range entries {
		rep.LastSeq = max(rep.LastSeq, e.Seq)
		if e.Seq > signed {
			rep.Unsigned++
		}
	}
	return rep, VerifyChain(entries, checkpoints, keys...)
}

// auditLine is one line of an export: an entry or a checkpoint.
type auditLine struct {
	Type      string `json:"type"` // "entry" or "checkpoint"
	Seq       uint64 `json:"seq"`
	Time      string `json:"time"` // RFC 3339, microseconds, UTC
	Actor     string `json:"actor,omitempty"`
	Action    string `json:"action,omitempty"`
	Object    string `json:"object,omitempty"`
	Outcome   string `json:"outcome,omitempty"`
	Detail    string `json:"detail,omitempty"`
	PrevHash  string `json:"prev_hash,omitempty"` // hex
	Hash      string `json:"hash"`                // hex
	Signature string `json:"signature,omitempty"` // hex, ASN.1 SM2
}

const auditTimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// ExportAudit writes the log as JSON lines, each entry followed by the
// checkpoints at its seq, for an external archive: an auditor re-checks it
// with the canonical encodings in audit.go and the public key. It returns
// the number of entries written.
func ExportAudit(ctx context.Context, st store.Store, w io.Writer) (int, error) {
	cs, err := st.AuditCheckpoints(ctx)
	if err != nil {
		return 0, err
	}
	bySeq := make(map[int64][]store.AuditCheckpoint)
	for _, c := range cs {
		bySeq[c.Seq] = append(bySeq[c.Seq], c)
	}
	enc := json.NewEncoder(w)
	n := 0
	err = st.EachAudit(ctx, 0, func(r store.AuditRecord) error {
		if err := enc.Encode(auditLine{Type: "entry", Seq: uint64(r.Seq), Time: r.Time.UTC().Format(auditTimeFormat),
			Actor: r.Actor, Action: r.Action, Object: r.Object, Outcome: r.Outcome, Detail: r.Detail,
			PrevHash: hex.EncodeToString(r.PrevHash), Hash: hex.EncodeToString(r.Hash)}); err != nil {
			return err
		}
		n++
		for _, c := range bySeq[r.Seq] {
			if err := enc.Encode(auditLine{Type: "checkpoint", Seq: uint64(c.Seq), Time: c.Time.UTC().Format(auditTimeFormat),
				Hash: hex.EncodeToString(c.Hash), Signature: hex.EncodeToString(c.Signature)}); err != nil {
				return err
			}
		}
		delete(bySeq, r.Seq)
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("security: exporting the audit log: %w", err)
	}
	// Checkpoints whose entry is gone are written too: the archive shows
	// what the database lost.
	for _, c := range cs {
		if _, left := bySeq[c.Seq]; left {
			if err := enc.Encode(auditLine{Type: "checkpoint", Seq: uint64(c.Seq), Time: c.Time.UTC().Format(auditTimeFormat),
				Hash: hex.EncodeToString(c.Hash), Signature: hex.EncodeToString(c.Signature)}); err != nil {
				return n, fmt.Errorf("security: exporting the audit log: %w", err)
			}
		}
	}
	return n, nil
}

package security

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

// Audit actions the server records. Names are noun.verb, like permissions.
const (
	ActionLogin            = "auth.login"
	ActionLogout           = "auth.logout"
	ActionFormChange       = "form.change"
	ActionCleanOverride    = "clean.override"
	ActionAnalysisPersonal = "analysis.personal"
	ActionExport           = "responses.export"
	ActionExportPersonal   = "responses.export_personal"
	ActionResponseDelete   = "responses.delete"
	ActionWithdraw         = "responses.withdraw"
	ActionRawRead          = "responses.read_raw" // an archived submission body read back (govsurvey raw)
	ActionRetentionErase   = "retention.erase"
	ActionKeyRotate        = "keys.rotate"
	ActionKeyRewrap        = "keys.rewrap"
	ActionUserChange       = "users.change"
	ActionTokenCreate      = "tokens.create"
	ActionTokenRevoke      = "tokens.revoke"
	ActionAuditExport      = "audit.export"
	ActionPublish          = "publish.release"
)

// Audit outcomes.
const (
	OutcomeOK     = "ok"
	OutcomeDenied = "denied" // refused by a permission or throttle check
	OutcomeFailed = "failed" // attempted and failed (wrong password, error)
)

// AuditEntry is one line of the audit log. Entries form a chain: Hash =
// SM3(PrevHash || Canonical()), and PrevHash is the Hash of the entry with
// the previous Seq (32 zero bytes for Seq 1), so editing, removing or
// reordering stored entries breaks the chain at a place VerifyChain names.
// Detail must never hold a personal answer: it describes the action
// (e.g. "purpose=…, rows=1200"), never the data.
type AuditEntry struct {
	Seq      uint64
	Time     time.Time // kept to the microsecond, so it survives PostgreSQL and SQLite round trips
	Actor    string    // user name, "system", or a respondent pseudonym
	Action   string
	Object   string // what was acted on, e.g. "form:netizen_2019"
	Outcome  string
	Detail   string
	PrevHash []byte
	Hash     []byte
}

// AuditHashSize is the size of an audit hash (SM3).
const AuditHashSize = sm3.Size

// Canonical is the byte string an entry's hash covers (PrevHash aside):
//
//	uvarint(len) "govsurvey/audit/v1" | Seq (8 bytes BE) | Time as Unix microseconds (8 bytes BE)
//	| uvarint(len) Actor | uvarint(len) Action | uvarint(len) Object | uvarint(len) Outcome | uvarint(len) Detail
//
// Written out so an external auditor can re-implement the check.
func (e AuditEntry) Canonical() []byte {
	b := binary.AppendUvarint(nil, uint64(len("govsurvey/audit/v1")))
	b = append(b, "govsurvey/audit/v1"...)
	b = binary.BigEndian.AppendUint64(b, e.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixMicro()))
	for _, s := range []string{e.Actor, e.Action, e.Object, e.Outcome, e.Detail} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// ComputeHash returns SM3(prevHash || e.Canonical()).
func (e AuditEntry) ComputeHash(prevHash []byte) []byte {
	h := sm3.New()
	h.Write(prevHash)
	h.Write(e.Canonical())
	return h.Sum(nil)
}

// LinkAuditEntry makes e the entry after prev (nil for the first entry of
// the log): it sets Seq, rounds Time to the microsecond in UTC, and fills
// PrevHash and Hash. The store must append entries one at a time in Seq
// order (in one transaction with reading prev) so that the chain is linear.
func LinkAuditEntry(prev *AuditEntry, e AuditEntry) AuditEntry {
	if prev == nil {
		e.Seq = 1
		e.PrevHash = make([]byte, AuditHashSize)
	} else {
		e.Seq = prev.Seq + 1
		e.PrevHash = bytes.Clone(prev.Hash)
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	e.Hash = e.ComputeHash(e.PrevHash)
	return e
}

// AuditCheckpoint is a signed statement "the log's entry Seq has hash Hash".
// The chain alone cannot stop someone with write access to the database from
// rewriting every hash after an edit; a checkpoint signed with a key kept off
// the database can. Checkpoints should be made periodically (and before any
// retention purge) and copied out of the server.
type AuditCheckpoint struct {
	Seq       uint64
	Hash      []byte
	Time      time.Time // microseconds
	Signature []byte    // SM2, ASN.1, default user id, over Canonical()
}

// Canonical is the byte string a checkpoint's signature covers:
//
//	uvarint(len) "govsurvey/audit-checkpoint/v1" | Seq (8 BE) | Time, Unix µs (8 BE) | Hash (32)
func (c AuditCheckpoint) Canonical() []byte {
	const label = "govsurvey/audit-checkpoint/v1"
	b := binary.AppendUvarint(nil, uint64(len(label)))
	b = append(b, label...)
	b = binary.BigEndian.AppendUint64(b, c.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Time.UnixMicro()))
	return append(b, c.Hash...)
}

// AuditSigner signs checkpoints with an SM2 private key. It prints redacted.
type AuditSigner struct {
	key *sm2.PrivateKey
}

// GenerateAuditSigner makes a new SM2 key pair.
func GenerateAuditSigner() (*AuditSigner, error) {
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("security: audit key: %w", err)
	}
	return &AuditSigner{key: k}, nil
}

// ParseAuditSigner reads an SM2 private key from PEM: PKCS #8 ("PRIVATE
// KEY", as MarshalPEM writes and `gmssl`/`openssl` produce) or SEC 1 ("EC
// PRIVATE KEY"). Encrypted PEM is not accepted; protect the file, or keep it
// sealed with the Keyring.
func ParseAuditSigner(pemBytes []byte) (*AuditSigner, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("security: audit key: no PEM block")
	}
	var key *sm2.PrivateKey
	switch block.Type {
	case "PRIVATE KEY":
		k, err := smx509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("security: audit key: %w", err)
		}
		sk, ok := k.(*sm2.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("security: audit key: %T is not an SM2 key", k)
		}
		key = sk
	case "EC PRIVATE KEY":
		k, err := smx509.ParseSM2PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("security: audit key: %w", err)
		}
		key = k
	default:
		return nil, fmt.Errorf("security: audit key: PEM block %q is not a private key", block.Type)
	}
	return &AuditSigner{key: key}, nil
}

// MarshalPEM encodes the private key as PKCS #8 PEM.
func (s *AuditSigner) MarshalPEM() ([]byte, error) {
	der, err := smx509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		return nil, fmt.Errorf("security: audit key: %w", err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	clear(der)
	return out, nil
}

// Verifier returns the public half, for verifying checkpoints.
func (s *AuditSigner) Verifier() *AuditVerifier {
	return &AuditVerifier{pub: &s.key.PublicKey}
}

// String and Format redact the private key.
func (s *AuditSigner) String() string                { return "AuditSigner(redacted)" }
func (s *AuditSigner) Format(f fmt.State, verb rune) { fmt.Fprint(f, "AuditSigner(redacted)") }

// Checkpoint signs the state of the log whose newest entry is last.
func (s *AuditSigner) Checkpoint(last AuditEntry, now time.Time) (AuditCheckpoint, error) {
	if len(last.Hash) != AuditHashSize {
		return AuditCheckpoint{}, errors.New("security: checkpoint: entry has no hash")
	}
	c := AuditCheckpoint{Seq: last.Seq, Hash: bytes.Clone(last.Hash), Time: now.UTC().Truncate(time.Microsecond)}
	sig, err := s.key.Sign(rand.Reader, c.Canonical(), sm2.DefaultSM2SignerOpts)
	if err != nil {
		return AuditCheckpoint{}, fmt.Errorf("security: checkpoint: %w", err)
	}
	c.Signature = sig
	return c, nil
}

// AuditVerifier checks checkpoint signatures with an SM2 public key.
type AuditVerifier struct {
	pub *ecdsa.PublicKey
}

// ParseAuditVerifier reads an SM2 public key from PEM ("PUBLIC KEY", PKIX).
func ParseAuditVerifier(pemBytes []byte) (*AuditVerifier, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("security: audit public key: no PUBLIC KEY PEM block")
	}
	k, err := smx509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("security: audit public key: %w", err)
	}
	if !sm2.IsSM2PublicKey(k) {
		return nil, fmt.Errorf("security: audit public key: %T is not an SM2 key", k)
	}
	return &AuditVerifier{pub: k.(*ecdsa.PublicKey)}, nil
}

// MarshalPEM encodes the public key as PKIX PEM, to hand to auditors.
func (v *AuditVerifier) MarshalPEM() ([]byte, error) {
	der, err := smx509.MarshalPKIXPublicKey(v.pub)
	if err != nil {
		return nil, fmt.Errorf("security: audit public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// VerifyCheckpoint reports whether c carries a valid signature by this key.
func (v *AuditVerifier) VerifyCheckpoint(c AuditCheckpoint) bool {
	return len(c.Hash) == AuditHashSize && sm2.VerifyASN1WithSM2(v.pub, nil, c.Canonical(), c.Signature)
}

// ChainProblemKind classifies what VerifyChain found.
type ChainProblemKind string

const (
	ChainEdited       ChainProblemKind = "edited"        // the entry's content does not match its hash, or it was re-hashed and no longer matches the next entry's link
	ChainDeleted      ChainProblemKind = "deleted"       // a Seq is missing
	ChainReordered    ChainProblemKind = "reordered"     // stored out of Seq order, or a row holds the entry written for another Seq
	ChainInserted     ChainProblemKind = "inserted"      // two entries claim the same Seq
	ChainUnanchored   ChainProblemKind = "unanchored"    // the log starts after Seq 1 with no checkpoint vouching for the start
	ChainTruncated    ChainProblemKind = "truncated"     // a signed checkpoint covers entries that are gone from the end
	ChainCheckpoint   ChainProblemKind = "checkpoint"    // the chain differs from a signed checkpoint: rewritten and re-hashed
	ChainBadSignature ChainProblemKind = "bad_signature" // a checkpoint's signature does not verify
)

// ChainProblem is one finding of VerifyChain, at the Seq it concerns.
type ChainProblem struct {
	Seq    uint64
	Kind   ChainProblemKind
	Detail string
}

func (p ChainProblem) String() string {
	return fmt.Sprintf("seq %d: %s: %s", p.Seq, p.Kind, p.Detail)
}

// ErrAuditTampered matches (errors.Is) every *ChainError.
var ErrAuditTampered = errors.New("security: audit log altered")

// ChainError lists everything VerifyChain found wrong, in Seq order.
type ChainError struct {
	Problems []ChainProblem
}

func (e *ChainError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "security: audit log altered: %d problem(s)", len(e.Problems))
	for i, p := range e.Problems {
		if i == 5 {
			fmt.Fprintf(&b, "; and %d more", len(e.Problems)-i)
			break
		}
		b.WriteString("; ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Is makes errors.Is(err, ErrAuditTampered) true.
func (e *ChainError) Is(target error) bool { return target == ErrAuditTampered }

// VerifyChain checks a log: entries in the order the store returns them
// (insertion order), checkpoints in any order, keys the public keys that may
// have signed checkpoints (several when the signing key was replaced). It
// returns nil when the log is intact and a *ChainError naming each problem
// and its Seq otherwise. What it can prove:
//
//   - an entry edited in place, or moved to another Seq, is named exactly;
//   - a deleted entry shows as a missing Seq; out-of-order storage as reordered;
//   - an entry edited and re-hashed breaks the next entry's link and is named;
//   - a rewrite that re-hashes everything after the edit is caught by the next
//     signed checkpoint, which bounds where it happened; entries after the
//     newest checkpoint are only as safe as the chain, and removing them
//     together with that checkpoint cannot be detected here, so checkpoints
//     must also be kept outside the database.
func VerifyChain(entries []AuditEntry, checkpoints []AuditCheckpoint, keys ...*AuditVerifier) error {
	if len(checkpoints) > 0 && len(keys) == 0 {
		return errors.New("security: verify audit chain: checkpoints given but no public key to check them")
	}
	var problems []ChainProblem
	add := func(seq uint64, kind ChainProblemKind, format string, args ...any) {
		problems = append(problems, ChainProblem{Seq: seq, Kind: kind, Detail: fmt.Sprintf(format, args...)})
	}

	// Each entry against its own hash.
	selfBad := make(map[int]bool)
	for i, e := range entries {
		if !bytes.Equal(e.ComputeHash(e.PrevHash), e.Hash) {
			selfBad[i] = true
		}
	}
	// A row failing its hash may hold another row's entry (rows swapped with
	// their Seq kept): try the Seqs of the other failing rows.
	if len(selfBad) <= 1000 {
		for i := range selfBad {
			e := entries[i]
			moved := false
			for j := range selfBad {
				if j == i {
					continue
				}
				alt := e
				alt.Seq = entries[j].Seq
				if bytes.Equal(alt.ComputeHash(e.PrevHash), e.Hash) {
					add(e.Seq, ChainReordered, "row holds the entry written as seq %d", alt.Seq)
					moved = true
					break
				}
			}
			if !moved {
				add(e.Seq, ChainEdited, "content does not match its hash")
			}
		}
	} else {
		for i := range selfBad {
			add(entries[i].Seq, ChainEdited, "content does not match its hash")
		}
	}

	// Storage order.
	for i := 1; i < len(entries); i++ {
		if entries[i].Seq < entries[i-1].Seq {
			add(entries[i].Seq, ChainReordered, "stored after seq %d", entries[i-1].Seq)
		}
	}

	// The chain in Seq order.
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return entries[order[a]].Seq < entries[order[b]].Seq })
	bySeq := make(map[uint64]int, len(entries))
	pi := -1 // the previous entry in the chain; duplicates are not part of it
	for _, i := range order {
		e := entries[i]
		if _, dup := bySeq[e.Seq]; dup {
			add(e.Seq, ChainInserted, "more than one entry has this seq")
			continue
		}
		bySeq[e.Seq] = i
		if pi < 0 {
			pi = i
			continue
		}
		prevIdx := pi
		prev := entries[prevIdx]
		pi = i
		if e.Seq > prev.Seq+1 {
			if e.Seq == prev.Seq+2 {
				add(prev.Seq+1, ChainDeleted, "entry missing")
			} else {
				add(prev.Seq+1, ChainDeleted, "entries %d to %d missing", prev.Seq+1, e.Seq-1)
			}
			continue
		}
		if !bytes.Equal(e.PrevHash, prev.Hash) && !selfBad[i] && !selfBad[prevIdx] {
			add(prev.Seq, ChainEdited, "re-hashed: no longer matches the link recorded by seq %d", e.Seq)
		}
	}

	// Checkpoints.
	var valid []AuditCheckpoint
	for _, c := range checkpoints {
		if !anyVerifies(keys, c) {
			add(c.Seq, ChainBadSignature, "checkpoint signature does not verify")
			continue
		}
		valid = append(valid, c)
	}
	sort.Slice(valid, func(a, b int) bool { return valid[a].Seq < valid[b].Seq })
	var minSeq, maxSeq uint64
	if len(entries) > 0 {
		minSeq, maxSeq = entries[order[0]].Seq, entries[order[len(order)-1]].Seq
	}
	if len(entries) > 0 && minSeq != 1 {
		first := entries[order[0]]
		anchored := false
		for _, c := range valid {
			if c.Seq == minSeq-1 {
				anchored = true
				if !bytes.Equal(c.Hash, first.PrevHash) {
					add(first.Seq, ChainCheckpoint, "first entry does not link to the signed checkpoint at seq %d", c.Seq)
				}
			}
		}
		if !anchored {
			add(first.Seq, ChainUnanchored, "log starts at seq %d and no signed checkpoint covers seq %d", minSeq, minSeq-1)
		}
	} else if len(entries) > 0 && !bytes.Equal(entries[order[0]].PrevHash, make([]byte, AuditHashSize)) && !selfBad[order[0]] {
		add(1, ChainEdited, "first entry does not start the chain")
	}
	var lastGood uint64
	haveGood := false
	for _, c := range valid {
		switch i, ok := bySeq[c.Seq]; {
		case c.Seq > maxSeq || len(entries) == 0:
			add(c.Seq, ChainTruncated, "log ends at seq %d but a signed checkpoint covers seq %d", maxSeq, c.Seq)
		case c.Seq < minSeq:
			// Before the retained range (purged); it may anchor the start.
		case !ok || selfBad[i]:
			// Already reported as deleted, edited or moved.
		case !bytes.Equal(entries[i].Hash, c.Hash):
			if haveGood {
				add(c.Seq, ChainCheckpoint, "differs from the signed checkpoint: an entry after seq %d was changed, removed or inserted and the chain re-hashed", lastGood)
			} else {
				add(c.Seq, ChainCheckpoint, "differs from the signed checkpoint: an entry up to here was changed, removed or inserted and the chain re-hashed")
			}
		default:
			lastGood, haveGood = c.Seq, true
		}
	}

	if len(problems) == 0 {
		return nil
	}
	sort.SliceStable(problems, func(a, b int) bool { return problems[a].Seq < problems[b].Seq })
	return &ChainError{Problems: problems}
}

func anyVerifies(keys []*AuditVerifier, c AuditCheckpoint) bool {
	for _, k := range keys {
		if k != nil && k.VerifyCheckpoint(c) {
			return true
		}
	}
	return false
}

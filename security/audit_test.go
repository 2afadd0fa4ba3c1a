package security

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

var auditBase = time.Date(2025, 5, 1, 8, 0, 0, 0, time.UTC)

// auditLog builds a chain of n entries and signs checkpoints at the given seqs.
func auditLog(t *testing.T, s *AuditSigner, n int, checkpointAt ...uint64) ([]AuditEntry, []AuditCheckpoint) {
	t.Helper()
	var entries []AuditEntry
	var cps []AuditCheckpoint
	var prev *AuditEntry
	for i := 1; i <= n; i++ {
		e := LinkAuditEntry(prev, AuditEntry{
			Time:    auditBase.Add(time.Duration(i) * time.Minute),
			Actor:   "wang.analyst",
			Action:  ActionExport,
			Object:  fmt.Sprintf("form:netizen_2019/export/%d", i),
			Outcome: OutcomeOK,
			Detail:  fmt.Sprintf("rows=%d purpose=annual report", 100*i),
		})
		entries = append(entries, e)
		prev = &entries[len(entries)-1]
		if slices.Contains(checkpointAt, e.Seq) {
			c, err := s.Checkpoint(e, e.Time.Add(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			cps = append(cps, c)
		}
	}
	return entries, cps
}

func TestAuditCanonicalAndHash(t *testing.T) {
	e := AuditEntry{
		Seq: 7, Time: time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC),
		Actor: "li", Action: "a", Object: "", Outcome: "ok", Detail: "数",
	}
	// Written out by hand from the documented layout.
	want, _ := hex.DecodeString("12" + hex.EncodeToString([]byte("govsurvey/audit/v1")) +
		"0000000000000007" + "00060dedc04fb580" +
		"02" + hex.EncodeToString([]byte("li")) + "01" + "61" + "00" + "02" + hex.EncodeToString([]byte("ok")) +
		"03" + hex.EncodeToString([]byte("数")))
	if got := e.Canonical(); !bytes.Equal(got, want) {
		t.Fatalf("Canonical\n got %x\nwant %x", got, want)
	}
	prev := bytes.Repeat([]byte{0xab}, 32)
	sum := sm3.Sum(append(bytes.Clone(prev), want...))
	if got := e.ComputeHash(prev); !bytes.Equal(got, sum[:]) {
		t.Errorf("ComputeHash is not SM3(prev || canonical)")
	}
	// Field boundaries are unambiguous.
	f := e
	f.Actor, f.Action = "l", "ia"
	if bytes.Equal(f.Canonical(), e.Canonical()) {
		t.Error("moving a byte between fields keeps the encoding")
	}
}

func TestLinkAuditEntry(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	first := LinkAuditEntry(nil, AuditEntry{Time: time.Date(2025, 5, 1, 16, 0, 0, 123456789, cst), Action: "x"})
	if first.Seq != 1 || !bytes.Equal(first.PrevHash, make([]byte, 32)) {
		t.Errorf("first entry seq %d prev %x", first.Seq, first.PrevHash)
	}
	if !first.Time.Equal(time.Date(2025, 5, 1, 8, 0, 0, 123456000, time.UTC)) || first.Time.Location() != time.UTC {
		t.Errorf("time %v not rounded to µs UTC", first.Time)
	}
	second := LinkAuditEntry(&first, AuditEntry{Time: first.Time, Action: "y"})
	if second.Seq != 2 || !bytes.Equal(second.PrevHash, first.Hash) || !bytes.Equal(second.Hash, second.ComputeHash(first.Hash)) {
		t.Errorf("second entry not linked: %+v", second)
	}
	// A µs-precision round trip (as through PostgreSQL) keeps the hash valid.
	stored := second
	stored.Time = time.UnixMicro(second.Time.UnixMicro()).In(cst)
	if !bytes.Equal(stored.ComputeHash(stored.PrevHash), second.Hash) {
		t.Error("hash depends on more than microseconds or on the zone")
	}
}

type wantProblem struct {
	seq  uint64
	kind ChainProblemKind
}

func TestVerifyChain(t *testing.T) {
	signer, err := GenerateAuditSigner()
	if err != nil {
		t.Fatal(err)
	}
	otherSigner, _ := GenerateAuditSigner()
	key := signer.Verifier()

	rehashFrom := func(es []AuditEntry, from int) {
		for i := from; i < len(es); i++ {
			var prev *AuditEntry
			if i > 0 {
				prev = &es[i-1]
			}
			es[i] = LinkAuditEntry(prev, es[i])
		}
	}
	tests := []struct {
		name   string
		tamper func(es []AuditEntry, cps []AuditCheckpoint) ([]AuditEntry, []AuditCheckpoint)
		want   []wantProblem
	}{
		{"intact", nil, nil},
		{"edited in place", func(es []AuditEntry, cps []AuditCheckpoint) ([]AuditEntry, []AuditCheckpoint) {
			es[3].Detail = "rows=1 purpose=annual report"
			return es, cps
		}, []wantProblem{{4, ChainEdited}}},
		{"edited actor of a checkpointed entry", func(es []AuditEntry, cps []AuditCheckpoint) ([]AuditEntry, []AuditCheckpoint) {
			es[4].Actor = "someone.else"
			return es, cps
		}, []wantProblem{{5, ChainEdited}}},
		{"edited and re-hashed", func(es []AuditEntry, cps []AuditCheckpoint) ([]AuditEntry, []AuditCheckpoint) {
			es[3].Outcome = OutcomeDenied
			es[3].Hash = es[3].ComputeHash(es[3].PrevHash)
			return es, cps
		}, []wantProblem{{4, ChainEdited}}},
		{"first entry edited and re-hashed", func(es []AuditEntry, cps []AuditCheckpoint) ([]AuditEntry, []AuditCheckpoint) {
			es[0].Object = "form:other"
			es[0].Hash = es[0].ComputeHash(es[0].PrevHash)
			return es, cps
		}, []wantProblem{{1, ChainEdited}}},
		{"link field edited", func(es []AuditEntry, cps []AuditCheckpoint) ([]AuditEntry, []AuditCheckpoint) {
			es[5].PrevHash = bytes.Repeat([]byte{1}, 32)
			return es, cps
		}, []wantProblem{{6, ChainEdited}}},
		{"deleted", func(es []AuditEntry, cps []AuditCheckpoint) ([]AuditEntry, []AuditCheckpoint) {
			return slices.Delete(es, 3, 4), cps
		}, []wantProblem{{4, ChainDeleted}}},
		{"three deleted", func(es []AuditEntry, cps []AuditCheckpoint) ([]AuditEntry, []AuditCheckpoint) {
			return slices.Delete(es, 5, 8), cps
		}, []wantProblem{{6, ChainDeleted}}},
		{"last deleted", func(es []AuditEntry, cps []AuditCheckpoint) ([]AuditEntry, []AuditCheckpoint) {
			return es[:len(es)-1], cps
		}, []wantProblem{{10, ChainTruncated}}},
		{"reordered rows", func(es []AuditEntry, cps []AuditCheckpoint) ([]AuditEntry, []AuditCheckpoint) {
			es[3], es[4] = es[4], es[3]
			return es, cps
		}, []wantProblem{{4, ChainReordered}}},
		{"contents swapped, seq kept", func(es []AuditEntry, cps []AuditCheckpoint) ([]AuditEntry, []AuditCheckpoint) {
			s3, s4 := es[3].Seq, es[4].Seq
			es[3], es[4] = es[4], es[3]
			es[3].Seq, es[4].Seq = s3, s4
			return es, cps
		}, []wantProblem{{4, ChainReordered}, {5, ChainReordered}}},
		{"deleted, renumbered and re-hashed", func(es []AuditEntry, cps []AuditCheckpoint) ([]AuditEntry, []AuditCheckpoint) {
			es = slices.Delete(es, 3, 4)
			rehashFrom(es, 3)
			return es, cps
		}, []wantProblem{{5, ChainCheckpoint}, {10, ChainTruncated}}},
		{"edited and whole tail re-hashed", func(es []AuditEntry, cps []AuditCheckpoint) ([]AuditEntry, []AuditCheckpoint) {
			es[6].Detail = "rows=0"
			rehashFrom(es, 6)
			return es, cps
		}, []wantProblem{{10, ChainCheckpoint}}},
		{"forged entry inserted", func(es []AuditEntry, cps []AuditCheckpoint) ([]AuditEntry, []AuditCheckpoint) {
			fake := LinkAuditEntry(&es[6], AuditEntry{Time: es[7].Time, Actor: "x", Action: ActionLogin, Outcome: OutcomeOK})
			return slices.Insert(es, 8, fake), cps
		}, []wantProblem{{8, ChainInserted}}},
		{"checkpoint hash forged", func(es []AuditEntry, cps []AuditCheckpoint) ([]AuditEntry, []AuditCheckpoint) {
			cps[0].Hash = bytes.Clone(es[3].Hash)
			return es, cps
		}, []wantProblem{{5, ChainBadSignature}}},
		{"checkpoint from another key", func(es []AuditEntry, cps []AuditCheckpoint) ([]AuditEntry, []AuditCheckpoint) {
			c, err := otherSigner.Checkpoint(es[9], es[9].Time)
			if err != nil {
				t.Fatal(err)
			}
			cps[1] = c
			return es, cps
		}, []wantProblem{{10, ChainBadSignature}}},
		{"purged start anchored by checkpoint", func(es []AuditEntry, cps []AuditCheckpoint) ([]AuditEntry, []AuditCheckpoint) {
			return es[5:], cps
		}, nil},
		{"purged start without checkpoint", func(es []AuditEntry, cps []AuditCheckpoint) ([]AuditEntry, []AuditCheckpoint) {
			return es[5:], cps[1:]
		}, []wantProblem{{6, ChainUnanchored}}},
		{"everything deleted", func(es []AuditEntry, cps []AuditCheckpoint) ([]AuditEntry, []AuditCheckpoint) {
			return nil, cps
		}, []wantProblem{{5, ChainTruncated}, {10, ChainTruncated}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es, cps := auditLog(t, signer, 10, 5, 10)
			if tt.tamper != nil {
				es, cps = tt.tamper(es, cps)
			}
			err := VerifyChain(es, cps, key)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("intact log refused: %v", err)
				}
				return
			}
			var ce *ChainError
			if !errors.As(err, &ce) || !errors.Is(err, ErrAuditTampered) {
				t.Fatalf("VerifyChain = %v, want a *ChainError", err)
			}
			var got []wantProblem
			for _, p := range ce.Problems {
				got = append(got, wantProblem{p.Seq, p.Kind})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems %v\nwant %v\n(%v)", got, tt.want, err)
			}
		})
	}
}

func TestVerifyChainNeedsKeyForCheckpoints(t *testing.T) {
	signer, _ := GenerateAuditSigner()
	es, cps := auditLog(t, signer, 3, 3)
	err := VerifyChain(es, cps)
	if err == nil || errors.Is(err, ErrAuditTampered) {
		t.Errorf("checkpoints without a key: %v", err)
	}
	if err := VerifyChain(es, nil); err != nil {
		t.Errorf("chain alone: %v", err)
	}
	// A replaced signing key: both public keys verify their own checkpoints.
	next, _ := GenerateAuditSigner()
	c, err := next.Checkpoint(es[1], es[1].Time)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyChain(es, append(cps, c), signer.Verifier(), next.Verifier()); err != nil {
		t.Errorf("two keys: %v", err)
	}
}

func TestAuditKeysPEM(t *testing.T) {
	s, err := GenerateAuditSigner()
	if err != nil {
		t.Fatal(err)
	}
	privPEM, err := s.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := s.Verifier().MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ParseAuditSigner(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := ParseAuditVerifier(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	e := LinkAuditEntry(nil, AuditEntry{Time: auditBase, Action: ActionKeyRotate, Outcome: OutcomeOK})
	c, err := s2.Checkpoint(e, auditBase)
	if err != nil {
		t.Fatal(err)
	}
	if !v2.VerifyCheckpoint(c) || !s.Verifier().VerifyCheckpoint(c) {
		t.Error("checkpoint from the re-read key does not verify")
	}
	if out := fmt.Sprintf("%v %+v %s", s, s, s); bytes.Contains([]byte(out), []byte("PRIVATE")) || len(out) > 80 {
		t.Errorf("signer prints: %s", out)
	}

	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p256der, _ := x509.MarshalPKCS8PrivateKey(p256)
	p256pub, _ := x509.MarshalPKIXPublicKey(&p256.PublicKey)
	bad := []struct {
		name string
		pem  []byte
	}{
		{"not PEM", []byte("hello")},
		{"P-256 private key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p256der})},
		{"public key as private", pubPEM},
		{"certificate type", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})},
	}
	for _, b := range bad {
		if _, err := ParseAuditSigner(b.pem); err == nil {
			t.Errorf("ParseAuditSigner accepted %s", b.name)
		}
	}
	badPub := []struct {
		name string
		pem  []byte
	}{
		{"not PEM", []byte("hello")},
		{"P-256 public key", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: p256pub})},
		{"private key", privPEM},
	}
	for _, b := range badPub {
		if _, err := ParseAuditVerifier(b.pem); err == nil {
			t.Errorf("ParseAuditVerifier accepted %s", b.name)
		}
	}
}

// TestAuditOpenSSLInterop checks keys and a checkpoint signature made by
// OpenSSL 3 (see testdata/README.md): the signature format, the default
// SM2 user id and the canonical bytes are what other tools expect.
func TestAuditOpenSSLInterop(t *testing.T) {
	keyPEM, err := os.ReadFile("testdata/sm2_openssl_key.pem")
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := os.ReadFile("testdata/sm2_openssl_pub.pem")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := os.ReadFile("testdata/sm2_openssl_checkpoint.sig")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseAuditSigner(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ParseAuditVerifier(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Verifier().pub.Equal(v.pub) {
		t.Error("public key derived from OpenSSL's private key differs from OpenSSL's public key")
	}
	abc := sm3.Sum([]byte("abc"))
	c := AuditCheckpoint{Seq: 42, Time: time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC), Hash: abc[:], Signature: sig}
	wantCanon := "1d676f767375727665792f61756469742d636865636b706f696e742f7631" + "000000000000002a" + "00060dedc04fb580" +
		"66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
	if hex.EncodeToString(c.Canonical()) != wantCanon {
		t.Fatalf("checkpoint canonical bytes %x", c.Canonical())
	}
	if !v.VerifyCheckpoint(c) {
		t.Error("OpenSSL's SM2 signature does not verify")
	}
	c.Seq = 43
	if v.VerifyCheckpoint(c) {
		t.Error("signature verifies for another seq")
	}

	// The other direction, when the openssl tool is installed.
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	c.Seq = 42
	ours, err := s.Checkpoint(AuditEntry{Seq: 42, Hash: abc[:]}, c.Time)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	msg, sigFile := filepath.Join(dir, "msg"), filepath.Join(dir, "sig")
	if err := os.WriteFile(msg, ours.Canonical(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sigFile, ours.Signature, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", "testdata/sm2_openssl_pub.pem",
		"-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678", "-in", msg, "-sigfile", sigFile).CombinedOutput()
	if err != nil {
		t.Errorf("openssl rejects our signature: %v\n%s", err, out)
	}
}

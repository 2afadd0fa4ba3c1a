package clean

import (
	"encoding/binary"
	"hash"
	"hash/fnv"
	"math"
	"time"

	"github.com/govsurvey/govsurvey/store"
)

// burstIndex finds bursts: more than max submissions from one client
// within window. It keeps, per client, the times of its last max
// submissions.
type burstIndex struct {
	window int64 // microseconds
	max    int
	last   map[string][]int64 // oldest first
}

func newBurstIndex(window time.Duration, max int) *burstIndex {
	return &burstIndex{window: window.Microseconds(), max: max, last: make(map[string][]int64)}
}

// add reports whether r is at least the (max+1)-th submission of its client
// within one window: the max-th submission before it is less than window
// earlier. Every submission counts toward later bursts, flagged or not. An
// empty client is nobody in particular and never bursts.
func (b *burstIndex) add(r store.Response) bool {
	if r.Client == "" {
		return false
	}
	t := r.SubmittedAt.UnixMicro()
	times := b.last[r.Client]
	burst := len(times) == b.max && t-times[0] < b.window
	if len(times) == b.max {
		copy(times, times[1:])
		times[len(times)-1] = t
	} else {
		times = append(times, t)
	}
	b.last[r.Client] = times
	return burst
}

// nearPerBucket bounds how many earlier responses one band key remembers,
// and so the comparisons a response costs: bands × nearPerBucket at most.
const nearPerBucket = 4

// nearIndex finds near-duplicates: a response whose share of identical
// answers with an earlier response from another client is at least share.
//
// Comparing every pair is O(n²). Instead the fields of a revision are dealt
// into k = ⌊(1−share)·fields⌋+1 bands (field i in band i mod k). Two
// responses differing in fewer than k fields agree exactly on at least one
// band (pigeonhole), and a pair at or above the share differs in at most
// (1−share)·fields < k of them; so every such pair shares a band key.
// Each band key remembers its first nearPerBucket responses, and a
// response is compared exactly with those. The approximation: a pair is
// missed when the earlier response is not among the first nearPerBucket
// with any band key they share, which happens for common answer
// patterns. Found pairs are always exact. Responses of different form
// revisions are never compared.
type nearIndex struct {
	share   float64
	hash    hash.Hash64 // FNV-1a: deterministic, so a collision, however unlikely, is the same every run
	answers []byte      // every response's encoded answers, back to back
	ends    []uint32    // ends[i]: end of response i's answers
	clients []string
	buckets map[uint64][]int32
	other   []string // decoded answers of a candidate, reused
}

func newNearIndex(share float64) *nearIndex {
	return &nearIndex{share: share, hash: fnv.New64a(), buckets: make(map[uint64][]int32)}
}

func (n *nearIndex) add(idx int32, r store.Response, rs *revState) bool {
	n.answers = append(n.answers, r.Answers...)
	n.ends = append(n.ends, uint32(len(n.answers)))
	n.clients = append(n.clients, r.Client)
	vals := rs.env.vals
	fields := len(vals)
	if fields == 0 {
		return false
	}
	k := int(math.Floor((1-n.share)*float64(fields))) + 1
	k = min(k, fields)
	if cap(n.other) < fields {
		n.other = make([]string, fields)
	}
	other := n.other[:fields]
	found := false
	h := n.hash
	for band := range k {
		h.Reset()
		var hdr [16]byte
		binary.LittleEndian.PutUint64(hdr[:8], uint64(rs.number))
		binary.LittleEndian.PutUint64(hdr[8:], uint64(band))
		h.Write(hdr[:])
		for i := band; i < fields; i += k {
			var l [8]byte
			binary.LittleEndian.PutUint64(l[:], uint64(len(vals[i])))
			h.Write(l[:])
			h.Write([]byte(vals[i]))
		}
		key := h.Sum64()
		bucket := n.buckets[key]
		for _, j := range bucket {
			if found {
				break
			}
			if r.Client != "" && n.clients[j] == r.Client {
				continue // the same client: the duplicate rule's business
			}
			if err := rs.f.DecodeInto(n.answersOf(j), other); err != nil {
				continue // a candidate of the same revision decoded once already
			}
			if sameShare(vals, other) >= n.share {
				found = true
			}
		}
		if len(bucket) < nearPerBucket {
			n.buckets[key] = append(bucket, idx)
		}
	}
	return found
}

func (n *nearIndex) answersOf(i int32) []byte {
	start := uint32(0)
	if i > 0 {
		start = n.ends[i-1]
	}
	return n.answers[start:n.ends[i]]
}

// sameShare is the share of identical answers among the fields either
// response answered; 0 when neither answered anything.
func sameShare(a, b []string) float64 {
	union, same := 0, 0
	for i := range a {
		if a[i] == "" && b[i] == "" {
			continue
		}
		union++
		if a[i] == b[i] {
			same++
		}
	}
	if union == 0 {
		return 0
	}
	return float64(same) / float64(union)
}

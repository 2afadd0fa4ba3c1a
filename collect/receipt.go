package collect

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
	"time"
)

// A receipt is what a respondent keeps to withdraw a response: 16
// characters of Crockford's base32 (no I, L, O or U, so it reads aloud and
// copies by hand), grouped in fours: "0B3M-9QXA-2D4F-HJ8W". The first 40
// bits are the milliseconds since 2024 when it was made, the last 40 are
// random. The time prefix keeps the store's receipt index appending
// instead of writing a random page per response, which halved the cost of
// a group commit on SQLite; the random half, 40 bits per millisecond
// slot, is what makes a receipt unguessable (a guess that names an
// occupied millisecond still succeeds once in 10¹²). A receipt is not
// derived from the instance id, so knowing an instance id (as staff with
// an export do) gives no receipt.
const receiptAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

var receiptEncoding = base32.NewEncoding(receiptAlphabet).WithPadding(base32.NoPadding)

// receiptEpoch is the zero of the receipt clock; 40 bits of milliseconds
// last until 2058.
var receiptEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// NewReceipt returns a fresh receipt.
func NewReceipt() string { return newReceipt(time.Now()) }

func newReceipt(now time.Time) string {
	var b [10]byte
	ms := uint64(max(now.Sub(receiptEpoch).Milliseconds(), 0)) & (1<<40 - 1)
	for i := range 5 {
		b[i] = byte(ms >> (8 * (4 - i)))
	}
	rand.Read(b[5:]) // never fails (crypto/rand panics rather than return an error)
	return groupReceipt(receiptEncoding.EncodeToString(b[:]))
}

func groupReceipt(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// ParseReceipt reads a receipt as a person may type it: any case, with or
// without the dashes or with spaces, O for 0 and I or L for 1. It returns
// the canonical form, and false when s cannot be a receipt.
func ParseReceipt(s string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch r {
		case '-', ' ', '\t':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if r > 127 || strings.IndexByte(receiptAlphabet, byte(r)) < 0 {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != 16 {
		return "", false
	}
	return groupReceipt(b.String()), true
}

package collect

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// TestAppendJSONLikeMarshal checks the hand-written encoders of paradata
// and receipts against encoding/json on strings that need every kind of
// escaping, and on random ones.
func TestAppendJSONLikeMarshal(t *testing.T) {
	tricky := []string{"", "demo", "zh", `a"b`, `back\slash`, "<script>&", "tab\there", "nul\x00", "\x1f",
		"页面", "bad utf-8 \xff\xfe", "line\u2028sep", "emoji 😀", "ms", "~!@#$%^*()_+-={}[]|:;',.?/"}
	rng := rand.New(rand.NewPCG(5, 5))
	alphabet := []rune("ab\"\\<>&\t\n\x00\x7f é页😀\u2028")
	for range 300 {
		n := rng.IntN(12)
		r := make([]rune, n)
		for i := range r {
			r[i] = alphabet[rng.IntN(len(alphabet))]
		}
		tricky = append(tricky, string(r))
	}
	pick := func() string { return tricky[rng.IntN(len(tricky))] }
	for i := range 500 {
		p := Paradata{}
		if i%3 != 0 {
			p.Lang = pick()
		}
		if i%4 != 1 {
			p.Agent = pick()
		}
		for range rng.IntN(4) {
			p.Pages = append(p.Pages, PageTime{Page: pick(), MS: rng.Int64N(1<<40) - 5})
		}
		want, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.appendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("paradata %#v:\n got %s\nwant %s", p, got, want)
		}
		rc := Receipt{InstanceID: pick(), Receipt: pick(), Created: i%2 == 0}
		want, err = json.Marshal(rc)
		if err != nil {
			t.Fatal(err)
		}
		if got := rc.AppendJSON([]byte("x")); !bytes.Equal(got[1:], want) || got[0] != 'x' {
			t.Fatalf("receipt %#v:\n got %s\nwant %s", rc, got, want)
		}
	}
}

package storetest

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/store"
)

// The raw submission body archive: Response gives it back byte for byte,
// EachResponse never reads it, and withdrawal and retention erase it.

func testRawArchive(t *testing.T, st store.Store) {
	ctx := t.Context()
	mustAddForm(t, st, formVersion("f", "h1"))
	tests := []struct {
		id  string
		raw []byte
	}{
		{"none", nil},
		{"empty", []byte{}}, // stored as none
		{"json", []byte(`{"instance_id":"json","answers":{"name":"王小明"}}`)},
		{"binary", []byte{0x00, 0xff, 0xfe, '\\', 0x00, 'x', 0x80}}, // sealed bodies are not text
		{"large", []byte(`{"answers":{"comment":"` + strings.Repeat("很长的意见 ", 400) + `"}}`)},
	}
	var rs []store.Response
	for i, tt := range tests {
		r := webResponse("f", tt.id, base.Add(time.Duration(i)*time.Hour))
		r.Raw = tt.raw
		rs = append(rs, r)
	}
	mustAdd(t, st, rs)

	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			got, err := st.Response(ctx, "f", tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if len(tt.raw) == 0 {
				if got.Raw != nil {
					t.Errorf("Raw = %q, want nil", got.Raw)
				}
				return
			}
			if !bytes.Equal(got.Raw, tt.raw) {
				t.Errorf("Raw = %q, want %q", got.Raw, tt.raw)
			}
		})
	}

	// Analysis never reads the archive.
	n := 0
	if err := st.EachResponse(ctx, store.ResponseFilter{FormID: "f"}, func(r store.Response) error {
		n++
		if r.Raw != nil {
			t.Errorf("EachResponse gave %s with Raw %q", r.InstanceID, r.Raw)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != len(tests) {
		t.Errorf("EachResponse streamed %d responses, want %d", n, len(tests))
	}

	// Withdrawal erases the body, in what it returns and in what is kept.
	gone, err := st.WithdrawResponse(ctx, "R-json")
	if err != nil {
		t.Fatal(err)
	}
	if gone.Raw != nil {
		t.Errorf("WithdrawResponse returned Raw %q", gone.Raw)
	}
	if r, err := st.Response(ctx, "f", "json"); err != nil || r.Raw != nil {
		t.Errorf("withdrawn response: Raw %q, %v; want none", r.Raw, err)
	}

	// Retention erases it too, and counts a response whose only personal
	// data left is its body.
	onlyRaw := response("f", 1, "only-raw", base)
	onlyRaw.Client, onlyRaw.Raw = "", []byte(`{"answers":{}}`)
	mustAdd(t, st, []store.Response{onlyRaw})
	cut := base.Add(150 * time.Minute) // after none, empty, json, and only-raw; before binary, large
	erased, err := st.EraseSealed(ctx, "f", cut)
	if err != nil {
		t.Fatal(err)
	}
	// none and empty have a client key; json is withdrawn (nothing left).
	if erased != 3 {
		t.Errorf("EraseSealed = %d, want 3 (none, empty, only-raw)", erased)
	}
	for _, tt := range []struct {
		id   string
		kept []byte
	}{{"only-raw", nil}, {"binary", tests[3].raw}, {"large", tests[4].raw}} {
		r, err := st.Response(ctx, "f", tt.id)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r.Raw, tt.kept) || (r.Raw == nil) != (tt.kept == nil) {
			t.Errorf("%s after retention: Raw %q, want %q", tt.id, r.Raw, tt.kept)
		}
	}
	if n, err := st.EraseSealed(ctx, "f", cut); err != nil || n != 0 {
		t.Errorf("second EraseSealed = %d, %v; want 0", n, err)
	}
}

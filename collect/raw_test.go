package collect

import (
	"bytes"
	"testing"

	"github.com/govsurvey/govsurvey/store/storetest"
)

// The raw body archive is opt-in: a collector keeps Meta.Raw only with
// Options.KeepRaw, and stores nothing of it by default.
func TestSubmitKeepRaw(t *testing.T) {
	body := []byte(`{"instance_id":"uuid:x","answers":` + validAnswers + `}`)
	tests := []struct {
		name    string
		keepRaw bool
		raw     []byte // Meta.Raw
		want    []byte // the stored Response.Raw
	}{
		{"default: not kept", false, body, nil},
		{"kept", true, body, body},
		{"kept, no body given", true, nil, nil},
	}
	for _, b := range storetest.Backends(t) {
		for _, tt := range tests {
			t.Run(b.Name+"/"+tt.name, func(t *testing.T) {
				st := b.Open(t)
				addTestForm(t, st)
				c := newCollector(t, st, Options{KeepRaw: tt.keepRaw})
				rc, err := c.Submit(t.Context(), "webform", submission(t, "uuid:x"), Meta{Channel: "api", Raw: tt.raw})
				if err != nil {
					t.Fatal(err)
				}
				got, err := st.Response(t.Context(), "webform", rc.InstanceID)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Raw, tt.want) || (got.Raw == nil) != (tt.want == nil) {
					t.Errorf("stored Raw = %q, want %q", got.Raw, tt.want)
				}
			})
		}
	}
}

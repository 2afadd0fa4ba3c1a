package security_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// rawBackend is a store and a way to read its responses.raw column behind
// its back, to see what is really kept.
type rawBackend struct {
	name string
	open func(t *testing.T) (store.Store, func(formID, instanceID string) []byte)
}

var rawBackends = []rawBackend{
	{name: "sqlite", open: func(t *testing.T) (store.Store, func(string, string) []byte) {
		st, db := sqliteBeside(t, "mode=ro")
		return st, func(formID, instanceID string) []byte {
			var b []byte
			if err := db.QueryRow(`SELECT raw FROM responses WHERE form_id = ? AND instance_id = ?`, formID, instanceID).Scan(&b); err != nil {
				t.Fatal(err)
			}
			return b
		}
	}},
	{name: "postgres", open: func(t *testing.T) (store.Store, func(string, string) []byte) {
		st, conn := postgresBeside(t)
		return st, func(formID, instanceID string) []byte {
			var b []byte
			if err := conn.QueryRow(t.Context(), `SELECT raw FROM responses WHERE form_id = $1 AND instance_id = $2`, formID, instanceID).Scan(&b); err != nil {
				t.Fatal(err)
			}
			return b
		}
	}},
}

// rawBody is a submission body as a respondent's browser sends it.
func rawBody(id string) []byte {
	return []byte(`{"instance_id":"` + id + `","answers":{"fullname":"` + secrets[0] + `","comment":"电话 ` + secrets[1] + `"}}`)
}

func TestSealingStoreRaw(t *testing.T) {
	for _, b := range rawBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			raw, column := b.open(t)
			keys, _ := openKeys(t, raw)
			st := security.NewSealingStore(raw, keys.Sealer())
			fv, f := addPrivacyForm(t, st)
			rs := privacyResponses(t, fv, f, "r", 4)
			for i := range rs[:3] {
				rs[i].Raw = rawBody(rs[i].InstanceID)
			}
			if _, err := st.AddResponses(ctx, rs); err != nil {
				t.Fatal(err)
			}

			tests := []struct {
				id   string
				want []byte
			}{{"r-0", rawBody("r-0")}, {"r-1", rawBody("r-1")}, {"r-3", nil}}
			for _, tt := range tests {
				kept := column(fv.FormID, tt.id)
				if tt.want == nil {
					if kept != nil {
						t.Errorf("%s: raw column %x for a response given no body", tt.id, kept)
					}
				} else {
					if bytes.Equal(kept, tt.want) || len(kept) < len(tt.want) {
						t.Errorf("%s: raw column holds %d bytes, not a sealing of the %d-byte body", tt.id, len(kept), len(tt.want))
					}
					checkBytes(t, tt.id+" raw column", kept)
					if _, err := security.SealedKeyID(kept); err != nil {
						t.Errorf("%s: raw column is not sealed: %v", tt.id, err)
					}
				}
				// The plain view keeps it sealed; the joined view opens it.
				plain, err := st.Response(ctx, fv.FormID, tt.id)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(plain.Raw, kept) {
					t.Errorf("%s: plain Response gives Raw %q, want the sealed column", tt.id, plain.Raw)
				}
				whole, err := st.Joined().Response(ctx, fv.FormID, tt.id)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(whole.Raw, tt.want) || (whole.Raw == nil) != (tt.want == nil) {
					t.Errorf("%s: joined Response gives Raw %q, want %q", tt.id, whole.Raw, tt.want)
				}
			}

			// A body sealed for one response does not open as another's,
			// nor as a sealed part.
			r0 := column(fv.FormID, "r-0")
			if _, err := keys.Sealer().OpenRaw(fv.FormID, "r-1", r0); !errors.Is(err, security.ErrDecrypt) {
				t.Errorf("r-0's body opened as r-1's: %v", err)
			}
			if _, err := keys.Keyring().Open(r0, security.SealedAAD(fv.FormID, "r-0")); !errors.Is(err, security.ErrDecrypt) {
				t.Errorf("r-0's body opened as its sealed part: %v", err)
			}

			// Withdrawal and retention leave no body.
			if _, err := st.WithdrawResponse(ctx, "R-r-0"); err != nil {
				t.Fatal(err)
			}
			if _, err := raw.EraseSealed(ctx, fv.FormID, rs[1].SubmittedAt.Add(time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"r-0", "r-1"} {
				if kept := column(fv.FormID, id); kept != nil {
					t.Errorf("%s: raw column %x after withdrawal or retention", id, kept)
				}
				if r, err := st.Joined().Response(ctx, fv.FormID, id); err != nil || r.Raw != nil {
					t.Errorf("%s: joined Raw %q, %v; want none", id, r.Raw, err)
				}
			}
			if kept := column(fv.FormID, "r-2"); kept == nil {
				t.Error("r-2, submitted after the retention cut, lost its body")
			}
		})
	}
}

// Without a master key a body is refused, never stored in the clear.
func TestSealingStoreRawNoKeyring(t *testing.T) {
	raw := storetest.OpenSQLite(t)
	st := security.NewSealingStore(raw, security.NewSealer(nil))
	fv, f := addPrivacyForm(t, st)
	// Answers with nothing personal, so that only the body needs the key.
	enc, err := f.EncodeAnswers(map[string]string{"gender": "f"})
	if err != nil {
		t.Fatal(err)
	}
	r := store.Response{FormID: fv.FormID, Revision: fv.Revision, InstanceID: "x", Channel: "web", Answers: enc, Raw: rawBody("x")}
	if _, err := st.AddResponses(t.Context(), []store.Response{r}); !errors.Is(err, security.ErrNoKeyring) {
		t.Fatalf("AddResponses with a body and no keyring: %v, want ErrNoKeyring", err)
	}
	if _, err := raw.Response(t.Context(), fv.FormID, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused response was stored: %v", err)
	}
	r.Raw = nil
	if _, err := st.AddResponses(t.Context(), []store.Response{r}); err != nil {
		t.Errorf("the same response without a body: %v", err)
	}
}

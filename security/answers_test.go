package security_test

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"testing"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/security"
)

func privacyForm(t testing.TB) *form.Form {
	t.Helper()
	data, err := os.ReadFile("testdata/privacy.md")
	if err != nil {
		t.Fatal(err)
	}
	f, err := form.Parse("privacy.md", data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func newKeyring(t testing.TB) (*security.Keyring, security.MasterKey) {
	t.Helper()
	master, err := security.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	kr, err := security.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	return kr, master
}

func TestSplitJoin(t *testing.T) {
	f := privacyForm(t)
	kr, _ := newKeyring(t)
	s := security.NewSealer(kr)
	tests := []struct {
		name    string
		answers form.Answers
		sealed  []string // the fields that must not be in the plain part
	}{
		{"nothing personal", form.Answers{"gender": "f", "channels": "web1 app2", "age": "41", "comment": "很满意"}, nil},
		{"personal and sensitive fields", form.Answers{"fullname": "张三", "income": "8000", "gender": "m"}, []string{"fullname", "income"}},
		{"phone number in free text", form.Answers{"comment": "请回电 138-1234-5678 谢谢", "age": "30"}, []string{"comment"}},
		{"e-mail in free text", form.Answers{"comment": "zhang.san＠example.cn"}, []string{"comment"}},
		{"ID number in an integer", form.Answers{"age": "11010519491231002X"}, []string{"age"}},
		{"phone as a select value", form.Answers{"gender": "13812345678"}, []string{"gender"}},
		{"choice names with digits", form.Answers{"channels": "web1 app2"}, nil},
		{"unanswered", form.Answers{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := f.EncodeAnswers(tt.answers)
			if err != nil {
				t.Fatal(err)
			}
			plain, sealed, err := s.Split(f, "privacy", "uuid-1", enc)
			if err != nil {
				t.Fatal(err)
			}
			if (sealed != nil) != (len(tt.sealed) > 0) {
				t.Fatalf("sealed part %x, want one: %v", sealed, len(tt.sealed) > 0)
			}
			got, err := f.DecodeAnswers(plain)
			if err != nil {
				t.Fatal(err)
			}
			want := maps.Clone(tt.answers)
			for _, name := range tt.sealed {
				delete(want, name)
				if bytes.Contains(plain, []byte(tt.answers[name])) || bytes.Contains(sealed, []byte(tt.answers[name])) {
					t.Errorf("the value of %s is in the clear", name)
				}
			}
			if !maps.Equal(got, want) {
				t.Errorf("plain part = %v, want %v", got, want)
			}
			joined, err := s.Join(f, "privacy", "uuid-1", plain, sealed)
			if err != nil {
				t.Fatal(err)
			}
			all, err := f.DecodeAnswers(joined)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(all, tt.answers) {
				t.Errorf("joined = %v, want %v", all, tt.answers)
			}
			if len(tt.sealed) > 0 {
				names, err := s.SealedFields(f, "privacy", "uuid-1", sealed)
				if err != nil {
					t.Fatal(err)
				}
				if len(names) != len(tt.sealed) {
					t.Errorf("SealedFields = %v, want %v", names, tt.sealed)
				}
				// The part belongs to its response: moved, it does not open.
				if _, err := s.Join(f, "privacy", "uuid-2", plain, sealed); !errors.Is(err, security.ErrDecrypt) {
					t.Errorf("joining another response's sealed part: %v, want ErrDecrypt", err)
				}
			}
		})
	}
}

func TestSealerWithoutKeyring(t *testing.T) {
	f := privacyForm(t)
	s := security.NewSealer(nil)
	enc, err := f.EncodeAnswers(form.Answers{"gender": "f", "comment": "fine"})
	if err != nil {
		t.Fatal(err)
	}
	plain, sealed, err := s.Split(f, "privacy", "a", enc)
	if err != nil || sealed != nil || !bytes.Equal(plain, enc) {
		t.Errorf("Split of nothing personal without a keyring = %x, %x, %v", plain, sealed, err)
	}
	enc, err = f.EncodeAnswers(form.Answers{"fullname": "李四"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Split(f, "privacy", "a", enc)
	if !errors.Is(err, security.ErrNoKeyring) {
		t.Fatalf("Split of a personal answer without a keyring = %v, want ErrNoKeyring", err)
	}
	if bytes.Contains([]byte(err.Error()), []byte("李四")) {
		t.Errorf("the error shows the answer: %v", err)
	}
	if _, err := s.Join(f, "privacy", "a", nil, []byte{1, 2, 3}); !errors.Is(err, security.ErrNoKeyring) {
		t.Errorf("Join without a keyring = %v, want ErrNoKeyring", err)
	}
}

func TestSealsAnswer(t *testing.T) {
	f := privacyForm(t)
	tests := []struct {
		field, value string
		want         bool
	}{
		{"fullname", "x", true},
		{"fullname", "", false},
		{"comment", "没有", false},
		{"comment", "邮箱 a@b.cn", true},
		{"comment", "订单号 1381234567890123456", false},
		{"channels", "web1", false},
		{"channels", "web1 other@x.org", true},
	}
	for _, tt := range tests {
		if got := security.SealsAnswer(f, f.Question(tt.field), tt.value); got != tt.want {
			t.Errorf("SealsAnswer(%s, %q) = %v, want %v", tt.field, tt.value, got, tt.want)
		}
	}
}

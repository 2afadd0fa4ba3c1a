package security

import (
	"errors"
	"fmt"
	"sync"

	"github.com/govsurvey/govsurvey/form"
)

// Field classification at rest. A response is kept in two parts:
//
//   - plain: the form's answers encoding (form.EncodeAnswers) with every
//     sealed answer left out, as if unanswered; readable without any key,
//     and de-identified;
//   - sealed: the same encoding holding only the sealed answers, encrypted
//     with the Keyring (SM4-GCM) under FieldAAD(form, instance, "#sealed"),
//     so it opens only as the part of that very response.
//
// An answer is sealed when its question is classified personal or
// sensitive, or when it is free text (anything but canonical choice names)
// in which DetectPersonal finds a phone number, ID-card number or e-mail
// address: such an answer is sensitive whatever the form says. Everything
// that reads only the plain part (statistics, default exports) therefore
// never sees personal data, and only a reader holding the keyring, which
// the server gives to data officers' requests, sees the whole response.

// ErrNoKeyring is returned when answers must be sealed or opened and no
// keyring is configured (no master key): personal data is never stored in
// the clear for want of a key.
var ErrNoKeyring = errors.New("security: personal answers need the master key, and none is configured")

// sealedPartField is the field name in a sealed part's additional data; it
// cannot be an XLSForm name, so it never collides with a per-field AAD.
const sealedPartField = "#sealed"

// Classification values of the XLSForm classification column.
const (
	ClassPublic    = "public"
	ClassInternal  = "internal"
	ClassPersonal  = "personal"
	ClassSensitive = "sensitive"
)

// Personal reports whether every answer to q is sealed: q is classified
// personal or sensitive.
func Personal(q *form.Question) bool {
	return q.Classification == ClassPersonal || q.Classification == ClassSensitive
}

// Sealer splits a response's encoded answers into the plain and the sealed
// part, and joins them back. With a nil keyring it still splits and joins
// responses that hold nothing to seal, and refuses the others with
// ErrNoKeyring. Safe for concurrent use.
type Sealer struct {
	mu sync.RWMutex
	kr *Keyring

	rulesMu sync.Mutex
	rules   map[*form.Form]*fieldRules // bounded: cleared when it grows past maxRules
}

// maxRules bounds the forms whose rules a Sealer remembers: callers that
// compile a form afresh for each use must not grow it without end.
const maxRules = 256

// NewSealer returns a Sealer using kr (nil: no master key configured).
func NewSealer(kr *Keyring) *Sealer { return &Sealer{kr: kr} }

// SetKeyring replaces the keyring, after a rotation by another node.
func (s *Sealer) SetKeyring(kr *Keyring) {
	s.mu.Lock()
	s.kr = kr
	s.mu.Unlock()
}

// Keyring returns the keyring in use, or nil.
func (s *Sealer) Keyring() *Keyring {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.kr
}

// fieldRules is what splitting needs of a form version, built once.
type fieldRules struct {
	fields      []*form.Question
	personal    []bool
	anyPersonal bool              // some field is classified personal or sensitive
	choices     []map[string]bool // nil for a field whose answers are not choice names
}

func (s *Sealer) rulesOf(f *form.Form) *fieldRules {
	s.rulesMu.Lock()
	r, ok := s.rules[f]
	s.rulesMu.Unlock()
	if ok {
		return r
	}
	r = newFieldRules(f)
	s.rulesMu.Lock()
	if s.rules == nil || len(s.rules) >= maxRules {
		s.rules = make(map[*form.Form]*fieldRules)
	}
	s.rules[f] = r
	s.rulesMu.Unlock()
	return r
}

func newFieldRules(f *form.Form) *fieldRules {
	fields := f.Fields()
	r := &fieldRules{fields: fields, personal: make([]bool, len(fields)), choices: make([]map[string]bool, len(fields))}
	for i, q := range fields {
		r.personal[i] = Personal(q)
		r.anyPersonal = r.anyPersonal || r.personal[i]
		if q.IsSelect() {
			set := make(map[string]bool)
			for _, c := range f.Choices[q.ListName] {
				set[c.Name] = true
			}
			r.choices[i] = set
		}
	}
	return r
}

// sealsValue reports whether the value v of field i must be sealed.
func (r *fieldRules) sealsValue(i int, v string) bool {
	if v == "" {
		return false
	}
	if r.personal[i] {
		return true
	}
	if !mayHoldPersonal(v) {
		return false
	}
	if set := r.choices[i]; set != nil && choiceNames(set, v) {
		return false
	}
	return ContainsPersonal(v)
}

// SealsAnswer reports whether the answer v to question q of form f is
// sealed at rest: the rule of this file, for pages that show it.
func SealsAnswer(f *form.Form, q *form.Question, v string) bool {
	r := &fieldRules{fields: []*form.Question{q}, personal: []bool{Personal(q)}, choices: make([]map[string]bool, 1)}
	if q.IsSelect() {
		set := make(map[string]bool)
		for _, c := range f.Choices[q.ListName] {
			set[c.Name] = true
		}
		r.choices[0] = set
	}
	return r.sealsValue(0, v)
}

// mayHoldPersonal is a cheap test that v cannot contain what
// DetectPersonal finds: every finding has a digit or an '@', ASCII or
// full-width (U+FF10–U+FF20, encoded from 0xEF).
func mayHoldPersonal(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c >= '0' && c <= '9' || c == '@' || c == 0xEF {
			return true
		}
	}
	return false
}

// choiceNames reports whether v is nothing but choice names separated by
// single spaces.
func choiceNames(set map[string]bool, v string) bool {
	start := 0
	for i := 0; i <= len(v); i++ {
		if i == len(v) || v[i] == ' ' {
			if !set[v[start:i]] {
				return false
			}
			start = i + 1
		}
	}
	return true
}

// SealedAAD is the additional data of a response's sealed part.
func SealedAAD(formID, instanceID string) []byte {
	return FieldAAD(formID, instanceID, sealedPartField)
}

// rawBodyField names a response's raw body in its additional data: like
// sealedPartField it is no XLSForm name, and it differs from it, so that a
// sealed part and a raw body cannot stand in for each other.
const rawBodyField = "#raw"

// RawAAD is the additional data of a response's sealed raw body.
func RawAAD(formID, instanceID string) []byte {
	return FieldAAD(formID, instanceID, rawBodyField)
}

// SealRaw seals the raw submission body of the response instanceID of
// formID whole: it holds every answer, personal ones included, so it is
// never stored in the clear (ErrNoKeyring without a keyring).
func (s *Sealer) SealRaw(formID, instanceID string, body []byte) ([]byte, error) {
	kr := s.Keyring()
	if kr == nil {
		return nil, fmt.Errorf("security: response %s of form %s: raw body: %w", instanceID, formID, ErrNoKeyring)
	}
	sealed, err := kr.Seal(body, RawAAD(formID, instanceID))
	if err != nil {
		return nil, fmt.Errorf("security: response %s of form %s: raw body: %w", instanceID, formID, err)
	}
	return sealed, nil
}

// OpenRaw opens a raw body sealed by SealRaw for that very response; an
// altered or moved one is an error wrapping ErrDecrypt, one under a data
// key the keyring lacks ErrUnknownDataKey.
func (s *Sealer) OpenRaw(formID, instanceID string, sealed []byte) ([]byte, error) {
	kr := s.Keyring()
	if kr == nil {
		return nil, fmt.Errorf("security: response %s of form %s: raw body: %w", instanceID, formID, ErrNoKeyring)
	}
	body, err := kr.Open(sealed, RawAAD(formID, instanceID))
	if err != nil {
		return nil, fmt.Errorf("security: response %s of form %s: raw body: %w", instanceID, formID, err)
	}
	return body, nil
}

// Split divides enc, answers encoded with f (form.EncodeAnswers), into the
// plain part and the sealed part of the response instanceID of formID. When
// nothing needs sealing it returns enc itself and a nil sealed part. Errors
// name fields, never values.
func (s *Sealer) Split(f *form.Form, formID, instanceID string, enc []byte) (plain, sealed []byte, err error) {
	r := s.rulesOf(f)
	// Nothing to seal in choices of fields that are not personal: the
	// common case of a closed questionnaire, answered without decoding.
	if !r.anyPersonal && f.AllCoded(enc) {
		return enc, nil, nil
	}
	vals := make([]string, len(r.fields))
	if err := f.DecodeInto(enc, vals); err != nil {
		return nil, nil, fmt.Errorf("security: response %s of form %s: %w", instanceID, formID, err)
	}
	first := -1
	for i, v := range vals {
		if r.sealsValue(i, v) {
			first = i
			break
		}
	}
	if first < 0 {
		return enc, nil, nil
	}
	kr := s.Keyring()
	if kr == nil {
		return nil, nil, fmt.Errorf("security: response %s of form %s: field %s: %w", instanceID, formID, r.fields[first].Name, ErrNoKeyring)
	}
	keep := make(form.Answers, len(vals))
	secret := make(form.Answers)
	for i := first; i < len(vals); i++ {
		if r.sealsValue(i, vals[i]) {
			secret[r.fields[i].Name] = vals[i]
		}
	}
	for i, v := range vals {
		if v == "" {
			continue
		}
		if _, ok := secret[r.fields[i].Name]; !ok {
			keep[r.fields[i].Name] = v
		}
	}
	if plain, err = f.EncodeAnswers(keep); err != nil {
		return nil, nil, fmt.Errorf("security: response %s of form %s: %w", instanceID, formID, err)
	}
	part, err := f.EncodeAnswers(secret)
	if err != nil {
		return nil, nil, fmt.Errorf("security: response %s of form %s: %w", instanceID, formID, err)
	}
	defer clear(part)
	if sealed, err = kr.Seal(part, SealedAAD(formID, instanceID)); err != nil {
		return nil, nil, fmt.Errorf("security: response %s of form %s: %w", instanceID, formID, err)
	}
	return plain, sealed, nil
}

// Join returns the whole response: plain with the answers of the sealed
// part put back, encoded with f. Without a sealed part it returns plain.
// A sealed part that does not open (altered, moved from another response,
// or under a data key the keyring lacks) is an error wrapping ErrDecrypt
// or ErrUnknownDataKey.
func (s *Sealer) Join(f *form.Form, formID, instanceID string, plain, sealed []byte) ([]byte, error) {
	if len(sealed) == 0 {
		return plain, nil
	}
	kr := s.Keyring()
	if kr == nil {
		return nil, fmt.Errorf("security: response %s of form %s: %w", instanceID, formID, ErrNoKeyring)
	}
	part, err := kr.Open(sealed, SealedAAD(formID, instanceID))
	if err != nil {
		return nil, fmt.Errorf("security: response %s of form %s: sealed answers: %w", instanceID, formID, err)
	}
	defer clear(part)
	r := s.rulesOf(f)
	vals := make([]string, len(r.fields))
	secret := make([]string, len(r.fields))
	if len(plain) > 0 {
		if err := f.DecodeInto(plain, vals); err != nil {
			return nil, fmt.Errorf("security: response %s of form %s: %w", instanceID, formID, err)
		}
	}
	if err := f.DecodeInto(part, secret); err != nil {
		return nil, fmt.Errorf("security: response %s of form %s: sealed answers: %w", instanceID, formID, err)
	}
	all := make(form.Answers, len(vals))
	for i := range vals {
		v := vals[i]
		if secret[i] != "" {
			v = secret[i]
		}
		if v != "" {
			all[r.fields[i].Name] = v
		}
	}
	enc, err := f.EncodeAnswers(all)
	if err != nil {
		return nil, fmt.Errorf("security: response %s of form %s: %w", instanceID, formID, err)
	}
	return enc, nil
}

// SealedFields lists the names of the fields whose answers the sealed part
// of a response holds (for an audit detail or a console mark); it opens
// the part, so it needs the keyring like Join.
func (s *Sealer) SealedFields(f *form.Form, formID, instanceID string, sealed []byte) ([]string, error) {
	if len(sealed) == 0 {
		return nil, nil
	}
	kr := s.Keyring()
	if kr == nil {
		return nil, ErrNoKeyring
	}
	part, err := kr.Open(sealed, SealedAAD(formID, instanceID))
	if err != nil {
		return nil, fmt.Errorf("security: response %s of form %s: sealed answers: %w", instanceID, formID, err)
	}
	defer clear(part)
	r := s.rulesOf(f)
	secret := make([]string, len(r.fields))
	if err := f.DecodeInto(part, secret); err != nil {
		return nil, fmt.Errorf("security: response %s of form %s: sealed answers: %w", instanceID, formID, err)
	}
	var names []string
	for i, v := range secret {
		if v != "" {
			names = append(names, r.fields[i].Name)
		}
	}
	return names, nil
}

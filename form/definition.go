package form

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Definition returns the compiled form as JSON. The output is deterministic
// (struct fields in order, map keys sorted), so the store can hash it to tell
// a changed form from an unchanged one.
func (f *Form) Definition() ([]byte, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("form: definition: %w", err)
	}
	return b, nil
}

// FromDefinition rebuilds a Form from Definition's JSON.
func FromDefinition(b []byte) (*Form, error) {
	f := new(Form)
	if err := json.Unmarshal(b, f); err != nil {
		return nil, fmt.Errorf("form: definition: %w", err)
	}
	if f.ID == "" {
		return nil, errors.New("form: definition: no form id")
	}
	// Keep empty collections empty rather than null, so a definition read
	// back and written again is byte for byte the same.
	if f.Settings == nil {
		f.Settings = map[string]string{}
	}
	if f.Survey == nil {
		f.Survey = []*Question{}
	}
	if f.Choices == nil {
		f.Choices = map[string][]Choice{}
	}
	if f.Checks == nil {
		f.Checks = []Check{}
	}
	if f.Languages == nil {
		f.Languages = []string{}
	}
	if hasNil(f.Survey) {
		return nil, errors.New("form: definition: a null question")
	}
	return f, nil
}

func hasNil(qs []*Question) bool {
	for _, q := range qs {
		if q == nil || hasNil(q.Children) {
			return true
		}
	}
	return false
}

package form

import (
	"bytes"
	"os"
	"testing"
)

func TestDefinitionRoundTrip(t *testing.T) {
	for _, fixture := range []string{"testdata/small.md"} {
		data, err := os.ReadFile(fixture)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(fixture, data)
		if err != nil {
			t.Fatal(err)
		}
		def, err := f.Definition()
		if err != nil {
			t.Fatal(err)
		}
		// Same form compiled again: same bytes (the store hashes them).
		again, _ := Parse(fixture, data)
		def2, _ := again.Definition()
		if !bytes.Equal(def, def2) {
			t.Errorf("%s: two compilations give different definitions", fixture)
		}
		back, err := FromDefinition(def)
		if err != nil {
			t.Fatal(err)
		}
		def3, err := back.Definition()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(def, def3) {
			t.Errorf("%s: definition changed through FromDefinition:\n%s\n%s", fixture, def, def3)
		}
		// The codec works the same on the rebuilt form.
		enc, err := f.EncodeAnswers(Answers{"adult": "yes", "colors": "red blue"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := back.DecodeAnswers(enc)
		if err != nil || got["colors"] != "red blue" || got["adult"] != "yes" {
			t.Errorf("decoded with rebuilt form: %q, %v", got, err)
		}
	}
}

func TestFromDefinitionRefuses(t *testing.T) {
	for _, b := range []string{``, `{`, `[]`, `{"id":""}`, `{"id":"x","survey":[null]}`, `{"id":"x","survey":[{"children":[null]}]}`} {
		if _, err := FromDefinition([]byte(b)); err == nil {
			t.Errorf("FromDefinition(%q) succeeded", b)
		}
	}
}

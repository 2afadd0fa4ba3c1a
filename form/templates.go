package form

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

// The built-in questionnaires, generated from ../shared/instruments/*.md by
// internal/mktemplates and committed, so the binary needs nothing beside it.
//
//go:generate go run ./internal/mktemplates -src ../../shared/instruments -out templates
//go:embed templates
var templateFiles embed.FS

// Templates lists the built-in forms by name ("netizen_2019", …), sorted.
func Templates() []string {
	entries, err := fs.ReadDir(templateFiles, "templates")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".xlsx"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Template returns a built-in form as the .xlsx file a user would author,
// with its file name. An unknown name wraps ErrNotFound.
func Template(name string) (data []byte, filename string, err error) {
	if name == "" || strings.ContainsAny(name, `/\.`) {
		return nil, "", fmt.Errorf("form: template %q: %w", name, ErrNotFound)
	}
	filename = name + ".xlsx"
	data, err = templateFiles.ReadFile("templates/" + filename)
	if err != nil {
		return nil, "", fmt.Errorf("form: template %q: %w", name, ErrNotFound)
	}
	return data, filename, nil
}

// ParseTemplate compiles the built-in template name (see Templates).
func ParseTemplate(name string) (*Form, error) {
	data, filename, err := Template(name)
	if err != nil {
		return nil, err
	}
	return Parse(filename, data)
}

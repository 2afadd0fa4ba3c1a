package form

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Parse reads and compiles an XLSForm. name is the file name: its extension
// picks the reader and its stem is the form id when the settings sheet has
// none. Problems in the file and in the form are returned together in one
// *Error.
func Parse(name string, data []byte) (*Form, error) {
	wb, problems, err := readWorkbook(name, data)
	if err != nil {
		return nil, withFile(err, name)
	}
	return compileWith(wb, problems, name, stem(name))
}

// ParseFile reads and compiles an XLSForm file, or a directory holding a csv
// bundle (survey.csv, choices.csv, settings.csv, checks.csv).
func ParseFile(path string) (*Form, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("form: %w", err)
	}
	if info.IsDir() {
		wb, problems, err := readCSVDir(path)
		if err != nil {
			return nil, withFile(err, path)
		}
		return compileWith(wb, problems, path, filepath.Base(filepath.Clean(path)))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("form: %w", err)
	}
	return Parse(filepath.Base(path), data)
}

func compileWith(wb *Workbook, readProblems []Problem, file, fallbackID string) (*Form, error) {
	f, err := Compile(wb, fallbackID)
	var fe *Error
	switch {
	case err == nil && len(readProblems) == 0:
		return f, nil
	case err == nil:
		return nil, &Error{File: file, Problems: readProblems}
	case errors.As(err, &fe):
		return nil, &Error{File: file, Problems: append(append([]Problem(nil), readProblems...), fe.Problems...)}
	default:
		return nil, err
	}
}

func withFile(err error, file string) error {
	var fe *Error
	if errors.As(err, &fe) && fe.File == "" {
		fe.File = file
	}
	return err
}

// Package publish owns open data: releases of statistical tables with
// small-cell suppression (primary and complementary, so that no
// suppressed cell can be solved from the margins), k-anonymous microdata,
// the signed manifest that lets anyone check a release or one of its
// files, and the quotas of the open-data API keys.
package publish

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/stats"
	"github.com/govsurvey/govsurvey/store"
)

// Options say what a release holds.
type Options struct {
	Version   int    // 1, 2, … (store.NextReleaseVersion)
	ID        string // "": FormID-rVersion, e.g. netizen_2019-r1
	Title     Text   // "": the form's title
	Rule      Rule   // zero: DefaultRule
	Questions []string
	// ReportDir, when set, is a directory of report files (govsurvey
	// report --out) included under report/.
	ReportDir string
	// Microdata, when set, is included as microdata/microdata.csv with
	// its k-anonymity report in the metadata.
	Microdata *Microdata
	Signer    *Signer
	Now       time.Time
}

// Release is a built release: its files, in memory, manifest and
// signature included.
type Release struct {
	ID       string
	FormID   string
	Version  int
	Metadata Metadata
	Tables   []*Table
	Files    []File // by name
}

// File is one file of a release.
type File struct {
	Name string // slash-separated path in the release
	Body []byte
}

// Metadata is release.json.
type Metadata struct {
	ID          string       `json:"id"`
	FormID      string       `json:"form_id"`
	FormVersion string       `json:"form_version,omitempty"`
	Version     int          `json:"version"`
	Created     time.Time    `json:"created"`
	Publisher   string       `json:"publisher"`
	Title       Text         `json:"title"`
	Suppression Suppression  `json:"suppression"`
	Source      Source       `json:"source"`
	Tables      []TableInfo  `json:"tables"`
	Microdata   *KReport     `json:"microdata,omitempty"`
	Report      []string     `json:"report,omitempty"`
	Formats     FormatsNotes `json:"formats"`
}

// Suppression is the rule and its parameters, as the metadata states them.
type Suppression struct {
	Rule
	Unit string `json:"unit"`
	Note Text   `json:"note"`
}

// Source says what the tables were computed from.
type Source struct {
	Collected int      `json:"collected"`
	Valid     int      `json:"valid"`
	Weighted  bool     `json:"weighted"`
	Filter    []string `json:"filter,omitempty"`
}

// TableInfo lists one table and its files.
type TableInfo struct {
	Name       string `json:"name"`
	Question   string `json:"question"`
	By         string `json:"by,omitempty"`
	Type       string `json:"type"`
	Title      Text   `json:"title"`
	CSV        string `json:"csv"`
	JSON       string `json:"json"`
	Suppressed int    `json:"suppressed_cells"`
}

// FormatsNotes documents the files' formats in the release itself.
type FormatsNotes struct {
	CSV  string `json:"csv"`
	XLSX string `json:"xlsx"`
	JSON string `json:"json"`
	CSVW string `json:"csvw"`
	Sign string `json:"signature"`
}

// Build makes a release of an analysis (unweighted counts must be in it:
// every choice's count, or unweighted_count when weighted).
func Build(an *stats.Analysis, f *form.Form, opts Options) (*Release, error) {
	if opts.Signer == nil {
		return nil, errors.New("publish: a release must be signed (no signer)")
	}
	if opts.Version < 1 {
		return nil, fmt.Errorf("publish: version %d", opts.Version)
	}
	if opts.Rule.MinCount == 0 {
		opts.Rule = DefaultRule()
	}
	if opts.Rule.Method == "" {
		opts.Rule.Method = methodName
	}
	if opts.ID == "" {
		opts.ID = fmt.Sprintf("%s-r%d", an.FormID, opts.Version)
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Title.ZH == "" {
		opts.Title = Text{ZH: f.Title, EN: f.Title}
	}
	tables, err := Tables(an, f, opts.Questions, opts.Rule)
	if err != nil {
		return nil, err
	}
	if len(tables) == 0 {
		return nil, errors.New("publish: no choice question to publish")
	}
	r := &Release{ID: opts.ID, FormID: an.FormID, Version: opts.Version, Tables: tables}
	r.Metadata = Metadata{
		ID: opts.ID, FormID: an.FormID, FormVersion: an.FormVersion, Version: opts.Version,
		Created: opts.Now.UTC().Truncate(time.Second), Publisher: opts.Signer.Name(), Title: opts.Title,
		Suppression: Suppression{Rule: opts.Rule, Unit: "unweighted respondents", Note: suppressionNote(opts.Rule)},
		Source:      Source{Collected: an.Collected, Valid: an.Valid, Weighted: an.Weights != nil, Filter: an.Filter},
		Formats: FormatsNotes{
			CSV:  "UTF-8 with byte-order mark, comma separated, one header row, one row per cell (columns in csv-metadata.json); suppressed cells have empty count and percent",
			XLSX: "tables.xlsx: one sheet per table, choices down, groups across; x marks a suppressed cell",
			JSON: "tables/NAME.json: rows, columns, cells (null count and percent when suppressed), bases, row totals",
			CSVW: "csv-metadata.json: W3C CSV on the Web metadata for every CSV",
			Sign: "manifest.json lists every file with its SM3 digest; manifest.p7s is a detached CMS SignedData (SM2 with SM3) over manifest.json; signer.pem is the office's public key",
		},
	}
	add := func(name string, b []byte) { r.Files = append(r.Files, File{Name: name, Body: b}) }
	for _, t := range tables {
		c, err := t.CSV()
		if err != nil {
			return nil, fmt.Errorf("publish: table %s: %w", t.Name, err)
		}
		j, err := marshalJSON(t.JSON(opts.Rule))
		if err != nil {
			return nil, err
		}
		info := TableInfo{Name: t.Name, Question: t.Question, By: t.By, Type: t.Type, Title: t.Title,
			CSV: "tables/" + t.Name + ".csv", JSON: "tables/" + t.Name + ".json", Suppressed: t.Mask.Primary + t.Mask.Complementary}
		add(info.CSV, c)
		add(info.JSON, j)
		r.Metadata.Tables = append(r.Metadata.Tables, info)
	}
	meta, err := csvwMetadata(opts.ID, opts.Title, tables, opts.Rule)
	if err != nil {
		return nil, err
	}
	add("csv-metadata.json", meta)
	x, err := workbook(opts.ID, opts.Title, tables, opts.Rule)
	if err != nil {
		return nil, err
	}
	add("tables.xlsx", x)
	if md := opts.Microdata; md != nil {
		add("microdata/microdata.csv", md.CSV)
		rep := md.Report
		r.Metadata.Microdata = &rep
	}
	if opts.ReportDir != "" {
		files, err := readReportDir(opts.ReportDir)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			add(f.Name, f.Body)
			r.Metadata.Report = append(r.Metadata.Report, f.Name)
		}
	}
	pub, err := opts.Signer.PublicKeyPEM()
	if err != nil {
		return nil, err
	}
	add(PublicKeyName, pub)
	rj, err := marshalJSON(r.Metadata)
	if err != nil {
		return nil, err
	}
	add("release.json", rj)

	slices.SortFunc(r.Files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	m := Manifest{Release: opts.ID, FormID: an.FormID, Version: opts.Version, Created: r.Metadata.Created,
		Publisher: opts.Signer.Name(), Digest: "SM3"}
	for _, f := range r.Files {
		m.Files = append(m.Files, ManifestFile{Path: f.Name, Size: int64(len(f.Body)), SM3: digest(f.Body)})
	}
	mb, err := marshalJSON(m)
	if err != nil {
		return nil, err
	}
	sig, err := opts.Signer.Sign(mb, opts.Now)
	if err != nil {
		return nil, err
	}
	add(ManifestName, mb)
	add(SignatureName, sig)
	slices.SortFunc(r.Files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	return r, nil
}

// readReportDir reads the regular files of a report directory as
// report/<path>.
func readReportDir(dir string) ([]File, error) {
	var out []File
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, File{Name: "report/" + filepath.ToSlash(rel), Body: b})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("publish: report: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("publish: report directory %s holds no files", dir)
	}
	return out, nil
}

// WriteDir writes the release into dir, which must not exist or be empty:
// a release is written once.
func (r *Release) WriteDir(dir string) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("publish: %s is not empty (a release is written into a new directory)", dir)
	}
	for _, f := range r.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		if err := os.WriteFile(p, f.Body, 0o644); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
	}
	return nil
}

// StoreRelease is the release as the store keeps it.
func (r *Release) StoreRelease() (store.Release, error) {
	meta, err := marshalJSON(r.Metadata)
	if err != nil {
		return store.Release{}, err
	}
	sr := store.Release{ID: r.ID, FormID: r.FormID, Version: r.Version, Metadata: meta}
	for _, f := range r.Files {
		sr.Files = append(sr.Files, store.ReleaseFile{Name: f.Name, Size: int64(len(f.Body)), Body: f.Body})
	}
	return sr, nil
}

package publish

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

// The files that make a release verifiable. manifest.json lists every
// other file with its size and SM3 digest; manifest.p7s signs it;
// signer.pem, the office's public key, is listed in the manifest too.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.p7s"
	PublicKeyName = "signer.pem"
)

// Manifest is manifest.json.
type Manifest struct {
	Release   string         `json:"release"`
	FormID    string         `json:"form_id"`
	Version   int            `json:"version"`
	Created   time.Time      `json:"created"`
	Publisher string         `json:"publisher"`
	Digest    string         `json:"digest"` // "SM3"
	Files     []ManifestFile `json:"files"`
}

// ManifestFile is one file of a release: its path in the release
// (slash-separated), size and hex SM3 digest.
type ManifestFile struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
	SM3  string `json:"sm3"`
}

func digest(b []byte) string {
	d := sm3.Sum(b)
	return hex.EncodeToString(d[:])
}

// VerifyReport is what verify found.
type VerifyReport struct {
	Release  string
	SignedBy SignedBy
	// Trusted is true when a trusted public key was given and the
	// signature is by it; KeyMismatch when it was given and is not.
	Trusted, KeyMismatch bool
	Checked              []string // files whose digest matched
	Changed              []string // files whose size or digest differ
	Missing              []string // listed but not there
	Extra                []string // there but not listed (directories only)
	SignatureErr         error    // the signature failed
}

// OK reports whether the signature holds and nothing changed.
func (r VerifyReport) OK() bool {
	return r.SignatureErr == nil && !r.KeyMismatch && len(r.Changed)+len(r.Missing)+len(r.Extra) == 0
}

// readSigned reads and checks manifest.json and manifest.p7s of dir.
func readSigned(dir string, trustedKey []byte) (Manifest, VerifyReport, error) {
	var rep VerifyReport
	mb, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return Manifest{}, rep, fmt.Errorf("publish: %w", err)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(mb))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, rep, fmt.Errorf("publish: %s: %w", ManifestName, err)
	}
	rep.Release = m.Release
	sig, err := os.ReadFile(filepath.Join(dir, SignatureName))
	if err != nil {
		return Manifest{}, rep, fmt.Errorf("publish: %w", err)
	}
	rep.SignedBy, rep.SignatureErr = VerifySignature(mb, sig)
	if rep.SignatureErr == nil && trustedKey != nil {
		fp, err := PublicKeyFingerprint(trustedKey)
		if err != nil {
			return Manifest{}, rep, err
		}
		rep.Trusted = fp == rep.SignedBy.Fingerprint
		rep.KeyMismatch = !rep.Trusted
	}
	for _, f := range m.Files {
		if f.Path == "" || path.IsAbs(f.Path) || strings.Contains(f.Path, "..") || strings.Contains(f.Path, `\`) {
			return Manifest{}, rep, fmt.Errorf("publish: %s lists a bad path %q", ManifestName, f.Path)
		}
	}
	return m, rep, nil
}

func checkFile(rep *VerifyReport, f ManifestFile, b []byte) {
	if int64(len(b)) != f.Size || digest(b) != f.SM3 {
		rep.Changed = append(rep.Changed, f.Path)
		return
	}
	rep.Checked = append(rep.Checked, f.Path)
}

// VerifyDir checks a release directory: the signature over its manifest
// and every file against the manifest. trustedKey, when not nil, is the
// office's public key (PEM) the signature must be by. An error means the
// release could not be read; what was found is in the report.
func VerifyDir(dir string, trustedKey []byte) (VerifyReport, error) {
	m, rep, err := readSigned(dir, trustedKey)
	if err != nil {
		return rep, err
	}
	listed := map[string]bool{}
	for _, f := range m.Files {
		listed[f.Path] = true
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if errors.Is(err, fs.ErrNotExist) {
			rep.Missing = append(rep.Missing, f.Path)
			continue
		}
		if err != nil {
			return rep, fmt.Errorf("publish: %w", err)
		}
		checkFile(&rep, f, b)
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel != ManifestName && rel != SignatureName && !listed[rel] {
			rep.Extra = append(rep.Extra, rel)
		}
		return nil
	})
	slices.Sort(rep.Extra)
	return rep, err
}

// VerifyFile checks one file of a release against the signed manifest in
// manifestDir ("": the file's directory or the nearest parent holding
// manifest.json). The file is looked up by its path relative to that
// directory, else by its name: a downloaded file often lands elsewhere.
func VerifyFile(file, manifestDir string, trustedKey []byte) (VerifyReport, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return VerifyReport{}, err
	}
	if manifestDir == "" {
		for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, ManifestName)); err == nil {
				manifestDir = d
				break
			}
			if filepath.Dir(d) == d {
				return VerifyReport{}, fmt.Errorf("publish: no %s beside %s or above it (give the release's manifest)", ManifestName, file)
			}
		}
	}
	m, rep, err := readSigned(manifestDir, trustedKey)
	if err != nil {
		return rep, err
	}
	b, err := os.ReadFile(abs)
	if err != nil {
		return rep, fmt.Errorf("publish: %w", err)
	}
	var entry *ManifestFile
	if rel, err := filepath.Rel(manifestDir, abs); err == nil {
		rel = filepath.ToSlash(rel)
		for i := range m.Files {
			if m.Files[i].Path == rel {
				entry = &m.Files[i]
			}
		}
	}
	if entry == nil {
		var same []int
		for i := range m.Files {
			if path.Base(m.Files[i].Path) == filepath.Base(abs) {
				same = append(same, i)
			}
		}
		if len(same) > 1 {
			// Several files share the name: the one with this digest.
			d := digest(b)
			for _, i := range same {
				if m.Files[i].SM3 == d {
					same = []int{i}
					break
				}
			}
		}
		if len(same) == 1 {
			entry = &m.Files[same[0]]
		}
	}
	if entry == nil {
		rep.Extra = append(rep.Extra, filepath.Base(abs))
		return rep, nil
	}
	checkFile(&rep, *entry, b)
	return rep, nil
}

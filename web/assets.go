package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/govsurvey/govsurvey/form/expr"
)

//go:embed assets/*.js assets/*.css
var assetFS embed.FS

// assets are the embedded scripts and styles, gzipped once at start. The
// pages name them with ?v=<version>, a hash of all of them, so a browser
// may cache them for good and still gets new ones after an upgrade.
type assets struct {
	files   map[string]asset
	version string
}

type asset struct {
	body, gz    []byte
	contentType string
}

// loadAssets reads the embedded files and expr.js, the expression
// evaluator shared with form/expr (never a copy: one definition of the
// semantics).
func loadAssets() (*assets, error) {
	raw := map[string][]byte{"expr.js": expr.JS()}
	entries, err := assetFS.ReadDir("assets")
	if err != nil {
		return nil, fmt.Errorf("web: assets: %w", err)
	}
	for _, e := range entries {
		b, err := assetFS.ReadFile("assets/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("web: assets: %w", err)
		}
		raw[e.Name()] = b
	}
	a := &assets{files: make(map[string]asset, len(raw))}
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		b := raw[name]
		h.Write([]byte(name))
		h.Write(b)
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		ct := "text/javascript; charset=utf-8"
		if strings.HasSuffix(name, ".css") {
			ct = "text/css; charset=utf-8"
		}
		a.files[name] = asset{body: b, gz: gz.Bytes(), contentType: ct}
	}
	a.version = hex.EncodeToString(h.Sum(nil))[:12]
	return a, nil
}

// asset serves GET /assets/{name}.
func (s *Server) asset(w http.ResponseWriter, r *http.Request) {
	a, ok := s.assets.files[r.PathValue("name")]
	if !ok {
		s.notFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Accept-Encoding")
	if r.URL.Query().Get("v") == s.assets.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	body := a.body
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.Write(body)
}

package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/govsurvey/govsurvey/publish"
	"github.com/govsurvey/govsurvey/report/charts"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// Open data: the public page of each release (tables and charts, Chinese
// and English) and its downloads, for anyone; the open-data API, for
// holders of an API key within its quota (package publish's Gate: per
// day, per minute, allowed hours, counted in the database so the quota
// holds across nodes); and the staff JSON routes that make and revoke
// keys. Releases are immutable, so what is served is cached for good.

const (
	actionOpenRequest   = "open.request"
	actionOpenKeyCreate = "open.key_create"
	actionOpenKeyRevoke = "open.key_revoke"
)

func (s *Server) routesOpen() {
	s.public("GET /open", s.openIndex)
	s.public("GET /open/echarts.js", s.openECharts)
	s.public("GET /open/echarts-licence.txt", s.openEChartsLicence)
	s.public("GET /open/{release}", s.openRelease)
	s.public("GET /open/{release}/files/{path...}", s.openFile)
	s.public("GET /open/v1/releases", s.openAPI(s.openAPIReleases))
	s.public("GET /open/v1/releases/{release}", s.openAPI(s.openAPIRelease))
	s.public("GET /open/v1/releases/{release}/tables/{name}", s.openAPI(s.openAPITable))
	s.staff("GET /api/v1/open/keys", security.PermPublishRelease, s.listOpenKeys)
	s.staff("POST /api/v1/open/keys", security.PermPublishRelease, s.createOpenKey)
	s.staff("DELETE /api/v1/open/keys/{hash}", security.PermPublishRelease, s.revokeOpenKey)
}

var openWords = map[string]map[string]string{
	"zh": {"other_lang": "English", "other_code": "en", "open": "开放数据", "releases": "数据发布",
		"none": "尚无发布。", "downloads": "下载", "tables": "统计表", "total": "合计", "base": "基数",
		"suppressed": "x = 已抑制", "signed": "签名者", "fingerprint": "公钥指纹（SM3）",
		"verify": "下载整个发布后可用 govsurvey verify 核验：所有文件的 SM3 摘要列在 manifest.json 中，并由发布机构以 SM2 签名（manifest.p7s）。",
		"api":    "开放接口需要 API 密钥：GET /open/v1/releases 、/open/v1/releases/{id}/tables/{name}。", "created": "发布时间", "version": "版本"},
	"en": {"other_lang": "中文", "other_code": "zh", "open": "Open data", "releases": "Releases",
		"none": "Nothing published yet.", "downloads": "Downloads", "tables": "Tables", "total": "Total", "base": "Base",
		"suppressed": "x = suppressed", "signed": "Signed by", "fingerprint": "Public key fingerprint (SM3)",
		"verify": "Download the whole release and check it with govsurvey verify: manifest.json lists every file's SM3 digest and is signed by the office with SM2 (manifest.p7s).",
		"api":    "The open API needs an API key: GET /open/v1/releases, /open/v1/releases/{id}/tables/{name}.", "created": "Published", "version": "Version"},
}

// releaseMeta reads a stored release's metadata.
func releaseMeta(r store.Release) (publish.Metadata, error) {
	var m publish.Metadata
	if err := json.Unmarshal(r.Metadata, &m); err != nil {
		return m, errors.New("web: release " + r.ID + ": bad metadata: " + err.Error())
	}
	return m, nil
}

func (s *Server) openIndex(w http.ResponseWriter, r *http.Request) {
	rs, err := s.st.Releases(r.Context(), "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var metas []publish.Metadata
	for _, rel := range rs {
		m, err := releaseMeta(rel)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		metas = append(metas, m)
	}
	l := lang(r)
	s.render(w, r, "open_index", map[string]any{"Lang": l, "T": openWords[l], "Assets": s.assets.version, "Releases": metas})
}

// openTable is a table as the page shows it, in one language. A
// frequency table has its choices down; a cross-tab its groups down and
// the choices across, which stays readable with many groups.
type openTable struct {
	Name, Title string
	Head        []string
	Body        []openRow
	Data        string // the chart's data, JSON
}

type openRow struct {
	Label string
	Cells []string
}

// cellText shows a published cell: "x" when suppressed, else the count
// and the percent.
func cellText(c publish.Cell, withPercent bool) string {
	switch {
	case c.Suppressed:
		return "x"
	case c.Count == nil:
		return ""
	case withPercent && c.Percent != nil:
		return strconv.Itoa(*c.Count) + " (" + strconv.FormatFloat(*c.Percent, 'f', 1, 64) + "%)"
	}
	return strconv.Itoa(*c.Count)
}

func tableView(t publish.TableJSON, l string) openTable {
	label := func(x publish.Text) string {
		if l == "en" {
			return x.EN
		}
		return x.ZH
	}
	w := openWords[l]
	v := openTable{Name: t.Name, Title: label(t.Title)}
	type series struct {
		Name string     `json:"name"`
		Data []*float64 `json:"data"`
	}
	chart := struct {
		Categories []string `json:"categories"`
		Series     []series `json:"series"`
		Stacked    bool     `json:"stacked"`
	}{}
	if len(t.Columns) == 1 {
		v.Head = []string{label(t.Columns[0].Label)}
		se := series{Name: v.Title}
		for i, r := range t.Rows {
			v.Body = append(v.Body, openRow{Label: label(r.Label), Cells: []string{cellText(t.Cells[i][0], true)}})
			chart.Categories = append(chart.Categories, label(r.Label))
			se.Data = append(se.Data, t.Cells[i][0].Percent)
		}
		v.Body = append(v.Body, openRow{Label: w["base"], Cells: []string{cellText(t.Bases[0], false)}})
		chart.Series = []series{se}
	} else {
		for _, r := range t.Rows {
			v.Head = append(v.Head, label(r.Label))
			chart.Series = append(chart.Series, series{Name: label(r.Label)})
		}
		v.Head = append(v.Head, w["base"])
		for j, c := range t.Columns {
			row := openRow{Label: label(c.Label)}
			for i := range t.Rows {
				row.Cells = append(row.Cells, cellText(t.Cells[i][j], true))
				chart.Series[i].Data = append(chart.Series[i].Data, t.Cells[i][j].Percent)
			}
			row.Cells = append(row.Cells, cellText(t.Bases[j], false))
			v.Body = append(v.Body, row)
			chart.Categories = append(chart.Categories, label(c.Label))
		}
		if len(t.RowTotals) > 0 {
			row := openRow{Label: w["total"]}
			for _, c := range t.RowTotals {
				row.Cells = append(row.Cells, cellText(c, false))
			}
			v.Body = append(v.Body, openRow{Label: row.Label, Cells: append(row.Cells, "")})
		}
		chart.Stacked = true
	}
	b, _ := json.Marshal(chart)
	v.Data = string(b)
	return v
}

func (s *Server) openRelease(w http.ResponseWriter, r *http.Request) {
	rel, err := s.st.Release(r.Context(), r.PathValue("release"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m, err := releaseMeta(rel)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := lang(r)
	var tables []openTable
	for _, ti := range m.Tables {
		f, err := s.st.ReleaseFile(r.Context(), rel.ID, ti.JSON)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		var t publish.TableJSON
		if err := json.Unmarshal(f.Body, &t); err != nil {
			s.fail(w, r, err)
			return
		}
		tables = append(tables, tableView(t, l))
	}
	signer := ""
	if f, err := s.st.ReleaseFile(r.Context(), rel.ID, publish.PublicKeyName); err == nil {
		signer, _ = publish.PublicKeyFingerprint(f.Body)
	}
	s.render(w, r, "open_release", map[string]any{"Lang": l, "T": openWords[l], "Assets": s.assets.version,
		"Release": m, "Files": rel.Files, "Tables": tables, "Fingerprint": signer})
}

func (s *Server) openECharts(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=86400")
	w.Write(charts.ECharts())
}

// openEChartsLicence serves the licence that travels with ECharts.
func (s *Server) openEChartsLicence(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(charts.Licence())
}

// openContentType names the type of a release file by its extension.
func openContentType(name string) string {
	switch path.Ext(name) {
	case ".csv":
		return "text/csv; charset=utf-8"
	case ".json":
		return "application/json; charset=utf-8"
	case ".xlsx":
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	case ".p7s":
		return "application/pkcs7-signature"
	case ".pem":
		return "application/x-pem-file"
	case ".html":
		return "text/html; charset=utf-8"
	case ".pdf":
		return "application/pdf"
	case ".docx":
		return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	}
	return "application/octet-stream"
}

// openFile serves one file of a release as a download: releases are
// immutable, so it may be cached for good; a report's HTML is sandboxed.
func (s *Server) openFile(w http.ResponseWriter, r *http.Request) {
	f, err := s.st.ReleaseFile(r.Context(), r.PathValue("release"), r.PathValue("path"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", openContentType(f.Name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(path.Base(f.Name), `"`, "")+`"`)
	w.Write(f.Body)
}

// openAPI puts an open-API handler behind the key gate: the quota headers
// go on every answer, a refusal is answered here, and every request
// allowed is audited under the key's name.
func (s *Server) openAPI(h http.HandlerFunc) http.HandlerFunc {
	gate := &publish.Gate{Store: s.st}
	return func(w http.ResponseWriter, r *http.Request) {
		d, err := gate.Check(r.Context(), r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for k, v := range d.Header {
			w.Header()[k] = v
		}
		if d.Status != http.StatusOK {
			if d.Status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="govsurvey open data"`)
			}
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "open API request refused",
				slog.String("code", d.Code), slog.String("key", d.Key.Name), slog.String("path", r.URL.Path))
			s.writeError(w, d.Status, d.Code, d.Message, "")
			return
		}
		if s.auditLog != nil {
			ev := security.AuditEvent{Actor: "openkey:" + d.Key.Name + " (" + d.Key.Hash[:12] + ")", Action: actionOpenRequest,
				Object: r.URL.Path, Outcome: security.OutcomeOK}
			if _, err := s.auditLog.Record(context.WithoutCancel(r.Context()), ev); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		h(w, r)
	}
}

// openReleaseInfo is a release in the API's list.
type openReleaseInfo struct {
	publish.Metadata
	Files []openFileInfo `json:"files"`
}

type openFileInfo struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	URL  string `json:"url"`
}

func releaseInfo(rel store.Release) (openReleaseInfo, error) {
	m, err := releaseMeta(rel)
	if err != nil {
		return openReleaseInfo{}, err
	}
	info := openReleaseInfo{Metadata: m}
	for _, f := range rel.Files {
		info.Files = append(info.Files, openFileInfo{Name: f.Name, Size: f.Size, URL: "/open/" + rel.ID + "/files/" + f.Name})
	}
	return info, nil
}

func (s *Server) openAPIReleases(w http.ResponseWriter, r *http.Request) {
	rs, err := s.st.Releases(r.Context(), r.URL.Query().Get("form"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []openReleaseInfo{}
	for _, rel := range rs {
		info, err := releaseInfo(rel)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, info)
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"releases": out})
}

func (s *Server) openAPIRelease(w http.ResponseWriter, r *http.Request) {
	rel, err := s.st.Release(r.Context(), r.PathValue("release"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	info, err := releaseInfo(rel)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, info)
}

func (s *Server) openAPITable(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if strings.ContainsAny(name, "/\\.") {
		s.notFound(w, r)
		return
	}
	f, err := s.st.ReleaseFile(r.Context(), r.PathValue("release"), "tables/"+name+".json")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store") // the quota headers change
	w.Write(f.Body)
}

// openKeyInfo is a key as the staff API shows it: never its secret,
// except once, when it is made.
type openKeyInfo struct {
	Secret    string     `json:"key,omitempty"`
	Hash      string     `json:"hash"`
	Name      string     `json:"name"`
	Owner     string     `json:"owner"`
	PerDay    int        `json:"per_day"`
	PerMinute int        `json:"per_minute"`
	HoursFrom int        `json:"hours_from"`
	HoursTo   int        `json:"hours_to"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Usage     []openDay  `json:"usage,omitempty"`
}

type openDay struct {
	Day      string `json:"day"`
	Requests int    `json:"requests"`
}

func keyInfo(k store.OpenKey) openKeyInfo {
	out := openKeyInfo{Hash: k.Hash, Name: k.Name, Owner: k.Owner, PerDay: k.PerDay, PerMinute: k.PerMinute,
		HoursFrom: k.HoursFrom, HoursTo: k.HoursTo, CreatedAt: k.CreatedAt}
	if !k.RevokedAt.IsZero() {
		t := k.RevokedAt
		out.RevokedAt = &t
	}
	return out
}

func (s *Server) listOpenKeys(w http.ResponseWriter, r *http.Request, p security.Principal) {
	keys, err := s.st.OpenKeys(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	usage, err := s.st.OpenUsage(r.Context(), "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	byKey := map[string][]openDay{}
	for _, u := range usage {
		byKey[u.KeyHash] = append(byKey[u.KeyHash], openDay{Day: u.Day, Requests: u.Requests})
	}
	out := []openKeyInfo{}
	for _, k := range keys {
		info := keyInfo(k)
		info.Usage = byKey[k.Hash]
		out = append(out, info)
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"keys": out})
}

func (s *Server) createOpenKey(w http.ResponseWriter, r *http.Request, p security.Principal) {
	var req struct {
		Name      string `json:"name"`
		PerDay    int    `json:"per_day"`
		PerMinute int    `json:"per_minute"`
		HoursFrom *int   `json:"hours_from"`
		HoursTo   *int   `json:"hours_to"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.writeError(w, http.StatusBadRequest, "bad_request", "body: "+err.Error(), "")
		return
	}
	k := store.OpenKey{Name: strings.TrimSpace(req.Name), Owner: p.User, PerDay: req.PerDay, PerMinute: req.PerMinute,
		HoursFrom: 0, HoursTo: 24, CreatedAt: time.Now()}
	if req.HoursFrom != nil {
		k.HoursFrom = *req.HoursFrom
	}
	if req.HoursTo != nil {
		k.HoursTo = *req.HoursTo
	}
	if field, msg := checkOpenKey(k); msg != "" {
		s.writeError(w, http.StatusUnprocessableEntity, "invalid", msg, field)
		return
	}
	secret, hash, err := publish.NewOpenKey()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	k.Hash = hash
	if !s.audit(w, r, security.AuditEvent{Actor: actor(p), Action: actionOpenKeyCreate, Object: "openkey:" + hash[:12],
		Outcome: security.OutcomeOK, Detail: k.Name}) {
		return
	}
	if err := s.st.AddOpenKey(r.Context(), k); err != nil {
		s.fail(w, r, err)
		return
	}
	info := keyInfo(k)
	info.Secret = secret
	s.writeJSON(w, http.StatusCreated, info)
}

// checkOpenKey names the field of a new key that is wrong and why ("",
// "" when none is): the API and the console check keys alike.
func checkOpenKey(k store.OpenKey) (field, msg string) {
	switch {
	case k.Name == "":
		return "name", "a key needs a name (who it is for)"
	case k.PerDay < 0 || k.PerMinute < 0:
		return "per_day", "quotas are not negative (0: unbounded)"
	case k.HoursFrom < 0 || k.HoursTo > 24 || k.HoursFrom >= k.HoursTo:
		return "hours_from", "allowed hours are 0 ≤ hours_from < hours_to ≤ 24 (China Standard Time)"
	}
	return "", ""
}

// revokeOpenKey serves DELETE /api/v1/open/keys/{hash}.
func (s *Server) revokeOpenKey(w http.ResponseWriter, r *http.Request, p security.Principal) {
	if _, ok := s.revokeOpenKeyOf(w, r, p); ok {
		w.WriteHeader(http.StatusNoContent)
	}
}

// revokeOpenKeyOf revokes the key the path names, audited first, for the
// API and the console alike; it returns the key's short id, or false
// having answered.
func (s *Server) revokeOpenKeyOf(w http.ResponseWriter, r *http.Request, p security.Principal) (string, bool) {
	hash := r.PathValue("hash")
	if _, err := s.st.OpenKey(r.Context(), hash); err != nil {
		s.fail(w, r, err)
		return "", false
	}
	id := hash[:min(12, len(hash))]
	if !s.audit(w, r, security.AuditEvent{Actor: actor(p), Action: actionOpenKeyRevoke, Object: "openkey:" + id,
		Outcome: security.OutcomeOK}) {
		return "", false
	}
	if err := s.st.RevokeOpenKey(r.Context(), hash, time.Now()); err != nil {
		s.fail(w, r, err)
		return "", false
	}
	return id, true
}

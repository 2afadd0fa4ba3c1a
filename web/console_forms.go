package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
	"rsc.io/qr"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/formcheck"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// The console's form pages: upload an XLSForm (every problem listed as
// sheet!row), its versions, a preview of the respondent form that cannot
// be submitted, the share link with a QR code made here, and the
// collection period.

// maxUpload bounds an uploaded form file: 16 MiB, room for choice lists
// of every county and township (a form with tens of thousands of choices
// is a few MiB as .xlsx, more as .csv). Other requests keep the 1 MiB cap
// (maxRequestBody).
const maxUpload = 16 << 20

// consoleUploadPage serves GET /console/upload.
func (s *Server) consoleUploadPage(w http.ResponseWriter, r *http.Request, p security.Principal) {
	s.render(w, r, "console_upload.html", s.consoleData(r, p))
}

// consoleUpload serves POST /console/upload: a multipart form with the
// file in "file". Problems answer 422 with the upload page listing them.
func (s *Server) consoleUpload(w http.ResponseWriter, r *http.Request, p security.Principal) {
	l := lang(r)
	T := pageWords(l)
	data := s.consoleData(r, p)
	fail := func(status int, msg string) {
		data["Problem"] = msg
		s.renderStatus(w, r, status, "console_upload.html", data)
	}
	file, hdr, err := r.FormFile("file")
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		fail(http.StatusRequestEntityTooLarge, T["upload_toolarge"])
		return
	case err != nil:
		fail(http.StatusBadRequest, T["upload_nofile"])
		return
	}
	defer file.Close()
	b, err := io.ReadAll(io.LimitReader(file, maxUpload+1))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(b) > maxUpload {
		fail(http.StatusRequestEntityTooLarge, T["upload_toolarge"])
		return
	}
	name := path.Base(strings.ReplaceAll(hdr.Filename, `\`, "/"))
	fv, _, created, err := formcheck.AddForm(r.Context(), s.st, name, b)
	var fe *form.Error
	if errors.As(err, &fe) {
		if !s.audit(w, r, security.AuditEvent{Actor: actor(p), Action: security.ActionFormChange, Object: "file:" + name,
			Outcome: security.OutcomeFailed, Detail: fmt.Sprintf("upload problems=%d", len(fe.Problems))}) {
			return
		}
		data["Problems"] = problemRows(fe)
		data["Problem"] = fmt.Sprintf(T["upload_problems"], max(len(fe.Problems), 1))
		s.renderStatus(w, r, http.StatusUnprocessableEntity, "console_upload.html", data)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	detail := fmt.Sprintf("upload revision=%d file=%s", fv.Revision, name)
	if !created {
		detail = fmt.Sprintf("upload unchanged revision=%d file=%s", fv.Revision, name)
	}
	if !s.audit(w, r, security.AuditEvent{Actor: actor(p), Action: security.ActionFormChange, Object: "form:" + fv.FormID,
		Outcome: security.OutcomeOK, Detail: detail}) {
		return
	}
	done := "created"
	if !created {
		done = "unchanged"
	}
	http.Redirect(w, r, fmt.Sprintf("/console/forms/%s/versions?lang=%s&%s=%d", fv.FormID, l, done, fv.Revision), http.StatusSeeOther)
}

// problemRow is one line of the problems table.
type problemRow struct{ Where, Message string }

func problemRows(fe *form.Error) []problemRow {
	if len(fe.Problems) == 0 {
		return []problemRow{{Where: fe.File, Message: fe.Error()}}
	}
	out := make([]problemRow, len(fe.Problems))
	for i, pr := range fe.Problems {
		where := pr.Sheet
		if pr.Sheet != "" && pr.Row > 0 {
			where = pr.Sheet + "!" + strconv.Itoa(pr.Row)
		}
		out[i] = problemRow{Where: where, Message: pr.Message}
	}
	return out
}

// versionRow is one stored revision as the versions page lists it.
type versionRow struct {
	Revision                              int
	Version, Title, Hash, Source, Created string
	Latest                                bool
}

// consoleVersions serves GET /console/forms/{form_id}/versions.
func (s *Server) consoleVersions(w http.ResponseWriter, r *http.Request, p security.Principal) {
	latest, err := s.st.Form(r.Context(), r.PathValue("form_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var rows []versionRow
	for rev := latest.Revision; rev >= 1; rev-- {
		fv, err := s.st.FormRevision(r.Context(), latest.FormID, rev)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		rows = append(rows, versionRow{Revision: fv.Revision, Version: fv.Version, Title: fv.Title, Hash: fv.Hash[:min(12, len(fv.Hash))],
			Source: fv.SourceName, Created: fv.CreatedAt.In(chinaTime).Format("2006-01-02 15:04"), Latest: rev == latest.Revision})
	}
	data := s.consoleData(r, p)
	T := data["T"].(map[string]string)
	q := r.URL.Query()
	if n, err := strconv.Atoi(q.Get("created")); err == nil {
		data["Notice"] = fmt.Sprintf(T["upload_created"], latest.FormID, n)
	} else if n, err := strconv.Atoi(q.Get("unchanged")); err == nil {
		data["Notice"] = fmt.Sprintf(T["upload_unchanged"], n)
	}
	data["Form"] = latest
	data["Versions"] = rows
	s.render(w, r, "console_versions.html", data)
}

// consolePreview serves GET /console/forms/{form_id}/preview: the
// respondent form, whatever its schedule, whose submission is stopped in
// the browser (console.js) and, should that fail, sent to a path that
// stores nothing. No client cookie is set.
func (s *Server) consolePreview(w http.ResponseWriter, r *http.Request, p security.Principal) {
	fv, f, err := s.forms.Latest(r.Context(), r.PathValue("form_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := lang(r)
	pages, sp := buildForm(f, fv.FormID, fv.Revision, l)
	// A preview keeps its draft apart from the real form's.
	sp.Form = "preview:" + fv.FormID
	spec, err := jsonString(sp)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := s.consoleData(r, p)
	data["FormID"], data["Title"], data["Revision"] = fv.FormID, f.Title, fv.Revision
	data["Pages"], data["Spec"], data["Consent"] = pages, spec, consent(f, l)
	data["Unsupported"] = f.Unsupported
	s.render(w, r, "console_preview.html", data)
}

// shareURL is the respondents' link to a form: under the public URL
// when the server has one (behind a proxy, the host a staff member's
// browser reached may be an internal one), else on this server as the
// staff member's browser reached it.
func (s *Server) shareURL(r *http.Request, formID string) string {
	if s.publicURL != "" {
		return strings.TrimRight(s.publicURL, "/") + "/f/" + formID
	}
	scheme := "http"
	if s.tls || r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/f/" + formID
}

// scheduleView is a form's collection period as the share page shows it.
type scheduleView struct {
	Opens, Closes string // datetime-local values in the collector's location; "" for none
	Zone          string // that location: "CST, UTC+08:00"
	Status        string // status_open, status_not_yet, status_closed
}

func (s *Server) scheduleOf(f *form.Form) scheduleView {
	// The collector's location, not the console's own idea of China time:
	// one reading of a schedule for the page and for submissions.
	loc := s.collector.Location()
	_, off := time.Now().In(loc).Zone()
	v := scheduleView{Zone: fmt.Sprintf("%s, UTC%+03d:%02d", loc, off/3600, abs(off%3600)/60)}
	sch, err := collect.ScheduleOf(f, loc)
	if err != nil {
		v.Status = "status_closed"
		return v
	}
	const local = "2006-01-02T15:04"
	if !sch.Opens.IsZero() {
		v.Opens = sch.Opens.In(loc).Format(local)
	}
	if !sch.Closes.IsZero() {
		v.Closes = sch.Closes.In(loc).Format(local)
	}
	var closed *collect.ClosedError
	switch err := s.collector.Open(f); {
	case err == nil:
		v.Status = "status_open"
	case errors.As(err, &closed) && closed.NotYet:
		v.Status = "status_not_yet"
	default:
		v.Status = "status_closed"
	}
	return v
}

// consoleShare serves GET /console/forms/{form_id}/share: the link, its
// QR code, and the collection period (editable with forms.write).
func (s *Server) consoleShare(w http.ResponseWriter, r *http.Request, p security.Principal) {
	data, fv, f, ok := s.formPageData(w, r, p)
	if !ok {
		return
	}
	T := data["T"].(map[string]string)
	data["Link"] = s.shareURL(r, fv.FormID)
	data["Schedule"] = s.scheduleOf(f)
	data["CanWrite"] = p.Can(security.PermFormsWrite)
	q := r.URL.Query()
	if n, err := strconv.Atoi(q.Get("saved")); err == nil {
		data["Notice"] = fmt.Sprintf(T["schedule_saved"], n)
	} else if q.Get("unchanged") == "1" {
		data["Notice"] = T["schedule_unchanged"]
	}
	s.render(w, r, "console_share.html", data)
}

// formQR encodes the form's link; a missing form is 404.
func (s *Server) formQR(w http.ResponseWriter, r *http.Request) (*qr.Code, bool) {
	fv, err := s.st.Form(r.Context(), r.PathValue("form_id"))
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	code, err := qr.Encode(s.shareURL(r, fv.FormID), qr.M)
	if err != nil {
		s.fail(w, r, fmt.Errorf("web: QR code: %w", err))
		return nil, false
	}
	return code, true
}

// formQRSVG serves GET /console/forms/{form_id}/qr.svg: one path of unit
// squares with the four-module quiet zone the standard asks for.
func (s *Server) formQRSVG(w http.ResponseWriter, r *http.Request, p security.Principal) {
	code, ok := s.formQR(w, r)
	if !ok {
		return
	}
	n := code.Size + 8
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y := 0; y < code.Size; y++ {
		for x := 0; x < code.Size; x++ {
			if code.Black(x, y) {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+4, y+4)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Write(b.Bytes())
}

// formQRPNG serves GET /console/forms/{form_id}/qr.png, to save and send.
func (s *Server) formQRPNG(w http.ResponseWriter, r *http.Request, p security.Principal) {
	code, ok := s.formQR(w, r)
	if !ok {
		return
	}
	code.Scale = 8
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Header().Set("Content-Disposition", `attachment; filename="`+r.PathValue("form_id")+`-qr.png"`)
	w.Write(code.PNG())
}

// consoleSchedule serves POST /console/forms/{form_id}/schedule: the
// form's settings open_at and close_at are set in a copy of its source,
// which is stored as a new revision (the store keeps every file a
// revision was compiled from), so every node picks it up.
func (s *Server) consoleSchedule(w http.ResponseWriter, r *http.Request, p security.Principal) {
	fv, err := s.st.Form(r.Context(), r.PathValue("form_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	opens := strings.TrimSpace(r.PostFormValue("open_at"))
	closes := strings.TrimSpace(r.PostFormValue("close_at"))
	name, b, err := withSchedule(fv, opens, closes)
	if err == nil {
		var f *form.Form
		if f, err = formcheck.Parse(name, b); err == nil {
			_, err = collect.ScheduleOf(f, s.collector.Location())
		}
	}
	if err != nil {
		s.audit(w, r, security.AuditEvent{Actor: actor(p), Action: security.ActionFormChange, Object: "form:" + fv.FormID,
			Outcome: security.OutcomeFailed, Detail: "schedule"})
		s.writeError(w, http.StatusUnprocessableEntity, "bad_schedule", err.Error(), "open_at")
		return
	}
	nv, _, created, err := collect.AddForm(r.Context(), s.st, name, b)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !s.audit(w, r, security.AuditEvent{Actor: actor(p), Action: security.ActionFormChange, Object: "form:" + fv.FormID,
		Outcome: security.OutcomeOK, Detail: fmt.Sprintf("schedule open_at=%q close_at=%q revision=%d", opens, closes, nv.Revision)}) {
		return
	}
	target := fmt.Sprintf("/console/forms/%s/share?lang=%s&saved=%d", fv.FormID, lang(r), nv.Revision)
	if !created {
		target = fmt.Sprintf("/console/forms/%s/share?lang=%s&unchanged=1", fv.FormID, lang(r))
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// withSchedule returns fv's source as an .xlsx workbook with settings
// open_at and close_at set ("" removes one). Every source format reads
// into the same workbook, so one writer serves them all; cell formatting
// of an .xlsx original is not kept.
func withSchedule(fv store.FormVersion, opens, closes string) (string, []byte, error) {
	wb, err := form.ReadWorkbook(fv.SourceName, fv.Source)
	if err != nil {
		return "", nil, err
	}
	set := wb.Sheet("settings")
	if set == nil {
		set = &form.Sheet{Name: "settings"}
		wb.Sheets["settings"] = set
		wb.Order = append(wb.Order, "settings")
	}
	if len(set.Rows) == 0 {
		set.Rows = append(set.Rows, form.Row{Num: 2, Cells: map[string]string{}})
	}
	row := set.Rows[0]
	if row.Cells == nil {
		row.Cells = map[string]string{}
	}
	for key, value := range map[string]string{"open_at": opens, "close_at": closes} {
		col := ""
		for _, h := range set.Header {
			if strings.EqualFold(strings.TrimSpace(h), key) {
				col = h
			}
		}
		if col == "" {
			col = key
			set.Header = append(set.Header, key)
		}
		if value == "" {
			delete(row.Cells, col)
		} else {
			row.Cells[col] = value
		}
	}
	set.Rows[0] = row

	x := excelize.NewFile()
	defer x.Close()
	for i, key := range wb.Order {
		sh := wb.Sheets[key]
		if i == 0 {
			if err := x.SetSheetName("Sheet1", sh.Name); err != nil {
				return "", nil, fmt.Errorf("web: schedule: %w", err)
			}
		} else if _, err := x.NewSheet(sh.Name); err != nil {
			return "", nil, fmt.Errorf("web: schedule: %w", err)
		}
		cols := map[string]int{}
		for c, h := range sh.Header {
			cols[h] = c + 1
			if err := setCell(x, sh.Name, c+1, 1, h); err != nil {
				return "", nil, err
			}
		}
		last := 1
		for _, rw := range sh.Rows {
			n := max(rw.Num, last+1)
			last = n
			for h, v := range rw.Cells {
				if c, ok := cols[h]; ok {
					if err := setCell(x, sh.Name, c, n, v); err != nil {
						return "", nil, err
					}
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		return "", nil, fmt.Errorf("web: schedule: %w", err)
	}
	base := path.Base(fv.SourceName)
	return strings.TrimSuffix(base, path.Ext(base)) + ".xlsx", buf.Bytes(), nil
}

func setCell(x *excelize.File, sheet string, col, row int, v string) error {
	cell, err := excelize.CoordinatesToCellName(col, row)
	if err == nil {
		// Strings stay strings: a version like 2019110301 must not turn
		// into a number.
		err = x.SetCellStr(sheet, cell, v)
	}
	if err != nil {
		return fmt.Errorf("web: schedule: %w", err)
	}
	return nil
}

func abs(x int) int { return max(x, -x) }

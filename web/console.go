package web

import (
	"net/http"
	"strings"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// The console: the forms, each question's classification, the exports a
// role allows, and, for auditors, the export volume alerts.

func (s *Server) consoleData(r *http.Request, p security.Principal) map[string]any {
	l := lang(r)
	roles := make([]string, len(p.Roles))
	for i, role := range p.Roles {
		roles[i] = string(role)
	}
	return map[string]any{"Lang": l, "T": pageWords(l), "Assets": s.assets.version,
		"User": p.User, "Roles": strings.Join(roles, ", "), "CSRF": s.csrfToken(r), "P": p}
}

// formPageData is what a form's console page starts from: the console's
// data with the latest version of the path's form as .Form, the version
// and the form; false, having answered (404 for an unknown form), when
// the form cannot be read.
func (s *Server) formPageData(w http.ResponseWriter, r *http.Request, p security.Principal) (map[string]any, store.FormVersion, *form.Form, bool) {
	fv, f, err := s.forms.Latest(r.Context(), r.PathValue("form_id"))
	if err != nil {
		s.fail(w, r, err)
		return nil, fv, nil, false
	}
	data := s.consoleData(r, p)
	data["Form"] = fv
	return data, fv, f, true
}

// console serves GET /console.
func (s *Server) console(w http.ResponseWriter, r *http.Request, p security.Principal) {
	fvs, err := s.st.Forms(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var forms []formSummary
	for _, fv := range fvs {
		n, err := s.st.CountResponses(r.Context(), fv.FormID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		forms = append(forms, formSummary{FormID: fv.FormID, Revision: fv.Revision, Title: fv.Title, Responses: n})
	}
	data := s.consoleData(r, p)
	data["Forms"] = forms
	if p.Can(security.PermAuditRead) {
		data["Alerts"] = s.recentAlerts(r.Context())
		data["ShowAlerts"] = true
	}
	s.render(w, r, "console.html", data)
}

// consoleForm serves GET /console/forms/{form_id}.
func (s *Server) consoleForm(w http.ResponseWriter, r *http.Request, p security.Principal) {
	data, _, f, ok := s.formPageData(w, r, p)
	if !ok {
		return
	}
	data["Fields"] = fieldsOf(f)
	data["CanExport"] = p.Can(security.PermResponsesExport)
	data["CanExportPersonal"] = p.Can(security.PermResponsesExportPersonal)
	s.render(w, r, "console_form.html", data)
}

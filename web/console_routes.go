package web

import (
	"net/http"
	"time"

	"github.com/govsurvey/govsurvey/security"
)

// routesConsole registers the console's forms, collection and
// administration pages (issue #9 parts 1, 2 and 6). Writes need their
// permission, are CSRF-checked by authorize (csrf.go) and audited.
func (s *Server) routesConsole() {
	s.staff("GET /console/upload", security.PermFormsWrite, s.consoleUploadPage)
	s.staff("POST /console/upload", security.PermFormsWrite, s.consoleUpload)
	s.staff("GET /console/forms/{form_id}/versions", security.PermFormsRead, s.consoleVersions)
	s.staff("GET /console/forms/{form_id}/preview", security.PermFormsRead, s.consolePreview)
	s.staff("GET /console/forms/{form_id}/share", security.PermFormsRead, s.consoleShare)
	s.staff("GET /console/forms/{form_id}/qr.svg", security.PermFormsRead, s.formQRSVG)
	s.staff("GET /console/forms/{form_id}/qr.png", security.PermFormsRead, s.formQRPNG)
	s.staff("POST /console/forms/{form_id}/schedule", security.PermFormsWrite, s.consoleSchedule)

	// Province counts decode every response: tallied from the store again
	// when the form's count has changed (provinceCache says how often).
	pc := &provinceCache{maxAge: provinceMaxAge, m: map[string]provinceEntry{}}
	s.staff("GET /console/forms/{form_id}/collection", security.PermFormsRead, func(w http.ResponseWriter, r *http.Request, p security.Principal) {
		s.consoleCollection(w, r, p, pc)
	})
	s.staff("GET /api/v1/forms/{form_id}/progress", security.PermFormsRead, func(w http.ResponseWriter, r *http.Request, p security.Principal) {
		s.formProgress(w, r, p, pc)
	})

	// Reports (console_reports.go) and the live dashboard (console_dashboard.go).
	js, dc := newReportJobs(), newDashCache()
	s.staff("GET /console/forms/{form_id}/reports", security.PermReportsWrite, func(w http.ResponseWriter, r *http.Request, p security.Principal) {
		s.consoleReports(w, r, p, js)
	})
	s.staff("POST /console/forms/{form_id}/reports", security.PermReportsWrite, func(w http.ResponseWriter, r *http.Request, p security.Principal) {
		s.consoleReportStart(w, r, p, js)
	})
	s.staff("GET /console/forms/{form_id}/reports/{file}", security.PermReportsWrite, func(w http.ResponseWriter, r *http.Request, p security.Principal) {
		s.reportFileGet(w, r, p, js)
	})
	s.staff("GET /api/v1/forms/{form_id}/report", security.PermReportsWrite, func(w http.ResponseWriter, r *http.Request, p security.Principal) {
		s.reportStatusAPI(w, r, p, js)
	})
	s.staff("GET /console/forms/{form_id}/dashboard", security.PermAnalysisRead, s.consoleDashboard)
	s.staff("GET /api/v1/forms/{form_id}/dashboard", security.PermAnalysisRead, func(w http.ResponseWriter, r *http.Request, p security.Principal) {
		s.dashboardAPI(w, r, p, dc)
	})

	// The start beacon of form.js, for the completion rate (console_starts.go).
	s.starts = newStartCounter(s.st, s.log.Warn)
	s.public("POST /api/v1/forms/{form_id}/starts", func(w http.ResponseWriter, r *http.Request) { s.formStart(w, r, s.starts) })

	s.staff("GET /console/admin/users", security.PermUsersManage, s.consoleUsers)
	s.staff("POST /console/admin/users", security.PermUsersManage, s.consoleAddUser)
	s.staff("POST /console/admin/users/{user}/roles", security.PermUsersManage, s.consoleSetRoles)
	s.staff("POST /console/admin/users/{user}/disabled", security.PermUsersManage, s.consoleSetDisabled)
	s.staff("GET /console/admin/tokens", security.PermUsersManage, s.consoleTokens)
	s.staff("POST /console/admin/tokens", security.PermUsersManage, s.consoleNewToken)
	s.staff("POST /console/admin/tokens/{token}/revoke", security.PermUsersManage, s.consoleRevokeToken)
	s.staff("GET /console/admin/audit", security.PermAuditRead, s.consoleAudit)
	s.staff("GET /console/admin/keys", security.PermKeysRotate, s.consoleKeys)
}

// provinceMaxAge is how long a province tally is kept while the form's
// count of responses does not change.
const provinceMaxAge = 5 * time.Minute

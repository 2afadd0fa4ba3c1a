package web

import (
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/govsurvey/govsurvey/security"
)

// The console login: a plain form posted to /login. CSRF is refused for
// every unsafe request by http.CrossOriginProtection (headers.go), login
// included, so a third-party page cannot log a browser in or out.

// loginWords are the login and console pages' words.
var loginWords = map[string]map[string]string{
	"zh": {
		"login_title": "工作人员登录", "user": "用户名", "password": "密码", "login": "登录", "logout": "退出登录",
		"login_failed": "用户名或密码错误。", "throttled": "登录失败次数过多，请 %s 秒后再试。",
		"console": "管理控制台", "signed_in_as": "当前用户", "roles": "角色",
		"responses": "回答数", "fields": "题目", "classification": "分级", "sealed": "加密存储",
		"yes": "是", "no": "否", "export": "导出（去标识化）", "export_personal": "导出含个人信息字段",
		"purpose": "用途（必填，将记入审计日志）", "alerts": "导出量告警", "no_forms": "尚无问卷。",
		"detected": "自由文本中检测到手机号、身份证号或电子邮箱时按敏感信息加密存储。",
	},
	"en": {
		"login_title": "Staff login", "user": "User name", "password": "Password", "login": "Log in", "logout": "Log out",
		"login_failed": "Wrong user name or password.", "throttled": "Too many failed logins; try again in %s s.",
		"console": "Console", "signed_in_as": "Signed in as", "roles": "Roles",
		"responses": "Responses", "fields": "Questions", "classification": "Classification", "sealed": "Encrypted at rest",
		"yes": "yes", "no": "no", "export": "Export (de-identified)", "export_personal": "Export with personal fields",
		"purpose": "Purpose (required; recorded in the audit log)", "alerts": "Export volume alerts", "no_forms": "No forms yet.",
		"detected": "Free-text answers holding a phone number, ID-card number or e-mail address are encrypted as sensitive.",
	},
}

func pageWords(l string) map[string]string {
	m := make(map[string]string, len(ui[l])+len(loginWords[l]))
	for k, v := range ui[l] {
		m[k] = v
	}
	for k, v := range loginWords[l] {
		m[k] = v
	}
	maps.Copy(m, consoleWords[l]) // console_words.go
	maps.Copy(m, consoleOpenWords[l])
	maps.Copy(m, consoleAdmissionWords[l]) // console_admission_words.go
	return m
}

// localPath keeps a post-login redirect on this site.
func localPath(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.IsAbs() || u.Host != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/console"
	}
	return u.RequestURI()
}

// loginPage serves GET /login.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	l := lang(r)
	s.render(w, r, "login.html", map[string]any{"Lang": l, "T": pageWords(l), "Assets": s.assets.version,
		"Next": localPath(r.URL.Query().Get("next"))})
}

// login serves POST /login.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	l := lang(r)
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	name, password := r.PostFormValue("user"), r.PostFormValue("password")
	next := localPath(r.PostFormValue("next"))
	data := map[string]any{"Lang": l, "T": pageWords(l), "Assets": s.assets.version, "Next": next, "User": name}
	if s.accounts == nil {
		s.writeError(w, http.StatusServiceUnavailable, "no_accounts", "staff accounts are not configured", "")
		return
	}
	client := security.Pseudonym(s.pseudonymKey, security.PurposeRateLimit, "ip:"+s.clientAddr(r).String())
	id, _, err := s.accounts.Login(r.Context(), name, password, client)
	var th *security.ThrottledError
	switch {
	case err == nil:
		s.setSession(w, id, s.accounts.SessionAbsolute())
		http.Redirect(w, r, next, http.StatusSeeOther)
	case errors.As(err, &th):
		secs := int(th.Wait.Seconds()) + 1
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		data["Problem"] = strings.Replace(pageWords(l)["throttled"], "%s", strconv.Itoa(secs), 1)
		s.renderStatus(w, r, http.StatusTooManyRequests, "login.html", data)
	case errors.Is(err, security.ErrLoginFailed):
		data["Problem"] = pageWords(l)["login_failed"]
		s.renderStatus(w, r, http.StatusUnauthorized, "login.html", data)
	default:
		s.fail(w, r, err)
	}
}

// logout serves POST /logout.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, p security.Principal) {
	if c, err := r.Cookie(s.sessionCookie()); err == nil && p.Token == nil {
		if err := s.accounts.Logout(r.Context(), c.Value, p); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.clearSession(w)
	http.Redirect(w, r, "/login?lang="+lang(r), http.StatusSeeOther)
}

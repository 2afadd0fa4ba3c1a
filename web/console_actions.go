package web

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"

	"github.com/govsurvey/govsurvey/security"
)

// The console's list-and-change pages (users, API tokens, open-API keys)
// answer their POSTs one way, Post/Redirect/Get: a change that is done
// redirects (303) to the page with a query parameter naming what changed,
// which the page's GET announces; a change refused for what was asked
// shows the page again with the problem and 422; a secret a POST makes is
// shown on its answer page, once, and never travels in a URL.

// pageLoader builds the data of one such page.
type pageLoader func(r *http.Request, p security.Principal) (map[string]any, error)

// doneNotice is a query parameter of a redirect after a change and the
// words announcing it, a format taking the parameter's value.
type doneNotice struct{ param, words string }

// showPage serves the page's GET: load's data, and the notice of the
// first of notices the query carries.
func (s *Server) showPage(w http.ResponseWriter, r *http.Request, p security.Principal, page string, load pageLoader, notices ...doneNotice) {
	data, err := load(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, n := range notices {
		if v := r.URL.Query().Get(n.param); v != "" {
			data["Notice"] = fmt.Sprintf(pageWords(lang(r))[n.words], v)
			break
		}
	}
	s.render(w, r, page, data)
}

// showAnswer answers a POST on its own page: with problem and 422 when
// the change was refused, else with shown (the secret it made) added.
func (s *Server) showAnswer(w http.ResponseWriter, r *http.Request, p security.Principal, page string, load pageLoader, problem error, shown map[string]any) {
	data, err := load(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if problem != nil {
		data["Problem"] = problem.Error()
		s.renderStatus(w, r, http.StatusUnprocessableEntity, page, data)
		return
	}
	maps.Copy(data, shown)
	s.render(w, r, page, data)
}

// redirectDone sends the browser back to path after a change, in its
// language, with param=value for the page's notice.
func redirectDone(w http.ResponseWriter, r *http.Request, path, param, value string) {
	http.Redirect(w, r, path+"?lang="+lang(r)+"&"+param+"="+url.QueryEscape(value), http.StatusSeeOther)
}

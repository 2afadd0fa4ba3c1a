package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

func parsePages() (*template.Template, error) {
	t, err := template.New("").ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	return t, nil
}

// pageCSP allows only govsurvey's own scripts, styles and requests: no
// inline script, nothing from another origin, no framing.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// render executes a page into a buffer first, so a template error becomes a
// clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	s.renderStatus(w, r, http.StatusOK, name, data)
}

func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.fail(w, r, fmt.Errorf("web: render %s: %w", name, err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// lang picks the page language: ?lang=, else Chinese.
func lang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "en" || l == "zh" {
		return l
	}
	return "zh"
}

// apiLang picks the language of an API error message: ?lang=, else the
// first language the client accepts if it is English, else Chinese.
func apiLang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "en" || l == "zh" {
		return l
	}
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(r.Header.Get("Accept-Language"))), "en") {
		return "en"
	}
	return "zh"
}

// chinaTime shows open and close times to respondents.
var chinaTime = time.FixedZone("CST", 8*3600)

// ui holds the words of page chrome and of the web form in both languages.
// form.js gets the same map (spec.msg), so there is one list to translate.
var ui = map[string]map[string]string{
	"zh": {
		"title": "govsurvey 问卷平台", "forms": "问卷", "no_forms": "尚无问卷。",
		"other_lang": "English", "other_code": "en", "lang_label": "语言",
		"consent_title": "调查说明与隐私声明",
		"consent_default": "本调查由调查组织方开展，目的是了解公众对网络安全和政府网上服务的感受与意见，结果仅以统计汇总的形式发布。\n" +
			"调查不收集您的姓名、电话、身份证号或 IP 地址。为防止重复提交，我们会在您的浏览器中保存一个随机标识，服务器只保存它的加密摘要。\n" +
			"您的回答仅用于统计分析，不提供给第三方，在调查报告发布后保存不超过 12 个月。\n" +
			"提交后您将获得一个回执码，凭此码可随时撤回您的回答：回答将被删除，且不计入统计。\n" +
			"参与完全自愿，您可以随时停止；未提交的回答只保存在您的浏览器中，不会发送。",
		"agree": "同意并开始", "prev": "上一页", "next": "下一页", "submit": "提交", "sending": "正在提交……",
		"page_of": "第 {n} 页，共 {total} 页", "required": "必答", "choose": "请选择",
		"err_required": "此题为必答题。", "err_constraint": "答案不符合本题要求。",
		"err_integer": "请输入整数。", "err_decimal": "请输入数字。", "err_format": "答案格式不正确。",
		"err_summary": "本页有 {n} 处需要修改：",
		"err_retry":   "网络连接中断，正在重试……", "err_failed": "暂时无法提交，请稍后再试。您的回答仍保存在本浏览器中。",
		"thanks_title": "感谢您的参与！", "thanks_body": "您的回答已安全保存。",
		"receipt_label": "回执码",
		"receipt_help":  "请保存此回执码（可截图）。如需撤回回答，请打开“撤回回答”页面并输入此码：您的回答将被删除，且不计入统计。",
		"withdraw_link": "撤回回答", "withdraw_title": "撤回我的回答",
		"withdraw_intro":  "请输入提交问卷后获得的回执码（16 位字母和数字）。撤回后，您的回答将被删除，且不计入统计。",
		"withdraw_button": "撤回", "withdraw_done": "您的回答已撤回并删除。",
		"withdraw_unknown": "没有找到此回执码对应的回答，请检查后重试。",
		"withdraw_bad":     "回执码格式不正确：应为 16 位字母和数字，例如 7K3M-9QXA-2D4F-HJ8W。",
		"closed":           "本问卷已结束，感谢您的关注。", "not_open": "本问卷将于 %s 开放，敬请届时参与。",
		"noscript": "本问卷需要启用 JavaScript 才能填写。",
		"honeypot": "请勿填写此项", "unsupported": "此题暂不支持网页填写，可跳过。",
		"progress": "进度", "other_lang_name": "English",
	},
	"en": {
		"title": "govsurvey survey platform", "forms": "Forms", "no_forms": "No forms yet.",
		"other_lang": "中文", "other_code": "zh", "lang_label": "Language",
		"consent_title": "About this survey and your privacy",
		"consent_default": "This survey is run by its organisers to learn how the public feels about cybersecurity and government online services. Results are published only as statistical totals.\n" +
			"We do not collect your name, phone number, ID number or IP address. To prevent repeated submissions, your browser keeps a random identifier; the server stores only a keyed hash of it.\n" +
			"Your answers are used only for statistical analysis, are not given to third parties, and are kept for at most 12 months after the survey report is published.\n" +
			"After submitting you get a receipt code. With it you can withdraw your answers at any time: they are erased and left out of the results.\n" +
			"Taking part is voluntary and you may stop at any time; answers not submitted stay in your browser and are never sent.",
		"agree": "I agree, start", "prev": "Back", "next": "Next", "submit": "Submit", "sending": "Sending…",
		"page_of": "Page {n} of {total}", "required": "required", "choose": "Choose…",
		"err_required": "This question is required.", "err_constraint": "This answer is not accepted.",
		"err_integer": "Enter a whole number.", "err_decimal": "Enter a number.", "err_format": "The answer is not in the right format.",
		"err_summary": "{n} answer(s) on this page need attention:",
		"err_retry":   "The connection dropped; trying again…", "err_failed": "Could not submit just now; please try again later. Your answers are still kept in this browser.",
		"thanks_title": "Thank you for taking part!", "thanks_body": "Your answers are safely stored.",
		"receipt_label": "Receipt code",
		"receipt_help":  "Keep this receipt code (a screenshot will do). To withdraw your answers, open the withdrawal page and enter it: your answers are erased and left out of the results.",
		"withdraw_link": "Withdraw my answers", "withdraw_title": "Withdraw my answers",
		"withdraw_intro":  "Enter the receipt code you got after submitting (16 letters and digits). Your answers will be erased and left out of the results.",
		"withdraw_button": "Withdraw", "withdraw_done": "Your answers have been withdrawn and erased.",
		"withdraw_unknown": "No answers have this receipt code; please check it and try again.",
		"withdraw_bad":     "That is not a receipt code: it has 16 letters and digits, such as 7K3M-9QXA-2D4F-HJ8W.",
		"closed":           "This survey is closed. Thank you for your interest.", "not_open": "This survey opens on %s.",
		"noscript": "This form needs JavaScript turned on.",
		"honeypot": "Leave this empty", "unsupported": "This question cannot be answered in the web form; skip it.",
		"progress": "Progress", "other_lang_name": "中文",
	},
}

type homeForm struct {
	ID, Title string
	Revision  int
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	fvs, err := s.st.Forms(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := lang(r)
	var forms []homeForm
	for _, fv := range fvs {
		forms = append(forms, homeForm{ID: fv.FormID, Title: fv.Title, Revision: fv.Revision})
	}
	s.render(w, r, "home.html", map[string]any{"Lang": l, "T": ui[l], "Forms": forms, "Assets": s.assets.version})
}

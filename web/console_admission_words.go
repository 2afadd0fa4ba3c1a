package web

// consoleAdmissionWords are the words of the admission page
// (console_admission.go) and of the quota table it shares with the
// collection page, merged into pageWords.
var consoleAdmissionWords = map[string]map[string]string{
	"zh": {
		"adm_nav": "邀请与配额", "adm_title": "邀请与配额",
		"adm_invitations": "邀请", "adm_required": "本问卷仅限受邀者填写：每次提交须带一个一次性邀请码（问卷设置 invitation = required）。",
		"adm_open":  "本问卷不要求邀请：任何人打开链接即可填写（邀请链接同样可用）。若要仅限受邀者，请在问卷设置中写 invitation = required。",
		"adm_total": "邀请总数", "adm_used": "已使用", "adm_unused": "未使用",
		"adm_create": "生成邀请", "adm_n": "数量", "adm_n_help": "一次 1 至 %d 个。",
		"adm_link_example": "链接形如", "adm_create_button": "生成并下载 CSV",
		"adm_once":         "系统只保存邀请码的哈希值，不保存邀请码本身：下载的 CSV 文件（序号、邀请码、链接）是邀请码唯一的副本，只提供这一次，请妥善保存，丢失后无法找回（只能重新生成）。",
		"adm_after":        "下载完成后，上方的邀请总数会自动更新。",
		"adm_need_write":   "生成邀请需要 forms.write 权限。",
		"adm_bad_n":        "数量须为 1 至 %d 之间的整数。",
		"adm_settings_bad": "问卷设置有误，问卷在修正前不接受提交：",
		"adm_quotas":       "配额", "adm_quota": "题目：选项", "adm_limit": "上限", "adm_taken": "已占", "adm_remaining": "剩余", "adm_pct": "进度",
		"adm_no_quotas": "本问卷未设配额（问卷设置 quotas）。",
	},
	"en": {
		"adm_nav": "Invitations & quotas", "adm_title": "Invitations and quotas",
		"adm_invitations": "Invitations", "adm_required": "This form is by invitation only: each submission must carry a one-time invitation token (settings invitation = required).",
		"adm_open":  "This form does not require an invitation: anyone with the link can answer (invitation links work too). To restrict it, set invitation = required in the form's settings.",
		"adm_total": "Invitations", "adm_used": "Used", "adm_unused": "Unused",
		"adm_create": "Make invitations", "adm_n": "How many", "adm_n_help": "1 to %d at a time.",
		"adm_link_example": "Links look like", "adm_create_button": "Make and download CSV",
		"adm_once":         "Only a hash of each token is stored, never the token: the CSV you download (n, token, link) is the one copy of the tokens and is offered this once. Keep it safe; a lost token cannot be recovered, only replaced by new ones.",
		"adm_after":        "Once downloaded, the count above updates by itself.",
		"adm_need_write":   "Making invitations needs the forms.write permission.",
		"adm_bad_n":        "How many must be a whole number from 1 to %d.",
		"adm_settings_bad": "The form's settings are wrong; it takes no submissions until they are fixed:",
		"adm_quotas":       "Quotas", "adm_quota": "Question: choice", "adm_limit": "Limit", "adm_taken": "Taken", "adm_remaining": "Remaining", "adm_pct": "Filled",
		"adm_no_quotas": "This form has no quotas (settings quotas).",
	},
}

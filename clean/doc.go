// Package clean owns cleaning: the rules of CONTRACTS.md §3 that decide
// which collected responses are valid, each with a reason code, the further
// indices a methodologist may turn on, analysts' overrides, and the
// collected → valid funnel.
//
// Cleaning flags, it never deletes: Run stores one flag per response that
// broke a rule (its reasons, in canonical order, and RuleVersion), replacing
// the previous run's flags of the form as a whole. The same stored data and
// settings give the same flags.
//
// The rules and their exact semantics (each is a per-form setting, read
// from the XLSForm settings sheet; docs/cleaning.md lists the columns):
//
//   - duplicate: the same non-empty client and identical answers to every
//     question as an earlier response (earlier = SubmittedAt, then
//     InstanceID: the store's stream order). The earliest stays valid; an
//     empty client never matches. Answers are compared by field name and
//     value, so responses of two revisions compare too; only a 16-byte
//     digest of client and answers is kept per response.
//   - speeding: ended − started < speeding_ratio (0.3) × the median of that
//     duration over every response of the form that has both timestamps
//     (flagged ones included); responses without both are not checked.
//     The median of an even count is the mean of the two middle values;
//     the comparison is strict, and a negative duration (ended before
//     started) is below any limit.
//   - incomplete: a required question (required = yes, or a required
//     expression that is true) whose relevance — its own relevant and that
//     of every enclosing group — is true is unanswered.
//   - invalid_value: an answered select_one that is not a choice name of its
//     list ("other" too with or_other), a select_multiple or rank with any
//     space-separated token that is not, an integer that is not a base-10
//     int64, a decimal or range that is not a plain decimal number, a date
//     not YYYY-MM-DD, a time or dateTime not in ISO 8601 / RFC 3339 form.
//     Selects whose lists live outside the form are not checked.
//   - consistency:<name>: the checks row <name> of the latest form revision
//     evaluates to false, with XPath semantics: an unanswered question is
//     the empty string (so ${x} != 'a' is true when x is unanswered).
//   - honeypot: the response's store.Response.Honeypot is set, which only
//     the web form does when its hidden trap field comes back filled in.
//
// Expressions see the response's own answers; today() is the day it was
// submitted, so re-cleaning later gives the same flags. Each response is
// judged against the questions of the revision it was collected with; the
// checks and the settings are the latest revision's.
//
// Further indices, off by default: straightlining (a battery — questions
// sharing a value in a survey-sheet battery column — answered with a run of
// identical consecutive answers), attention (a question with an attention
// column not given the answer that column names, when relevant),
// near_duplicate (an earlier response of another client shares at least
// near_duplicate_share of the answers; found through exact-match band keys,
// see nearIndex for the approximation) and burst (more than burst_max
// submissions from one client within burst_window).
//
// A response with several reasons counts once among the invalid and once
// under each reason. Overrides (store.Override) win over the rules: the
// latest override of a response decides, in every later run too.
package clean

package security

import (
	"regexp"
	"sort"
	"time"
	"unicode/utf8"
)

// FindingKind names a kind of personal data found in free text.
type FindingKind string

const (
	FindingMobile FindingKind = "mobile"  // mainland mobile number, 1[3-9]xxxxxxxxx, optionally +86
	FindingIDCard FindingKind = "id_card" // resident ID-card number, 18 digits (GB 11643) or 15 (legacy)
	FindingEmail  FindingKind = "email"   // e-mail address
)

// Finding is one piece of personal data in a text: text[Start:End] (byte
// offsets) is what was found.
type Finding struct {
	Kind  FindingKind
	Start int
	End   int
}

// emailPattern is deliberately plain: an ASCII local part, '@' (or the
// full-width '＠' some input methods produce), dot-separated labels and an
// alphabetic top-level domain of two letters or more.
var emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+\-]+[@＠][A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}`)

// DetectPersonal finds mainland mobile numbers, resident ID-card numbers and
// e-mail addresses in text, in order of Start. It is meant to mark a
// free-text answer as sensitive, so it leans towards finding:
//
//   - a number counts only as a whole: a run of digits (ASCII or full-width)
//     not touching another digit or an ASCII letter, so 19-digit order
//     numbers or "SN13812345678" are not read as a phone or ID number;
//   - mobile: 11 digits 1[3-9]…, written in one piece or as 3-4-4 groups
//     split by single spaces or hyphens, optionally preceded by +86, 86 or
//     0086 (joined or split by one space or hyphen);
//   - ID card: 18 characters (17 digits and a digit or X) with a known
//     province code, a real birth date and a correct GB 11643 check digit,
//     or the 15-digit legacy form with a province code and a real 19YY date;
//   - numbers inside a found e-mail address are not reported again.
//
// ID numbers split by spaces, and obfuscations ("138 一二三四 5678",
// "a at b dot com") are not detected.
func DetectPersonal(text string) []Finding {
	var out []Finding
	for _, m := range emailPattern.FindAllStringIndex(text, -1) {
		out = append(out, Finding{Kind: FindingEmail, Start: m[0], End: m[1]})
	}
	emails := len(out)
	runs := digitRuns(text)
	for i := 0; i < len(runs); i++ {
		f, used, ok := numberAt(text, runs, i)
		if !ok {
			continue
		}
		if !insideAny(out[:emails], f) {
			out = append(out, f)
		}
		i += used - 1
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

// ContainsPersonal reports whether DetectPersonal finds anything in text.
func ContainsPersonal(text string) bool { return len(DetectPersonal(text)) > 0 }

// digitRun is a maximal run of digits; digits holds them as ASCII.
type digitRun struct {
	start, end int // byte offsets
	digits     string
}

func digitRuns(text string) []digitRun {
	var runs []digitRun
	var cur []byte
	start := -1
	for i, r := range text {
		d, ok := digitValue(r)
		if ok {
			if start < 0 {
				start = i
				cur = cur[:0]
			}
			cur = append(cur, '0'+d)
			continue
		}
		if start >= 0 {
			runs = append(runs, digitRun{start: start, end: i, digits: string(cur)})
			start = -1
		}
	}
	if start >= 0 {
		runs = append(runs, digitRun{start: start, end: len(text), digits: string(cur)})
	}
	return runs
}

func digitValue(r rune) (byte, bool) {
	switch {
	case r >= '0' && r <= '9':
		return byte(r - '0'), true
	case r >= '０' && r <= '９':
		return byte(r - '０'), true
	}
	return 0, false
}

func isASCIILetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

func isCheckX(r rune) bool { return r == 'X' || r == 'x' || r == 'Ｘ' || r == 'ｘ' }

// runeBefore and runeAfter return utf8.RuneError at the text's ends, which
// counts as a boundary.
func runeBefore(text string, i int) (rune, int) {
	if i <= 0 {
		return utf8.RuneError, 0
	}
	return utf8.DecodeLastRuneInString(text[:i])
}

func runeAfter(text string, i int) (rune, int) {
	if i >= len(text) {
		return utf8.RuneError, 0
	}
	return utf8.DecodeRuneInString(text[i:])
}

// numberAt tries to read a mobile or ID number starting with runs[i]. used
// is how many runs the finding consumed.
func numberAt(text string, runs []digitRun, i int) (f Finding, used int, ok bool) {
	r := runs[i]
	if r, _ := runeBefore(text, r.start); isASCIILetter(r) {
		return Finding{}, 0, false
	}
	// ID card, 17 digits and X.
	if len(r.digits) == 17 {
		if x, size := runeAfter(text, r.end); isCheckX(x) {
			end := r.end + size
			if after, _ := runeAfter(text, end); !isASCIILetter(after) && validID18(r.digits+"X") {
				return Finding{Kind: FindingIDCard, Start: r.start, End: end}, 1, true
			}
			return Finding{}, 0, false
		}
	}
	if after, _ := runeAfter(text, r.end); isASCIILetter(after) {
		return Finding{}, 0, false
	}
	switch n := len(r.digits); {
	case n == 11 && isMobile(r.digits):
		return Finding{Kind: FindingMobile, Start: mobilePrefixStart(text, runs, i), End: r.end}, 1, true
	case n == 13 && r.digits[:2] == "86" && isMobile(r.digits[2:]),
		n == 15 && r.digits[:4] == "0086" && isMobile(r.digits[4:]):
		return Finding{Kind: FindingMobile, Start: plusStart(text, r.start), End: r.end}, 1, true
	case n == 18 && validID18(r.digits):
		return Finding{Kind: FindingIDCard, Start: r.start, End: r.end}, 1, true
	case n == 15 && validID15(r.digits):
		return Finding{Kind: FindingIDCard, Start: r.start, End: r.end}, 1, true
	}
	return groupedMobileAt(text, runs, i)
}

// groupedMobileAt reads "138 1234 5678" or "138-1234-5678" (one separator,
// used twice) starting at runs[i].
func groupedMobileAt(text string, runs []digitRun, i int) (Finding, int, bool) {
	if i+2 >= len(runs) {
		return Finding{}, 0, false
	}
	a, b, c := runs[i], runs[i+1], runs[i+2]
	if len(a.digits) != 3 || len(b.digits) != 4 || len(c.digits) != 4 {
		return Finding{}, 0, false
	}
	if b.start != a.end+1 || c.start != b.end+1 {
		return Finding{}, 0, false
	}
	sep := text[a.end]
	if (sep != ' ' && sep != '-') || text[b.end] != sep {
		return Finding{}, 0, false
	}
	if after, _ := runeAfter(text, c.end); isASCIILetter(after) || after == '-' {
		return Finding{}, 0, false
	}
	if !isMobile(a.digits + b.digits + c.digits) {
		return Finding{}, 0, false
	}
	return Finding{Kind: FindingMobile, Start: mobilePrefixStart(text, runs, i), End: c.end}, 3, true
}

// mobilePrefixStart widens a mobile number starting at runs[i] to include a
// country code written as a separate run just before it: "+86 138…",
// "86-138…", "0086 138…".
func mobilePrefixStart(text string, runs []digitRun, i int) int {
	start := runs[i].start
	if i == 0 {
		return start
	}
	p := runs[i-1]
	if p.digits != "86" && p.digits != "0086" {
		return start
	}
	gap := text[p.end:start]
	if gap != "" && gap != " " && gap != "-" {
		return start
	}
	return plusStart(text, p.start)
}

// plusStart includes a '+' (or full-width '＋') just before i.
func plusStart(text string, i int) int {
	if r, size := runeBefore(text, i); r == '+' || r == '＋' {
		return i - size
	}
	return i
}

func isMobile(d string) bool {
	return len(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9'
}

// provinces are the first two digits of GB/T 2260 division codes used in
// resident ID numbers (71 Taiwan, 81/82/83 the Hong Kong, Macao and Taiwan
// residence permits).
var provinces = map[string]bool{
	"11": true, "12": true, "13": true, "14": true, "15": true,
	"21": true, "22": true, "23": true,
	"31": true, "32": true, "33": true, "34": true, "35": true, "36": true, "37": true,
	"41": true, "42": true, "43": true, "44": true, "45": true, "46": true,
	"50": true, "51": true, "52": true, "53": true, "54": true,
	"61": true, "62": true, "63": true, "64": true, "65": true,
	"71": true, "81": true, "82": true, "83": true,
}

// validID18 checks an 18-character ID number (digits, last one may be 'X'):
// province, birth date, and the GB 11643 MOD 11-2 check digit.
func validID18(id string) bool {
	if len(id) != 18 || !provinces[id[:2]] {
		return false
	}
	if !validDate(atoi(id[6:10]), atoi(id[10:12]), atoi(id[12:14])) {
		return false
	}
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		c := id[i]
		if c < '0' || c > '9' {
			return false
		}
		sum += int(c-'0') * w
	}
	return "10X98765432"[sum%11] == id[17]
}

// validID15 checks a legacy 15-digit ID number: province and a real date
// 19YY-MM-DD. It has no check digit.
func validID15(id string) bool {
	return len(id) == 15 && provinces[id[:2]] &&
		validDate(1900+atoi(id[6:8]), atoi(id[8:10]), atoi(id[10:12]))
}

// validDate accepts real calendar dates from 1900 to 2099. The upper bound
// is fixed rather than "today" so detection never depends on the clock.
func validDate(y, m, d int) bool {
	if y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1 {
		return false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	return t.Day() == d && int(t.Month()) == m
}

// atoi parses a string of ASCII digits (checked by the caller's run).
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func insideAny(fs []Finding, f Finding) bool {
	for _, g := range fs {
		if f.Start >= g.Start && f.End <= g.End {
			return true
		}
	}
	return false
}

package collect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Submission is the body of POST /api/v1/forms/{form_id}/submissions
// (CONTRACTS.md §8). Answers map field names (or group paths) to a string,
// a number, or, for select_multiple, an array of choice names; null or ""
// is unanswered. Revision pins the form revision the respondent saw (0:
// the latest). Paradata and Honeypot come from the web form.
type Submission struct {
	InstanceID string         `json:"instance_id"`
	Revision   int            `json:"revision,omitempty"`
	Started    string         `json:"started,omitempty"`
	Ended      string         `json:"ended,omitempty"`
	Answers    map[string]any `json:"answers"`
	Paradata   *Paradata      `json:"paradata,omitempty"`
	// Honeypot is the web form's hidden trap field: a person never sees
	// it, so anything in it means a program filled in the form.
	Honeypot string `json:"honeypot,omitempty"`
	// Token is the one-time invitation token of an invitation-only form
	// (the t= of the invitation link); other forms ignore it.
	Token string `json:"token,omitempty"`
}

// Paradata is how a response was filled in, kept with it for cleaning and
// for improving the questionnaire. It never holds answers.
type Paradata struct {
	Lang  string     `json:"lang,omitempty"`  // language the form was shown in
	Pages []PageTime `json:"pages,omitempty"` // time on each page, in the order visited
	// Agent is a coarse device class set by the server from the
	// User-Agent ("wechat", "mobile", "desktop", "other"); the header
	// itself is not kept.
	Agent string `json:"agent,omitempty"`
}

// PageTime is the time spent on one page of the web form.
type PageTime struct {
	Page string `json:"page"`
	MS   int64  `json:"ms"`
}

// Limits of what a submission may carry besides its answers.
const (
	maxInstanceID = 100
	maxPages      = 200
	maxPageName   = 64
)

// BadRequestError is a submission that cannot be read at all (400).
type BadRequestError struct{ Msg string }

func (e *BadRequestError) Error() string { return "collect: " + e.Msg }

// DecodeSubmission reads a submission body. Numbers stay as written
// (json.Number), so that "1.50" and 1.50 store alike.
func DecodeSubmission(body []byte) (Submission, error) {
	var s Submission
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&s); err != nil {
		return Submission{}, &BadRequestError{Msg: "the body is not a submission: " + jsonProblem(err)}
	}
	if dec.More() {
		return Submission{}, &BadRequestError{Msg: "the body holds more than one JSON value"}
	}
	return s, nil
}

// jsonProblem says what is wrong with a body without repeating the body.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("%s must be a JSON %s", te.Field, jsonKind(te.Type.Kind().String()))
		}
		return "it must be a JSON object"
	}
	return "invalid JSON"
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "int", "int64":
		return "number"
	case "map", "struct", "ptr":
		return "object"
	case "slice":
		return "array"
	}
	return "value of another type"
}

// InstanceID checks and normalises an instance id as it is stored: ODK's
// "uuid:" prefix is dropped, as the CSV importer does, and only characters
// safe in a URL, a log line and a file name are accepted.
func InstanceID(s string) (string, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "uuid:")
	if s == "" || len(s) > maxInstanceID {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return "", false
		}
	}
	return s, true
}

// clientTime reads started/ended: RFC 3339, with or without fractions;
// "" is none.
func clientTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// cleanParadata bounds what the client sent and encodes it for the store.
func cleanParadata(p *Paradata, agent string) ([]byte, error) {
	out := Paradata{Agent: agent}
	if p != nil {
		out.Pages = make([]PageTime, 0, min(len(p.Pages), maxPages))
		if len(p.Lang) <= 8 {
			out.Lang = p.Lang
		}
		for i, pt := range p.Pages {
			if i == maxPages {
				break
			}
			if len(pt.Page) > maxPageName || pt.MS < 0 {
				continue
			}
			out.Pages = append(out.Pages, pt)
		}
	}
	if out.Lang == "" && out.Agent == "" && len(out.Pages) == 0 {
		return nil, nil
	}
	return out.appendJSON(make([]byte, 0, 64+32*len(out.Pages))), nil
}

// appendJSON appends p as json.Marshal writes it, without its reflection:
// this runs for every web submission.
func (p *Paradata) appendJSON(b []byte) []byte {
	b = append(b, '{')
	sep := false
	if p.Lang != "" {
		b = append(b, `"lang":`...)
		b = appendJSONString(b, p.Lang)
		sep = true
	}
	if len(p.Pages) > 0 {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"pages":[`...)
		for i, pt := range p.Pages {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"page":`...)
			b = appendJSONString(b, pt.Page)
			b = append(b, `,"ms":`...)
			b = strconv.AppendInt(b, pt.MS, 10)
			b = append(b, '}')
		}
		b = append(b, ']')
		sep = true
	}
	if p.Agent != "" {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"agent":`...)
		b = appendJSONString(b, p.Agent)
	}
	return append(b, '}')
}

// AppendJSON appends the receipt as json.Marshal writes it.
func (r Receipt) AppendJSON(b []byte) []byte {
	b = append(b, `{"instance_id":`...)
	b = appendJSONString(b, r.InstanceID)
	if r.Receipt != "" {
		b = append(b, `,"receipt":`...)
		b = appendJSONString(b, r.Receipt)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string exactly as encoding/json
// does: plain printable ASCII as it is, anything else (quotes, escapes,
// HTML characters, control characters, non-ASCII) through json.Marshal.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// AgentClass reduces a User-Agent header to the coarse class kept in the
// paradata: enough to see that most answers came from phones in WeChat,
// too little to tell devices apart.
func AgentClass(ua string) string {
	switch {
	case ua == "":
		return ""
	case strings.Contains(ua, "MicroMessenger"):
		return "wechat"
	case strings.Contains(ua, "Mobile"), strings.Contains(ua, "Android"), strings.Contains(ua, "iPhone"):
		return "mobile"
	case strings.Contains(ua, "Windows"), strings.Contains(ua, "Macintosh"), strings.Contains(ua, "X11"):
		return "desktop"
	}
	return "other"
}

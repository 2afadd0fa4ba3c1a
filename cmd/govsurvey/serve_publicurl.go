package main

import (
	"flag"
	"fmt"
	"net/url"
	"strings"
)

// publicURLFlag is serve's and demo's --public-url: the address
// respondents reach the server at, for the console's share link and QR
// code (behind a reverse proxy the console may be reached at another).
func publicURLFlag(fs *flag.FlagSet) *string {
	return fs.String("public-url", envOr("GOVSURVEY_PUBLIC_URL", ""),
		"respondents' address of the server for share links and QR codes, e.g. https://survey.example.gov.cn (default: the host the console was reached at)")
}

// checkPublicURL accepts an absolute http(s) URL without query or
// fragment and returns it without a trailing slash; "" stays "".
func checkPublicURL(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", usagef("--public-url %q: want an absolute http or https URL such as https://survey.example.gov.cn", s)
	}
	return strings.TrimRight(fmt.Sprintf("%s://%s%s", u.Scheme, u.Host, u.EscapedPath()), "/"), nil
}

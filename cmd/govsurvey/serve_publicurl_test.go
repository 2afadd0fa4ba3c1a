package main

import "testing"

func TestCheckPublicURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"https://survey.example.gov.cn", "https://survey.example.gov.cn"},
		{"https://survey.example.gov.cn/", "https://survey.example.gov.cn"},
		{"http://10.0.0.5:8080/survey/", "http://10.0.0.5:8080/survey"},
		{"survey.example.gov.cn", "!"},
		{"ftp://survey.example.gov.cn", "!"},
		{"https://survey.example.gov.cn/?x=1", "!"},
		{"https://user:pw@survey.example.gov.cn", "!"},
		{"https:///nohost", "!"},
	} {
		got, err := checkPublicURL(tc.in)
		if tc.want == "!" {
			if err == nil {
				t.Errorf("checkPublicURL(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("checkPublicURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

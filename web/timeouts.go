package web

import "time"

// Timeouts bound how long one connection may hold the server: a client
// that sends its headers or body a byte at a time (slowloris), or keeps an
// idle connection open, is cut off instead of holding a goroutine and a
// file descriptor for as long as it likes.
type Timeouts struct {
	ReadHeader time.Duration // request line and headers
	Read       time.Duration // the whole request, body included
	Write      time.Duration // from the end of the headers to the end of the response (exports stream)
	Idle       time.Duration // between requests on a kept-alive connection
}

// DefaultTimeouts suit respondents on mobile networks and exports of a
// few million rows.
func DefaultTimeouts() Timeouts {
	return Timeouts{ReadHeader: 10 * time.Second, Read: 60 * time.Second, Write: 10 * time.Minute, Idle: 120 * time.Second}
}

package main

import (
	"flag"

	"github.com/govsurvey/govsurvey/web"
)

// timeoutFlags are serve's connection timeouts (docs/operations.md): a
// slow or stalled client is cut off, so that it cannot hold connections
// and goroutines open.
func timeoutFlags(fs *flag.FlagSet) *web.Timeouts {
	t := web.DefaultTimeouts()
	fs.DurationVar(&t.ReadHeader, "read-header-timeout", t.ReadHeader, "time allowed for a request's headers")
	fs.DurationVar(&t.Read, "read-timeout", t.Read, "time allowed for a whole request, body included")
	fs.DurationVar(&t.Write, "write-timeout", t.Write, "time allowed for writing a response (exports stream: keep it long)")
	fs.DurationVar(&t.Idle, "idle-timeout", t.Idle, "how long a kept-alive connection may wait for its next request")
	return &t
}

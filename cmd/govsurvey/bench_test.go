package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchIngestRecordings runs a short bench ingest with the CPU
// profile, the allocation profile and the execution trace on, and checks
// that each file is what its tool reads: gzip for pprof, the trace's
// "go 1." header for go tool trace.
func TestBenchIngestRecordings(t *testing.T) {
	dir := t.TempDir()
	cpu, mem, trace := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof"), filepath.Join(dir, "run.trace")
	code, out, errs := runCLI(t, "bench", "ingest", "--clients", "2", "--duration", "200ms", "--warmup", "50ms", "--rounds", "2",
		"--cpuprofile", cpu, "--memprofile", mem, "--trace", trace)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errs, out)
	}
	if !strings.Contains(out, "(0 missing)") || !strings.Contains(out, "rounds ") {
		t.Errorf("output:\n%s", out)
	}
	for path, magic := range map[string][]byte{cpu: {0x1f, 0x8b}, mem: {0x1f, 0x8b}, trace: []byte("go 1.")} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, magic) || len(b) < 100 {
			t.Errorf("%s: %d bytes starting %q", filepath.Base(path), len(b), b[:min(len(b), 8)])
		}
	}
}

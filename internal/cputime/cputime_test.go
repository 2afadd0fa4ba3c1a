package cputime

import (
	"runtime"
	"testing"
)

// TestProcessGrows: spinning raises the process's CPU time (on Unix).
func TestProcessGrows(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("not measured on", runtime.GOOS)
	}
	before := Process()
	x := 0
	for i := 0; Process() == before && i < 1e9; i++ {
		x += i
	}
	if Process() <= before {
		t.Fatalf("the CPU time did not grow (%v, %d)", before, x)
	}
}

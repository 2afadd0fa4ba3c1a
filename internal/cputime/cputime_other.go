//go:build !unix

// Package cputime reads the CPU time the process has used: the measure of
// the benchmarks that other work on a shared machine moves least.
package cputime

import "time"

// Process is not measured on this platform: it is 0.
func Process() time.Duration { return 0 }

//go:build unix

// Package cputime reads the CPU time the process has used: the measure of
// the benchmarks that other work on a shared machine moves least.
package cputime

import (
	"syscall"
	"time"
)

// Process is the CPU time this process has used, user and system.
func Process() time.Duration {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

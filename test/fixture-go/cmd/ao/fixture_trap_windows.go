package main

import (
	"fmt"
	"os"
)

// fixtureTrap needs POSIX signals; see fixture_trap.go.
func fixtureTrap(args []string) int {
	fmt.Fprintln(os.Stderr, "ao fixture trap: POSIX only")
	return 2
}

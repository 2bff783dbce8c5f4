package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Where the rewrite keeps things: ~/.ao, with AO_DATA_DIR for the store and AO_RUN_FILE for
// running.json (the real rewrite reads no AO_HOME).
func aoHome() string {
	home, err := os.UserHomeDir()
	if err != nil {
		fail("cannot find the home directory: %v", err)
	}
	return filepath.Join(home, ".ao")
}

func dataDir() string {
	if d := os.Getenv("AO_DATA_DIR"); d != "" {
		return d
	}
	return filepath.Join(aoHome(), "data")
}

func runFilePath() string {
	if f := os.Getenv("AO_RUN_FILE"); f != "" {
		return f
	}
	return filepath.Join(aoHome(), "running.json")
}

func daemonPort() string {
	if p := os.Getenv("AO_PORT"); p != "" {
		return p
	}
	return "3001"
}

// checkConfig validates the environment the way the real CLI's config load does, for every command that reads it.
func checkConfig() error {
	v := os.Getenv("AO_PORT")
	if v == "" {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("invalid AO_PORT %q: %v", v, err)
	}
	if n < 1 || n > 65535 {
		return fmt.Errorf("invalid AO_PORT %d: out of range 1-65535", n)
	}
	return nil
}

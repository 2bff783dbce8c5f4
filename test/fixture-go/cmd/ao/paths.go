package main

import (
	"os"
	"path/filepath"
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

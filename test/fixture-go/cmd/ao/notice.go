package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// legacyNotice (fixture only; the real rewrite has none): on `ao status` and `ao start`, names the command
// that finishes an interrupted cutover, or that imports a legacy home no import record covers
// (~/.ao/legacy/imported.json).
func legacyNotice() {
	if raw, err := os.ReadFile(filepath.Join(aoHome(), "cutover", "journal.json")); err == nil {
		var j struct {
			Status string `json:"status"`
		}
		if json.Unmarshal(raw, &j) == nil && (j.Status == "running" || j.Status == "rolling-back") {
			fmt.Fprintln(os.Stderr, "ao: a migration from the legacy ao was interrupted and is not finished.")
			fmt.Fprintln(os.Stderr, "ao: finish it (or roll it back if it cannot finish): ao-legacy-import")
			return
		}
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return
	}
	if _, err := os.Stat(filepath.Join(home, ".agent-orchestrator")); err != nil {
		return
	}
	if _, err := os.Stat(filepath.Join(aoHome(), "legacy", "imported.json")); err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "ao: a legacy ao home (~/.agent-orchestrator) was found and has not been imported.")
	fmt.Fprintln(os.Stderr, "ao: import it, with a backup first: ao-legacy-import")
}

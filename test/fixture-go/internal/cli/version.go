// Package cli holds the build metadata, where the real rewrite keeps it
// (github.com/aoagents/agent-orchestrator/backend/internal/cli), so releases
// stamp the fixture the way they stamp the rewrite: -X <module>/internal/cli.Version=...
package cli

import "strings"

var (
	Version = "dev"
	Commit  = ""
	Date    = ""
)

// VersionString is what the real `ao version` prints: "<version> commit <c> built <d>",
// leaving out the parts that were not stamped.
func VersionString() string {
	parts := []string{Version}
	if Commit != "" {
		parts = append(parts, "commit "+Commit)
	}
	if Date != "" {
		parts = append(parts, "built "+Date)
	}
	return strings.Join(parts, " ")
}

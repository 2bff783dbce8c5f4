package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

const importHelp = `Import reads the legacy Agent Orchestrator flat-file store (~/.agent-orchestrator) read-only and ports its projects and per-project settings into the rewrite database. Legacy files are never modified, and a re-run skips rows that already exist, so it is safe to run more than once.

The daemon must be stopped: it is the sole writer of the database.

Usage:
  ao import [flags]

Flags:
      --dry-run                Parse and report the planned import without writing
      --from string            Legacy AO root to read (default ~/.agent-orchestrator)
  -h, --help                   help for import
      --json                   Output the import report as JSON
      --sessions-from string   Import sessions with their agent resume ids from an ao-legacy-bundle file (v1)
  -y, --yes                    Skip the confirmation prompt (for non-interactive use)
`

// `ao import`: the real contract (projects from <root>/config.yaml, refusal while the daemon runs,
// report {dryRun, projectsImported, projectsSkipped, notes}) plus the fixture's optional capability
// `--sessions-from <bundle>` (sessions and resume ids). Fault: import-error.
func cmdImport(args []string) error {
	f, err := parseFlags(args, []string{"--dry-run", "--json", "--yes|-y"}, []string{"--from", "--sessions-from"})
	if err != nil {
		return err
	}
	if f.help {
		fmt.Print(importHelp)
		return nil
	}
	if live, err := liveDaemon(); err != nil {
		return fmt.Errorf("inspect run-file: %v", err)
	} else if live != nil {
		return usageError{fmt.Sprintf("the AO daemon is running (pid %d); stop it first with `ao stop` before importing", live.PID)}
	}
	if fault() == "import-error" {
		return fmt.Errorf("open store: fixture fault: import-error")
	}
	if bundle, ok := f.strings["--sessions-from"]; ok {
		return importSessions(bundle, f.bools["--dry-run"], f.bools["--json"])
	}
	root := f.strings["--from"]
	if root == "" {
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, ".agent-orchestrator")
	}
	projects, err := legacyProjects(filepath.Join(root, "config.yaml"))
	if err != nil {
		return fmt.Errorf("legacy config at %s: %v", root, err)
	}
	if len(projects) == 0 {
		fmt.Printf("No legacy AO projects found at %s. Nothing to import.\n", root)
		return nil
	}
	// Without --yes and without a terminal the real CLI takes the default answer (yes).
	st, err := openStore(dataDir())
	if err != nil {
		return fmt.Errorf("open store: %v", err)
	}
	report := map[string]interface{}{"dryRun": f.bools["--dry-run"], "projectsImported": 0, "projectsSkipped": 0}
	imported, skipped := 0, 0
	var records []walRecord
	var notes []string
	sort.Slice(projects, func(i, j int) bool { return projects[i].ID < projects[j].ID })
	for _, p := range projects {
		if !validProjectID.MatchString(p.ID) || strings.Contains(p.ID, "..") {
			notes = append(notes, fmt.Sprintf("project %q skipped: id is not a valid rewrite project id", p.ID))
			continue
		}
		if _, exists := st.data.Projects[p.ID]; exists {
			skipped++
			continue
		}
		imported++
		v, _ := json.Marshal(map[string]string{"id": p.ID, "name": p.ID, "kind": "single_repo", "sessionPrefix": p.SessionPrefix, "path": p.Path})
		records = append(records, walRecord{Op: "project", Key: p.ID, Value: v})
	}
	if !f.bools["--dry-run"] && len(records) > 0 {
		if err := st.commit(records...); err != nil {
			return fmt.Errorf("import: %v", err)
		}
	}
	if err := st.close(); err != nil {
		return fmt.Errorf("close store: %v", err)
	}
	report["projectsImported"], report["projectsSkipped"] = imported, skipped
	if len(notes) > 0 {
		report["notes"] = notes
	}
	if f.bools["--json"] {
		return printJSON(report)
	}
	fmt.Printf("Projects:  %d imported, %d already present\n", imported, skipped)
	for _, n := range notes {
		fmt.Printf("  - %s\n", n)
	}
	return nil
}

type legacyProject struct{ ID, Path, SessionPrefix string }

// The ids the real importer takes; others are skipped with a note.
var validProjectID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// legacyProjects reads the `projects:` map of the legacy config.yaml. Only the block layout the legacy CLI
// (and the test generator) writes is understood: two-space project keys, four-space scalar fields.
func legacyProjects(configFile string) ([]legacyProject, error) {
	file, err := os.Open(configFile)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer file.Close()
	var out []legacyProject
	inProjects := false
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \r")
		if line == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		if indent == 0 {
			inProjects = line == "projects:"
			continue
		}
		if !inProjects {
			continue
		}
		key, value, _ := strings.Cut(strings.TrimSpace(line), ":")
		key, value = unquote(key), unquote(strings.TrimSpace(value))
		switch {
		case indent == 2 && value == "":
			out = append(out, legacyProject{ID: key})
		case indent == 4 && len(out) > 0 && key == "path":
			out[len(out)-1].Path = value
		case indent == 4 && len(out) > 0 && key == "sessionPrefix":
			out[len(out)-1].SessionPrefix = value
		}
	}
	return out, sc.Err()
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

type bundleSession struct {
	ID        string            `json:"id"`
	ProjectID string            `json:"projectId"`
	Role      string            `json:"role"`
	Agent     string            `json:"agent"`
	Archived  bool              `json:"archived"`
	Lifecycle map[string]any    `json:"lifecycle"`
	Resume    map[string]string `json:"resume"`
}

// importSessions is the optional capability: every bundle session keyed projectId/id with its resume ids.
func importSessions(bundlePath string, dryRun, asJSON bool) error {
	raw, err := os.ReadFile(bundlePath)
	if err != nil {
		return err
	}
	var b struct {
		Format   string          `json:"format"`
		Version  int             `json:"version"`
		Sessions []bundleSession `json:"sessions"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return fmt.Errorf("%s is not JSON: %v", bundlePath, err)
	}
	if b.Format != "ao-legacy-bundle" || b.Version != 1 {
		return fmt.Errorf("%s is %q v%d; this ao reads \"ao-legacy-bundle\" v1", bundlePath, b.Format, b.Version)
	}
	st, err := openStore(dataDir())
	if err != nil {
		return fmt.Errorf("open store: %v", err)
	}
	imported, skipped := 0, 0
	resume := map[string]int{"claude": 0, "codex": 0, "opencode": 0}
	var records []walRecord
	for i, s := range b.Sessions {
		if s.ID == "" || s.ProjectID == "" {
			return fmt.Errorf("%s: sessions[%d] needs id and projectId", bundlePath, i)
		}
		key := s.ProjectID + "/" + s.ID
		if _, exists := st.data.Sessions[key]; exists {
			skipped++
			continue
		}
		imported++
		kind := "worker"
		if s.Role == "orchestrator" {
			kind = "orchestrator"
		}
		agentSessionID := firstNonEmpty(s.Resume["claudeSessionUuid"], s.Resume["codexThreadId"], s.Resume["opencodeSessionId"])
		for k, name := range map[string]string{"claudeSessionUuid": "claude", "codexThreadId": "codex", "opencodeSessionId": "opencode"} {
			if s.Resume[k] != "" {
				resume[name]++
			}
		}
		v, _ := json.Marshal(map[string]interface{}{"id": s.ID, "projectId": s.ProjectID, "kind": kind, "harness": s.Agent, "isTerminated": s.Archived || terminated(s.Lifecycle), "agentSessionId": agentSessionID, "resume": s.Resume})
		records = append(records, walRecord{Op: "session", Key: key, Value: v})
	}
	sort.Slice(records, func(i, j int) bool { return records[i].Key < records[j].Key })
	if !dryRun && len(records) > 0 {
		if err := st.commit(records...); err != nil {
			return fmt.Errorf("import: %v", err)
		}
	}
	if err := st.close(); err != nil {
		return fmt.Errorf("close store: %v", err)
	}
	report := map[string]interface{}{"dryRun": dryRun, "sessionsImported": imported, "sessionsSkipped": skipped, "resumeIds": resume}
	if asJSON {
		return printJSON(report)
	}
	fmt.Printf("Sessions:  %d imported, %d already present\n", imported, skipped)
	return nil
}

func terminated(lifecycle map[string]any) bool {
	session, _ := lifecycle["session"].(map[string]any)
	return session != nil && session["state"] == "terminated"
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

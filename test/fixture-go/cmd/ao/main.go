// The stand-in for the rewrite's Go binary. It implements the contract in
// docs/rewrite-contract.md and nothing more, plus failure modes on request
// (AO_FIXTURE_FAULT) and a few test hooks under `ao fixture ...`.
package main

import (
	"example.invalid/ao-fixture/internal/cli"

	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

const bundleFormat = "ao-legacy-bundle"
const bundleVersion = 1

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: ao <--version|start|stop|status|import|export|fixture> ...")
		return 2
	}
	switch args[0] {
	case "--version", "-v":
		// cobra's default version template, as the real rewrite prints it.
		fmt.Println("ao version " + cli.VersionString())
		return 0
	case "version":
		fmt.Println(cli.VersionString())
		return 0
	case "start":
		return cmdStart()
	case "__daemon":
		return cmdDaemon()
	case "stop":
		return cmdStop()
	case "status":
		return cmdStatus()
	case "import":
		return cmdImport(args[1:])
	case "export":
		return cmdExport()
	case "fixture":
		return cmdFixture(args[1:])
	}
	fmt.Fprintf(os.Stderr, "ao: unknown command %q\n", args[0])
	return 2
}

func fault() string { return os.Getenv("AO_FIXTURE_FAULT") }

func aoHome() string {
	if h := os.Getenv("AO_HOME"); h != "" {
		return h
	}
	home, err := os.UserHomeDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ao: cannot find the home directory:", err)
		os.Exit(1)
	}
	return filepath.Join(home, ".ao")
}

func storePath() string      { return filepath.Join(aoHome(), "ao.db") }
func daemonInfoPath() string { return filepath.Join(aoHome(), "daemon.json") }

// ---- store ---------------------------------------------------------------

type store struct {
	Schema   int                        `json:"schema"`
	Projects map[string]json.RawMessage `json:"projects"`
	Sessions map[string]json.RawMessage `json:"sessions"`
	Imports  []importRecord             `json:"imports"`
}

type importRecord struct {
	BundleSha256 string         `json:"bundleSha256"`
	ImportedAt   string         `json:"importedAt"`
	Counts       map[string]int `json:"counts"`
}

func loadStore() (*store, error) {
	s := &store{Schema: 1, Projects: map[string]json.RawMessage{}, Sessions: map[string]json.RawMessage{}}
	data, err := os.ReadFile(storePath())
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("store %s is corrupt: %v", storePath(), err)
	}
	if s.Projects == nil {
		s.Projects = map[string]json.RawMessage{}
	}
	if s.Sessions == nil {
		s.Sessions = map[string]json.RawMessage{}
	}
	return s, nil
}

func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.tmp-%d", path, os.Getpid())
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (s *store) save() error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(storePath(), data)
}

// ---- daemon --------------------------------------------------------------

type daemonInfo struct {
	Pid       int    `json:"pid"`
	Port      int    `json:"port"`
	URL       string `json:"url"`
	Version   string `json:"version"`
	StartedAt string `json:"startedAt"`
}

func readDaemonInfo() (*daemonInfo, error) {
	data, err := os.ReadFile(daemonInfoPath())
	if err != nil {
		return nil, err
	}
	var info daemonInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

func cmdStart() int {
	legacyNotice()
	if info, err := readDaemonInfo(); err == nil && processAlive(info.Pid) {
		fmt.Printf("ao daemon already running at %s (pid %d)\n", info.URL, info.Pid)
		return 0
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ao start: cannot find own executable:", err)
		return 1
	}
	if err := os.MkdirAll(aoHome(), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "ao start:", err)
		return 1
	}
	logFile, err := os.OpenFile(filepath.Join(aoHome(), "daemon.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ao start:", err)
		return 1
	}
	defer logFile.Close()
	cmd := exec.Command(self, "__daemon")
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = detachAttrs()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "ao start:", err)
		return 1
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			fmt.Fprintf(os.Stderr, "ao start: the daemon exited during start-up (%v); see %s\n", err, filepath.Join(aoHome(), "daemon.log"))
			return 1
		case <-time.After(50 * time.Millisecond):
		}
		if info, err := readDaemonInfo(); err == nil && info.Pid == cmd.Process.Pid {
			fmt.Printf("ao daemon listening on %s (pid %d)\n", info.URL, info.Pid)
			return 0
		}
	}
	fmt.Fprintln(os.Stderr, "ao start: the daemon did not report its address within 15 s")
	return 1
}

func cmdDaemon() int {
	if fault() == "crash-on-start" {
		fmt.Fprintln(os.Stderr, "fixture fault: crash-on-start")
		return 1
	}
	var ready atomic.Value
	ready.Store("starting")
	port := os.Getenv("AO_DAEMON_PORT")
	if port == "" {
		port = "0"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		return 1
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]interface{}{"status": "ok", "version": cli.Version, "pid": os.Getpid()})
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		state := ready.Load().(string)
		if state != "ready" {
			writeJSON(w, 503, map[string]interface{}{"ready": false, "reason": state, "version": cli.Version})
			return
		}
		s, err := loadStore()
		if err != nil {
			writeJSON(w, 503, map[string]interface{}{"ready": false, "reason": err.Error(), "version": cli.Version})
			return
		}
		writeJSON(w, 200, map[string]interface{}{"ready": true, "version": cli.Version, "projects": len(s.Projects), "sessions": len(s.Sessions)})
	})
	go func() { _ = http.Serve(ln, mux) }()

	actualPort := ln.Addr().(*net.TCPAddr).Port
	info := daemonInfo{Pid: os.Getpid(), Port: actualPort, URL: fmt.Sprintf("http://127.0.0.1:%d", actualPort), Version: cli.Version, StartedAt: time.Now().UTC().Format(time.RFC3339Nano)}
	data, _ := json.Marshal(info)
	if err := writeFileAtomic(daemonInfoPath(), data); err != nil {
		fmt.Fprintln(os.Stderr, "write daemon.json:", err)
		return 1
	}

	go func() {
		f := fault()
		switch {
		case f == "never-ready":
			ready.Store("fixture fault: never-ready")
			return
		case strings.HasPrefix(f, "slow-ready:"):
			ms, _ := strconv.Atoi(strings.TrimPrefix(f, "slow-ready:"))
			time.Sleep(time.Duration(ms) * time.Millisecond)
		}
		if _, err := loadStore(); err != nil {
			ready.Store(err.Error())
			return
		}
		ready.Store("ready")
	}()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	if cur, err := readDaemonInfo(); err == nil && cur.Pid == os.Getpid() {
		os.Remove(daemonInfoPath())
	}
	return 0
}

func writeJSON(w http.ResponseWriter, status int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func cmdStop() int {
	info, err := readDaemonInfo()
	if err != nil || !processAlive(info.Pid) {
		os.Remove(daemonInfoPath())
		fmt.Println("ao daemon is not running")
		return 0
	}
	p, err := os.FindProcess(info.Pid)
	if err == nil {
		err = terminate(p)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ao stop: cannot signal pid %d: %v\n", info.Pid, err)
		return 1
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && processAlive(info.Pid) {
		time.Sleep(25 * time.Millisecond)
	}
	if processAlive(info.Pid) {
		fmt.Fprintf(os.Stderr, "ao stop: pid %d did not exit within 10 s\n", info.Pid)
		return 1
	}
	os.Remove(daemonInfoPath())
	fmt.Println("ao daemon stopped")
	return 0
}

func cmdStatus() int {
	legacyNotice()
	info, err := readDaemonInfo()
	running := err == nil && processAlive(info.Pid)
	out := map[string]interface{}{"running": running, "version": cli.Version}
	if running {
		out["daemon"] = info
	}
	data, _ := json.Marshal(out)
	fmt.Println(string(data))
	return 0
}

// legacyNotice tells a user who jumped straight to the rewrite that a legacy
// home exists and was never imported, and the one command that imports it.
// It also names an interrupted cutover (a crash after the rewrite was
// installed leaves its journal pending) and the command that finishes it.
func legacyNotice() {
	if data, err := os.ReadFile(filepath.Join(aoHome(), "cutover", "journal.json")); err == nil {
		var j struct {
			Status string `json:"status"`
		}
		if json.Unmarshal(data, &j) == nil && (j.Status == "running" || j.Status == "rolling-back") {
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
	if s, err := loadStore(); err == nil && len(s.Imports) > 0 {
		return
	}
	fmt.Fprintln(os.Stderr, "ao: a legacy ao home (~/.agent-orchestrator) was found and has not been imported.")
	fmt.Fprintln(os.Stderr, "ao: import it, with a backup first: ao-legacy-import")
}

// ---- import --------------------------------------------------------------

type bundle struct {
	Format   string            `json:"format"`
	Version  int               `json:"version"`
	Projects []json.RawMessage `json:"projects"`
	Sessions []json.RawMessage `json:"sessions"`
}

type keyed struct {
	ID        string `json:"id"`
	ProjectID string `json:"projectId"`
	Resume    struct {
		ClaudeSessionUUID string `json:"claudeSessionUuid"`
		CodexThreadID     string `json:"codexThreadId"`
		OpencodeSessionID string `json:"opencodeSessionId"`
	} `json:"resume"`
}

func cmdImport(args []string) int {
	var bundlePath string
	asJSON := false
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--legacy-bundle":
			if i+1 < len(args) {
				bundlePath = args[i+1]
				i++
			}
		case "--json":
			asJSON = true
		}
	}
	if bundlePath == "" {
		fmt.Fprintln(os.Stderr, "usage: ao import --legacy-bundle <file> [--json]")
		return 2
	}
	if fault() == "import-error" {
		fmt.Fprintln(os.Stderr, "ao import: fixture fault: import-error")
		return 3
	}
	raw, err := os.ReadFile(bundlePath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ao import:", err)
		return 1
	}
	var b bundle
	if err := json.Unmarshal(raw, &b); err != nil {
		fmt.Fprintf(os.Stderr, "ao import: %s is not JSON: %v\n", bundlePath, err)
		return 1
	}
	if b.Format != bundleFormat || b.Version != bundleVersion {
		fmt.Fprintf(os.Stderr, "ao import: %s is %q v%d; this ao reads %q v%d\n", bundlePath, b.Format, b.Version, bundleFormat, bundleVersion)
		return 1
	}
	s, err := loadStore()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ao import:", err)
		return 1
	}
	counts := map[string]int{"projectsNew": 0, "projectsUpdated": 0, "projectsUnchanged": 0, "sessionsNew": 0, "sessionsUpdated": 0, "sessionsUnchanged": 0}
	resume := map[string]int{"claude": 0, "codex": 0, "opencode": 0}
	merge := func(m map[string]json.RawMessage, key string, value json.RawMessage, kind string) {
		old, ok := m[key]
		switch {
		case !ok:
			counts[kind+"New"]++
		case string(canonical(old)) == string(canonical(value)):
			counts[kind+"Unchanged"]++
		default:
			counts[kind+"Updated"]++
		}
		m[key] = canonical(value)
	}
	for i, p := range b.Projects {
		var k keyed
		if err := json.Unmarshal(p, &k); err != nil || k.ID == "" {
			fmt.Fprintf(os.Stderr, "ao import: projects[%d] has no id\n", i)
			return 1
		}
		merge(s.Projects, k.ID, p, "projects")
	}
	for i, raw := range b.Sessions {
		var k keyed
		if err := json.Unmarshal(raw, &k); err != nil || k.ID == "" || k.ProjectID == "" {
			fmt.Fprintf(os.Stderr, "ao import: sessions[%d] needs id and projectId\n", i)
			return 1
		}
		merge(s.Sessions, k.ProjectID+"/"+k.ID, raw, "sessions")
		if k.Resume.ClaudeSessionUUID != "" {
			resume["claude"]++
		}
		if k.Resume.CodexThreadID != "" {
			resume["codex"]++
		}
		if k.Resume.OpencodeSessionID != "" {
			resume["opencode"]++
		}
	}
	sum := sha256.Sum256(raw)
	s.Imports = append(s.Imports, importRecord{BundleSha256: hex.EncodeToString(sum[:]), ImportedAt: time.Now().UTC().Format(time.RFC3339Nano), Counts: counts})
	if err := s.save(); err != nil {
		fmt.Fprintln(os.Stderr, "ao import: cannot write the store:", err)
		return 1
	}
	report := map[string]interface{}{"store": storePath(), "counts": counts, "resumeIds": resume, "projects": len(s.Projects), "sessions": len(s.Sessions)}
	if asJSON {
		data, _ := json.Marshal(report)
		fmt.Println(string(data))
	} else {
		fmt.Printf("imported %d new sessions (%d updated, %d unchanged) across %d projects\n", counts["sessionsNew"], counts["sessionsUpdated"], counts["sessionsUnchanged"], len(s.Projects))
	}
	return 0
}

func canonical(v json.RawMessage) json.RawMessage {
	var x interface{}
	if err := json.Unmarshal(v, &x); err != nil {
		return v
	}
	out, _ := json.Marshal(x) // map keys are sorted by encoding/json
	return out
}

func cmdExport() int {
	s, err := loadStore()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ao export:", err)
		return 1
	}
	data, _ := json.Marshal(s)
	fmt.Println(string(data))
	return 0
}

// ---- test hooks ------------------------------------------------------------

func cmdFixture(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: ao fixture <exit N|args ...|stdin|sleep MS|signal NAME>")
		return 2
	}
	switch args[0] {
	case "exit":
		n, _ := strconv.Atoi(args[1])
		return n
	case "args":
		data, _ := json.Marshal(args[1:])
		fmt.Println(string(data))
		return 0
	case "stdin":
		_, _ = io.Copy(os.Stdout, os.Stdin)
		return 0
	case "sleep":
		ms, _ := strconv.Atoi(args[1])
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		select {
		case s := <-sig:
			// Report which signal arrived, then die of it like an ordinary program.
			fmt.Println("got", s.String())
			signal.Reset()
			p, _ := os.FindProcess(os.Getpid())
			_ = p.Signal(s)
			time.Sleep(time.Second)
			return 1
		case <-time.After(time.Duration(ms) * time.Millisecond):
			return 0
		}
	case "trap":
		return fixtureTrap(args[1:])
	case "signal":
		names := map[string]syscall.Signal{"TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "KILL": syscall.SIGKILL}
		s, ok := names[args[1]]
		if !ok {
			return 2
		}
		signal.Reset()
		p, _ := os.FindProcess(os.Getpid())
		_ = p.Signal(s)
		time.Sleep(time.Second)
		return 1
	case "env":
		keys := []string{}
		for _, kv := range os.Environ() {
			keys = append(keys, kv)
		}
		sort.Strings(keys)
		fmt.Println(strings.Join(keys, "\n"))
		return 0
	}
	return 2
}

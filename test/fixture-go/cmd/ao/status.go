package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"
)

var httpClient = &http.Client{Timeout: 3 * time.Second}

func daemonGet(port int, path string, into interface{}) (int, error) {
	res, err := httpClient.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if into != nil {
		if err := json.NewDecoder(res.Body).Decode(into); err != nil {
			return res.StatusCode, err
		}
	}
	return res.StatusCode, nil
}

// `ao status [--json]`: stopped, stale (dead pid), unhealthy, not_ready or ready.
func cmdStatus(args []string) error {
	f, err := parseFlags(args, []string{"--json"}, nil)
	if err != nil {
		return err
	}
	legacyNotice()
	out := map[string]interface{}{"runFile": runFilePath(), "dataDir": dataDir()}
	info, err := readRunFile()
	if err != nil {
		return err
	}
	if info == nil {
		out["state"] = "stopped"
	} else {
		out["pid"], out["port"], out["startedAt"] = info.PID, info.Port, info.StartedAt
		out["uptime"] = time.Since(info.StartedAt).Round(time.Second).String()
		switch {
		case !processAlive(info.PID):
			out["state"], out["error"] = "stale", "run-file points to a dead process"
		default:
			var health, ready map[string]interface{}
			if code, err := daemonGet(info.Port, "/healthz", &health); err != nil || code != 200 {
				out["state"] = "unhealthy"
				break
			}
			out["health"] = health["status"]
			code, _ := daemonGet(info.Port, "/readyz", &ready)
			out["ready"] = ready["status"]
			out["state"] = "ready"
			if code != 200 {
				out["state"] = "not_ready"
			}
		}
	}
	if f.bools["--json"] {
		return printJSON(out)
	}
	fmt.Printf("AO daemon: %s\n  run file: %s\n  data dir: %s\n", out["state"], out["runFile"], out["dataDir"])
	return nil
}

// `ao stop [--json]`: POST /shutdown, wait for the pid to go; a stale run-file is removed.
func cmdStop(args []string) error {
	f, err := parseFlags(args, []string{"--json"}, nil)
	if err != nil {
		return err
	}
	info, err := readRunFile()
	if err != nil {
		return err
	}
	if info != nil && processAlive(info.PID) {
		res, err := httpClient.Post(fmt.Sprintf("http://127.0.0.1:%d/shutdown", info.Port), "application/json", nil)
		if err != nil {
			return fmt.Errorf("stop daemon (pid %d): %v", info.PID, err)
		}
		res.Body.Close()
		deadline := time.Now().Add(10 * time.Second)
		for processAlive(info.PID) && time.Now().Before(deadline) {
			time.Sleep(25 * time.Millisecond)
		}
		if processAlive(info.PID) {
			return fmt.Errorf("daemon (pid %d) did not exit within 10s", info.PID)
		}
	}
	if info != nil {
		os.Remove(runFilePath())
	}
	if f.bools["--json"] {
		return printJSON(map[string]interface{}{"state": "stopped", "runFile": runFilePath(), "dataDir": dataDir()})
	}
	fmt.Println("AO daemon stopped")
	return nil
}

// `ao project ls` and `ao session ls` read through the running daemon, as the real CLI does.
func runningDaemon() (*runInfo, error) {
	info, err := readRunFile()
	if err != nil {
		return nil, err
	}
	if info == nil {
		return nil, fmt.Errorf("AO daemon is not running — start it with `ao start`")
	}
	if !processAlive(info.PID) {
		return nil, fmt.Errorf("AO daemon is not running (stale run-file at %s) — start it with `ao start`", runFilePath())
	}
	return info, nil
}

func cmdProjectList(args []string) error {
	f, err := parseFlags(args, []string{"--json"}, nil)
	if err != nil {
		return err
	}
	info, err := runningDaemon()
	if err != nil {
		return err
	}
	var body struct {
		Projects []map[string]interface{} `json:"projects"`
	}
	if _, err := daemonGet(info.Port, "/api/projects", &body); err != nil {
		return fmt.Errorf("list projects: %v", err)
	}
	if f.bools["--json"] {
		return printJSON(body)
	}
	for _, p := range body.Projects {
		fmt.Printf("%v\t%v\n", p["id"], p["name"])
	}
	return nil
}

func cmdSessionList(args []string) error {
	f, err := parseFlags(args, []string{"--json", "--all|-a", "--include-terminated"}, []string{"--project", "-p"})
	if err != nil {
		return err
	}
	info, err := runningDaemon()
	if err != nil {
		return err
	}
	var body struct {
		Sessions []map[string]interface{} `json:"sessions"`
	}
	if _, err := daemonGet(info.Port, "/api/sessions", &body); err != nil {
		return fmt.Errorf("list sessions: %v", err)
	}
	project := f.strings["--project"] + f.strings["-p"]
	data := []map[string]interface{}{}
	hidden := 0
	for _, s := range body.Sessions {
		if project != "" && s["projectId"] != project {
			continue
		}
		if s["kind"] == "orchestrator" && !f.bools["--all"] {
			continue
		}
		if s["isTerminated"] == true && !f.bools["--include-terminated"] {
			hidden++
			continue
		}
		data = append(data, s)
	}
	if f.bools["--json"] {
		return printJSON(map[string]interface{}{"data": data, "meta": map[string]int{"hiddenTerminatedCount": hidden}})
	}
	for _, s := range data {
		fmt.Printf("%v\t%v\n", s["projectId"], s["id"])
	}
	return nil
}

package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// `ao daemon`: the foreground daemon on 127.0.0.1:$AO_PORT. Faults: crash (exits at once),
// never-ready (/readyz stays 503), slow-ready:<ms>, wrong-pid (/healthz names another pid).
func cmdDaemon(args []string) error {
	if _, err := parseFlags(args, nil, nil); err != nil {
		return err
	}
	if f := fault(); f == "crash" || f == "crash-on-start" {
		return fmt.Errorf("fixture fault: %s", f)
	}
	if live, err := liveDaemon(); err != nil {
		return fmt.Errorf("inspect run-file: %v", err)
	} else if live != nil {
		return fmt.Errorf("daemon already running (pid %d, port %d); refusing to start", live.PID, live.Port)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+daemonPort())
	if err != nil {
		return fmt.Errorf("listen: %v", err)
	}
	st, err := openStore(dataDir())
	if err != nil {
		return fmt.Errorf("open store: %v", err)
	}
	// The real daemon runs its migrations at start; the fixture records each start in the wal.
	if err := st.event("daemon-start"); err != nil {
		return fmt.Errorf("open store: %v", err)
	}
	var mu sync.Mutex
	var ready atomic.Bool
	stop := make(chan struct{}, 1)
	identity := func(status string) map[string]interface{} {
		pid := os.Getpid()
		if fault() == "wrong-pid" {
			pid++
		}
		exe, _ := os.Executable()
		wd, _ := os.Getwd()
		return map[string]interface{}{"status": status, "service": "agent-orchestrator-daemon", "pid": pid, "executablePath": exe, "workingDirectory": wd}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, identity("ok")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			writeJSON(w, 503, identity("not_ready"))
			return
		}
		writeJSON(w, 200, identity("ready"))
	})
	mux.HandleFunc("/shutdown", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			writeJSON(w, 405, map[string]string{"error": "POST only"})
			return
		}
		writeJSON(w, 202, map[string]string{"status": "stopping"})
		select {
		case stop <- struct{}{}:
		default:
		}
	})
	mux.HandleFunc("/api/projects", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		writeJSON(w, 200, map[string]interface{}{"projects": sortedValues(st.data.Projects)})
	})
	mux.HandleFunc("/api/sessions", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		writeJSON(w, 200, map[string]interface{}{"sessions": sortedValues(st.data.Sessions)})
	})
	go func() { _ = http.Serve(ln, mux) }()

	me := runInfo{PID: os.Getpid(), Port: ln.Addr().(*net.TCPAddr).Port, StartedAt: time.Now().UTC()}
	if err := writeRunFile(me); err != nil {
		return fmt.Errorf("write run-file: %v", err)
	}
	fmt.Fprintf(os.Stderr, "level=INFO msg=\"daemon listening\" addr=%s pid=%d\n", ln.Addr(), me.PID)

	go func() {
		f := fault()
		switch {
		case f == "never-ready":
			return
		case strings.HasPrefix(f, "slow-ready:"):
			ms, _ := strconv.Atoi(strings.TrimPrefix(f, "slow-ready:"))
			time.Sleep(time.Duration(ms) * time.Millisecond)
		}
		ready.Store(true)
	}()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	select {
	case <-sig:
	case <-stop:
	}
	ln.Close()
	mu.Lock()
	err = st.close()
	mu.Unlock()
	if cur, _ := readRunFile(); cur != nil && cur.PID == me.PID {
		os.Remove(runFilePath())
	}
	if err != nil {
		return fmt.Errorf("close store: %v", err)
	}
	return nil
}

func sortedValues(m map[string]json.RawMessage) []json.RawMessage {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]json.RawMessage, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v interface{}) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func printJSON(v interface{}) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(raw))
	return nil
}

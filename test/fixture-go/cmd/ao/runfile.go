package main

import (
	"encoding/json"
	"errors"
	"os"
	"time"
)

// running.json, the pid + port handshake (mode 0600, written atomically), as the real daemon writes it.
type runInfo struct {
	PID       int       `json:"pid"`
	Port      int       `json:"port"`
	StartedAt time.Time `json:"startedAt"`
}

func readRunFile() (*runInfo, error) {
	raw, err := os.ReadFile(runFilePath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var info runInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

func writeRunFile(info runInfo) error {
	raw, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(runFilePath(), append(raw, '\n'), 0o600)
}

// liveDaemon is the daemon running.json names when its pid is alive (a dead pid is stale, not live).
func liveDaemon() (*runInfo, error) {
	info, err := readRunFile()
	if err != nil || info == nil || !processAlive(info.PID) {
		return nil, err
	}
	return info, nil
}

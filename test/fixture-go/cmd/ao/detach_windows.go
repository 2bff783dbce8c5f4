//go:build windows

package main

import (
	"os"
	"syscall"
)

// DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP
func detachAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: 0x00000008 | 0x00000200}
}

func terminate(p *os.Process) error { return p.Kill() }

func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	_ = p
	return true
}

//go:build windows

package main

import "syscall"

// PROCESS_QUERY_LIMITED_INFORMATION; a pid that cannot be opened is gone.
func processAlive(pid int) bool {
	h, err := syscall.OpenProcess(0x1000, false, uint32(pid))
	if err != nil {
		return false
	}
	defer syscall.CloseHandle(h)
	var code uint32
	if err := syscall.GetExitCodeProcess(h, &code); err != nil {
		return false
	}
	return code == 259 // STILL_ACTIVE
}

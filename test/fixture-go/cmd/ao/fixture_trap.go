//go:build !windows

package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// fixtureTrap is the test hook `ao fixture trap <ms> <code>`: it prints "ready"
// once its handlers are installed, then "got <signal>" for every signal it
// receives (so a test can count them), and after <ms> exits with <code>. It
// never dies of a signal, so whatever ran it must still be waiting for it.
func fixtureTrap(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: ao fixture trap <ms> <code>")
		return 2
	}
	ms, _ := strconv.Atoi(args[0])
	code, _ := strconv.Atoi(args[1])
	sig := make(chan os.Signal, 16)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM)
	// Go keeps one pending bit per signal until os/signal's goroutine takes it: a second signal that arrives before
	// that goroutine first runs is merged into the first. Receive one signal through it before saying "ready", so
	// every later signal is counted.
	started := make(chan os.Signal, 1)
	signal.Notify(started, syscall.SIGWINCH)
	_ = syscall.Kill(os.Getpid(), syscall.SIGWINCH)
	<-started
	signal.Stop(started)
	fmt.Println("ready")
	deadline := time.After(time.Duration(ms) * time.Millisecond)
	for {
		select {
		case s := <-sig:
			fmt.Println("got", s.String())
		case <-deadline:
			return code
		}
	}
}

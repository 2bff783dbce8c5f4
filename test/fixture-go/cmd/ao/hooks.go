package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Test hooks (fixture only): `ao fixture exit N|args ...|stdin|sleep MS|signal TERM|INT|KILL|env`.
func cmdFixture(args []string) error {
	if len(args) == 0 {
		return usageError{"usage: ao fixture <exit N|args ...|stdin|sleep MS|signal NAME|env>"}
	}
	switch args[0] {
	case "exit":
		n, _ := strconv.Atoi(args[1])
		if n == 0 {
			return nil
		}
		return exitError(n)
	case "args":
		raw, _ := json.Marshal(args[1:])
		fmt.Println(string(raw))
		return nil
	case "stdin":
		_, err := io.Copy(os.Stdout, os.Stdin)
		return err
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
			// Where it cannot be re-raised (Windows): 130, as a shell reports an interrupted program, told apart from the
			// 1 a TerminateProcess from outside leaves.
			time.Sleep(time.Second)
			return exitError(130)
		case <-time.After(time.Duration(ms) * time.Millisecond):
			return nil
		}
	case "trap":
		if code := fixtureTrap(args[1:]); code != 0 {
			return exitError(code)
		}
		return nil
	case "signal":
		names := map[string]syscall.Signal{"TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "KILL": syscall.SIGKILL}
		s, ok := names[args[1]]
		if !ok {
			return exitError(2)
		}
		signal.Reset()
		p, _ := os.FindProcess(os.Getpid())
		_ = p.Signal(s)
		time.Sleep(time.Second)
		return exitError(1)
	case "env":
		keys := os.Environ()
		sort.Strings(keys)
		fmt.Println(strings.Join(keys, "\n"))
		return nil
	}
	return exitError(2)
}

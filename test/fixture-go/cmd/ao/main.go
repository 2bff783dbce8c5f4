// The stand-in for the rewrite's Go binary (github.com/aoagents/agent-orchestrator/backend/cmd/ao).
// It mirrors the real CLI's contract as observed on the published 0.10.3 (docs/rewrite-contract.md):
// version forms, the hidden foreground `ao daemon`, running.json, /healthz and /readyz, `ao status|stop
// --json`, a projects-only `ao import --from`, `ao project ls` and `ao session ls` through the daemon, and a
// store of three files in ~/.ao/data. On top of that it offers one optional capability the real one lacks
// (`ao import --sessions-from <bundle>`), failure modes on request (AO_FIXTURE_FAULT) and test hooks
// under `ao fixture ...`. Usage errors exit 2, other failures 1, like the real cobra CLI.
package main

import (
	"fmt"
	"os"
	"strings"

	"example.invalid/ao-fixture/internal/cli"
)

// usageError marks a failure the real CLI reports with exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	err := run(os.Args[1:])
	if err == nil {
		return
	}
	if e, ok := err.(exitError); ok {
		os.Exit(int(e))
	}
	fmt.Fprintln(os.Stderr, err)
	if _, ok := err.(usageError); ok {
		os.Exit(2)
	}
	os.Exit(1)
}

// exitError ends the process with that code and nothing printed (test hooks).
type exitError int

func (e exitError) Error() string { return "" }

func fault() string { return os.Getenv("AO_FIXTURE_FAULT") }

func run(args []string) error {
	if len(args) == 0 {
		fmt.Println("ao: the agent orchestrator (fixture)\n\nUsage:\n  ao [command]")
		return nil
	}
	rest := args[1:]
	switch args[0] {
	case "daemon", "status", "stop", "import", "project", "session":
		if err := checkConfig(); err != nil {
			return err
		}
	}
	switch args[0] {
	case "--version", "-v":
		// cobra's default version template, as the real rewrite prints it.
		fmt.Println("ao version " + cli.VersionString())
		return nil
	case "version":
		if fault() == "wrong-version" {
			fmt.Println("0.0.1")
			return nil
		}
		fmt.Println(cli.VersionString())
		return nil
	case "daemon":
		return cmdDaemon(rest)
	case "status":
		return cmdStatus(rest)
	case "stop":
		return cmdStop(rest)
	case "start":
		legacyNotice()
		return fmt.Errorf("ao start opens the desktop app, which the fixture does not have; run the daemon with `ao daemon`")
	case "import":
		return cmdImport(rest)
	case "project":
		if len(rest) > 0 && (rest[0] == "ls" || rest[0] == "list") {
			return cmdProjectList(rest[1:])
		}
		return usageError{"usage: ao project ls [--json]"}
	case "session":
		if len(rest) > 0 && (rest[0] == "ls" || rest[0] == "list") {
			return cmdSessionList(rest[1:])
		}
		return usageError{"usage: ao session ls [--json] [-a|--all] [--include-terminated] [-p <project>]"}
	case "fixture":
		return cmdFixture(rest)
	}
	return usageError{fmt.Sprintf("unknown command %q for \"ao\"", args[0])}
}

// flags is the small part of cobra's flag parsing the fixture needs: --name, --name=value, --name value.
type flags struct {
	bools   map[string]bool
	strings map[string]string
	help    bool
}

func parseFlags(args []string, boolNames []string, stringNames []string) (*flags, error) {
	f := &flags{bools: map[string]bool{}, strings: map[string]string{}}
	isBool := map[string]string{}
	for _, n := range boolNames {
		for _, alias := range strings.Split(n, "|") {
			isBool[alias] = strings.Split(n, "|")[0]
		}
	}
	isString := map[string]bool{}
	for _, n := range stringNames {
		isString[n] = true
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-h" || a == "--help" {
			f.help = true
			continue
		}
		name, value, hasValue := strings.Cut(a, "=")
		if canonical, ok := isBool[name]; ok {
			f.bools[canonical] = !hasValue || value == "true"
			continue
		}
		if isString[name] {
			if !hasValue {
				if i+1 >= len(args) {
					return nil, usageError{fmt.Sprintf("flag needs an argument: %s", name)}
				}
				i++
				value = args[i]
			}
			f.strings[name] = value
			continue
		}
		if strings.HasPrefix(a, "-") {
			return nil, usageError{fmt.Sprintf("unknown flag: %s", a)}
		}
		return nil, usageError{fmt.Sprintf("unexpected argument %q", a)}
	}
	return f, nil
}

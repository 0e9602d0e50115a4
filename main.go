// Command palisade is the Palisade operator and its command-line tools.
//
//	palisade [manager] [flags]   run the operator (the default)
//	palisade scan -f FILE        analyze manifests offline (workloads, RBAC, NetworkPolicies, mTLS)
//	palisade serve               palisade scan over HTTP, like kubesec's HTTP mode
//	palisade netpol check|matrix what NetworkPolicies allow, offline
//	palisade probe serve|connect the programs of PolicyProbe's probe pods
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/palisade-sec/palisade/internal/cli/managercmd"
	"github.com/palisade-sec/palisade/internal/cli/netpolcmd"
	"github.com/palisade-sec/palisade/internal/cli/probecmd"
	"github.com/palisade-sec/palisade/internal/cli/scancmd"
	"github.com/palisade-sec/palisade/internal/cli/servecmd"
)

const usage = `Palisade: a Kubernetes security operator.

Usage:
  palisade [manager] [flags]    run the operator (default)
  palisade scan -f FILE [flags] analyze manifests offline (workloads, RBAC,
                                NetworkPolicies, mTLS)
  palisade serve [flags]        serve palisade scan over HTTP (kubesec's API)
  palisade netpol check|matrix  ask what NetworkPolicies allow, offline
  palisade probe serve|connect  run a PolicyProbe probe server or client
  palisade help                 show this text

Run "palisade COMMAND --help" for a command's flags.
`

type command func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int

func commands() map[string]command {
	return map[string]command{
		"manager": func(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) int {
			return managercmd.Run(ctx, args, stderr)
		},
		"scan":   scancmd.Run,
		"serve":  servecmd.Run,
		"netpol": netpolcmd.Run,
		"probe":  probecmd.Run,
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	name, rest := "manager", args
	if len(args) > 0 && (args[0] == "" || args[0][0] != '-') {
		name, rest = args[0], args[1:]
	}
	switch name {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := commands()[name]
	if !ok {
		fmt.Fprintf(stderr, "palisade: unknown command %q\n\n%s", name, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cmd(ctx, rest, stdin, stdout, stderr)
}

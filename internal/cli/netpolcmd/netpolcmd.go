// Package netpolcmd implements `palisade netpol check` and `palisade netpol
// matrix`: NetworkPolicy verdicts computed offline from manifest files.
package netpolcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/palisade-sec/palisade/internal/netpol"
)

const usage = `Usage: palisade netpol <command> -f FILE... [flags]

Judge connections against Kubernetes NetworkPolicies offline, without an API
server.

Commands:
  check    say whether one connection is allowed, and why
  matrix   print the truth table of every pod pair

Input (-f, repeatable): YAML or JSON files, directories, or - for stdin, holding
Namespaces, Pods and NetworkPolicies, one or more documents or a kind: List:
  kubectl get ns,pods,netpol -A -o yaml > cluster.yaml
Objects without a namespace are in "default". An object in a later file
replaces one of the same kind, namespace and name in an earlier file, so
  palisade netpol check -f cluster.yaml -f new-policy.yaml ...
asks "what if". Pods need status.podIP to take part.

Run 'palisade netpol <command> -h' for the command's flags.
`

// Run runs the netpol command with args (which exclude "netpol") and
// returns the exit code: 0 for an answer, 1 for bad input or usage.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 1
	}
	commands := map[string]func(context.Context, []string, *env) error{"check": runCheck, "matrix": runMatrix}
	name := args[0]
	if name == "-h" || name == "--help" || name == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	run, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "palisade netpol: unknown command %q\n\n%s", name, usage)
		return 1
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	err := run(ctx, args[1:], e)
	switch {
	case errors.Is(err, pflag.ErrHelp):
		return 0
	case err != nil:
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "palisade netpol %s: %s\n", name, line)
		}
		return 1
	}
	return 0
}

// env is a command's input and outputs.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// common are the flags every command takes.
type common struct {
	files  []string
	output string
}

func (c *common) register(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&c.files, "filename", "f", nil, "YAML or JSON file, directory or - (stdin) with Namespaces, Pods and NetworkPolicies (repeatable)")
	fs.StringVarP(&c.output, "output", "o", "text", "output format: text or json")
}

func (c *common) check() error {
	if len(c.files) == 0 {
		return errors.New("-f is required")
	}
	if c.output != "text" && c.output != "json" {
		return fmt.Errorf("-o %q: want text or json", c.output)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// engine loads the files and builds the engine, printing its warnings.
func (c *common) engine(ctx context.Context, e *env) (*netpol.Engine, error) {
	in, err := load(c.files, e.stdin, e.stderr)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	eng, err := netpol.NewWithClusterPolicies(in.namespaces, in.pods, in.policies, in.cluster)
	if err != nil {
		return nil, in.locate(err)
	}
	for _, w := range eng.Warnings() {
		fmt.Fprintf(e.stderr, "warning: %s\n", w)
	}
	return eng, nil
}

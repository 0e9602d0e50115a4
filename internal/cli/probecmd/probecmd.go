// Package probecmd implements `palisade probe serve` and `palisade probe
// connect`, the programs PolicyProbe's probe pods run. They need no shell,
// run as any user, and never talk to the API server.
package probecmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/palisade-sec/palisade/internal/cli/cliflag"
	"github.com/palisade-sec/palisade/internal/probe"
)

const usage = `Usage: palisade probe <command> [flags]

Try connections for real, for PolicyProbe's probe pods.

Commands:
  serve     listen on TCP ports (accept, send a banner, close) and UDP ports
            (echo), with /started and /ready on a health port
  connect   try targets concurrently and write the outcomes to the
            termination log and stdout

Run 'palisade probe <command> -h' for the command's flags.
`

// Run runs the probe command with args (which exclude "probe") and returns
// the exit code: 0 on success, 1 for bad usage or a failure.
func Run(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 1
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	commands := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"serve":   runServe,
		"connect": runConnect,
	}
	run, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "palisade probe: unknown command %q\n\n%s", name, usage)
		return 1
	}
	err := run(ctx, args[1:], stdout, stderr)
	switch {
	case errors.Is(err, pflag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "palisade probe %s: %v\n", name, err)
		return 1
	}
	return 0
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cliflag.NewFlagSet("serve", "palisade probe serve --ports 80/TCP,81/UDP [--health-port 9999]", stdout)
	ports := fs.String("ports", "", "ports to serve, comma-separated PORT[/TCP|/UDP] (required)")
	health := fs.Int32("health-port", 9999, "TCP port of the /started (200 once listening) and /ready (always 503) endpoints")
	host := fs.String("host", "", "address to listen on (default: every address)")
	if err := cliflag.Parse(fs, args); err != nil {
		return err
	}
	specs, err := probe.ParsePorts(*ports)
	if err != nil {
		return fmt.Errorf("--ports: %w", err)
	}
	if *health < 1 || *health > 65535 {
		return fmt.Errorf("--health-port %d: want 1 to 65535", *health)
	}
	return probe.Serve(ctx, probe.ServeConfig{Ports: specs, HealthPort: *health, Host: *host, Log: stderr})
}

func runConnect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cliflag.NewFlagSet("connect", "palisade probe connect --targets LIST|@FILE [--timeout 3s] [--termination-log PATH]", stdout)
	list := fs.String("targets", "", "targets, comma- or newline-separated ID=KIND://HOST:PORT with KIND tcp, udp or http; @FILE reads them from FILE (required)")
	timeout := fs.Duration("timeout", probe.DefaultAttemptTimeout, "bound on one attempt")
	workers := fs.Int("workers", probe.DefaultWorkers, "attempts at once")
	settle := fs.Duration("settle", probe.DefaultSettle, "wait before the first attempt, so that the NetworkPolicy enforcer has programmed this new pod's rules (negative: none)")
	attempts := fs.Int("attempts", probe.DefaultMaxAttempts, "attempts per target at most: each target is tried until two attempts in a row agree")
	termLog := fs.String("termination-log", "/dev/termination-log", "file to write the outcomes to (empty: none)")
	if err := cliflag.Parse(fs, args); err != nil {
		return err
	}
	targets, err := readTargets(*list)
	if err != nil {
		return fmt.Errorf("--targets: %w", err)
	}
	if *timeout <= 0 || *workers < 1 {
		return errors.New("--timeout and --workers must be positive")
	}
	if n := probe.MaxEncodedSize(targets); n > probe.MaxMessageSize {
		return fmt.Errorf("--targets: the outcomes of %d targets may take %d bytes, more than the %d of a termination message: split them over more pods (probe.Split)", len(targets), n, probe.MaxMessageSize)
	}
	outcomes := probe.Connect(ctx, targets, probe.ConnectOptions{AttemptTimeout: *timeout, Workers: *workers, Settle: *settle, MaxAttempts: *attempts})
	msg, err := probe.Encode(outcomes)
	if err != nil {
		return err
	}
	if *termLog != "" {
		if err := os.WriteFile(*termLog, msg, 0o644); err != nil {
			return fmt.Errorf("writing the termination log: %w", err)
		}
	}
	_, err = stdout.Write(msg)
	return err
}

// readTargets parses an inline list, or the file named after an '@'.
func readTargets(arg string) ([]probe.Target, error) {
	if path, ok := strings.CutPrefix(arg, "@"); ok {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		arg = string(data)
	}
	return probe.ParseTargets(arg)
}

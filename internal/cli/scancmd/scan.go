// Package scancmd is `palisade scan`: it analyzes manifests offline the way
// the operator analyzes a cluster. It scores workloads with kubesec's rules
// and the Pod Security Standards (see package workloads) and runs the RBAC,
// NetworkPolicy coverage and Istio mTLS analyzers through scan.Run, the
// code a SecurityScan runs, over an in-memory cluster holding the objects
// given (kube.MemoryReader), so a `kubectl get -A -o yaml` dump reads as the
// cluster it came from. Scan and Report are shared with `palisade serve`.
//
// Which analyzers run: --analyzers auto (the default) runs workloads when
// an object has a pod template, rbac when a Role, ClusterRole, RoleBinding
// or ClusterRoleBinding is present, networkPolicies when a NetworkPolicy is,
// mtls when a PeerAuthentication is; a list runs those named, applicable or
// not (mtls without PeerAuthentications reports that Istio is not
// installed). The pods the analyzers see are the Pod objects given: a
// Deployment manifest alone has none.
//
// Each pod template is scored once: an object whose controller is in the
// input and scores its template (a ReplicaSet for its Pods, a Deployment
// for its ReplicaSets, see workloads.IsTopLevel) is "owned", not scored
// again; an object whose controller is absent is scored as given, as
// kubesec does. Output is a table (findings most severe first, each
// workload's score and Pod Security Standards level, the analyzers, a
// summary line; what was not scored goes to stderr), Palisade's JSON
// report, or kubesec's JSON array (-o kubesec).
//
// As in kubesec, -o kubesec gives objects of other kinds "valid": true, the
// message "This resource kind is not supported by kubesec" and a score of 0.
// Where -o kubesec and the exit code differ from `kubesec scan`:
//   - A document that does not decode gets "object": "Unknown",
//     "valid": false and the decoder's error as the message, and is listed
//     after the objects; kubesec validates against downloaded schemas, and
//     stops at the first YAML syntax error.
//   - Owned objects have no entry: their controller's entry is their pod
//     template's.
//   - kubesec exits 2 whenever an object, of any kind, scores 0 or less.
//     palisade scan exits 0 unless --exit-code is given, and then compares
//     only the scored workloads with --min-score.
package scancmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/analyzers/workloads"
	"github.com/palisade-sec/palisade/internal/manifest"
)

// Exit codes besides the one --exit-code sets.
const (
	exitOK    = 0
	exitError = 2
)

const usage = `Usage: palisade scan -f FILE|DIR|- [flags]

Analyzes manifests offline, as a SecurityScan analyzes a cluster: scores
workloads (Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs,
CronJobs) with kubesec's rules and points and checks them against the Pod
Security Standards, and finds risky RBAC grants, gaps in NetworkPolicy
coverage and Istio mTLS posture when the input holds those kinds. Files may
hold several YAML documents, JSON, or a kind: List; a "kubectl get -A -o
yaml" dump is a valid input. Other kinds are reported as unsupported.

Exit code: 0; --exit-code when a workload scores at or below --min-score; 2
for bad flags, unreadable files or an analyzer that failed.

Flags:
`

// config is the parsed command line.
type config struct {
	files     []string
	output    string
	level     v1alpha1.PodSecurityLevel
	advice    bool
	analyzers []string
	exitCode  int
	minScore  int
}

// Run runs `palisade scan` with args (which exclude the word "scan") and
// returns the process's exit code: 0, or --exit-code when an object scores
// at or below --min-score, or 2 for bad flags, unreadable files and failed
// analyzers.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stdout)
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "palisade scan: %v\nRun 'palisade scan --help' for usage.\n", err)
		return exitError
	}
	objs, bad, err := manifest.ReadPaths(cfg.files, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "palisade scan: %v\n", err)
		return exitError
	}
	rep, err := Scan(ctx, objs, bad, cfg.options())
	if err != nil {
		fmt.Fprintf(stderr, "palisade scan: %v\n", err)
		return exitError
	}
	if err := write(stdout, stderr, cfg.output, rep); err != nil {
		fmt.Fprintf(stderr, "palisade scan: writing the report: %v\n", err)
		return exitError
	}
	if failed := rep.FailedAnalyzers(); len(failed) > 0 {
		fmt.Fprintf(stderr, "palisade scan: analyzer failed: %s\n", strings.Join(failed, "; "))
		return exitError
	}
	if cfg.exitCode != 0 && rep.scoresAtOrBelow(cfg.minScore) {
		return cfg.exitCode
	}
	return exitOK
}

func parseFlags(args []string, stdout io.Writer) (config, error) {
	var cfg config
	var level string
	def := DefaultOptions()
	fs := pflag.NewFlagSet("scan", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringArrayVarP(&cfg.files, "filename", "f", nil, "file or directory (.yaml, .yml, .json files below it) to scan, or - for standard input; repeatable")
	fs.StringVarP(&cfg.output, "output", "o", "table", "output format: table, json or kubesec")
	fs.StringSliceVar(&cfg.analyzers, "analyzers", []string{autoAnalyzers}, "analyzers to run: auto (those the input has objects for) or a list of "+strings.Join(AnalyzerNames(), ","))
	fs.StringVar(&level, "level", string(def.Workloads.Level), "Pod Security Standards level to report failures at: baseline or restricted")
	fs.BoolVar(&cfg.advice, "advice", def.Workloads.Advice, "report kubesec's positive rules a workload misses, as Low or Info findings")
	fs.IntVar(&cfg.exitCode, "exit-code", 0, "exit with this code when an object's kubesec score is at or below --min-score (0: always exit 0)")
	fs.IntVar(&cfg.minScore, "min-score", 0, "the kubesec score at or below which --exit-code applies")
	fs.Usage = func() { fmt.Fprint(stdout, usage+fs.FlagUsages()) }
	if err := fs.Parse(args); err != nil {
		return cfg, err // for -h and --help, Parse has printed the usage
	}
	cfg.level = v1alpha1.PodSecurityLevel(level)
	if slices.Equal(cfg.analyzers, []string{autoAnalyzers}) {
		cfg.analyzers = nil
	}
	return cfg, cfg.validate(fs.Args())
}

// autoAnalyzers is the --analyzers value for the analyzers that apply.
const autoAnalyzers = "auto"

func (c config) validate(rest []string) error {
	switch {
	case len(rest) > 0:
		return fmt.Errorf("unexpected argument %q: name files with -f", rest[0])
	case len(c.files) == 0:
		return errors.New("nothing to scan: name a file or directory with -f, or -f - for standard input")
	case !slices.Contains([]string{"table", "json", "kubesec"}, c.output):
		return fmt.Errorf("unknown output format %q: use table, json or kubesec", c.output)
	case c.level != v1alpha1.PodSecurityBaseline && c.level != v1alpha1.PodSecurityRestricted:
		return fmt.Errorf("unknown Pod Security Standards level %q: use baseline or restricted", c.level)
	case c.exitCode < 0 || c.exitCode > 255:
		return fmt.Errorf("--exit-code %d is not between 0 and 255", c.exitCode)
	case slices.Contains(c.analyzers, autoAnalyzers):
		return fmt.Errorf("--analyzers %s: auto stands alone", strings.Join(c.analyzers, ","))
	}
	return ValidateAnalyzers(c.analyzers)
}

// options are the Scan options the command line asks for.
func (c config) options() Options {
	return Options{
		Workloads: workloads.Options{Level: c.level, Advice: c.advice},
		Analyzers: c.analyzers,
	}
}

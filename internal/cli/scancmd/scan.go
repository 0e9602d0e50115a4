// Package scancmd is `palisade scan`: it scores workload manifests with
// kubesec's rules and the Pod Security Standards, offline, the way the
// operator scores live workloads (see package workloads).
//
// Every object given is scored, whatever its owner references say. Output
// is a table (findings most severe first, each workload's score and Pod
// Security Standards level, a summary line; what was not scored goes to
// stderr), Palisade's JSON report, or kubesec's JSON array (-o kubesec).
//
// As in kubesec, -o kubesec gives objects of other kinds "valid": true, the
// message "This resource kind is not supported by kubesec" and a score of 0.
// Where -o kubesec and the exit code differ from `kubesec scan`:
//   - A document that does not decode gets "object": "Unknown",
//     "valid": false and the decoder's error as the message, and is listed
//     after the objects; kubesec validates against downloaded schemas, and
//     stops at the first YAML syntax error.
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

Scores workload manifests (Pods, Deployments, StatefulSets, DaemonSets,
ReplicaSets, Jobs, CronJobs) with kubesec's rules and points and checks them
against the Pod Security Standards. Files may hold several YAML documents,
JSON, or a kind: List. Other kinds are reported as unsupported.

Flags:
`

// config is the parsed command line.
type config struct {
	files    []string
	output   string
	level    v1alpha1.PodSecurityLevel
	advice   bool
	exitCode int
	minScore int
}

// Run runs `palisade scan` with args (which exclude the word "scan") and
// returns the process's exit code: 0, or --exit-code when an object scores
// at or below --min-score, or 2 for bad flags and unreadable files.
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
	rep, err := scan(ctx, objs, bad, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "palisade scan: %v\n", err)
		return exitError
	}
	if err := write(stdout, stderr, cfg.output, rep); err != nil {
		fmt.Fprintf(stderr, "palisade scan: writing the report: %v\n", err)
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
	fs := pflag.NewFlagSet("scan", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringArrayVarP(&cfg.files, "filename", "f", nil, "file or directory (.yaml, .yml, .json files below it) to scan, or - for standard input; repeatable")
	fs.StringVarP(&cfg.output, "output", "o", "table", "output format: table, json or kubesec")
	fs.StringVar(&level, "level", string(v1alpha1.PodSecurityRestricted), "Pod Security Standards level to report failures at: baseline or restricted")
	fs.BoolVar(&cfg.advice, "advice", true, "report kubesec's positive rules a workload misses, as Low or Info findings")
	fs.IntVar(&cfg.exitCode, "exit-code", 0, "exit with this code when an object's kubesec score is at or below --min-score (0: always exit 0)")
	fs.IntVar(&cfg.minScore, "min-score", 0, "the kubesec score at or below which --exit-code applies")
	fs.Usage = func() { fmt.Fprint(stdout, usage+fs.FlagUsages()) }
	if err := fs.Parse(args); err != nil {
		return cfg, err // for -h and --help, Parse has printed the usage
	}
	cfg.level = v1alpha1.PodSecurityLevel(level)
	return cfg, cfg.validate(fs.Args())
}

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
	}
	return nil
}

// Object statuses in the JSON report.
const (
	statusScored      = "scored"
	statusUnsupported = "unsupported"
	statusInvalid     = "invalid"
)

// report is what a scan found, in Palisade's JSON shape.
type report struct {
	Summary  summary            `json:"summary"`
	Findings []v1alpha1.Finding `json:"findings"`
	Objects  []object           `json:"objects"`
}

// summary counts the findings by severity.
type summary struct {
	v1alpha1.SeverityCounts
	Total int32 `json:"total"`
}

// object is one object or document scanned.
type object struct {
	// Source is where it was read: "file.yaml#2", "file.yaml#1[3]" for an
	// item of a List, "<stdin>#1".
	Source string `json:"source"`
	// Status is scored, unsupported or invalid.
	Status   string                `json:"status"`
	Resource *v1alpha1.ResourceRef `json:"resource,omitempty"`
	// Score is the kubesec score of a scored object.
	Score            *int   `json:"score,omitempty"`
	PodSecurityLevel string `json:"podSecurityLevel,omitempty"`
	// Error says why the object was not scored.
	Error   string                  `json:"error,omitempty"`
	kubesec workloads.KubesecResult // the object's entry in -o kubesec
}

// scan analyzes objs and records bad documents, in that order.
func scan(ctx context.Context, objs []manifest.Object, bad []*manifest.DocumentError, cfg config) (*report, error) {
	rep := &report{Findings: []v1alpha1.Finding{}, Objects: make([]object, 0, len(objs)+len(bad))}
	opts := workloads.Options{Level: cfg.level, Advice: cfg.advice}
	for _, o := range objs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		obj, findings, err := analyze(o, opts)
		if err != nil {
			return nil, err
		}
		rep.Objects = append(rep.Objects, obj)
		rep.Findings = append(rep.Findings, findings...)
	}
	for _, d := range bad {
		rep.Objects = append(rep.Objects, invalid(d))
	}
	slices.SortStableFunc(rep.Findings, func(a, b v1alpha1.Finding) int { return a.Severity.Rank() - b.Severity.Rank() })
	for _, f := range rep.Findings {
		rep.Summary.Add(f.Severity)
	}
	rep.Summary.Total = rep.Summary.SeverityCounts.Total()
	return rep, nil
}

// analyze scores one object; an unsupported kind is an object, not an
// error.
func analyze(o manifest.Object, opts workloads.Options) (object, []v1alpha1.Finding, error) {
	ref := workloads.Ref(o.Obj)
	res, err := workloads.Analyze(o.Obj, opts)
	if errors.Is(err, workloads.ErrUnsupportedKind) {
		k := workloads.UnsupportedKubesecResult(ref)
		k.FileName = fileName(o.Source)
		return object{Source: o.Source, Status: statusUnsupported, Resource: &ref, Error: err.Error(), kubesec: k}, nil, nil
	}
	if err != nil {
		return object{}, nil, fmt.Errorf("%s: %w", o.Source, err)
	}
	res.Kubesec.FileName = fileName(o.Source)
	return object{
		Source:           o.Source,
		Status:           statusScored,
		Resource:         &res.Resource,
		Score:            &res.Kubesec.Score,
		PodSecurityLevel: res.PodSecurityLevel,
		kubesec:          res.Kubesec,
	}, res.Findings, nil
}

// invalid records a document that could not be decoded; kubesec names such
// objects "Unknown".
func invalid(d *manifest.DocumentError) object {
	return object{
		Source: d.Source,
		Status: statusInvalid,
		Error:  d.Err.Error(),
		kubesec: workloads.KubesecResult{
			Object:   "Unknown",
			FileName: fileName(d.Source),
			Message:  d.Err.Error(),
		},
	}
}

// fileName is the file part of a manifest source ("deploy.yaml#2[0]"), as
// kubesec names it: "STDIN" for standard input.
func fileName(source string) string {
	if i := strings.LastIndexByte(source, '#'); i >= 0 {
		source = source[:i]
	}
	if source == "<stdin>" {
		return "STDIN"
	}
	return source
}

// scoresAtOrBelow reports whether a scored object's kubesec score is at or
// below limit.
func (r *report) scoresAtOrBelow(limit int) bool {
	return slices.ContainsFunc(r.Objects, func(o object) bool { return o.Score != nil && *o.Score <= limit })
}

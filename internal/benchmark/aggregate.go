package benchmark

import (
	"cmp"
	"slices"
	"strings"

	"github.com/palisade-sec/palisade/internal/benchmark/kubebench"

	"github.com/palisade-sec/palisade/internal/text"
)

// Defaults of Options.
const (
	DefaultExampleNodes = 5
	DefaultMaxNodes     = 500
	DefaultMaxChecks    = 300
)

// Lengths, in bytes, to which Aggregate cuts strings.
const (
	maxNodeNameLen    = 253 // a DNS subdomain, as node names are
	maxRoleLen        = 63
	maxReasonLen      = 256
	maxBenchmarkLen   = 64
	maxNumberLen      = 32
	maxTextLen        = 256
	maxRemediationLen = 1024
	maxActualValueLen = 256
)

// NodeResult is what the kube-bench Job of one node produced.
type NodeResult struct {
	// Name of the node.
	Name string
	// Role of the node as the caller sees it, e.g. "control-plane" or
	// "worker".
	Role string
	// Report is the parsed log; nil when there is none.
	Report *kubebench.Report
	// Reason says why there is no report, e.g. the error from
	// kubebench.Parse or "Job deadline exceeded".
	Reason string
}

// Options tune Aggregate. Zero or negative values take the defaults.
type Options struct {
	// ExampleNodes is how many node names a CheckSummary lists.
	ExampleNodes int
	// MaxNodes caps Summary.Nodes.
	MaxNodes int
	// MaxChecks caps Summary.Checks.
	MaxChecks int
}

func (o Options) withDefaults() Options {
	if o.ExampleNodes <= 0 {
		o.ExampleNodes = DefaultExampleNodes
	}
	if o.MaxNodes <= 0 {
		o.MaxNodes = DefaultMaxNodes
	}
	if o.MaxChecks <= 0 {
		o.MaxChecks = DefaultMaxChecks
	}
	return o
}

// Summary is the benchmark's outcome across nodes.
type Summary struct {
	// NodeCounts counts all nodes by status, those left out of Nodes too.
	NodeCounts NodeCounts `json:"nodeCounts"`
	// Nodes has one entry per node: Error first, then Fail, Warn and
	// Pass, each by name; at most Options.MaxNodes of them.
	Nodes []NodeSummary `json:"nodes,omitempty"`
	// NodesOmitted is how many nodes the cap left out of Nodes.
	NodesOmitted int `json:"nodesOmitted,omitempty"`
	// Checks has one entry per check that failed or warned on some node:
	// scored FAILs, unscored FAILs, then WARNs, each by check number; at
	// most Options.MaxChecks of them.
	Checks []CheckSummary `json:"checks,omitempty"`
	// ChecksOmitted is how many checks the cap left out of Checks.
	ChecksOmitted int `json:"checksOmitted,omitempty"`
}

// NodeStatus is the outcome of the benchmark on one node.
type NodeStatus string

// Node statuses, worst first.
const (
	// NodeError means the node has no report.
	NodeError NodeStatus = "Error"
	// NodeFail means at least one check failed.
	NodeFail NodeStatus = "Fail"
	// NodeWarn means no check failed but at least one warned.
	NodeWarn NodeStatus = "Warn"
	// NodePass means every check passed or was skipped (INFO).
	NodePass NodeStatus = "Pass"
)

func (s NodeStatus) rank() int {
	return slices.Index([]NodeStatus{NodeError, NodeFail, NodeWarn, NodePass}, s)
}

// NodeCounts counts nodes by status.
type NodeCounts struct {
	Error int `json:"error"`
	Fail  int `json:"fail"`
	Warn  int `json:"warn"`
	Pass  int `json:"pass"`
}

func (n *NodeCounts) add(s NodeStatus) {
	switch s {
	case NodeError:
		n.Error++
	case NodeFail:
		n.Fail++
	case NodeWarn:
		n.Warn++
	case NodePass:
		n.Pass++
	}
}

// NodeSummary is the outcome of the benchmark on one node.
type NodeSummary struct {
	Name string `json:"name"`
	Role string `json:"role,omitempty"`
	// Benchmark that ran, e.g. "cis-1.12"; several are joined by commas.
	Benchmark string `json:"benchmark,omitempty"`
	// Counts counts the node's checks by status.
	kubebench.Counts
	Status NodeStatus `json:"status"`
	// Reason says why there is no report.
	Reason string `json:"reason,omitempty"`
}

// CheckSummary is one check that failed or warned on some nodes. Text,
// Scored, Remediation, ActualValue and Reason describe the check on the
// first of ExampleNodes.
type CheckSummary struct {
	// Benchmark is the benchmark the check belongs to, e.g. "cis-1.12".
	Benchmark string `json:"benchmark"`
	// Number is the check's number in the benchmark, e.g. "1.1.1".
	Number string `json:"number"`
	Text   string `json:"text"`
	Scored bool   `json:"scored"`
	// Status is FAIL when the check failed on some node, WARN otherwise.
	Status      kubebench.Status `json:"status"`
	Remediation string           `json:"remediation,omitempty"`
	// ActualValue is what the check's audit printed.
	ActualValue string `json:"actualValue,omitempty"`
	// Reason says why kube-bench could not evaluate the check.
	Reason string `json:"reason,omitempty"`
	// FailedNodes and WarnedNodes count the nodes where the check failed
	// and warned.
	FailedNodes int `json:"failedNodes"`
	WarnedNodes int `json:"warnedNodes"`
	// ExampleNodes are the first nodes, by name, where the check has
	// Status; at most Options.ExampleNodes of them.
	ExampleNodes []string `json:"exampleNodes"`
}

// Aggregate summarises the kube-bench results of many nodes: each node's
// counts, and each failing or warning check once with the nodes it concerns.
// The summary does not depend on the order of nodes, which it leaves as it
// is.
func Aggregate(nodes []NodeResult, opts Options) Summary {
	opts = opts.withDefaults()
	nodes = slices.Clone(nodes)
	slices.SortStableFunc(nodes, func(a, b NodeResult) int { return strings.Compare(a.Name, b.Name) })
	var s Summary
	checks := map[checkKey]*CheckSummary{}
	for i := range nodes {
		n := summarizeNode(&nodes[i])
		s.NodeCounts.add(n.Status)
		s.Nodes = append(s.Nodes, n)
		if nodes[i].Report != nil {
			tally(checks, n.Name, nodes[i].Report, opts.ExampleNodes)
		}
	}
	s.Nodes, s.NodesOmitted = worstNodes(s.Nodes, opts.MaxNodes)
	s.Checks, s.ChecksOmitted = sortedChecks(checks, opts.MaxChecks)
	return s
}

func summarizeNode(n *NodeResult) NodeSummary {
	s := NodeSummary{Name: text.Cut(n.Name, maxNodeNameLen), Role: text.Cut(n.Role, maxRoleLen), Reason: text.Cut(n.Reason, maxReasonLen)}
	if n.Report == nil {
		s.Status = NodeError
		if s.Reason == "" {
			s.Reason = "no kube-bench report"
		}
		return s
	}
	s.Benchmark = text.Cut(benchmarks(n.Report), maxBenchmarkLen)
	s.Counts = n.Report.Counts()
	switch {
	case s.Fail > 0:
		s.Status = NodeFail
	case s.Warn > 0:
		s.Status = NodeWarn
	default:
		s.Status = NodePass
	}
	return s
}

// benchmarks lists the benchmarks of r's targets once each, joined by
// commas.
func benchmarks(r *kubebench.Report) string {
	var names []string
	for i := range r.Controls {
		if v := r.Controls[i].Version; !slices.Contains(names, v) {
			names = append(names, v)
		}
	}
	return strings.Join(names, ",")
}

// worstNodes orders nodes by status, worst first, keeping their order
// otherwise, and keeps the first limit of them.
func worstNodes(nodes []NodeSummary, limit int) ([]NodeSummary, int) {
	slices.SortStableFunc(nodes, func(a, b NodeSummary) int { return cmp.Compare(a.Status.rank(), b.Status.rank()) })
	if len(nodes) > limit {
		return nodes[:limit], len(nodes) - limit
	}
	return nodes, 0
}

// checkKey identifies a check across nodes.
type checkKey struct{ benchmark, number string }

// tally adds the failing and warning checks of node's report r to checks.
func tally(checks map[checkKey]*CheckSummary, node string, r *kubebench.Report, examples int) {
	for key, c := range worstChecks(r) {
		s := checks[key]
		if s == nil {
			s = &CheckSummary{Benchmark: key.benchmark, Number: key.number}
			checks[key] = s
		}
		s.add(node, c, examples)
	}
}

// worstChecks returns r's FAIL and WARN checks, one per benchmark and
// number, FAIL winning, so that a node counts once per check.
func worstChecks(r *kubebench.Report) map[checkKey]*kubebench.Check {
	worst := map[checkKey]*kubebench.Check{}
	for target, c := range r.Checks() {
		if c.Status != kubebench.StatusFail && c.Status != kubebench.StatusWarn {
			continue
		}
		key := checkKey{text.Cut(target.Version, maxBenchmarkLen), text.Cut(c.Number, maxNumberLen)}
		if prev := worst[key]; prev == nil || (prev.Status == kubebench.StatusWarn && c.Status == kubebench.StatusFail) {
			worst[key] = c
		}
	}
	return worst
}

// add counts the check c of node, which failed or warned there.
func (s *CheckSummary) add(node string, c *kubebench.Check, examples int) {
	if s.Status == "" || (s.Status == kubebench.StatusWarn && c.Status == kubebench.StatusFail) {
		s.describe(c)
		s.ExampleNodes = s.ExampleNodes[:0]
	}
	if c.Status == kubebench.StatusFail {
		s.FailedNodes++
	} else {
		s.WarnedNodes++
	}
	if c.Status == s.Status && len(s.ExampleNodes) < examples {
		s.ExampleNodes = append(s.ExampleNodes, node)
	}
}

// describe makes the summary describe c: its status, text, scoring,
// remediation, actual value and reason.
func (s *CheckSummary) describe(c *kubebench.Check) {
	s.Status = c.Status
	s.Text = text.Cut(c.Text, maxTextLen)
	s.Scored = c.Scored
	s.Remediation = text.Cut(c.Remediation, maxRemediationLen)
	s.ActualValue = text.Cut(c.ActualValue, maxActualValueLen)
	s.Reason = text.Cut(c.Reason, maxReasonLen)
}

// sortedChecks orders checks most severe first, then by number, and keeps
// the first limit of them.
func sortedChecks(checks map[checkKey]*CheckSummary, limit int) ([]CheckSummary, int) {
	list := make([]CheckSummary, 0, len(checks))
	for _, c := range checks {
		list = append(list, *c)
	}
	slices.SortFunc(list, compareChecks)
	if len(list) > limit {
		return list[:limit], len(list) - limit
	}
	return list, 0
}

func compareChecks(a, b CheckSummary) int {
	return cmp.Or(
		cmp.Compare(a.rank(), b.rank()),
		text.CompareNumbered(a.Number, b.Number),
		strings.Compare(a.Number, b.Number),
		strings.Compare(a.Benchmark, b.Benchmark),
	)
}

// rank orders checks by severity: scored FAIL, unscored FAIL, WARN.
func (s *CheckSummary) rank() int {
	switch {
	case s.Status == kubebench.StatusFail && s.Scored:
		return 0
	case s.Status == kubebench.StatusFail:
		return 1
	default:
		return 2
	}
}

// Package results keeps a run's CIS benchmark results in the ScanReport's
// status (v1alpha1.BenchmarkResults) while the nodes finish one by one, so
// that the status is the run's whole state: an operator that restarts
// mid-run resumes from it.
//
// The status stays small at every step, however many nodes there are:
//
//   - Nodes lists the nodes being benchmarked (at most the scan's
//     maxConcurrentNodes, 100 at most), then the nodes with an outcome,
//     worst first, at most MaxNodes (500) of them: Failed, Skipped, then
//     Succeeded nodes by their worst check (Fail, Warn, Pass), each by name.
//     Keeping the worst MaxNodes as nodes finish gives the same list as
//     choosing them at the end. NodeCounts counts every node by phase and
//     NodesOmitted those left out of the list.
//   - Checks has each check that failed or warned on some node once, with
//     the number of nodes it failed and warned on and the first few of them
//     by name, as benchmark.Aggregate makes them; a node's checks are
//     merged in when it finishes. Whatever order nodes finish in, the
//     result is the same: the check's text and actual value are those of
//     the first of its example nodes. At most MaxChecks are kept, the most
//     severe; a CIS benchmark has about 130, so only corrupt or hostile
//     logs reach the cap, and ChecksOmitted then counts the checks dropped.
//   - LastNodeStarted records how far the run got: nodes are started in
//     name order.
//
// For 5,000 nodes the status is under 300 KiB at every step (TestManyNodes).
package results

import (
	"cmp"
	"slices"
	"strings"

	"github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/benchmark"
	"github.com/palisade-sec/palisade/internal/benchmark/kubebench"
)

// Caps of the lists.
const (
	// MaxNodes is how many nodes with an outcome are listed.
	MaxNodes = benchmark.DefaultMaxNodes
	// MaxChecks is how many checks are listed.
	MaxChecks = benchmark.DefaultMaxChecks
	// ExampleNodes is how many nodes a check names.
	ExampleNodes = benchmark.DefaultExampleNodes
)

// New returns empty results for a run of the benchmark chosen for the
// given reason.
func New(benchmarkName, reason string) *v1alpha1.BenchmarkResults {
	return &v1alpha1.BenchmarkResults{Benchmark: benchmarkName, BenchmarkReason: reason, NodeCounts: &v1alpha1.BenchmarkProgress{}}
}

// Outcome is how the benchmark went on one node.
type Outcome struct {
	Name string
	Role string
	// Phase is Succeeded, Failed or Skipped.
	Phase v1alpha1.BenchmarkNodePhase
	// Reason and Message explain a Failed or Skipped node.
	Reason, Message string
	// Report is a Succeeded node's parsed log.
	Report *kubebench.Report
}

// Started records that node began: it is listed as Running until Record.
// A node already running or finished is left as it is: each node runs once
// per report.
func Started(b *v1alpha1.BenchmarkResults, node, role string) {
	if Running(b, node) != nil || finished(b, node) {
		return
	}
	b.Nodes = slices.Insert(b.Nodes, runningCount(b), v1alpha1.BenchmarkNode{Name: node, Role: role, Phase: v1alpha1.BenchmarkNodeRunning})
	counts(b).Running++
}

// finished tells whether node has an outcome among the listed nodes. Past
// MaxNodes finished nodes the best are dropped from the list, so a node
// recorded long ago may no longer be found.
func finished(b *v1alpha1.BenchmarkResults, node string) bool {
	return slices.ContainsFunc(b.Nodes[runningCount(b):], func(n v1alpha1.BenchmarkNode) bool { return n.Name == node })
}

// Running returns node's entry while it is being benchmarked, else nil.
func Running(b *v1alpha1.BenchmarkResults, node string) *v1alpha1.BenchmarkNode {
	for i := range b.Nodes[:runningCount(b)] {
		if b.Nodes[i].Name == node {
			return &b.Nodes[i]
		}
	}
	return nil
}

// RunningNodes lists the nodes being benchmarked.
func RunningNodes(b *v1alpha1.BenchmarkResults) []v1alpha1.BenchmarkNode {
	return b.Nodes[:runningCount(b)]
}

// runningCount is the number of Running entries, which come first.
func runningCount(b *v1alpha1.BenchmarkResults) int {
	n := 0
	for n < len(b.Nodes) && b.Nodes[n].Phase == v1alpha1.BenchmarkNodeRunning {
		n++
	}
	return n
}

// Record records a node's outcome: it is no longer Running, its entry joins
// the worst MaxNodes, and the checks of a Succeeded node are merged into
// Checks.
func Record(b *v1alpha1.BenchmarkResults, o Outcome) {
	if i := slices.IndexFunc(RunningNodes(b), func(n v1alpha1.BenchmarkNode) bool { return n.Name == o.Name }); i >= 0 {
		b.Nodes = slices.Delete(b.Nodes, i, i+1)
		counts(b).Running--
	} else if finished(b, o.Name) {
		return // recorded already: a node counts once
	}
	entry := v1alpha1.BenchmarkNode{Name: o.Name, Role: o.Role, Phase: o.Phase, Reason: o.Reason, Message: o.Message}
	if o.Phase == v1alpha1.BenchmarkNodeSucceeded && o.Report != nil {
		entry = mergeReport(b, o)
	}
	c := counts(b)
	switch entry.Phase {
	case v1alpha1.BenchmarkNodeSucceeded:
		c.Succeeded++
	case v1alpha1.BenchmarkNodeSkipped:
		c.Skipped++
	default:
		entry.Phase = v1alpha1.BenchmarkNodeFailed
		c.Failed++
	}
	insertFinished(b, entry)
}

// mergeReport merges a Succeeded node's checks into b.Checks and returns
// its entry, both as benchmark.Aggregate makes them.
func mergeReport(b *v1alpha1.BenchmarkResults, o Outcome) v1alpha1.BenchmarkNode {
	s := benchmark.Aggregate([]benchmark.NodeResult{{Name: o.Name, Role: o.Role, Report: o.Report}}, benchmark.Options{})
	n := s.Nodes[0]
	for i := range s.Checks {
		mergeCheck(b, &s.Checks[i])
	}
	b.ChecksOmitted += int32(s.ChecksOmitted)
	return v1alpha1.BenchmarkNode{
		Name: n.Name, Role: n.Role, Phase: v1alpha1.BenchmarkNodeSucceeded, Benchmark: n.Benchmark,
		Pass: int32(n.Pass), Fail: int32(n.Fail), Warn: int32(n.Warn), Info: int32(n.Info),
	}
}

// insertFinished inserts entry among the finished nodes, worst first, and
// drops the best one beyond MaxNodes.
func insertFinished(b *v1alpha1.BenchmarkResults, entry v1alpha1.BenchmarkNode) {
	running := runningCount(b)
	finished := b.Nodes[running:]
	i, _ := slices.BinarySearchFunc(finished, entry, compareNodes)
	b.Nodes = slices.Insert(b.Nodes, running+i, entry)
	if len(b.Nodes)-running > MaxNodes {
		b.Nodes = b.Nodes[:running+MaxNodes]
		b.NodesOmitted++
	}
}

// compareNodes orders finished nodes worst first, then by name.
func compareNodes(a, b v1alpha1.BenchmarkNode) int {
	return cmp.Or(cmp.Compare(nodeRank(a), nodeRank(b)), strings.Compare(a.Name, b.Name))
}

func nodeRank(n v1alpha1.BenchmarkNode) int {
	switch {
	case n.Phase == v1alpha1.BenchmarkNodeFailed:
		return 0
	case n.Phase == v1alpha1.BenchmarkNodeSkipped:
		return 1
	case n.Fail > 0:
		return 2
	case n.Warn > 0:
		return 3
	default:
		return 4
	}
}

// SetPending sets how many nodes are still to be started, and the total.
func SetPending(b *v1alpha1.BenchmarkResults, pending int) {
	c := counts(b)
	c.Pending = int32(pending)
	c.Total = c.Pending + c.Running + c.Succeeded + c.Failed + c.Skipped
}

func counts(b *v1alpha1.BenchmarkResults) *v1alpha1.BenchmarkProgress {
	if b.NodeCounts == nil {
		b.NodeCounts = &v1alpha1.BenchmarkProgress{}
	}
	return b.NodeCounts
}

// Finish closes the results of a run whose nodes all have an outcome: the
// checks are sorted most severe first and the resume marker is cleared.
func Finish(b *v1alpha1.BenchmarkResults) {
	slices.SortFunc(b.Checks, compareChecks)
	b.LastNodeStarted = ""
	SetPending(b, 0)
}

// Findings are the checks as findings, in the order of Checks, with the
// IDs, severities and messages of benchmark.CheckSummary.Finding.
func Findings(b *v1alpha1.BenchmarkResults) []v1alpha1.Finding {
	out := make([]v1alpha1.Finding, 0, len(b.Checks))
	for i := range b.Checks {
		s := summary(&b.Checks[i])
		out = append(out, s.Finding())
	}
	return out
}

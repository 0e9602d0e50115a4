package results

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/benchmark"
	"github.com/palisade-sec/palisade/internal/benchmark/kubebench"

	"github.com/palisade-sec/palisade/internal/benchmark/benchtest"
)

// vary copies base for node i: some passing checks fail, some failing ones
// warn, and actual values name the node.
func vary(base *kubebench.Report, i int) *kubebench.Report {
	return benchtest.Variant(base, i, func(s kubebench.Status, i, k int) kubebench.Status {
		switch {
		case s == kubebench.StatusPass && (i+k)%11 == 0:
			return kubebench.StatusFail
		case s == kubebench.StatusFail && (i*k)%13 == 1:
			return kubebench.StatusWarn
		}
		return s
	})
}

// outcomes makes n outcomes: workers on two benchmarks, a few control-plane
// nodes, and a few failed nodes.
func outcomes(t testing.TB, n int) []Outcome {
	worker := benchtest.Fixture(t, "real-cluster/node-cis-1.12.log")
	other := benchtest.Fixture(t, "kube-bench-noargs.json")
	master := benchtest.Fixture(t, "real-cluster/master-cis-1.12.log")
	variants := map[string][]*kubebench.Report{}
	for name, base := range map[string]*kubebench.Report{"worker": worker, "other": other} {
		for i := range 37 {
			variants[name] = append(variants[name], vary(base, i))
		}
	}
	var out []Outcome
	for i := range n {
		o := Outcome{Name: fmt.Sprintf("ip-10-%d-%d-%d.eu-west-1.compute.internal", i%4, i/256, i%256), Role: "worker", Phase: v1alpha1.BenchmarkNodeSucceeded}
		switch {
		case i < 3:
			o.Role, o.Report = "control-plane", vary(master, i)
		case i%41 == 0:
			o.Phase, o.Reason, o.Message = v1alpha1.BenchmarkNodeFailed, "ParseError", "malformed kube-bench JSON report at line 18: unexpected end of JSON input"
		case i%2 == 0:
			o.Report = variants["worker"][i%37]
		default:
			o.Report = variants["other"][i%37]
		}
		out = append(out, o)
	}
	return out
}

func record(list []Outcome) *v1alpha1.BenchmarkResults {
	b := New("cis-1.12", "test")
	for _, o := range list {
		Started(b, o.Name, o.Role)
		Record(b, o)
	}
	Finish(b)
	return b
}

// TestMatchesAggregate checks that recording nodes one by one, in any
// order, gives what benchmark.Aggregate gives for all of them at once.
func TestMatchesAggregate(t *testing.T) {
	list := outcomes(t, 700)
	var nodes []benchmark.NodeResult
	for _, o := range list {
		nodes = append(nodes, benchmark.NodeResult{Name: o.Name, Role: o.Role, Report: o.Report, Reason: o.Reason})
	}
	want := benchmark.Aggregate(nodes, benchmark.Options{})

	inOrder := record(list)
	if got := checkSummaries(inOrder); !cmp.Equal(stripReasons(want.Checks), got) {
		t.Errorf("checks differ from Aggregate's (-want +got):\n%s", cmp.Diff(stripReasons(want.Checks), got))
	}
	var wantNames, gotNames []string
	for _, n := range want.Nodes {
		wantNames = append(wantNames, n.Name)
	}
	for _, n := range inOrder.Nodes {
		gotNames = append(gotNames, n.Name)
	}
	if diff := cmp.Diff(wantNames, gotNames); diff != "" {
		t.Errorf("listed nodes differ from Aggregate's (-want +got):\n%s", diff)
	}
	if inOrder.NodesOmitted != int32(want.NodesOmitted) || len(inOrder.Nodes) != MaxNodes {
		t.Errorf("%d nodes listed, %d omitted; Aggregate: %d, %d", len(inOrder.Nodes), inOrder.NodesOmitted, len(want.Nodes), want.NodesOmitted)
	}

	for seed := range uint64(3) {
		shuffled := slices.Clone(list)
		rand.New(rand.NewPCG(seed, 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if diff := cmp.Diff(inOrder, record(shuffled)); diff != "" {
			t.Errorf("seed %d: results depend on the order nodes finish in (-sorted +shuffled):\n%s", seed, diff)
		}
	}
}

func checkSummaries(b *v1alpha1.BenchmarkResults) []benchmark.CheckSummary {
	var out []benchmark.CheckSummary
	for i := range b.Checks {
		out = append(out, summary(&b.Checks[i]))
	}
	return out
}

// stripReasons drops CheckSummary.Reason, which the API does not keep.
func stripReasons(checks []benchmark.CheckSummary) []benchmark.CheckSummary {
	out := slices.Clone(checks)
	for i := range out {
		out[i].Reason = ""
	}
	return out
}

// TestManyNodes records 5,000 nodes: the results stay small at every step,
// the counts cover every node, and the findings are within the API's
// limits.
func TestManyNodes(t *testing.T) {
	list := outcomes(t, 5000)
	b := New("cis-1.12", "API server v1.37.2: kube-bench --version 1.37, which kube-bench v0.15.6 maps to cis-1.12")
	largest := 0
	for i, o := range list {
		Started(b, o.Name, o.Role)
		if i%250 == 0 {
			largest = max(largest, size(t, b))
		}
		Record(b, o)
	}
	Finish(b)
	final := size(t, b)
	t.Logf("5,000 nodes: %d bytes at the end, at most %d during the run; %d nodes listed, %d checks", final, largest, len(b.Nodes), len(b.Checks))
	if largest >= 300<<10 || final >= 300<<10 {
		t.Errorf("results are %d bytes (largest %d), want under 300 KiB", final, largest)
	}
	c := b.NodeCounts
	wantFailed := int32(0)
	for _, o := range list {
		if o.Phase == v1alpha1.BenchmarkNodeFailed {
			wantFailed++
		}
	}
	if c.Total != 5000 || c.Failed != wantFailed || c.Succeeded != 5000-wantFailed || c.Running != 0 || c.Pending != 0 {
		t.Errorf("counts = %+v, want 5000 nodes, %d failed", c, wantFailed)
	}
	if len(b.Nodes) != MaxNodes || b.NodesOmitted != 5000-MaxNodes || b.Nodes[0].Phase != v1alpha1.BenchmarkNodeFailed {
		t.Errorf("%d nodes listed, %d omitted, first %+v", len(b.Nodes), b.NodesOmitted, b.Nodes[0])
	}
	for _, f := range Findings(b) {
		if len(f.ID) > 128 || len([]rune(f.Message)) > 1024 || len([]rune(f.Remediation)) > 1024 || f.Category != v1alpha1.CategoryBenchmark {
			t.Errorf("finding %s is over the API's limits", f.ID)
		}
	}
}

func size(t *testing.T, b *v1alpha1.BenchmarkResults) int {
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return len(data)
}

func TestRunningNodes(t *testing.T) {
	b := New("cis-1.12", "")
	Record(b, Outcome{Name: "a", Phase: v1alpha1.BenchmarkNodeSkipped, Reason: "Tainted"})
	Started(b, "c", "worker")
	Started(b, "b", "control-plane")
	Started(b, "b", "control-plane")
	SetPending(b, 2)
	if diff := cmp.Diff([]string{"c", "b"}, names(RunningNodes(b))); diff != "" {
		t.Errorf("running (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&v1alpha1.BenchmarkProgress{Total: 5, Pending: 2, Running: 2, Skipped: 1}, b.NodeCounts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if Running(b, "a") != nil || Running(b, "b") == nil {
		t.Errorf("Running: a %v, b %v", Running(b, "a"), Running(b, "b"))
	}
	Record(b, Outcome{Name: "b", Role: "control-plane", Phase: v1alpha1.BenchmarkNodeFailed, Reason: "DeadlineExceeded"})
	Record(b, Outcome{Name: "c", Role: "worker", Phase: v1alpha1.BenchmarkNodeSucceeded})
	SetPending(b, 0)
	if diff := cmp.Diff([]string{"b", "a", "c"}, names(b.Nodes)); diff != "" {
		t.Errorf("nodes, worst first (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&v1alpha1.BenchmarkProgress{Total: 3, Succeeded: 1, Failed: 1, Skipped: 1}, b.NodeCounts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}

	// A node counts once: recording or starting a finished node again
	// changes nothing.
	before := b.DeepCopy()
	Record(b, Outcome{Name: "c", Role: "worker", Phase: v1alpha1.BenchmarkNodeSucceeded})
	Started(b, "b", "control-plane")
	if diff := cmp.Diff(before, b); diff != "" {
		t.Errorf("a finished node recorded or started again (-want +got):\n%s", diff)
	}
}

func names(nodes []v1alpha1.BenchmarkNode) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Name)
	}
	return out
}

// report makes a one-target report with the given checks.
func report(checks ...kubebench.Check) *kubebench.Report {
	return &kubebench.Report{Controls: []kubebench.Controls{{ID: "4", Version: "cis-1.12", NodeType: kubebench.TargetNode,
		Groups: []kubebench.Group{{ID: "4.1", Checks: checks}}}}}
}

func TestMergeChecks(t *testing.T) {
	fail := func(n, actual string) kubebench.Check {
		return kubebench.Check{Number: n, Text: "check " + n, Status: kubebench.StatusFail, Scored: true, ActualValue: actual, Remediation: "fix it"}
	}
	warn := func(n, actual string) kubebench.Check {
		return kubebench.Check{Number: n, Text: "check " + n, Status: kubebench.StatusWarn, ActualValue: actual}
	}
	b := New("cis-1.12", "")
	// Node names out of order, a WARN before the FAIL of the same check,
	// more nodes than examples.
	for _, o := range []Outcome{
		{Name: "n7", Report: report(warn("4.1.1", "w7"), fail("4.1.10", "f7"))},
		{Name: "n3", Report: report(fail("4.1.1", "f3"), fail("4.1.10", "f3"))},
		{Name: "n5", Report: report(fail("4.1.1", "f5"), warn("4.1.2", "w5"))},
		{Name: "n1", Report: report(warn("4.1.1", "w1"), fail("4.1.10", "f1"))},
		{Name: "n6", Report: report(fail("4.1.10", "f6"))},
		{Name: "n2", Report: report(fail("4.1.10", "f2"))},
		{Name: "n4", Report: report(fail("4.1.10", "f4"), warn("4.1.2", "w4"))},
	} {
		o.Phase = v1alpha1.BenchmarkNodeSucceeded
		Record(b, o)
	}
	Finish(b)
	want := []v1alpha1.BenchmarkCheck{
		{Benchmark: "cis-1.12", Number: "4.1.1", Text: "check 4.1.1", Scored: true, Status: "FAIL", Remediation: "fix it", ActualValue: "f3",
			FailedNodes: 2, WarnedNodes: 2, ExampleNodes: []string{"n3", "n5"}},
		{Benchmark: "cis-1.12", Number: "4.1.10", Text: "check 4.1.10", Scored: true, Status: "FAIL", Remediation: "fix it", ActualValue: "f1",
			FailedNodes: 6, ExampleNodes: []string{"n1", "n2", "n3", "n4", "n6"}},
		{Benchmark: "cis-1.12", Number: "4.1.2", Text: "check 4.1.2", Status: "WARN", ActualValue: "w4",
			WarnedNodes: 2, ExampleNodes: []string{"n4", "n5"}},
	}
	if diff := cmp.Diff(want, b.Checks); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}
	findings := Findings(b)
	if len(findings) != 3 || findings[0].ID != "cis.cis-1.12.4.1.1" || findings[0].Severity != v1alpha1.SeverityHigh ||
		findings[0].Resource.Name != "n3" || findings[2].Severity != v1alpha1.SeverityLow {
		t.Errorf("findings = %+v", findings)
	}
}

func TestChecksCap(t *testing.T) {
	b := New("cis-1.12", "")
	var checks []kubebench.Check
	for i := range MaxChecks {
		checks = append(checks, kubebench.Check{Number: fmt.Sprintf("9.%d", i), Status: kubebench.StatusWarn})
	}
	Record(b, Outcome{Name: "a", Phase: v1alpha1.BenchmarkNodeSucceeded, Report: report(checks...)})
	Record(b, Outcome{Name: "b", Phase: v1alpha1.BenchmarkNodeSucceeded, Report: report(
		kubebench.Check{Number: "1.1", Status: kubebench.StatusFail, Scored: true},
		kubebench.Check{Number: "9.999", Status: kubebench.StatusWarn},
	)})
	Finish(b)
	if len(b.Checks) != MaxChecks || b.Checks[0].Number != "1.1" || b.ChecksOmitted != 2 {
		t.Errorf("%d checks, first %s, %d omitted; want %d, the FAIL first, 2 omitted", len(b.Checks), b.Checks[0].Number, b.ChecksOmitted, MaxChecks)
	}
	if slices.ContainsFunc(b.Checks, func(c v1alpha1.BenchmarkCheck) bool { return c.Number == "9.999" }) {
		t.Errorf("a WARN that sorts last replaced a listed one")
	}
}

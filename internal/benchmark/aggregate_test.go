package benchmark

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/palisade-sec/palisade/internal/benchmark/kubebench"
)

const (
	pass = kubebench.StatusPass
	fail = kubebench.StatusFail
	warn = kubebench.StatusWarn
	info = kubebench.StatusInfo
)

// check is a result of check number with the given status; its strings
// derive from number and actual.
func check(number string, status kubebench.Status, scored bool, actual string) kubebench.Check {
	return kubebench.Check{
		Number:      number,
		Text:        "Ensure " + number,
		Remediation: "Fix " + number,
		Status:      status,
		Scored:      scored,
		ActualValue: actual,
	}
}

// report is a cis-1.12 node report of checks.
func report(checks ...kubebench.Check) *kubebench.Report {
	return reportOf("cis-1.12", checks...)
}

func reportOf(benchmark string, checks ...kubebench.Check) *kubebench.Report {
	return &kubebench.Report{Controls: []kubebench.Controls{{
		ID: "4", Version: benchmark, NodeType: kubebench.TargetNode,
		Groups: []kubebench.Group{{ID: "4.1", Checks: checks}},
	}}}
}

// summary is what Aggregate says of check number with status.
func summary(number string, status kubebench.Status, scored bool, actual string, failed, warned int, nodes ...string) CheckSummary {
	return CheckSummary{
		Benchmark: "cis-1.12", Number: number, Text: "Ensure " + number, Scored: scored, Status: status,
		Remediation: "Fix " + number, ActualValue: actual, FailedNodes: failed, WarnedNodes: warned, ExampleNodes: nodes,
	}
}

func node(name string, status NodeStatus, n kubebench.Counts) NodeSummary {
	return NodeSummary{Name: name, Role: "worker", Benchmark: "cis-1.12", Counts: n, Status: status}
}

func TestAggregate(t *testing.T) {
	failing := report(check("1.1.1", fail, true, "x"), check("1.1.2", pass, true, ""))
	long := strings.Repeat("x", 5000)
	tests := map[string]struct {
		nodes []NodeResult
		opts  Options
		want  Summary
	}{
		"no nodes": {},
		"a check failing on many nodes lists the first by name": {
			nodes: []NodeResult{
				{Name: "n5", Role: "worker", Report: failing},
				{Name: "n2", Role: "worker", Report: failing},
				{Name: "n4", Role: "worker", Report: failing},
				{Name: "n1", Role: "worker", Report: failing},
				{Name: "n3", Role: "worker", Report: report(check("1.1.1", pass, true, ""))},
			},
			opts: Options{ExampleNodes: 3},
			want: Summary{
				NodeCounts: NodeCounts{Fail: 4, Pass: 1},
				Nodes: []NodeSummary{
					node("n1", NodeFail, kubebench.Counts{Pass: 1, Fail: 1}),
					node("n2", NodeFail, kubebench.Counts{Pass: 1, Fail: 1}),
					node("n4", NodeFail, kubebench.Counts{Pass: 1, Fail: 1}),
					node("n5", NodeFail, kubebench.Counts{Pass: 1, Fail: 1}),
					node("n3", NodePass, kubebench.Counts{Pass: 1}),
				},
				Checks: []CheckSummary{summary("1.1.1", fail, true, "x", 4, 0, "n1", "n2", "n4")},
			},
		},
		"a check that fails on one node and warns on others is a FAIL described by the failing node": {
			nodes: []NodeResult{
				{Name: "a", Role: "worker", Report: report(check("4.2.1", warn, true, "on a"))},
				{Name: "b", Role: "worker", Report: report(check("4.2.1", fail, true, "on b"))},
				{Name: "c", Role: "worker", Report: report(check("4.2.1", warn, true, "on c"))},
			},
			want: Summary{
				NodeCounts: NodeCounts{Fail: 1, Warn: 2},
				Nodes: []NodeSummary{
					node("b", NodeFail, kubebench.Counts{Fail: 1}),
					node("a", NodeWarn, kubebench.Counts{Warn: 1}),
					node("c", NodeWarn, kubebench.Counts{Warn: 1}),
				},
				Checks: []CheckSummary{summary("4.2.1", fail, true, "on b", 1, 2, "b")},
			},
		},
		"checks are ordered scored FAIL, unscored FAIL, WARN, then by number": {
			nodes: []NodeResult{{Name: "a", Role: "worker", Report: report(
				check("1.1.1", warn, true, ""),
				check("4.1.1", fail, false, ""),
				check("1.2.10", fail, true, ""),
				check("1.1.2", warn, false, ""),
				check("1.10.1", fail, true, ""),
				check("1.2.9", fail, true, ""),
				check("1.2.8", pass, true, ""),
				check("1.2.7", info, true, ""),
				check("1.1.10", warn, false, ""),
			)}},
			want: Summary{
				NodeCounts: NodeCounts{Fail: 1},
				Nodes:      []NodeSummary{node("a", NodeFail, kubebench.Counts{Pass: 1, Fail: 4, Warn: 3, Info: 1})},
				Checks: []CheckSummary{
					summary("1.2.9", fail, true, "", 1, 0, "a"),
					summary("1.2.10", fail, true, "", 1, 0, "a"),
					summary("1.10.1", fail, true, "", 1, 0, "a"),
					summary("4.1.1", fail, false, "", 1, 0, "a"),
					summary("1.1.1", warn, true, "", 0, 1, "a"),
					summary("1.1.2", warn, false, "", 0, 1, "a"),
					summary("1.1.10", warn, false, "", 0, 1, "a"),
				},
			},
		},
		"nodes without a report come first, then by status and name": {
			nodes: []NodeResult{
				{Name: "a", Role: "worker", Report: report(check("4.1.1", pass, true, ""))},
				{Name: "b", Role: "worker", Report: report(check("4.1.1", warn, false, ""))},
				{Name: "c", Role: "worker", Report: report(check("4.1.1", info, false, ""))},
				{Name: "z", Role: "worker", Reason: "malformed kube-bench JSON report at line 18: unexpected end of JSON input"},
				{Name: "y", Role: "control-plane"},
			},
			want: Summary{
				NodeCounts: NodeCounts{Error: 2, Warn: 1, Pass: 2},
				Nodes: []NodeSummary{
					{Name: "y", Role: "control-plane", Status: NodeError, Reason: "no kube-bench report"},
					{Name: "z", Role: "worker", Status: NodeError, Reason: "malformed kube-bench JSON report at line 18: unexpected end of JSON input"},
					node("b", NodeWarn, kubebench.Counts{Warn: 1}),
					node("a", NodePass, kubebench.Counts{Pass: 1}),
					node("c", NodePass, kubebench.Counts{Info: 1}),
				},
				Checks: []CheckSummary{summary("4.1.1", warn, false, "", 0, 1, "b")},
			},
		},
		"caps keep the worst nodes and checks": {
			nodes: []NodeResult{
				{Name: "a", Role: "worker", Report: report(check("4.1.1", pass, true, ""))},
				{Name: "b", Role: "worker", Report: report(check("4.1.1", warn, true, ""), check("4.1.2", fail, true, ""))},
				{Name: "c", Role: "worker", Reason: "Job deadline exceeded"},
			},
			opts: Options{MaxNodes: 2, MaxChecks: 1},
			want: Summary{
				NodeCounts:    NodeCounts{Error: 1, Fail: 1, Pass: 1},
				Nodes:         []NodeSummary{{Name: "c", Role: "worker", Status: NodeError, Reason: "Job deadline exceeded"}, node("b", NodeFail, kubebench.Counts{Fail: 1, Warn: 1})},
				NodesOmitted:  1,
				Checks:        []CheckSummary{summary("4.1.2", fail, true, "", 1, 0, "b")},
				ChecksOmitted: 1,
			},
		},
		"the same number in two benchmarks is two checks": {
			nodes: []NodeResult{
				{Name: "a", Role: "worker", Report: reportOf("cis-1.9", check("4.1.1", fail, true, ""))},
				{Name: "b", Role: "worker", Report: report(check("4.1.1", fail, true, ""))},
			},
			want: Summary{
				NodeCounts: NodeCounts{Fail: 2},
				Nodes: []NodeSummary{
					{Name: "a", Role: "worker", Benchmark: "cis-1.9", Counts: kubebench.Counts{Fail: 1}, Status: NodeFail},
					node("b", NodeFail, kubebench.Counts{Fail: 1}),
				},
				Checks: []CheckSummary{
					summary("4.1.1", fail, true, "", 1, 0, "b"),
					{
						Benchmark: "cis-1.9", Number: "4.1.1", Text: "Ensure 4.1.1", Scored: true, Status: fail,
						Remediation: "Fix 4.1.1", FailedNodes: 1, ExampleNodes: []string{"a"},
					},
				},
			},
		},
		"a node counts once per check": {
			nodes: []NodeResult{{Name: "a", Role: "worker", Report: &kubebench.Report{Controls: []kubebench.Controls{
				report(check("4.1.1", warn, true, "first")).Controls[0],
				report(check("4.1.1", fail, true, "second"), check("4.1.1", fail, true, "third")).Controls[0],
			}}}},
			want: Summary{
				NodeCounts: NodeCounts{Fail: 1},
				Nodes:      []NodeSummary{node("a", NodeFail, kubebench.Counts{Fail: 2, Warn: 1})},
				Checks:     []CheckSummary{summary("4.1.1", fail, true, "second", 1, 0, "a")},
			},
		},
		"long strings are cut": {
			nodes: []NodeResult{{Name: "a", Role: long, Reason: long}, {Name: "b", Report: report(kubebench.Check{
				Number: "4.1.1", Text: long, Remediation: long, ActualValue: long, Reason: long, Status: fail,
			})}},
			want: Summary{
				NodeCounts: NodeCounts{Error: 1, Fail: 1},
				Nodes: []NodeSummary{
					{Name: "a", Role: long[:60] + "…", Status: NodeError, Reason: long[:253] + "…"},
					{Name: "b", Benchmark: "cis-1.12", Counts: kubebench.Counts{Fail: 1}, Status: NodeFail},
				},
				Checks: []CheckSummary{{
					Benchmark: "cis-1.12", Number: "4.1.1", Text: long[:253] + "…", Status: fail, Remediation: long[:1021] + "…",
					ActualValue: long[:253] + "…", Reason: long[:253] + "…", FailedNodes: 1, ExampleNodes: []string{"b"},
				}},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Aggregate(tc.nodes, tc.opts)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Aggregate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAggregateBenchmarks(t *testing.T) {
	r := &kubebench.Report{Controls: []kubebench.Controls{
		{Version: "cis-1.12", NodeType: kubebench.TargetMaster},
		{Version: "cis-1.12", NodeType: kubebench.TargetNode},
		{Version: "gke-1.6.0", NodeType: kubebench.TargetPolicies},
	}}
	got := Aggregate([]NodeResult{{Name: "a", Report: r}}, Options{})
	if b := got.Nodes[0].Benchmark; b != "cis-1.12,gke-1.6.0" {
		t.Errorf("Benchmark = %q, want cis-1.12,gke-1.6.0", b)
	}
}

func TestAggregateDoesNotReorderInput(t *testing.T) {
	nodes := []NodeResult{{Name: "b"}, {Name: "a"}}
	Aggregate(nodes, Options{})
	if nodes[0].Name != "b" {
		t.Errorf("Aggregate reordered its input: %v", nodes)
	}
}

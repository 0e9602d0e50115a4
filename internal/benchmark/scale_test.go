package benchmark

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/palisade-sec/palisade/internal/benchmark/kubebench"

	"github.com/palisade-sec/palisade/internal/benchmark/benchtest"
)

// vary copies base for node i of a pool, making some passing checks fail,
// some failing ones pass, and every actual value name the node.
func vary(base *kubebench.Report, i int) *kubebench.Report {
	return benchtest.Variant(base, i, func(s kubebench.Status, i, k int) kubebench.Status {
		switch {
		case s == kubebench.StatusPass && (i+k)%11 == 0:
			return kubebench.StatusFail
		case s == kubebench.StatusFail && (i*k)%13 == 1:
			return kubebench.StatusPass
		}
		return s
	})
}

// variants makes n variants of base.
func variants(base *kubebench.Report, n int) []*kubebench.Report {
	out := make([]*kubebench.Report, n)
	for i := range out {
		out[i] = vary(base, i)
	}
	return out
}

// manyNodes makes 5,000 node results: two worker pools on different
// benchmarks, three control-plane nodes and 97 nodes without a report. The
// nodes of a pool share 101 variants of its report, to save memory.
func manyNodes(t *testing.T) []NodeResult {
	worker := benchtest.Fixture(t, "real-cluster/node-cis-1.12.log")
	other := benchtest.Fixture(t, "kube-bench-noargs.json") // cis-1.11 node and policies
	master := benchtest.Fixture(t, "real-cluster/master-cis-1.12.log")
	controlPlane := &kubebench.Report{Controls: append(slices.Clone(master.Controls), worker.Controls...)}
	name := func(pool, i int) string {
		return fmt.Sprintf("ip-10-%d-%d-%d.eu-west-1.compute.internal", pool, i/256, i%256)
	}
	workers, others := variants(worker, 101), variants(other, 101)
	var nodes []NodeResult
	for i := range 3000 {
		nodes = append(nodes, NodeResult{Name: name(1, i), Role: "worker", Report: workers[i%101]})
	}
	for i := range 1900 {
		nodes = append(nodes, NodeResult{Name: name(2, i), Role: "worker", Report: others[i%101]})
	}
	for i := range 3 {
		nodes = append(nodes, NodeResult{Name: name(0, i), Role: "control-plane", Report: vary(controlPlane, i)})
	}
	for i := range 97 {
		nodes = append(nodes, NodeResult{Name: name(3, i), Role: "worker", Reason: "malformed kube-bench JSON report at line 18, byte 45794 near \"0.0.1:2379 --bind-addres\": unexpected end of JSON input"})
	}
	return nodes
}

func TestAggregateManyNodes(t *testing.T) {
	nodes := manyNodes(t)
	s := Aggregate(nodes, Options{})

	enc, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	findings, err := json.Marshal(s.Findings())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("5,000 nodes: summary %d bytes (%d nodes listed, %d checks), findings %d bytes", len(enc), len(s.Nodes), len(s.Checks), len(findings))
	if len(enc) >= 512<<10 {
		t.Errorf("summary is %d bytes, want under 512 KiB", len(enc))
	}

	n := s.NodeCounts
	if n.Error != 97 || n.Error+n.Fail+n.Warn+n.Pass != len(nodes) {
		t.Errorf("NodeCounts = %+v, want 97 errors of %d nodes", n, len(nodes))
	}
	if len(s.Nodes) != DefaultMaxNodes || s.NodesOmitted != len(nodes)-DefaultMaxNodes || s.Nodes[96].Status != NodeError || s.Nodes[97].Status != NodeFail {
		t.Errorf("%d nodes listed, %d omitted, want the %d worst, errors first", len(s.Nodes), s.NodesOmitted, DefaultMaxNodes)
	}
	if s.ChecksOmitted != 0 {
		t.Errorf("ChecksOmitted = %d", s.ChecksOmitted)
	}
	if got, want := listedPairs(s.Checks), reportPairs(nodes); got != want {
		t.Errorf("checks count %d node-check pairs, the reports have %d", got, want)
	}
	checkBounds(t, s)
}

// listedPairs adds up the nodes the checks failed or warned on.
func listedPairs(checks []CheckSummary) int {
	n := 0
	for _, c := range checks {
		n += c.FailedNodes + c.WarnedNodes
	}
	return n
}

// reportPairs counts the distinct failing or warning checks of each node.
func reportPairs(nodes []NodeResult) int {
	n := 0
	for _, node := range nodes {
		if node.Report == nil {
			continue
		}
		seen := map[string]bool{}
		for c, check := range node.Report.Checks() {
			if check.Status == kubebench.StatusFail || check.Status == kubebench.StatusWarn {
				seen[c.Version+" "+check.Number] = true
			}
		}
		n += len(seen)
	}
	return n
}

// checkBounds checks that every string is within the documented bounds and
// every finding within the API's limits.
func checkBounds(t *testing.T, s Summary) {
	t.Helper()
	for _, c := range s.Checks {
		if len(c.Text) > maxTextLen || len(c.Remediation) > maxRemediationLen || len(c.ActualValue) > maxActualValueLen ||
			len(c.Reason) > maxReasonLen || len(c.ExampleNodes) > DefaultExampleNodes {
			t.Errorf("check %s %s is over the bounds", c.Benchmark, c.Number)
		}
	}
	for _, f := range s.Findings() {
		if len(f.ID) > 128 || utf8.RuneCountInString(f.Message) > 1024 || utf8.RuneCountInString(f.Remediation) > 1024 || len(f.Resource.Name) > 253 {
			t.Errorf("finding %s is over the API's limits", f.ID)
		}
	}
}

// TestAggregateWorstCase fills every string to its bound and every list to
// its cap: the summary still fits in an etcd object (1.5 MiB).
func TestAggregateWorstCase(t *testing.T) {
	long := strings.Repeat("x", 2000)
	var checks []kubebench.Check
	for i := range 400 {
		checks = append(checks, kubebench.Check{
			Number: fmt.Sprintf("%d.%s", i, long), Text: long, Remediation: long, ActualValue: long, Reason: long,
			Status: kubebench.StatusFail, Scored: true,
		})
	}
	r := reportOf(long, checks...)
	var nodes []NodeResult
	for i := range 600 {
		nodes = append(nodes, NodeResult{Name: fmt.Sprintf("%03d%s", i, long), Role: long, Reason: long, Report: r})
	}
	s := Aggregate(nodes, Options{})
	enc, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("worst case: %d bytes", len(enc))
	if len(s.Nodes) != DefaultMaxNodes || len(s.Checks) != DefaultMaxChecks || len(enc) > 1536<<10 {
		t.Errorf("%d nodes, %d checks, %d bytes; want %d, %d, under 1.5 MiB", len(s.Nodes), len(s.Checks), len(enc), DefaultMaxNodes, DefaultMaxChecks)
	}
	checkBounds(t, s)
}

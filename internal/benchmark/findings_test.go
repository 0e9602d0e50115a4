package benchmark

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-sec/palisade/api/v1alpha1"
)

func nodeRef(name string) v1alpha1.ResourceRef {
	return v1alpha1.ResourceRef{APIVersion: "v1", Kind: "Node", Name: name}
}

func TestFinding(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := map[string]struct {
		check CheckSummary
		want  v1alpha1.Finding
	}{
		"scored FAIL on many nodes, WARN on others": {
			check: summary("1.1.1", fail, true, "", 7, 2, "a", "b", "c", "d", "e"),
			want: v1alpha1.Finding{
				ID: "cis.cis-1.12.1.1.1", Category: v1alpha1.CategoryBenchmark, Severity: v1alpha1.SeverityHigh, Resource: nodeRef("a"),
				Message:     "1.1.1 Ensure 1.1.1: FAIL on 7 nodes (a, b, c, d, e and 2 more); WARN on 2 more nodes",
				Remediation: "Fix 1.1.1",
			},
		},
		"unscored FAIL on one node": {
			check: summary("4.2.10", fail, false, "", 1, 0, "worker-1"),
			want: v1alpha1.Finding{
				ID: "cis.cis-1.12.4.2.10", Category: v1alpha1.CategoryBenchmark, Severity: v1alpha1.SeverityMedium, Resource: nodeRef("worker-1"),
				Message:     "4.2.10 Ensure 4.2.10: FAIL on 1 node (worker-1)",
				Remediation: "Fix 4.2.10",
			},
		},
		"WARN": {
			check: summary("5.1.1", warn, true, "", 0, 3, "a", "b", "c"),
			want: v1alpha1.Finding{
				ID: "cis.cis-1.12.5.1.1", Category: v1alpha1.CategoryBenchmark, Severity: v1alpha1.SeverityLow, Resource: nodeRef("a"),
				Message:     "5.1.1 Ensure 5.1.1: WARN on 3 nodes (a, b, c)",
				Remediation: "Fix 5.1.1",
			},
		},
		"FAIL on one node, WARN on one more": {
			check: summary("4.1.1", fail, true, "", 1, 1, "a"),
			want: v1alpha1.Finding{
				ID: "cis.cis-1.12.4.1.1", Category: v1alpha1.CategoryBenchmark, Severity: v1alpha1.SeverityHigh, Resource: nodeRef("a"),
				Message:     "4.1.1 Ensure 4.1.1: FAIL on 1 node (a); WARN on 1 more node",
				Remediation: "Fix 4.1.1",
			},
		},
		"the message is cut to the API's limit": {
			check: summary("4.1.1", fail, true, "", 5, 0, long, long, long, long, long),
			want: v1alpha1.Finding{
				ID: "cis.cis-1.12.4.1.1", Category: v1alpha1.CategoryBenchmark, Severity: v1alpha1.SeverityHigh, Resource: nodeRef(long),
				Message:     ("4.1.1 Ensure 4.1.1: FAIL on 5 nodes (" + strings.Repeat(long+", ", 3) + long)[:1021] + "…",
				Remediation: "Fix 4.1.1",
			},
		},
		"no example node": {
			check: CheckSummary{Benchmark: "cis-1.12", Number: "4.1.1", Status: warn, WarnedNodes: 1},
			want: v1alpha1.Finding{
				ID: "cis.cis-1.12.4.1.1", Category: v1alpha1.CategoryBenchmark, Severity: v1alpha1.SeverityLow, Resource: nodeRef(""),
				Message: "4.1.1: WARN on 1 node",
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.check.Finding()); diff != "" {
				t.Errorf("Finding (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSummaryFindings(t *testing.T) {
	s := Aggregate([]NodeResult{
		{Name: "b", Report: report(check("1.1.2", warn, false, ""), check("1.1.10", fail, false, ""))},
		{Name: "a", Report: report(check("1.1.2", fail, true, ""), check("1.1.1", info, true, ""))},
	}, Options{})
	var got []string
	for _, f := range s.Findings() {
		got = append(got, f.ID+" "+string(f.Severity)+" "+f.Resource.Name)
	}
	want := []string{"cis.cis-1.12.1.1.2 High a", "cis.cis-1.12.1.1.10 Medium b"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Findings (-want +got):\n%s", diff)
	}
}

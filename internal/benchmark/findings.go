package benchmark

import (
	"fmt"
	"strings"

	"github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/benchmark/kubebench"

	"github.com/palisade-sec/palisade/internal/text"
)

// maxMessageLen is Finding.Message's limit in the API.
const maxMessageLen = 1024

// Findings turns the summary's checks into findings, in the same order.
func (s *Summary) Findings() []v1alpha1.Finding {
	findings := make([]v1alpha1.Finding, 0, len(s.Checks))
	for i := range s.Checks {
		findings = append(findings, s.Checks[i].Finding())
	}
	return findings
}

// Finding turns the check into a finding about its first example node, with
// the ID "cis.<benchmark>.<number>" and the severity of the package
// documentation's table.
func (s *CheckSummary) Finding() v1alpha1.Finding {
	return v1alpha1.Finding{
		ID:          "cis." + s.Benchmark + "." + s.Number,
		Category:    v1alpha1.CategoryBenchmark,
		Severity:    s.Severity(),
		Resource:    v1alpha1.ResourceRef{APIVersion: "v1", Kind: "Node", Name: s.firstNode()},
		Message:     text.Cut(s.message(), maxMessageLen),
		Remediation: s.Remediation,
	}
}

// Severity is High for a scored FAIL, Medium for an unscored FAIL and Low
// for a WARN.
func (s *CheckSummary) Severity() v1alpha1.Severity {
	return []v1alpha1.Severity{v1alpha1.SeverityHigh, v1alpha1.SeverityMedium, v1alpha1.SeverityLow}[s.rank()]
}

func (s *CheckSummary) firstNode() string {
	if len(s.ExampleNodes) == 0 {
		return ""
	}
	return s.ExampleNodes[0]
}

// message reads e.g. "1.1.1 Ensure that ... (Automated): FAIL on 7 nodes
// (a, b, c, d, e and 2 more); WARN on 1 more node".
func (s *CheckSummary) message() string {
	nodes := s.WarnedNodes
	if s.Status == kubebench.StatusFail {
		nodes = s.FailedNodes
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s on %s", strings.TrimSpace(s.Number+" "+s.Text), s.Status, plural(nodes, "node"))
	if len(s.ExampleNodes) > 0 {
		fmt.Fprintf(&b, " (%s", strings.Join(s.ExampleNodes, ", "))
		if more := nodes - len(s.ExampleNodes); more > 0 {
			fmt.Fprintf(&b, " and %d more", more)
		}
		b.WriteString(")")
	}
	if s.Status == kubebench.StatusFail && s.WarnedNodes > 0 {
		fmt.Fprintf(&b, "; WARN on %s", plural(s.WarnedNodes, "more node"))
	}
	return b.String()
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

package results

import (
	"cmp"
	"slices"
	"strings"

	"github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/benchmark"
	"github.com/palisade-sec/palisade/internal/benchmark/kubebench"

	"github.com/palisade-sec/palisade/internal/text"
)

// mergeCheck adds one node's failing or warning check c (as Aggregate
// summarises a single node) to b.Checks.
func mergeCheck(b *v1alpha1.BenchmarkResults, c *benchmark.CheckSummary) {
	if len(c.ExampleNodes) == 0 {
		return
	}
	node := c.ExampleNodes[0]
	i := slices.IndexFunc(b.Checks, func(s v1alpha1.BenchmarkCheck) bool { return s.Benchmark == c.Benchmark && s.Number == c.Number })
	if i < 0 {
		addCheck(b, fromSummary(c))
		return
	}
	s := &b.Checks[i]
	s.FailedNodes += int32(c.FailedNodes)
	s.WarnedNodes += int32(c.WarnedNodes)
	switch {
	case s.Status == string(kubebench.StatusWarn) && c.Status == kubebench.StatusFail:
		// A FAIL anywhere makes the check a FAIL, described and
		// exemplified by the failing nodes.
		describe(s, c)
		s.ExampleNodes = []string{node}
	case s.Status == string(c.Status):
		j, found := slices.BinarySearch(s.ExampleNodes, node)
		if found || j >= ExampleNodes {
			return
		}
		s.ExampleNodes = slices.Insert(s.ExampleNodes, j, node)
		s.ExampleNodes = s.ExampleNodes[:min(len(s.ExampleNodes), ExampleNodes)]
		if j == 0 {
			describe(s, c)
		}
	}
}

// addCheck appends c, or, when MaxChecks are listed, keeps the most severe
// of them and c, counting the one dropped.
func addCheck(b *v1alpha1.BenchmarkResults, c v1alpha1.BenchmarkCheck) {
	if len(b.Checks) < MaxChecks {
		b.Checks = append(b.Checks, c)
		return
	}
	b.ChecksOmitted++
	least := 0
	for i := range b.Checks {
		if compareChecks(b.Checks[i], b.Checks[least]) > 0 {
			least = i
		}
	}
	if compareChecks(c, b.Checks[least]) < 0 {
		b.Checks[least] = c
	}
}

func fromSummary(c *benchmark.CheckSummary) v1alpha1.BenchmarkCheck {
	s := v1alpha1.BenchmarkCheck{
		Benchmark: c.Benchmark, Number: c.Number,
		FailedNodes: int32(c.FailedNodes), WarnedNodes: int32(c.WarnedNodes),
		ExampleNodes: slices.Clone(c.ExampleNodes),
	}
	describe(&s, c)
	return s
}

// describe makes s describe the check as c does.
func describe(s *v1alpha1.BenchmarkCheck, c *benchmark.CheckSummary) {
	s.Status = string(c.Status)
	s.Text = c.Text
	s.Scored = c.Scored
	s.Remediation = c.Remediation
	s.ActualValue = c.ActualValue
}

// summary is s as the benchmark package describes a check.
func summary(s *v1alpha1.BenchmarkCheck) benchmark.CheckSummary {
	return benchmark.CheckSummary{
		Benchmark: s.Benchmark, Number: s.Number, Text: s.Text, Scored: s.Scored,
		Status: kubebench.Status(s.Status), Remediation: s.Remediation, ActualValue: s.ActualValue,
		FailedNodes: int(s.FailedNodes), WarnedNodes: int(s.WarnedNodes), ExampleNodes: slices.Clone(s.ExampleNodes),
	}
}

// compareChecks orders checks as benchmark.Aggregate does: scored FAILs,
// unscored FAILs, WARNs, each by number part by part (1.2.9 before 1.2.10),
// then by benchmark.
func compareChecks(a, b v1alpha1.BenchmarkCheck) int {
	return cmp.Or(
		cmp.Compare(checkRank(a), checkRank(b)),
		text.CompareNumbered(a.Number, b.Number),
		strings.Compare(a.Number, b.Number),
		strings.Compare(a.Benchmark, b.Benchmark),
	)
}

func checkRank(c v1alpha1.BenchmarkCheck) int {
	switch {
	case c.Status == string(kubebench.StatusFail) && c.Scored:
		return 0
	case c.Status == string(kubebench.StatusFail):
		return 1
	default:
		return 2
	}
}

package controllers

import (
	"context"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/report"
	"github.com/palisade-sec/palisade/internal/scan"
)

// analyzersDone tells whether the report holds the results of every
// in-process analyzer.
func analyzersDone(rep *securityv1alpha1.ScanReport, analyzers []scan.Analyzer) bool {
	for _, a := range analyzers {
		if !slices.ContainsFunc(rep.Status.Analyzers, func(r securityv1alpha1.AnalyzerResult) bool { return r.Name == a.Name() }) {
			return false
		}
	}
	return true
}

// completeReport gives a report whose analyzers are all done its phase,
// completion time and Complete condition.
func (r *SecurityScanReconciler) completeReport(rep *securityv1alpha1.ScanReport) {
	if rep.Status.StartTime == nil {
		rep.Status.StartTime = &metav1.Time{Time: r.Clock.Now()}
	}
	rep.Status.Phase = runPhase(rep.Status.Analyzers)
	rep.Status.CompletionTime = &metav1.Time{Time: r.Clock.Now()}
	var resources int32
	for _, a := range rep.Status.Analyzers {
		resources += a.Resources
	}
	rep.Status.Summary.Resources = resources
	setReportConditions(rep)
}

// runFinished records a completed run in the metrics, the log and events.
func (r *SecurityScanReconciler) runFinished(ctx context.Context, sc *securityv1alpha1.SecurityScan, rep *securityv1alpha1.ScanReport) {
	counts := rep.Status.Summary.SeverityCounts
	r.Metrics.runFinished(sc, rep, categoryMap(rep.Status.Summary.ByCategory))
	log.FromContext(ctx).Info("Run finished", "report", rep.Name, "phase", rep.Status.Phase, "findings", counts.Total())
	if rep.Status.Phase == securityv1alpha1.ReportFailed {
		r.Recorder.Eventf(sc, rep, "Warning", EventRunFailed, "Scan", "Run failed, report %s: %s", rep.Name, conditionMessage(rep))
	} else {
		r.Recorder.Eventf(sc, rep, "Normal", EventRunCompleted, "Scan", "Run %s, report %s: %d critical, %d high, %d medium, %d low", rep.Status.Phase, rep.Name, counts.Critical, counts.High, counts.Medium, counts.Low)
	}
}

// runPhase is the phase the analyzers' outcomes add up to: as
// scan.Results.Phase, and PartiallyComplete when an analyzer succeeded
// only in part (it has a reason, as the benchmark when some nodes failed).
func runPhase(analyzers []securityv1alpha1.AnalyzerResult) securityv1alpha1.ReportPhase {
	phase := (&scan.Results{Analyzers: analyzers}).Phase()
	if phase == securityv1alpha1.ReportComplete && slices.ContainsFunc(analyzers, partial) {
		return securityv1alpha1.ReportPartiallyComplete
	}
	return phase
}

// partial tells whether an analyzer succeeded only in part.
func partial(a securityv1alpha1.AnalyzerResult) bool {
	return a.Phase == securityv1alpha1.AnalyzerSucceeded && a.Reason != ""
}

// setAnalyzerResult adds or replaces an analyzer's result.
func setAnalyzerResult(rep *securityv1alpha1.ScanReport, res securityv1alpha1.AnalyzerResult) {
	i := slices.IndexFunc(rep.Status.Analyzers, func(a securityv1alpha1.AnalyzerResult) bool { return a.Name == res.Name })
	if i < 0 {
		rep.Status.Analyzers = append(rep.Status.Analyzers, res)
		return
	}
	rep.Status.Analyzers[i] = res
}

// addFindings adds the findings of an analyzer that finished after the
// in-process ones: the report keeps the most severe of its stored findings
// and these, up to max, and its counts add all of these up.
func addFindings(rep *securityv1alpha1.ScanReport, findings []securityv1alpha1.Finding, max int) {
	kept := report.NewCollector(max)
	for _, f := range rep.Status.Findings {
		kept.Add(f)
	}
	sum := &rep.Status.Summary
	byCategory := categoryMap(sum.ByCategory)
	for _, f := range findings {
		kept.Add(f)
		sum.SeverityCounts.Add(f.Severity)
		c := byCategory[f.Category]
		c.Add(f.Severity)
		byCategory[f.Category] = c
	}
	sum.Total = sum.SeverityCounts.Total()
	sum.ByCategory = categoryCounts(byCategory)
	rep.Status.Findings = kept.Findings()
	rep.Status.FindingsOmitted = sum.Total - int32(len(rep.Status.Findings))
}

// categoryCounts lists counts by category, by category name.
func categoryCounts(m map[string]securityv1alpha1.SeverityCounts) []securityv1alpha1.CategoryCounts {
	var out []securityv1alpha1.CategoryCounts
	for category, c := range m {
		out = append(out, securityv1alpha1.CategoryCounts{Category: category, SeverityCounts: c})
	}
	slices.SortFunc(out, func(a, b securityv1alpha1.CategoryCounts) int { return strings.Compare(a.Category, b.Category) })
	return out
}

func categoryMap(list []securityv1alpha1.CategoryCounts) map[string]securityv1alpha1.SeverityCounts {
	m := make(map[string]securityv1alpha1.SeverityCounts, len(list))
	for _, c := range list {
		m[c.Category] = c.SeverityCounts
	}
	return m
}

package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
)

// Metrics are Palisade's Prometheus metrics. Labels are bounded: the scan's
// namespace and name, a result, a severity, a category; never a per-object
// value.
type Metrics struct {
	runs        *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	findings    *prometheus.GaugeVec
	lastSuccess *prometheus.GaugeVec
	benchNodes  *prometheus.GaugeVec

	probeRuns        *prometheus.CounterVec
	probeDuration    *prometheus.HistogramVec
	probeCases       *prometheus.GaugeVec
	probeLastSuccess *prometheus.GaugeVec
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_scan_runs_total",
			Help: "Runs of SecurityScans that finished, by result (Complete, PartiallyComplete, Failed).",
		}, []string{"namespace", "scan", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "palisade_scan_run_duration_seconds",
			Help:    "Time from the start of a SecurityScan run to its end.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}, []string{"namespace", "scan"}),
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "palisade_scan_findings",
			Help: "Findings of the latest finished run of a SecurityScan, by severity and category.",
		}, []string{"namespace", "scan", "severity", "category"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "palisade_scan_last_success_timestamp_seconds",
			Help: "Unix time at which the latest successful run of a SecurityScan finished.",
		}, []string{"namespace", "scan"}),
		benchNodes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "palisade_benchmark_nodes",
			Help: "Nodes of the latest finished run of a SecurityScan's CIS benchmark, by phase (Succeeded, Failed, Skipped).",
		}, []string{"namespace", "scan", "phase"}),
		probeRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_probe_runs_total",
			Help: "Runs of PolicyProbes that finished, by result (Complete, PartiallyComplete, Failed).",
		}, []string{"namespace", "probe", "result"}),
		probeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "palisade_probe_run_duration_seconds",
			Help:    "Time from the start of a PolicyProbe run to its end, probe pods' start-up included.",
			Buckets: prometheus.ExponentialBuckets(0.5, 2, 12),
		}, []string{"namespace", "probe"}),
		probeCases: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "palisade_probe_cases",
			Help: "Cases of the latest finished run of a PolicyProbe, by check (NetworkPolicy, MTLS) and result (Match, Mismatch, Inconclusive).",
		}, []string{"namespace", "probe", "check", "result"}),
		probeLastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "palisade_probe_last_success_timestamp_seconds",
			Help: "Unix time at which the latest successful run of a PolicyProbe finished.",
		}, []string{"namespace", "probe"}),
	}
	reg.MustRegister(m.runs, m.duration, m.findings, m.lastSuccess, m.benchNodes, m.probeRuns, m.probeDuration, m.probeCases, m.probeLastSuccess)
	return m
}

// DefaultMetrics are registered on controller-runtime's registry, which the
// manager serves on its metrics endpoint.
var DefaultMetrics = NewMetrics(metrics.Registry)

// RunsCounter is palisade_scan_runs_total.
func (m *Metrics) RunsCounter() *prometheus.CounterVec { return m.runs }

// runFinished records a finished run.
func (m *Metrics) runFinished(scan *securityv1alpha1.SecurityScan, rep *securityv1alpha1.ScanReport, byCategory map[string]securityv1alpha1.SeverityCounts) {
	ns, name := scan.Namespace, scan.Name
	observeRun(m.runs, m.duration, m.lastSuccess, rep, ns, name)
	m.findings.DeletePartialMatch(prometheus.Labels{"namespace": ns, "scan": name})
	for category, c := range byCategory {
		for _, s := range []struct {
			sev securityv1alpha1.Severity
			n   int32
		}{{securityv1alpha1.SeverityCritical, c.Critical}, {securityv1alpha1.SeverityHigh, c.High}, {securityv1alpha1.SeverityMedium, c.Medium}, {securityv1alpha1.SeverityLow, c.Low}, {securityv1alpha1.SeverityInfo, c.Info}} {
			m.findings.WithLabelValues(ns, name, string(s.sev), category).Set(float64(s.n))
		}
	}
	m.benchNodes.DeletePartialMatch(prometheus.Labels{"namespace": ns, "scan": name})
	if b := rep.Status.Benchmark; b != nil && b.NodeCounts != nil {
		m.benchNodes.WithLabelValues(ns, name, string(securityv1alpha1.BenchmarkNodeSucceeded)).Set(float64(b.NodeCounts.Succeeded))
		m.benchNodes.WithLabelValues(ns, name, string(securityv1alpha1.BenchmarkNodeFailed)).Set(float64(b.NodeCounts.Failed))
		m.benchNodes.WithLabelValues(ns, name, string(securityv1alpha1.BenchmarkNodeSkipped)).Set(float64(b.NodeCounts.Skipped))
	}
}

// BenchmarkNodes is palisade_benchmark_nodes.
func (m *Metrics) BenchmarkNodes() *prometheus.GaugeVec { return m.benchNodes }

// forget drops the series of a deleted scan.
func (m *Metrics) forget(namespace, name string) {
	l := prometheus.Labels{"namespace": namespace, "scan": name}
	m.runs.DeletePartialMatch(l)
	m.duration.DeletePartialMatch(l)
	m.findings.DeletePartialMatch(l)
	m.lastSuccess.DeletePartialMatch(l)
	m.benchNodes.DeletePartialMatch(l)
}

// ProbeCases is palisade_probe_cases.
func (m *Metrics) ProbeCases() *prometheus.GaugeVec { return m.probeCases }

// ProbeRuns is palisade_probe_runs_total.
func (m *Metrics) ProbeRuns() *prometheus.CounterVec { return m.probeRuns }

// probeRunFinished records a finished PolicyProbe run.
func (m *Metrics) probeRunFinished(pp *securityv1alpha1.PolicyProbe, rep *securityv1alpha1.ScanReport) {
	ns, name := pp.Namespace, pp.Name
	observeRun(m.probeRuns, m.probeDuration, m.probeLastSuccess, rep, ns, name)
	m.probeCases.DeletePartialMatch(prometheus.Labels{"namespace": ns, "probe": name})
	for _, check := range []securityv1alpha1.ProbeCheck{securityv1alpha1.CheckNetworkPolicy, securityv1alpha1.CheckMTLS} {
		for _, result := range []securityv1alpha1.ProbeResult{securityv1alpha1.ProbeMatch, securityv1alpha1.ProbeMismatch, securityv1alpha1.ProbeInconclusive} {
			m.probeCases.WithLabelValues(ns, name, string(check), string(result)).Set(0)
		}
	}
	if res := rep.Status.Probes; res != nil {
		for _, c := range res.Cases {
			check := c.Check
			if check == "" {
				check = securityv1alpha1.CheckNetworkPolicy
			}
			if c.Result != securityv1alpha1.ProbePending {
				m.probeCases.WithLabelValues(ns, name, string(check), string(c.Result)).Inc()
			}
		}
	}
}

// forgetProbe drops the series of a deleted PolicyProbe.
func (m *Metrics) forgetProbe(namespace, name string) {
	l := prometheus.Labels{"namespace": namespace, "probe": name}
	m.probeRuns.DeletePartialMatch(l)
	m.probeDuration.DeletePartialMatch(l)
	m.probeCases.DeletePartialMatch(l)
	m.probeLastSuccess.DeletePartialMatch(l)
}

// observeRun records what every finished run has: its result, its
// duration and, unless it failed, when it finished; namespace and name are
// the owner's.
func observeRun(runs *prometheus.CounterVec, duration *prometheus.HistogramVec, lastSuccess *prometheus.GaugeVec, rep *securityv1alpha1.ScanReport, namespace, name string) {
	runs.WithLabelValues(namespace, name, string(rep.Status.Phase)).Inc()
	if rep.Status.StartTime != nil && rep.Status.CompletionTime != nil {
		duration.WithLabelValues(namespace, name).Observe(rep.Status.CompletionTime.Sub(rep.Status.StartTime.Time).Seconds())
	}
	if rep.Status.Phase != securityv1alpha1.ReportFailed && rep.Status.CompletionTime != nil {
		lastSuccess.WithLabelValues(namespace, name).Set(float64(rep.Status.CompletionTime.Unix()))
	}
}

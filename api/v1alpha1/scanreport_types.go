package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReportPhase is where a run stands.
// +kubebuilder:validation:Enum=Pending;Running;Complete;PartiallyComplete;Failed
type ReportPhase string

// Report phases.
const (
	ReportPending           ReportPhase = "Pending"
	ReportRunning           ReportPhase = "Running"
	ReportComplete          ReportPhase = "Complete"
	ReportPartiallyComplete ReportPhase = "PartiallyComplete"
	ReportFailed            ReportPhase = "Failed"
)

// Finished tells whether the phase is final.
func (p ReportPhase) Finished() bool {
	return p == ReportComplete || p == ReportPartiallyComplete || p == ReportFailed
}

// RunTrigger says why a run started.
// +kubebuilder:validation:Enum=Created;SpecChanged;Schedule;PolicyChanged
type RunTrigger string

// Run triggers.
const (
	TriggerCreated       RunTrigger = "Created"
	TriggerSpecChanged   RunTrigger = "SpecChanged"
	TriggerSchedule      RunTrigger = "Schedule"
	TriggerPolicyChanged RunTrigger = "PolicyChanged"
)

// ReportSource names the SecurityScan or PolicyProbe that made a report.
type ReportSource struct {
	// kind is SecurityScan or PolicyProbe.
	// +required
	// +kubebuilder:validation:Enum=SecurityScan;PolicyProbe
	Kind string `json:"kind"`
	// name of the SecurityScan or PolicyProbe, in the report's namespace.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// generation of its spec that this run used.
	// +optional
	Generation int64 `json:"generation,omitempty"`
}

// ScanReportSpec records what the run was asked to do. The operator writes
// it when it creates the report; it never changes afterwards.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable"
type ScanReportSpec struct {
	// source is the SecurityScan or PolicyProbe this report belongs to.
	// +required
	Source ReportSource `json:"source"`
	// trigger says why the run started.
	// +required
	Trigger RunTrigger `json:"trigger"`
	// scheduledTime is the schedule slot of a scheduled run.
	// +optional
	ScheduledTime *metav1.Time `json:"scheduledTime,omitempty"`
}

// AnalyzerPhase is the outcome of one analyzer in a run.
// +kubebuilder:validation:Enum=Succeeded;Failed;Skipped
type AnalyzerPhase string

// Analyzer outcomes.
const (
	AnalyzerSucceeded AnalyzerPhase = "Succeeded"
	AnalyzerFailed    AnalyzerPhase = "Failed"
	AnalyzerSkipped   AnalyzerPhase = "Skipped"
)

// AnalyzerResult is how one analyzer did.
type AnalyzerResult struct {
	// name of the analyzer: workloads, rbac, networkPolicies, mtls,
	// benchmark or probe.
	// +required
	// +kubebuilder:validation:MaxLength=32
	Name string `json:"name"`
	// phase is Succeeded, Failed or Skipped.
	// +required
	Phase AnalyzerPhase `json:"phase"`
	// reason is a CamelCase word for a failed or skipped analyzer, or for
	// one that succeeded only in part (the benchmark when some nodes
	// failed: NodesFailed), which makes the run PartiallyComplete.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Reason string `json:"reason,omitempty"`
	// message explains the reason.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`
	// resources is how many objects the analyzer evaluated.
	// +optional
	Resources int32 `json:"resources,omitempty"`
	// findings is how many findings it produced (before the cap).
	// +optional
	Findings int32 `json:"findings,omitempty"`
	// invalid is how many objects it could not evaluate (each also a finding
	// or a message).
	// +optional
	Invalid int32 `json:"invalid,omitempty"`
}

// PodSecurityCounts counts workloads by the highest Pod Security Standards
// level they meet.
type PodSecurityCounts struct {
	// restricted workloads meet the restricted level.
	// +optional
	Restricted int32 `json:"restricted"`
	// baseline workloads meet baseline but not restricted.
	// +optional
	Baseline int32 `json:"baseline"`
	// privileged workloads meet neither.
	// +optional
	Privileged int32 `json:"privileged"`
}

// ReportSummary counts everything a run found, including findings the cap
// left out of the list.
type ReportSummary struct {
	SeverityCounts `json:",inline"`
	// total is the number of findings.
	// +optional
	Total int32 `json:"total"`
	// resources is how many objects were evaluated.
	// +optional
	Resources int32 `json:"resources"`
	// podSecurity counts workloads by Pod Security Standards level met.
	// +optional
	PodSecurity *PodSecurityCounts `json:"podSecurity,omitempty"`
	// byCategory counts the findings of each category by severity.
	// +optional
	// +listType=map
	// +listMapKey=category
	// +kubebuilder:validation:MaxItems=16
	ByCategory []CategoryCounts `json:"byCategory,omitempty"`
}

// CategoryCounts counts the findings of one category by severity.
type CategoryCounts struct {
	// category of the findings: Workload, PodSecurity, RBAC,
	// NetworkPolicy, MTLS, Benchmark or Probe.
	// +required
	// +kubebuilder:validation:MaxLength=32
	Category       string `json:"category"`
	SeverityCounts `json:",inline"`
}

// ScanReportStatus holds a run's results.
type ScanReportStatus struct {
	// phase is Pending, Running, Complete, PartiallyComplete or Failed.
	// +optional
	Phase ReportPhase `json:"phase,omitempty"`
	// startTime is when the run started.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// completionTime is when the run finished.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// namespaces is the number of namespaces the run covered.
	// +optional
	Namespaces int32 `json:"namespaces,omitempty"`
	// summary counts the findings by severity.
	// +optional
	Summary ReportSummary `json:"summary,omitempty"`
	// analyzers says how each analyzer did.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	Analyzers []AnalyzerResult `json:"analyzers,omitempty"`
	// findings, most severe first, capped by the scan's maxFindings.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=2000
	Findings []Finding `json:"findings,omitempty"`
	// findingsOmitted is how many findings the cap left out of the list.
	// +optional
	FindingsOmitted int32 `json:"findingsOmitted,omitempty"`
	// benchmark holds the CIS benchmark's per-node results and the checks
	// that failed, aggregated across nodes.
	// +optional
	Benchmark *BenchmarkResults `json:"benchmark,omitempty"`
	// conditions of the run.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ScanReport is the result of one run of a SecurityScan or PolicyProbe. The
// operator creates it, owned by its source, and keeps the newest few.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=srep,categories=palisade
// +kubebuilder:printcolumn:name="Source",type=string,JSONPath=`.spec.source.name`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Critical",type=integer,JSONPath=`.status.summary.critical`
// +kubebuilder:printcolumn:name="High",type=integer,JSONPath=`.status.summary.high`
// +kubebuilder:printcolumn:name="Medium",type=integer,JSONPath=`.status.summary.medium`
// +kubebuilder:printcolumn:name="Low",type=integer,JSONPath=`.status.summary.low`
// +kubebuilder:printcolumn:name="Resources",type=integer,JSONPath=`.status.summary.resources`,priority=1
// +kubebuilder:printcolumn:name="Trigger",type=string,JSONPath=`.spec.trigger`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ScanReport struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec records what the run was asked to do.
	// +required
	Spec ScanReportSpec `json:"spec"`
	// status holds the results.
	// +optional
	Status ScanReportStatus `json:"status,omitempty"`
}

// ScanReportList is a list of ScanReports.
// +kubebuilder:object:root=true
type ScanReportList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ScanReport `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ScanReport{}, &ScanReportList{})
}

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
	// probes holds a PolicyProbe run's cases: expected and observed
	// verdicts, with the reason.
	// +optional
	Probes *ProbeResults `json:"probes,omitempty"`
	// conditions of the run.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ProbeOrigin says where a probe case came from.
// +kubebuilder:validation:Enum=Generated;Explicit
type ProbeOrigin string

// Probe case origins.
const (
	// ProbeGenerated: derived from a NetworkPolicy by the reachability
	// engine, which gave its expected verdict.
	ProbeGenerated ProbeOrigin = "Generated"
	// ProbeExplicit: written in the PolicyProbe's spec.cases.
	ProbeExplicit ProbeOrigin = "Explicit"
)

// ProbeCheck says what a probe case checks.
// +kubebuilder:validation:Enum=NetworkPolicy;MTLS
type ProbeCheck string

// Probe checks.
const (
	// CheckNetworkPolicy: whether a connection gets through. Expected
	// Allow means it should.
	CheckNetworkPolicy ProbeCheck = "NetworkPolicy"
	// CheckMTLS: whether a mesh workload accepts a plaintext HTTP request
	// from outside the mesh. Expected Allow means plaintext is accepted
	// (PeerAuthentication PERMISSIVE or DISABLE), Deny that it is
	// rejected (STRICT).
	CheckMTLS ProbeCheck = "MTLS"
)

// ProbeObservation is what a probe client saw for one case.
// +kubebuilder:validation:Enum=Connected;Refused;Timeout;Error;PlaintextAccepted;PlaintextRejected
type ProbeObservation string

// Probe observations.
const (
	ObservedConnected ProbeObservation = "Connected"
	ObservedRefused   ProbeObservation = "Refused"
	ObservedTimeout   ProbeObservation = "Timeout"
	ObservedError     ProbeObservation = "Error"
	// ObservedPlaintextAccepted: a plaintext request got a plaintext reply.
	ObservedPlaintextAccepted ProbeObservation = "PlaintextAccepted"
	// ObservedPlaintextRejected: a plaintext request was reset, closed
	// without a reply, or answered with TLS.
	ObservedPlaintextRejected ProbeObservation = "PlaintextRejected"
)

// ProbeResult compares what a case observed with what it expected.
// +kubebuilder:validation:Enum=Pending;Match;Mismatch;Inconclusive
type ProbeResult string

// Probe results.
const (
	ProbePending      ProbeResult = "Pending"
	ProbeMatch        ProbeResult = "Match"
	ProbeMismatch     ProbeResult = "Mismatch"
	ProbeInconclusive ProbeResult = "Inconclusive"
)

// ProbeEndpoint is one end of a probe case: probe pods of a namespace and
// labels, or an address outside the cluster.
type ProbeEndpoint struct {
	// namespace of the probe pod.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
	// podLabels the probe pod carries, besides Palisade's own.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	PodLabels map[string]string `json:"podLabels,omitempty"`
	// ip is a destination outside the cluster.
	// +optional
	// +kubebuilder:validation:MaxLength=45
	IP string `json:"ip,omitempty"`
	// host is a DNS name outside the cluster.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Host string `json:"host,omitempty"`
	// pod is the name of the probe pod that played this end.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Pod string `json:"pod,omitempty"`
	// workload is the mesh workload an MTLS case probes, as kind/name,
	// and the pod of it probed (at ip).
	// +optional
	// +kubebuilder:validation:MaxLength=320
	Workload string `json:"workload,omitempty"`
}

// ProbeNamedPort is a named container port a probe server declares, as
// the pods it stands for do, so that rules naming the port resolve on it.
type ProbeNamedPort struct {
	// name of the port.
	// +required
	// +kubebuilder:validation:MaxLength=15
	Name string `json:"name"`
	// port number.
	// +required
	Port int32 `json:"port"`
	// protocol of the port.
	// +required
	Protocol Protocol `json:"protocol"`
}

// ProbeServer is a probe server pod of the run: one per destination
// identity.
type ProbeServer struct {
	// pod is the server pod's name, in namespace.
	// +required
	// +kubebuilder:validation:MaxLength=63
	Pod string `json:"pod"`
	// namespace of the pod.
	// +required
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace"`
	// podLabels the pod carries, besides Palisade's own.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	PodLabels map[string]string `json:"podLabels,omitempty"`
	// namedPorts the pod declares.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	NamedPorts []ProbeNamedPort `json:"namedPorts,omitempty"`
}

// ProbeTemporaryNamespace is a namespace a run creates for its probe pods.
type ProbeTemporaryNamespace struct {
	// name of the namespace.
	// +required
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// labels it is created with, besides Palisade's own.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	Labels map[string]string `json:"labels,omitempty"`
}

// ProbeCase is one connection a run tried, with what was expected and what
// was observed.
type ProbeCase struct {
	// name of the case: spec.cases[].name, or np- and a hash of the
	// connection for a generated case (stable across runs).
	// +required
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// origin is Generated or Explicit.
	// +required
	Origin ProbeOrigin `json:"origin"`
	// check is NetworkPolicy or MTLS.
	// +optional
	// +kubebuilder:default=NetworkPolicy
	Check ProbeCheck `json:"check,omitempty"`
	// mtlsMode is the PeerAuthentication mode in effect for an MTLS case's
	// workload and port (STRICT, PERMISSIVE or DISABLE).
	// +optional
	// +kubebuilder:validation:MaxLength=16
	MTLSMode string `json:"mtlsMode,omitempty"`
	// bypassesSidecar is set on an MTLS case whose port the workload's
	// sidecar does not intercept (traffic.sidecar.istio.io/
	// excludeInboundPorts, or a port includeInboundPorts leaves out):
	// plaintext reaches the application whatever the PeerAuthentication
	// says.
	// +optional
	BypassesSidecar bool `json:"bypassesSidecar,omitempty"`
	// policy is the namespace/name of the NetworkPolicy a generated case
	// was derived from.
	// +optional
	// +kubebuilder:validation:MaxLength=317
	Policy string `json:"policy,omitempty"`
	// source of the connection.
	// +required
	Source ProbeEndpoint `json:"source"`
	// destination of the connection.
	// +required
	Destination ProbeEndpoint `json:"destination"`
	// port number connected to.
	// +required
	Port int32 `json:"port"`
	// protocol of the connection.
	// +required
	Protocol Protocol `json:"protocol"`
	// expected is the verdict asserted: the engine's for a generated case,
	// the spec's for an explicit one; for an MTLS case, Allow when the
	// PeerAuthentication mode accepts plaintext and Deny when it is STRICT.
	// +required
	Expected Expectation `json:"expected"`
	// engineVerdict is what the reachability engine computes for the
	// connection (Allow, Deny, or Unspecified when it cannot tell), also
	// for explicit cases, whose expectation may differ from it.
	// +optional
	// +kubebuilder:validation:MaxLength=16
	EngineVerdict string `json:"engineVerdict,omitempty"`
	// observed is what the probe client saw: Connected, Refused, Timeout
	// or Error; PlaintextAccepted or PlaintextRejected for an MTLS case.
	// +optional
	Observed ProbeObservation `json:"observed,omitempty"`
	// result is Pending, Match, Mismatch or Inconclusive.
	// +required
	Result ProbeResult `json:"result"`
	// reason says why: what the engine concluded, what the client saw, or
	// why the case could not be probed.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Reason string `json:"reason,omitempty"`
}

// ProbeCounts counts a run's cases by result.
type ProbeCounts struct {
	// total cases probed (those in the list).
	// +optional
	Total int32 `json:"total"`
	// pending cases have no result yet.
	// +optional
	Pending int32 `json:"pending"`
	// match: observed as expected.
	// +optional
	Match int32 `json:"match"`
	// mismatch: observed otherwise than expected.
	// +optional
	Mismatch int32 `json:"mismatch"`
	// inconclusive: could not be probed, or the observation proves
	// nothing; the case says why.
	// +optional
	Inconclusive int32 `json:"inconclusive"`
}

// ProbeResults are a PolicyProbe run's cases, planned when the run starts
// and filled in as the probe clients finish.
type ProbeResults struct {
	// policyFingerprint identifies the NetworkPolicies and namespace labels
	// in scope when the run was planned (for rerunOnChange).
	// +optional
	// +kubebuilder:validation:MaxLength=64
	PolicyFingerprint string `json:"policyFingerprint,omitempty"`
	// counts of the cases by result.
	// +optional
	Counts ProbeCounts `json:"counts"`
	// casesOmitted counts the generated cases that maxCases, or the cap of
	// 1000 cases per run, left out.
	// +optional
	CasesOmitted int32 `json:"casesOmitted,omitempty"`
	// notes say what case generation could not probe and why.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=512
	Notes []string `json:"notes,omitempty"`
	// temporaryNamespaces are the namespaces the run creates for its cases
	// (spec.allowTemporaryNamespaces) and deletes when it ends.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	TemporaryNamespaces []ProbeTemporaryNamespace `json:"temporaryNamespaces,omitempty"`
	// servers are the probe server pods of the run.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1000
	Servers []ProbeServer `json:"servers,omitempty"`
	// cases of the run, in the order they were planned.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1000
	Cases []ProbeCase `json:"cases,omitempty"`
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

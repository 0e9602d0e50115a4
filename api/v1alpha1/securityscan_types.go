package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PodSecurityLevel is a Pod Security Standards level.
// +kubebuilder:validation:Enum=baseline;restricted
type PodSecurityLevel string

// Pod Security Standards levels that Palisade evaluates.
const (
	PodSecurityBaseline   PodSecurityLevel = "baseline"
	PodSecurityRestricted PodSecurityLevel = "restricted"
)

// WorkloadsAnalyzer scores workloads with kubesec's rules and the Pod
// Security Standards. Deployments, StatefulSets, DaemonSets, CronJobs, and
// Jobs, ReplicaSets and Pods that no such controller owns are evaluated once
// each.
type WorkloadsAnalyzer struct {
	// podSecurityLevel is the Pod Security Standards level a workload is
	// held to: every check it fails at that level is a finding (baseline
	// checks High, restricted-only checks Medium). The level each workload
	// meets is counted in the report whatever this says.
	// +optional
	// +kubebuilder:default=restricted
	PodSecurityLevel PodSecurityLevel `json:"podSecurityLevel,omitempty"`

	// kubesecAdvice, when true, reports kubesec's positive rules that a
	// workload does not meet (resource limits, service account, ...) as Low
	// or Info findings. Rules that cost points are always reported.
	// +optional
	// +kubebuilder:default=true
	KubesecAdvice *bool `json:"kubesecAdvice,omitempty"`
}

// RBACAnalyzer finds risky RBAC permissions, the subjects that hold them,
// and the pods that run with them.
type RBACAnalyzer struct {
	// includeSystem also reports the built-in system: roles and bindings and
	// cluster-admin bound to system:masters, which are expected.
	// +optional
	IncludeSystem bool `json:"includeSystem,omitempty"`
}

// NetworkPoliciesAnalyzer audits NetworkPolicy coverage: default-deny
// policies, pods that are not isolated, policies that select nothing, overly
// broad rules.
type NetworkPoliciesAnalyzer struct {
	// maxPodsListed is how many pod names a finding about unisolated pods
	// lists.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	MaxPodsListed *int32 `json:"maxPodsListed,omitempty"`
}

// MTLSAnalyzer reports the effective Istio PeerAuthentication mode of each
// namespace and workload in scope.
type MTLSAnalyzer struct {
	// rootNamespace is Istio's root namespace, where mesh-wide policies live.
	// +optional
	// +kubebuilder:default=istio-system
	// +kubebuilder:validation:MaxLength=63
	RootNamespace string `json:"rootNamespace,omitempty"`
}

// SecurityScanSpec says what to check and when.
// +kubebuilder:validation:XValidation:rule="has(self.workloads) || has(self.rbac) || has(self.networkPolicies) || has(self.mtls) || has(self.benchmark)",message="enable at least one analyzer: workloads, rbac, networkPolicies, mtls or benchmark"
// +kubebuilder:validation:XValidation:rule="!has(self.timeZone) || has(self.schedule)",message="timeZone needs a schedule"
type SecurityScanSpec struct {
	// schedule is a cron schedule: five fields (minute hour day-of-month
	// month day-of-week) or a macro (@yearly, @monthly, @weekly, @daily,
	// @hourly). Absent means one run per spec generation.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="self.matches('^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|\\\\S+\\\\s+\\\\S+\\\\s+\\\\S+\\\\s+\\\\S+\\\\s+\\\\S+)$')",message="schedule must be five cron fields (minute hour day-of-month month day-of-week) or one of @yearly, @monthly, @weekly, @daily, @hourly"
	Schedule string `json:"schedule,omitempty"`

	// timeZone is the IANA time zone the schedule is read in, e.g.
	// Europe/Paris. Absent means UTC.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	TimeZone *string `json:"timeZone,omitempty"`

	// suspend stops new runs, scheduled or not, while true. A run in
	// progress finishes. When set back to false the scan runs again.
	// +optional
	// +kubebuilder:default=false
	Suspend bool `json:"suspend,omitempty"`

	// namespaces chooses the namespaces scanned. Only a scan in the
	// operator's own namespace may look beyond its own namespace.
	// +optional
	Namespaces NamespaceScope `json:"namespaces,omitempty"`

	// workloads enables workload risk scoring (kubesec rules and Pod
	// Security Standards).
	// +optional
	Workloads *WorkloadsAnalyzer `json:"workloads,omitempty"`

	// rbac enables RBAC risk analysis. RBAC objects are cluster-wide in part:
	// ClusterRoles and ClusterRoleBindings are read whatever the scope, and
	// findings are kept to the subjects, bindings and pods of namespaces in
	// scope (cluster-wide grants only for a scan in the operator's
	// namespace).
	// +optional
	RBAC *RBACAnalyzer `json:"rbac,omitempty"`

	// networkPolicies enables the NetworkPolicy coverage audit.
	// +optional
	NetworkPolicies *NetworkPoliciesAnalyzer `json:"networkPolicies,omitempty"`

	// mtls enables the Istio mTLS posture analysis. Without Istio's CRDs it
	// says so once (Info) and succeeds.
	// +optional
	MTLS *MTLSAnalyzer `json:"mtls,omitempty"`

	// benchmark enables the CIS Kubernetes Benchmark on every eligible node.
	// Only a scan in the operator's namespace may run it: nodes are
	// cluster-wide.
	// +optional
	Benchmark *BenchmarkAnalyzer `json:"benchmark,omitempty"`

	// historyLimit is how many ScanReports of this scan are kept; older ones
	// are deleted.
	// +optional
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	HistoryLimit *int32 `json:"historyLimit,omitempty"`

	// maxFindings caps the findings stored in a report, most severe first;
	// the summary always counts them all.
	// +optional
	// +kubebuilder:default=500
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=2000
	MaxFindings *int32 `json:"maxFindings,omitempty"`
}

// SecurityScanStatus is the observed state of a SecurityScan.
type SecurityScanStatus struct {
	RunStatus `json:",inline"`

	// namespaces is the number of namespaces in scope at the last run.
	// +optional
	Namespaces int32 `json:"namespaces,omitempty"`

	// benchmark is the progress of the benchmark in the run in progress, or
	// the outcome of the last run: nodes by phase.
	// +optional
	Benchmark *BenchmarkProgress `json:"benchmark,omitempty"`
}

// BenchmarkProgress counts a run's benchmark nodes by phase.
type BenchmarkProgress struct {
	// total nodes to benchmark.
	// +optional
	Total int32 `json:"total"`
	// pending nodes, not started yet.
	// +optional
	Pending int32 `json:"pending"`
	// running nodes.
	// +optional
	Running int32 `json:"running"`
	// succeeded nodes.
	// +optional
	Succeeded int32 `json:"succeeded"`
	// failed nodes.
	// +optional
	Failed int32 `json:"failed"`
	// skipped nodes.
	// +optional
	Skipped int32 `json:"skipped"`
}

// SecurityScan says what Palisade checks and when; each run writes a
// ScanReport.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=sscan,categories=palisade
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Schedule",type=string,JSONPath=`.spec.schedule`
// +kubebuilder:printcolumn:name="Suspend",type=boolean,JSONPath=`.spec.suspend`
// +kubebuilder:printcolumn:name="Last Report",type=string,JSONPath=`.status.latestReport`
// +kubebuilder:printcolumn:name="Last Run",type=date,JSONPath=`.status.lastRunTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SecurityScan struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says what to check and when.
	// +required
	Spec SecurityScanSpec `json:"spec"`
	// status is written by the operator.
	// +optional
	Status SecurityScanStatus `json:"status,omitempty"`
}

// SecurityScanList is a list of SecurityScans.
// +kubebuilder:object:root=true
type SecurityScanList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SecurityScan `json:"items"`
}

func init() {
	SchemeBuilder.Register(&SecurityScan{}, &SecurityScanList{})
}

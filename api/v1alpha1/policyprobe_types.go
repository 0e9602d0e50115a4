package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Expectation is what a probe case should observe.
// +kubebuilder:validation:Enum=Allow;Deny
type Expectation string

// Expectations.
const (
	ExpectAllow Expectation = "Allow"
	ExpectDeny  Expectation = "Deny"
)

// ProbePeer is one end of a probe case: pods chosen by namespace and labels,
// or (as a destination only) an address outside the cluster.
// +kubebuilder:validation:XValidation:rule="has(self.namespace) != (has(self.ip) || has(self.host))",message="set namespace (with optional podLabels) or ip/host, not both"
// +kubebuilder:validation:XValidation:rule="!(has(self.ip) && has(self.host))",message="set ip or host, not both"
type ProbePeer struct {
	// namespace of the pods.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
	// podLabels the probe pod carries (for a source) or that the
	// destination pods carry.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	PodLabels map[string]string `json:"podLabels,omitempty"`
	// ip is an address outside the cluster (destination only).
	// +optional
	// +kubebuilder:validation:MaxLength=45
	IP string `json:"ip,omitempty"`
	// host is a DNS name outside the cluster (destination only).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Host string `json:"host,omitempty"`
}

// ProbeCaseSpec is one connection to try.
type ProbeCaseSpec struct {
	// name identifies the case in the report.
	// +required
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// from is the source; it must name a namespace.
	// +required
	// +kubebuilder:validation:XValidation:rule="has(self.namespace)",message="from must name a namespace"
	From ProbePeer `json:"from"`
	// to is the destination.
	// +required
	To ProbePeer `json:"to"`
	// port number to connect to.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`
	// protocol of the connection.
	// +optional
	// +kubebuilder:default=TCP
	Protocol Protocol `json:"protocol,omitempty"`
	// expect is what should happen.
	// +required
	Expect Expectation `json:"expect"`
}

// CaseGeneration derives cases from the NetworkPolicies in scope.
type CaseGeneration struct {
	// enabled turns generation on.
	// +optional
	// +kubebuilder:default=true
	Enabled *bool `json:"enabled,omitempty"`
	// maxCases caps the generated cases. Together with spec.cases a run
	// probes at most 1000 cases, so that its report stays small.
	// +optional
	// +kubebuilder:default=200
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=500
	MaxCases *int32 `json:"maxCases,omitempty"`
}

// ProbeTimeouts bound a probe run.
type ProbeTimeouts struct {
	// attempt bounds one connection attempt.
	// +optional
	// +kubebuilder:default="3s"
	Attempt *metav1.Duration `json:"attempt,omitempty"`
	// run bounds the whole run, pod start-up included.
	// +optional
	// +kubebuilder:default="5m"
	Run *metav1.Duration `json:"run,omitempty"`
}

// MTLSProbe checks Istio mutual TLS by sending plaintext HTTP requests to
// mesh workloads from a client outside the mesh.
type MTLSProbe struct {
	// namespaces whose mesh workloads (pods with an Istio sidecar, or in
	// ambient mode) are probed on each TCP port their containers declare.
	// Each must be in the probe's scope.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=63
	Namespaces []string `json:"namespaces"`
	// rootNamespace is Istio's meshConfig.rootNamespace, where the
	// mesh-wide PeerAuthentication lives.
	// +optional
	// +kubebuilder:default=istio-system
	// +kubebuilder:validation:MaxLength=63
	RootNamespace string `json:"rootNamespace,omitempty"`
	// maxWorkloads caps the workloads probed: one running pod stands for
	// each workload (Deployment, StatefulSet, DaemonSet, Job or bare pod).
	// +optional
	// +kubebuilder:default=50
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=200
	MaxWorkloads *int32 `json:"maxWorkloads,omitempty"`
}

// PolicyProbeSpec says which NetworkPolicies to verify by probing.
// +kubebuilder:validation:XValidation:rule="!has(self.timeZone) || has(self.schedule)",message="timeZone needs a schedule"
type PolicyProbeSpec struct {
	// namespaces in scope, with the same multi-tenancy rule as SecurityScan.
	// +optional
	Namespaces NamespaceScope `json:"namespaces,omitempty"`
	// generate derives cases from the NetworkPolicies in scope.
	// +optional
	Generate CaseGeneration `json:"generate,omitempty"`
	// cases written by hand.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=500
	Cases []ProbeCaseSpec `json:"cases,omitempty"`
	// mtls sends plaintext HTTP requests to Istio mesh workloads: an HTTP
	// reply where PeerAuthentication says STRICT is a High finding, one
	// where it says PERMISSIVE or DISABLE a Medium finding.
	// +optional
	MTLS *MTLSProbe `json:"mtls,omitempty"`
	// allowTemporaryNamespaces lets a run create a namespace carrying the
	// labels a rule's namespaceSelector asks for when no namespace in scope
	// has them (named palisade-tmp-<hash>), and delete it after the run.
	// Only PolicyProbes in the operator's namespace may create namespaces.
	// A namespace an explicit case names is never created.
	// +optional
	AllowTemporaryNamespaces bool `json:"allowTemporaryNamespaces,omitempty"`
	// schedule in cron form, as in SecurityScan. Absent means one run per
	// spec generation.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Schedule string `json:"schedule,omitempty"`
	// timeZone of the schedule. Absent means UTC.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	TimeZone *string `json:"timeZone,omitempty"`
	// suspend stops new runs while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
	// rerunOnChange probes again, debounced, when NetworkPolicies or
	// namespace labels in scope change.
	// +optional
	RerunOnChange bool `json:"rerunOnChange,omitempty"`
	// timeouts for one attempt and the whole run.
	// +optional
	Timeouts ProbeTimeouts `json:"timeouts,omitempty"`
	// image of the probe pods. Absent means the operator's own image.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image,omitempty"`
	// historyLimit is how many reports are kept.
	// +optional
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	HistoryLimit *int32 `json:"historyLimit,omitempty"`
}

// PolicyProbeStatus is the observed state of a PolicyProbe.
type PolicyProbeStatus struct {
	RunStatus `json:",inline"`

	// policyChange records, with rerunOnChange, NetworkPolicies or namespace
	// labels in scope that changed since the latest run was planned: a run
	// starts once they have not changed for a while (debounce).
	// +optional
	PolicyChange *PolicyChange `json:"policyChange,omitempty"`
}

// PolicyChange is a change of the NetworkPolicies or namespace labels in a
// PolicyProbe's scope that no run has probed yet.
type PolicyChange struct {
	// fingerprint identifies the policies and namespace labels as changed.
	// +required
	// +kubebuilder:validation:MaxLength=64
	Fingerprint string `json:"fingerprint"`
	// seenTime is when the operator first saw them so.
	// +required
	SeenTime metav1.Time `json:"seenTime"`
}

// PolicyProbe verifies NetworkPolicies by launching probe pods and
// comparing what they observe with what the policies say.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=pprobe,categories=palisade
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Schedule",type=string,JSONPath=`.spec.schedule`
// +kubebuilder:printcolumn:name="Scanning",type=string,JSONPath=`.status.conditions[?(@.type=="Scanning")].status`,priority=1
// +kubebuilder:printcolumn:name="Last Report",type=string,JSONPath=`.status.latestReport`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type PolicyProbe struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says what to probe.
	// +required
	Spec PolicyProbeSpec `json:"spec"`
	// status is written by the operator.
	// +optional
	Status PolicyProbeStatus `json:"status,omitempty"`
}

// PolicyProbeList is a list of PolicyProbes.
// +kubebuilder:object:root=true
type PolicyProbeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PolicyProbe `json:"items"`
}

func init() {
	SchemeBuilder.Register(&PolicyProbe{}, &PolicyProbeList{})
}

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels and annotations Palisade puts on the objects it creates.
const (
	// LabelManagedBy marks every object Palisade creates; the manager's cache
	// selects Jobs and Pods on it.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of LabelManagedBy on Palisade's objects.
	ManagedByValue = "palisade"
	// LabelScan names the SecurityScan a ScanReport (or Job) belongs to.
	LabelScan = "security.palisade.dev/scan"
	// LabelProbe names the PolicyProbe a ScanReport (or pod) belongs to.
	LabelProbe = "security.palisade.dev/probe"
	// LabelReport names the ScanReport a Job or Pod belongs to.
	LabelReport = "security.palisade.dev/report"
)

// Condition types shared by SecurityScan and PolicyProbe.
const (
	// ConditionReady is True when the object's spec is valid and its last run
	// did not fail. It follows the kstatus conventions.
	ConditionReady = "Ready"
	// ConditionScanning is True while a run is in progress.
	ConditionScanning = "Scanning"
	// ConditionDegraded is True when the last run completed only partly or
	// failed.
	ConditionDegraded = "Degraded"
	// ConditionScopeRestricted is True when the spec asked for namespaces
	// outside the object's own namespace and the multi-tenancy rule narrowed
	// the scope to that namespace.
	ConditionScopeRestricted = "ScopeRestricted"
	// ConditionComplete is the condition of a finished ScanReport: True
	// when it finished (reason Succeeded or PartiallySucceeded), False when
	// it failed; its message names what failed.
	ConditionComplete = "Complete"
)

// Condition reasons.
const (
	ReasonSucceeded          = "Succeeded"
	ReasonPartiallySucceeded = "PartiallySucceeded"
	ReasonFailed             = "Failed"
	ReasonInvalidSchedule    = "InvalidSchedule"
	ReasonInvalidSpec        = "InvalidSpec"
	ReasonSuspended          = "Suspended"
	ReasonRunning            = "Running"
	ReasonIdle               = "Idle"
	ReasonPending            = "Pending"
	ReasonNamespaceScoped    = "NamespaceScoped"
	ReasonClusterScoped      = "ClusterScoped"
)

// Severity ranks a finding.
// +kubebuilder:validation:Enum=Critical;High;Medium;Low;Info
type Severity string

// Severities, most severe first.
const (
	SeverityCritical Severity = "Critical"
	SeverityHigh     Severity = "High"
	SeverityMedium   Severity = "Medium"
	SeverityLow      Severity = "Low"
	SeverityInfo     Severity = "Info"
)

// Rank orders severities: Critical is 0, Info 4, unknown values 5.
func (s Severity) Rank() int {
	switch s {
	case SeverityCritical:
		return 0
	case SeverityHigh:
		return 1
	case SeverityMedium:
		return 2
	case SeverityLow:
		return 3
	case SeverityInfo:
		return 4
	}
	return 5
}

// Finding categories.
const (
	CategoryWorkload      = "Workload"
	CategoryPodSecurity   = "PodSecurity"
	CategoryRBAC          = "RBAC"
	CategoryNetworkPolicy = "NetworkPolicy"
	CategoryMTLS          = "MTLS"
	CategoryBenchmark     = "Benchmark"
	CategoryProbe         = "Probe"
)

// NamespaceScope chooses namespaces. A SecurityScan or PolicyProbe in the
// operator's own namespace may look at any namespace; in any other namespace
// the scope is always that namespace alone, whatever is written here.
// +kubebuilder:validation:XValidation:rule="!has(self.names) || !has(self.selector)",message="set either names or selector, not both"
type NamespaceScope struct {
	// names lists the namespaces in scope. Empty means every namespace
	// (that the selector matches, when one is given).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=63
	Names []string `json:"names,omitempty"`

	// selector chooses namespaces by their labels. Absent means all.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`

	// exclude lists namespaces never scanned, even when names or the
	// selector choose them.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=63
	Exclude []string `json:"exclude,omitempty"`
}

// ResourceRef names the Kubernetes object a finding is about.
type ResourceRef struct {
	// apiVersion of the object, e.g. apps/v1.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	APIVersion string `json:"apiVersion,omitempty"`
	// kind of the object, e.g. Deployment.
	// +required
	// +kubebuilder:validation:MaxLength=63
	Kind string `json:"kind"`
	// namespace of the object; empty for cluster-scoped objects.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
	// name of the object.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// Finding is one problem found by an analyzer.
type Finding struct {
	// id is stable across runs for the same rule, e.g. "kubesec.Privileged"
	// or "pss.restricted.runAsNonRoot".
	// +required
	// +kubebuilder:validation:MaxLength=128
	ID string `json:"id"`
	// category names the analyzer family: Workload, PodSecurity, RBAC,
	// NetworkPolicy, MTLS, Benchmark or Probe.
	// +required
	// +kubebuilder:validation:MaxLength=32
	Category string `json:"category"`
	// severity of the finding.
	// +required
	Severity Severity `json:"severity"`
	// resource the finding is about.
	// +required
	Resource ResourceRef `json:"resource"`
	// message says what is wrong, naming containers where that matters.
	// +required
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message"`
	// remediation says how to fix it.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Remediation string `json:"remediation,omitempty"`
}

// SeverityCounts counts findings by severity.
type SeverityCounts struct {
	// critical findings.
	// +optional
	Critical int32 `json:"critical"`
	// high findings.
	// +optional
	High int32 `json:"high"`
	// medium findings.
	// +optional
	Medium int32 `json:"medium"`
	// low findings.
	// +optional
	Low int32 `json:"low"`
	// info findings.
	// +optional
	Info int32 `json:"info"`
}

// Add counts one finding of severity s.
func (c *SeverityCounts) Add(s Severity) {
	switch s {
	case SeverityCritical:
		c.Critical++
	case SeverityHigh:
		c.High++
	case SeverityMedium:
		c.Medium++
	case SeverityLow:
		c.Low++
	default:
		c.Info++
	}
}

// Total is the number of findings counted.
func (c SeverityCounts) Total() int32 { return c.Critical + c.High + c.Medium + c.Low + c.Info }

// Protocol is an IP protocol a NetworkPolicy can name.
// +kubebuilder:validation:Enum=TCP;UDP;SCTP
type Protocol string

// Protocols.
const (
	ProtocolTCP  Protocol = "TCP"
	ProtocolUDP  Protocol = "UDP"
	ProtocolSCTP Protocol = "SCTP"
)

// RunStatus is what the status of a SecurityScan and of a PolicyProbe say
// of their runs, each run a ScanReport.
type RunStatus struct {
	// conditions: Ready, Scanning, Degraded, ScopeRestricted.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// lastRunGeneration is the spec generation the last run was started
	// for (runs for schedule slots and, for a PolicyProbe, policy changes
	// do not count).
	// +optional
	LastRunGeneration int64 `json:"lastRunGeneration,omitempty"`

	// lastScheduleTime is the latest schedule slot a run was started for.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`

	// lastRunTime is when the last run started.
	// +optional
	LastRunTime *metav1.Time `json:"lastRunTime,omitempty"`

	// lastSuccessfulRunTime is when the latest run that did not fail
	// finished.
	// +optional
	LastSuccessfulRunTime *metav1.Time `json:"lastSuccessfulRunTime,omitempty"`

	// nextRunTime is the next schedule slot, when there is a schedule.
	// +optional
	NextRunTime *metav1.Time `json:"nextRunTime,omitempty"`

	// latestReport is the name of the newest ScanReport.
	// +optional
	LatestReport string `json:"latestReport,omitempty"`

	// activeReport is the name of the ScanReport of the run in progress.
	// +optional
	ActiveReport string `json:"activeReport,omitempty"`
}

package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultBenchmarkImage is the kube-bench image used when none is set.
const DefaultBenchmarkImage = "docker.io/aquasec/kube-bench:v0.15.6"

// BenchmarkAnalyzer runs the CIS Kubernetes Benchmark (kube-bench) as one
// Job per eligible Linux node.
type BenchmarkAnalyzer struct {
	// image of kube-bench.
	// +optional
	// +kubebuilder:default="docker.io/aquasec/kube-bench:v0.15.6"
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image,omitempty"`

	// imagePullSecrets for a private registry, in the operator's namespace.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`

	// benchmark to run: "auto" (the default) lets the operator choose from
	// the API server's version and platform; or an explicit kube-bench
	// benchmark such as cis-1.10 or eks-1.8.0.
	// +optional
	// +kubebuilder:default=auto
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^(auto|[a-z0-9][a-z0-9.-]*)$`
	Benchmark string `json:"benchmark,omitempty"`

	// nodeSelector limits the nodes benchmarked.
	// +optional
	// +kubebuilder:validation:MaxProperties=16
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// tolerations of the benchmark pods. A node whose taints they do not
	// tolerate is reported as Skipped, naming the taint.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// timeout per node, pod start-up included.
	// +optional
	// +kubebuilder:default="5m"
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// maxConcurrentNodes is how many nodes are benchmarked at once.
	// +optional
	// +kubebuilder:default=5
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	MaxConcurrentNodes *int32 `json:"maxConcurrentNodes,omitempty"`

	// resources of the kube-bench container.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
}

// BenchmarkNodePhase is where one node's benchmark stands.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed;Skipped
type BenchmarkNodePhase string

// Node phases.
const (
	BenchmarkNodePending   BenchmarkNodePhase = "Pending"
	BenchmarkNodeRunning   BenchmarkNodePhase = "Running"
	BenchmarkNodeSucceeded BenchmarkNodePhase = "Succeeded"
	BenchmarkNodeFailed    BenchmarkNodePhase = "Failed"
	BenchmarkNodeSkipped   BenchmarkNodePhase = "Skipped"
)

// BenchmarkNode is the benchmark's outcome on one node.
type BenchmarkNode struct {
	// name of the node.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// role: control-plane or worker.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Role string `json:"role,omitempty"`
	// phase of the node's benchmark.
	// +required
	Phase BenchmarkNodePhase `json:"phase"`
	// reason for a Failed or Skipped node: Unschedulable, ImagePullBackOff,
	// DeadlineExceeded, ParseError, NodeNotReady, NodeDeleted, Tainted, ...
	// For a Running node, what it is waiting for, if anything.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Reason string `json:"reason,omitempty"`
	// message explains the reason.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Message string `json:"message,omitempty"`
	// benchmark that ran, e.g. cis-1.12.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Benchmark string `json:"benchmark,omitempty"`
	// pass, fail, warn and info count the node's checks by result.
	// +optional
	Pass int32 `json:"pass,omitempty"`
	// +optional
	Fail int32 `json:"fail,omitempty"`
	// +optional
	Warn int32 `json:"warn,omitempty"`
	// +optional
	Info int32 `json:"info,omitempty"`
}

// BenchmarkCheck is one CIS check that failed or warned on some nodes.
type BenchmarkCheck struct {
	// benchmark the check belongs to, e.g. cis-1.12.
	// +required
	// +kubebuilder:validation:MaxLength=64
	Benchmark string `json:"benchmark"`
	// number of the check, e.g. 1.1.1.
	// +required
	// +kubebuilder:validation:MaxLength=32
	Number string `json:"number"`
	// text of the check.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Text string `json:"text,omitempty"`
	// scored tells whether the check is scored.
	// +optional
	Scored bool `json:"scored,omitempty"`
	// status is FAIL when it failed on some node, else WARN.
	// +required
	// +kubebuilder:validation:Enum=FAIL;WARN
	Status string `json:"status"`
	// remediation from the benchmark.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Remediation string `json:"remediation,omitempty"`
	// actualValue is an example of what the audit found.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	ActualValue string `json:"actualValue,omitempty"`
	// failedNodes and warnedNodes count the nodes concerned.
	// +optional
	FailedNodes int32 `json:"failedNodes,omitempty"`
	// +optional
	WarnedNodes int32 `json:"warnedNodes,omitempty"`
	// exampleNodes are the first few nodes concerned.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	ExampleNodes []string `json:"exampleNodes,omitempty"`
}

// BenchmarkResults are the CIS benchmark's results of a run.
type BenchmarkResults struct {
	// benchmark chosen for the run (auto resolves to e.g. cis-1.12) and why.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Benchmark string `json:"benchmark,omitempty"`
	// benchmarkReason says how the benchmark was chosen.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	BenchmarkReason string `json:"benchmarkReason,omitempty"`
	// nodeCounts counts every node by phase, including the nodes left out
	// of nodes.
	// +optional
	NodeCounts *BenchmarkProgress `json:"nodeCounts,omitempty"`
	// lastNodeStarted is how far the run has got: nodes are taken in name
	// order, and every node up to this one has been started or has an
	// outcome, so an operator that restarts resumes after it. Empty once
	// the run has finished.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	LastNodeStarted string `json:"lastNodeStarted,omitempty"`
	// nodes: the nodes being benchmarked (while the run is in progress),
	// then the nodes with an outcome, worst first (Failed, Skipped, then
	// by their worst check), at most 500 of them; nodesOmitted counts the
	// rest.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=600
	Nodes []BenchmarkNode `json:"nodes,omitempty"`
	// nodesOmitted is how many nodes the cap left out of nodes.
	// +optional
	NodesOmitted int32 `json:"nodesOmitted,omitempty"`
	// checks that failed or warned somewhere, most severe first.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=500
	Checks []BenchmarkCheck `json:"checks,omitempty"`
	// checksOmitted is how many checks the cap left out.
	// +optional
	ChecksOmitted int32 `json:"checksOmitted,omitempty"`
}

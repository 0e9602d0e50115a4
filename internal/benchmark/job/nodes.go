package job

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	schedulingcorev1 "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/klog/v2"

	"github.com/palisade-sec/palisade/api/v1alpha1"

	"github.com/palisade-sec/palisade/internal/text"
)

// Node roles.
const (
	RoleControlPlane = "control-plane"
	RoleWorker       = "worker"
)

// Node role labels.
const (
	labelControlPlane = "node-role.kubernetes.io/control-plane"
	labelMaster       = "node-role.kubernetes.io/master"
)

// Reasons for nodes that were not benchmarked, or not to the end.
const (
	ReasonTainted          = "Tainted"
	ReasonNodeNotReady     = "NodeNotReady"
	ReasonNodeCordoned     = "NodeCordoned"
	ReasonNodeDeleted      = "NodeDeleted"
	ReasonUnschedulable    = "Unschedulable"
	ReasonImagePullBackOff = "ImagePullBackOff"
	ReasonDeadlineExceeded = "DeadlineExceeded"
	ReasonFailed           = "Failed"
	ReasonOOMKilled        = "OOMKilled"
	ReasonParseError       = "ParseError"
	ReasonLogsUnavailable  = "LogsUnavailable"
	ReasonJobDeleted       = "JobDeleted"
)

// Node is what a Job needs to know about its node.
type Node struct {
	Name string
	// Role is RoleControlPlane or RoleWorker.
	Role string
	// Hostname is the node's kubernetes.io/hostname label, which the Job's
	// node selector matches; empty when the node has none.
	Hostname string
}

// NodeOf describes n.
func NodeOf(n *corev1.Node) Node {
	return Node{Name: n.Name, Role: Role(n), Hostname: n.Labels[corev1.LabelHostname]}
}

// Role is RoleControlPlane for a node labelled as a control-plane (or
// master) node, otherwise RoleWorker.
func Role(n *corev1.Node) string {
	if _, ok := n.Labels[labelControlPlane]; ok {
		return RoleControlPlane
	}
	if _, ok := n.Labels[labelMaster]; ok {
		return RoleControlPlane
	}
	return RoleWorker
}

// Linux tells whether n runs Linux, by its kubernetes.io/os label or, when
// that is missing, what the kubelet reports.
func Linux(n *corev1.Node) bool {
	if os, ok := n.Labels[corev1.LabelOSStable]; ok {
		return os == "linux"
	}
	return n.Status.NodeInfo.OperatingSystem == "" || n.Status.NodeInfo.OperatingSystem == "linux"
}

// Tolerations are the user's tolerations, plus, on a control-plane node,
// those of kube-bench's job-master.yaml for the control-plane taints: the
// Job is pinned to the node, so it only ever lands where it is meant to.
func Tolerations(user []corev1.Toleration, role string) []corev1.Toleration {
	out := append([]corev1.Toleration(nil), user...)
	if role == RoleControlPlane {
		for _, key := range []string{labelControlPlane, labelMaster} {
			out = append(out, corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
		}
	}
	return out
}

// Problem says why a node cannot be benchmarked now.
type Problem struct {
	// Phase is Failed (the node should have been benchmarked and could not
	// be) or Skipped (it is not meant to be benchmarked now).
	Phase   v1alpha1.BenchmarkNodePhase
	Reason  string
	Message string
}

// Check tells whether a Job with the given user tolerations can run on n:
// nil when it can. A NotReady node is Failed; a cordoned node, or one with a
// taint that the tolerations do not tolerate, is Skipped. A nil node was
// deleted.
func Check(n *corev1.Node, user []corev1.Toleration) *Problem {
	if n == nil || !n.DeletionTimestamp.IsZero() {
		return &Problem{Phase: v1alpha1.BenchmarkNodeSkipped, Reason: ReasonNodeDeleted, Message: "The node was deleted"}
	}
	if p := ReadyProblem(n); p != nil {
		return p
	}
	if n.Spec.Unschedulable {
		return &Problem{Phase: v1alpha1.BenchmarkNodeSkipped, Reason: ReasonNodeCordoned, Message: "The node is cordoned (spec.unschedulable)"}
	}
	if t, ok := untolerated(n, Tolerations(user, Role(n))); ok {
		return &Problem{Phase: v1alpha1.BenchmarkNodeSkipped, Reason: ReasonTainted,
			Message: fmt.Sprintf("The node's taint %s is not tolerated: add a toleration to spec.benchmark.tolerations to benchmark it", t.ToString())}
	}
	return nil
}

// ReadyProblem is a Failed NodeNotReady problem when n is not Ready.
func ReadyProblem(n *corev1.Node) *Problem {
	for _, c := range n.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		if c.Status == corev1.ConditionTrue {
			return nil
		}
		msg := fmt.Sprintf("The node is not Ready (%s)", c.Status)
		if c.Reason != "" {
			msg = fmt.Sprintf("The node is not Ready (%s: %s)", c.Reason, c.Message)
		}
		return &Problem{Phase: v1alpha1.BenchmarkNodeFailed, Reason: ReasonNodeNotReady, Message: text.Cut(msg, maxMessageLen)}
	}
	return &Problem{Phase: v1alpha1.BenchmarkNodeFailed, Reason: ReasonNodeNotReady, Message: "The node has no Ready condition"}
}

// untolerated returns a NoSchedule or NoExecute taint of n that the
// tolerations do not tolerate.
func untolerated(n *corev1.Node, tolerations []corev1.Toleration) (corev1.Taint, bool) {
	return schedulingcorev1.FindMatchingUntoleratedTaint(klog.Background(), n.Spec.Taints, tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	}, false)
}

// RunningProblem tells whether a node whose Job has started can no longer
// be benchmarked: it was deleted (Skipped), it is not Ready (Failed), or it
// was cordoned before its pod was placed (Skipped). A cordoned node still
// runs a pod already placed, and taints were checked before the start.
func RunningProblem(n *corev1.Node, bound bool) *Problem {
	if n == nil || !n.DeletionTimestamp.IsZero() {
		return &Problem{Phase: v1alpha1.BenchmarkNodeSkipped, Reason: ReasonNodeDeleted, Message: "The node was deleted during its benchmark"}
	}
	if p := ReadyProblem(n); p != nil {
		return p
	}
	if !bound && n.Spec.Unschedulable {
		return &Problem{Phase: v1alpha1.BenchmarkNodeSkipped, Reason: ReasonNodeCordoned, Message: "The node was cordoned before the benchmark's pod could be placed on it"}
	}
	return nil
}

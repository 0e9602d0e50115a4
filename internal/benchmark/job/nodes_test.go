package job

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-sec/palisade/api/v1alpha1"
)

// node builds a Ready Linux node; mutate changes it.
func node(mutate func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{corev1.LabelOSStable: "linux", corev1.LabelHostname: "n1"}},
		Status:     corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}},
	}
	if mutate != nil {
		mutate(n)
	}
	return n
}

func taint(key, value string, effect corev1.TaintEffect) func(*corev1.Node) {
	return func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Value: value, Effect: effect})
	}
}

func TestCheck(t *testing.T) {
	gpu := []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}
	tests := map[string]struct {
		node        *corev1.Node
		tolerations []corev1.Toleration
		want        *Problem
	}{
		"ready": {node: node(nil)},
		"deleted": {
			node: nil,
			want: &Problem{Phase: v1alpha1.BenchmarkNodeSkipped, Reason: ReasonNodeDeleted, Message: "The node was deleted"},
		},
		"not ready, and tainted so": {
			node: node(func(n *corev1.Node) {
				n.Status.Conditions[0] = corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionFalse, Reason: "KubeletNotReady", Message: "PLEG is not healthy"}
				taint(corev1.TaintNodeNotReady, "", corev1.TaintEffectNoSchedule)(n)
			}),
			want: &Problem{Phase: v1alpha1.BenchmarkNodeFailed, Reason: ReasonNodeNotReady, Message: "The node is not Ready (KubeletNotReady: PLEG is not healthy)"},
		},
		"no Ready condition": {
			node: node(func(n *corev1.Node) { n.Status.Conditions = nil }),
			want: &Problem{Phase: v1alpha1.BenchmarkNodeFailed, Reason: ReasonNodeNotReady, Message: "The node has no Ready condition"},
		},
		"cordoned": {
			node: node(func(n *corev1.Node) {
				n.Spec.Unschedulable = true
				taint(corev1.TaintNodeUnschedulable, "", corev1.TaintEffectNoSchedule)(n)
			}),
			want: &Problem{Phase: v1alpha1.BenchmarkNodeSkipped, Reason: ReasonNodeCordoned, Message: "The node is cordoned (spec.unschedulable)"},
		},
		"untolerated NoSchedule taint": {
			node: node(taint("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
			want: &Problem{Phase: v1alpha1.BenchmarkNodeSkipped, Reason: ReasonTainted,
				Message: "The node's taint dedicated=gpu:NoSchedule is not tolerated: add a toleration to spec.benchmark.tolerations to benchmark it"},
		},
		"untolerated NoExecute taint": {
			node: node(taint("maintenance", "", corev1.TaintEffectNoExecute)),
			want: &Problem{Phase: v1alpha1.BenchmarkNodeSkipped, Reason: ReasonTainted,
				Message: "The node's taint maintenance:NoExecute is not tolerated: add a toleration to spec.benchmark.tolerations to benchmark it"},
		},
		"tolerated taint":            {node: node(taint("dedicated", "gpu", corev1.TaintEffectNoSchedule)), tolerations: gpu},
		"PreferNoSchedule is no bar": {node: node(taint("spot", "", corev1.TaintEffectPreferNoSchedule))},
		"control plane tolerated by its role": {
			node: node(func(n *corev1.Node) {
				n.Labels["node-role.kubernetes.io/control-plane"] = ""
				taint("node-role.kubernetes.io/control-plane", "", corev1.TaintEffectNoSchedule)(n)
			}),
		},
		"control-plane taint on a worker": {
			node: node(taint("node-role.kubernetes.io/control-plane", "", corev1.TaintEffectNoSchedule)),
			want: &Problem{Phase: v1alpha1.BenchmarkNodeSkipped, Reason: ReasonTainted,
				Message: "The node's taint node-role.kubernetes.io/control-plane:NoSchedule is not tolerated: add a toleration to spec.benchmark.tolerations to benchmark it"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Check(tc.node, tc.tolerations)); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunningProblem(t *testing.T) {
	cordoned := node(func(n *corev1.Node) { n.Spec.Unschedulable = true })
	tests := map[string]struct {
		node       *corev1.Node
		bound      bool
		wantReason string
	}{
		"fine":                        {node: node(nil), bound: true},
		"deleted":                     {node: nil, bound: true, wantReason: ReasonNodeDeleted},
		"not ready":                   {node: node(func(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionUnknown }), bound: true, wantReason: ReasonNodeNotReady},
		"cordoned before placing pod": {node: cordoned, wantReason: ReasonNodeCordoned},
		"cordoned after placing pod":  {node: cordoned, bound: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := ""
			if p := RunningProblem(tc.node, tc.bound); p != nil {
				got = p.Reason
			}
			if got != tc.wantReason {
				t.Errorf("reason = %q, want %q", got, tc.wantReason)
			}
		})
	}
}

func TestRoleAndLinux(t *testing.T) {
	tests := map[string]struct {
		node      *corev1.Node
		wantRole  string
		wantLinux bool
	}{
		"worker":        {node(nil), RoleWorker, true},
		"control plane": {node(func(n *corev1.Node) { n.Labels["node-role.kubernetes.io/control-plane"] = "" }), RoleControlPlane, true},
		"old master":    {node(func(n *corev1.Node) { n.Labels["node-role.kubernetes.io/master"] = "" }), RoleControlPlane, true},
		"windows":       {node(func(n *corev1.Node) { n.Labels[corev1.LabelOSStable] = "windows" }), RoleWorker, false},
		"no os label, kubelet says linux": {node(func(n *corev1.Node) {
			delete(n.Labels, corev1.LabelOSStable)
			n.Status.NodeInfo.OperatingSystem = "linux"
		}), RoleWorker, true},
		"no os label, kubelet says windows": {node(func(n *corev1.Node) {
			delete(n.Labels, corev1.LabelOSStable)
			n.Status.NodeInfo.OperatingSystem = "windows"
		}), RoleWorker, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Role(tc.node); got != tc.wantRole {
				t.Errorf("Role = %q, want %q", got, tc.wantRole)
			}
			if got := Linux(tc.node); got != tc.wantLinux {
				t.Errorf("Linux = %v, want %v", got, tc.wantLinux)
			}
		})
	}
}

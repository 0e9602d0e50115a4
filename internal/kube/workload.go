package kube

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// WorkloadOf names the workload a pod belongs to: its controller's kind and
// name, with a ReplicaSet named "<deployment>-<pod-template-hash>" given as
// that Deployment; the pod itself (kind Pod) when it has no controller.
func WorkloadOf(pod *corev1.Pod) (kind, name string) {
	owner := metav1.GetControllerOf(pod)
	if owner == nil {
		return "Pod", pod.Name
	}
	if owner.Kind == "ReplicaSet" {
		hash := pod.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
		if d, ok := strings.CutSuffix(owner.Name, "-"+hash); ok && hash != "" {
			return "Deployment", d
		}
	}
	return owner.Kind, owner.Name
}

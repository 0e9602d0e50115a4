package mtls

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// Labels and annotations that control mesh membership.
const (
	labelInjection     = "istio-injection"
	labelRevision      = "istio.io/rev"
	labelInject        = "sidecar.istio.io/inject"
	annotationStatus   = "sidecar.istio.io/status"
	labelDataplaneMode = "istio.io/dataplane-mode"
	proxyContainer     = "istio-proxy"
)

// Membership says how a pod takes part in the mesh.
type Membership string

// Memberships.
const (
	// NotInMesh: no proxy; PeerAuthentication does not apply.
	NotInMesh Membership = ""
	// Sidecar: an istio-proxy container (present, or to be injected when the
	// pod is a manifest that never went through admission).
	Sidecar Membership = "sidecar"
	// Ambient: ztunnel enforces PeerAuthentication.
	Ambient Membership = "ambient"
)

// namespaceMeshed reports whether the namespace's labels enroll its pods:
// sidecar injection (istio-injection=enabled, or a revision label without
// istio-injection=disabled) or ambient mode.
func namespaceMeshed(labels map[string]string) bool {
	inj := labels[labelInjection]
	return inj == "enabled" || (inj != "disabled" && labels[labelRevision] != "") || labels[labelDataplaneMode] == string(Ambient)
}

// membership decides how pod takes part in the mesh, given its namespace's
// labels.
func membership(pod *corev1.Pod, nsLabels map[string]string) Membership {
	switch {
	case pod.Spec.HostNetwork: // never injected
		return NotInMesh
	case hasProxy(pod):
		return Sidecar
	case pod.Labels[labelDataplaneMode] == string(Ambient),
		nsLabels[labelDataplaneMode] == string(Ambient) && pod.Labels[labelDataplaneMode] != "none":
		return Ambient
	case !admitted(pod) && injectionWanted(pod, nsLabels):
		return Sidecar
	}
	return NotInMesh
}

// hasProxy reports whether the injector has processed the pod.
func hasProxy(pod *corev1.Pod) bool {
	isProxy := func(c corev1.Container) bool { return c.Name == proxyContainer }
	_, injected := pod.Annotations[annotationStatus]
	return injected || slices.ContainsFunc(pod.Spec.Containers, isProxy) || slices.ContainsFunc(pod.Spec.InitContainers, isProxy)
}

// admitted reports whether the pod has been through the API server (and so
// through the injection webhook).
func admitted(pod *corev1.Pod) bool {
	return pod.UID != "" || pod.Spec.NodeName != "" || pod.Status.Phase != ""
}

// injectionWanted applies Istio's injection policy: a namespace with
// istio-injection=disabled never injects; the pod's sidecar.istio.io/inject
// label (or, deprecated, annotation) "false" opts out; otherwise the
// namespace's injection or revision label, or the pod's "true" or revision
// label, opts in.
func injectionWanted(pod *corev1.Pod, nsLabels map[string]string) bool {
	if nsLabels[labelInjection] == "disabled" {
		return false
	}
	inject, ok := pod.Labels[labelInject]
	if !ok {
		inject = pod.Annotations[labelInject]
	}
	switch {
	case inject == "false":
		return false
	case nsLabels[labelInjection] == "enabled", nsLabels[labelRevision] != "":
		return true
	}
	return inject == "true" || pod.Labels[labelRevision] != ""
}

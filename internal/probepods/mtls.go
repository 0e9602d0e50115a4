package probepods

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/analyzers/mtls"
	"github.com/palisade-sec/palisade/internal/kube"
	"github.com/palisade-sec/palisade/internal/text"
)

// Labels that keep a probe client out of an Istio mesh: no sidecar is
// injected (the label, and the annotation older Istio versions read) and
// ztunnel does not capture it in an ambient namespace.
const (
	labelInject    = "sidecar.istio.io/inject"
	labelDataplane = "istio.io/dataplane-mode"
	proxyContainer = "istio-proxy"
	mtlsCasePrefix = "mtls-"
	// maxWorkload is the API's limit on a destination's workload.
	maxWorkload = 320
)

// outsideMesh is the identity of the clients of MTLS cases, besides their
// namespace.
func outsideMesh() map[string]string {
	return map[string]string{labelInject: "false", labelDataplane: "none"}
}

// MTLSInput is what MTLS case planning reads.
type MTLSInput struct {
	// Namespaces are spec.mtls.namespaces.
	Namespaces []string
	// Cluster is what is in the probe's scope.
	Cluster Cluster
	// Installed is false when the API server serves no PeerAuthentication.
	Installed bool
	// Policies are the PeerAuthentications of the namespaces and of the
	// mesh's root namespace.
	Policies []mtls.PeerAuthentication
	// RootNamespace is the mesh's root namespace.
	RootNamespace string
	// MaxWorkloads caps the workloads probed.
	MaxWorkloads int
	// OutOfScope says why a namespace not in the cluster's scope cannot be
	// probed.
	OutOfScope func(ns string) string
}

// MTLSPlan are the MTLS cases of a run.
type MTLSPlan struct {
	Cases []securityv1alpha1.ProbeCase
	// Omitted counts the cases of the workloads MaxWorkloads left out.
	Omitted int
	// Notes say what was not probed and why.
	Notes []string
}

// meshWorkload is one workload of a mesh namespace and the pod that stands
// for it.
type meshWorkload struct {
	kind, name string
	pod        *corev1.Pod
	mode       mtls.WorkloadMTLS
}

// MTLSCases plans a plaintext HTTP request to every declared TCP port of
// one running pod of each mesh workload (sidecar or ambient) in the given
// namespaces, from a client in the same namespace kept out of the mesh.
// The expectation follows the PeerAuthentication mode in effect on the
// port: Deny (plaintext rejected) under STRICT, Allow under PERMISSIVE or
// DISABLE.
func MTLSCases(in MTLSInput) MTLSPlan {
	var out MTLSPlan
	if !in.Installed {
		out.Notes = append(out.Notes, "mtls: Istio's PeerAuthentication API is not served, so there is no mesh to probe")
		return out
	}
	inScope := map[string]bool{}
	for _, ns := range in.Cluster.Namespaces {
		inScope[ns.Name] = true
	}
	analyzer := mtls.New(in.Cluster.Namespaces, in.Policies, mtls.Options{RootNamespace: in.RootNamespace})
	var workloads []meshWorkload
	for _, ns := range in.Namespaces {
		if !inScope[ns] {
			out.Notes = append(out.Notes, "mtls: "+in.OutOfScope(ns))
			continue
		}
		found := meshWorkloads(in.Cluster.Pods, ns, analyzer)
		if len(found) == 0 {
			out.Notes = append(out.Notes, fmt.Sprintf("mtls: namespace %s has no running mesh workload with an address", ns))
		}
		workloads = append(workloads, found...)
	}
	if len(workloads) > in.MaxWorkloads {
		for _, w := range workloads[in.MaxWorkloads:] {
			out.Omitted += len(tcpPorts(w.pod))
		}
		out.Notes = append(out.Notes, fmt.Sprintf("mtls: %d mesh workloads beyond spec.mtls.maxWorkloads (%d) are not probed", len(workloads)-in.MaxWorkloads, in.MaxWorkloads))
		workloads = workloads[:in.MaxWorkloads]
	}
	for _, w := range workloads {
		ports := tcpPorts(w.pod)
		if len(ports) == 0 {
			out.Notes = append(out.Notes, fmt.Sprintf("mtls: %s/%s %s declares no TCP container port, so it is not probed", w.pod.Namespace, w.kind, w.name))
		}
		for _, port := range ports {
			out.Cases = append(out.Cases, mtlsCase(w, port))
		}
	}
	return out
}

// meshWorkloads picks, in ns, one running pod with an address for each
// workload in the mesh: a ready one if there is, the first by name.
func meshWorkloads(pods []corev1.Pod, ns string, a *mtls.Analyzer) []meshWorkload {
	byKey := map[string]*meshWorkload{}
	for i := range pods {
		p := &pods[i]
		if p.Namespace != ns || p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" || p.Spec.HostNetwork || !p.DeletionTimestamp.IsZero() {
			continue
		}
		mode := a.Workload(p)
		if mode.Membership == mtls.NotInMesh {
			continue
		}
		kind, name := kube.WorkloadOf(p)
		key := kind + "/" + name
		if w := byKey[key]; w == nil || better(p, w.pod) {
			byKey[key] = &meshWorkload{kind: kind, name: name, pod: p, mode: mode}
		}
	}
	out := make([]meshWorkload, 0, len(byKey))
	for _, w := range byKey {
		out = append(out, *w)
	}
	slices.SortFunc(out, func(x, y meshWorkload) int { return cmp.Or(cmp.Compare(x.kind, y.kind), cmp.Compare(x.name, y.name)) })
	return out
}

// better prefers a ready pod, then the first by name.
func better(p, than *corev1.Pod) bool {
	if pr, tr := ready(p), ready(than); pr != tr {
		return pr
	}
	return p.Name < than.Name
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// tcpPorts are the TCP ports the pod's application containers declare
// (the proxy's own ports left out), sorted, each once.
func tcpPorts(p *corev1.Pod) []int32 {
	var out []int32
	for _, c := range p.Spec.Containers {
		if c.Name == proxyContainer {
			continue
		}
		for _, port := range c.Ports {
			if cmp.Or(port.Protocol, corev1.ProtocolTCP) == corev1.ProtocolTCP && !slices.Contains(out, port.ContainerPort) {
				out = append(out, port.ContainerPort)
			}
		}
	}
	slices.Sort(out)
	return out
}

// mtlsCase is the plaintext probe of one port of a mesh workload.
func mtlsCase(w meshWorkload, port int32) securityv1alpha1.ProbeCase {
	mode, decided := w.mode.Port(uint32(port))
	expect := securityv1alpha1.ExpectAllow
	if mode == mtls.ModeStrict {
		expect = securityv1alpha1.ExpectDeny
	}
	workload := w.kind + "/" + w.name
	bypass := w.mode.Membership == mtls.Sidecar && !intercepted(w.pod, port)
	why := fmt.Sprintf("mTLS mode %s on port %d (%s, %s)", mode, port, decided, w.mode.Membership)
	if bypass {
		why += "; the sidecar does not intercept the port (traffic.sidecar.istio.io annotations)"
	}
	return securityv1alpha1.ProbeCase{
		Name:   mtlsCasePrefix + shortHash(w.pod.Namespace+"/"+workload+":"+strconv.Itoa(int(port)), 10),
		Origin: securityv1alpha1.ProbeGenerated, Check: securityv1alpha1.CheckMTLS, MTLSMode: string(mode), BypassesSidecar: bypass,
		Source:      securityv1alpha1.ProbeEndpoint{Namespace: w.pod.Namespace, PodLabels: outsideMesh()},
		Destination: securityv1alpha1.ProbeEndpoint{Namespace: w.pod.Namespace, IP: w.pod.Status.PodIP, Workload: text.Cut(workload+", pod "+w.pod.Name, maxWorkload)},
		Port:        port, Protocol: securityv1alpha1.ProtocolTCP, Expected: expect,
		Result: securityv1alpha1.ProbePending,
		Reason: why,
	}
}

// Annotations that narrow the inbound ports an Istio sidecar intercepts.
const (
	annotationIncludeInbound = "traffic.sidecar.istio.io/includeInboundPorts"
	annotationExcludeInbound = "traffic.sidecar.istio.io/excludeInboundPorts"
)

// intercepted tells whether the pod's sidecar intercepts inbound traffic
// to port: every port unless includeInboundPorts lists others, and not one
// excludeInboundPorts lists.
func intercepted(pod *corev1.Pod, port int32) bool {
	listed := func(list string) bool {
		for _, p := range strings.Split(list, ",") {
			if strings.TrimSpace(p) == strconv.Itoa(int(port)) {
				return true
			}
		}
		return false
	}
	if include, ok := pod.Annotations[annotationIncludeInbound]; ok && strings.TrimSpace(include) != "*" && !listed(include) {
		return false
	}
	return !listed(pod.Annotations[annotationExcludeInbound])
}

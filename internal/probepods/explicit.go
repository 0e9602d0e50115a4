package probepods

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/netpol"
)

// Cluster is the part of the cluster a run probes: what is in scope.
type Cluster struct {
	// Namespaces in scope, with their labels.
	Namespaces []corev1.Namespace
	// Pods in scope, probe pods left out.
	Pods []corev1.Pod
	// Policies in scope.
	Policies []networkingv1.NetworkPolicy
	// ClusterPolicies are the cluster-wide network policies, which apply
	// in every namespace.
	ClusterPolicies netpol.ClusterPolicies
}

// hypotheticalBase is where the pods that stand for explicit cases' probe
// pods get addresses: reserved space (240.0.0.0/4) no pod holds.
var hypotheticalBase = netip.MustParseAddr("240.0.0.0")

// Explicit resolves spec.cases against the cluster: a case whose namespace
// is not in scope is Inconclusive (outOfScope says why: the namespace is
// missing, or the multi-tenancy rule or the scope leaves it out); the
// others get the engine's verdict for probe pods with the case's labels
// and probeLabels, and their destination the named ports of a pod it
// stands for. The expectation asserted stays the spec's.
func Explicit(specs []securityv1alpha1.ProbeCaseSpec, cl Cluster, probeLabels map[string]string, outOfScope func(ns string) string) ([]ExplicitCase, error) {
	inScope := map[string]bool{}
	for _, ns := range cl.Namespaces {
		inScope[ns.Name] = true
	}
	out := make([]ExplicitCase, len(specs))
	var pods []corev1.Pod
	type query struct {
		i int
		q netpol.Query
	}
	var queries []query
	for i, s := range specs {
		e := &out[i]
		e.Spec = s
		for _, ns := range []string{s.From.Namespace, s.To.Namespace} {
			if ns != "" && !inScope[ns] && e.Inconclusive == "" {
				e.Inconclusive = outOfScope(ns)
			}
		}
		if e.Inconclusive != "" {
			continue
		}
		if s.To.Namespace != "" {
			e.NamedPorts = namedPortsOf(cl.Pods, s.To.Namespace, s.To.PodLabels)
		}
		if s.To.Host != "" {
			e.Why = "The engine does not resolve DNS names: no verdict"
			continue
		}
		client := hypotheticalPod(fmt.Sprintf("client-%d", i), s.From.Namespace, s.From.PodLabels, probeLabels, nil, 2*i+1)
		pods = append(pods, client)
		q := netpol.Query{From: netpol.PodEndpoint(client.Namespace, client.Name), Port: s.Port, Protocol: corev1.Protocol(cmp.Or(s.Protocol, securityv1alpha1.ProtocolTCP))}
		if s.To.IP != "" {
			ip, err := netip.ParseAddr(s.To.IP)
			if err != nil {
				e.Inconclusive = fmt.Sprintf("InvalidAddress: %q is not an IP address", s.To.IP)
				continue
			}
			q.To = netpol.IPEndpoint(ip)
		} else {
			server := hypotheticalPod(fmt.Sprintf("server-%d", i), s.To.Namespace, s.To.PodLabels, probeLabels, e.NamedPorts, 2*i+2)
			pods = append(pods, server)
			q.To = netpol.PodEndpoint(server.Namespace, server.Name)
		}
		queries = append(queries, query{i, q})
	}
	if len(queries) == 0 {
		return out, nil
	}
	eng, err := netpol.NewWithClusterPolicies(cl.Namespaces, pods, cl.Policies, cl.ClusterPolicies)
	if err != nil {
		return nil, fmt.Errorf("building the engine for spec.cases: %w", err)
	}
	for _, q := range queries {
		v, err := eng.Check(q.q)
		if err != nil {
			out[q.i].Why = "The engine cannot judge it: " + err.Error()
			continue
		}
		out[q.i].EngineVerdict = v.Result.String()
		out[q.i].Why = explain(&v)
	}
	return out, nil
}

// namedPortsOf are the named container ports of the first pod (by name) in
// ns whose labels include sel.
func namedPortsOf(pods []corev1.Pod, ns string, sel map[string]string) []securityv1alpha1.ProbeNamedPort {
	var match *corev1.Pod
	for i := range pods {
		p := &pods[i]
		if p.Namespace == ns && labels.SelectorFromSet(sel).Matches(labels.Set(p.Labels)) && (match == nil || p.Name < match.Name) {
			match = p
		}
	}
	if match == nil {
		return nil
	}
	var out []securityv1alpha1.ProbeNamedPort
	for _, c := range match.Spec.Containers {
		for _, cp := range c.Ports {
			np := securityv1alpha1.ProbeNamedPort{Name: cp.Name, Port: cp.ContainerPort, Protocol: securityv1alpha1.Protocol(cmp.Or(cp.Protocol, corev1.ProtocolTCP))}
			if cp.Name != "" && !slices.ContainsFunc(out, func(o securityv1alpha1.ProbeNamedPort) bool { return o.Name == np.Name && o.Protocol == np.Protocol }) {
				out = append(out, np)
			}
		}
	}
	slices.SortFunc(out, func(a, b securityv1alpha1.ProbeNamedPort) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Protocol, b.Protocol))
	})
	return out
}

// hypotheticalPod is a running pod with the n-th reserved address.
func hypotheticalPod(name, ns string, identity, probeLabels map[string]string, ports []securityv1alpha1.ProbeNamedPort, n int) corev1.Pod {
	lbls := maps.Clone(identity)
	if lbls == nil {
		lbls = map[string]string{}
	}
	maps.Copy(lbls, probeLabels)
	c := corev1.Container{Name: Container}
	for _, np := range ports {
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: np.Name, ContainerPort: np.Port, Protocol: protocol(np.Protocol)})
	}
	b := hypotheticalBase.As4()
	v := uint32(b[0])<<24 | uint32(n)
	ip := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{c}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}},
	}
}

// explain sums the engine's verdict up, e.g. "The engine says Deny
// (egress: not isolated; ingress: isolated by x/deny-all, no rule admits
// it)".
func explain(v *netpol.Verdict) string {
	return "The engine says " + v.Brief()
}

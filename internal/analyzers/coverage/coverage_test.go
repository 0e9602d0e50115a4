package coverage

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/palisade-sec/palisade/api/v1alpha1"
)

// --- builders ---

func namespaces(names ...string) []corev1.Namespace {
	out := make([]corev1.Namespace, len(names))
	for i, n := range names {
		out[i].Name = n
	}
	return out
}

// selector builds a label selector from "key=value" pairs; none gives {}.
func selector(kv ...string) *metav1.LabelSelector {
	s := &metav1.LabelSelector{}
	for i := 0; i+1 < len(kv); i += 2 {
		if s.MatchLabels == nil {
			s.MatchLabels = map[string]string{}
		}
		s.MatchLabels[kv[i]] = kv[i+1]
	}
	return s
}

type policyOpt func(*networkingv1.NetworkPolicy)

func netpol(ns, name string, sel *metav1.LabelSelector, opts ...policyOpt) networkingv1.NetworkPolicy {
	p := networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: networkingv1.NetworkPolicySpec{PodSelector: *sel}}
	for _, o := range opts {
		o(&p)
	}
	return p
}

func types(ts ...networkingv1.PolicyType) policyOpt {
	return func(p *networkingv1.NetworkPolicy) { p.Spec.PolicyTypes = ts }
}

func ingressRule(peers []networkingv1.NetworkPolicyPeer, ports ...networkingv1.NetworkPolicyPort) policyOpt {
	return func(p *networkingv1.NetworkPolicy) {
		p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: peers, Ports: ports})
	}
}

func egressRule(peers []networkingv1.NetworkPolicyPeer, ports ...networkingv1.NetworkPolicyPort) policyOpt {
	return func(p *networkingv1.NetworkPolicy) {
		p.Spec.Egress = append(p.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: peers, Ports: ports})
	}
}

func peers(ps ...networkingv1.NetworkPolicyPeer) []networkingv1.NetworkPolicyPeer { return ps }

func podPeer(kv ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: selector(kv...)}
}

func nsPeer(kv ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{NamespaceSelector: selector(kv...)}
}

func cidrPeer(cidr string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr}}
}

func tcp(port int) networkingv1.NetworkPolicyPort {
	proto, p := corev1.ProtocolTCP, intstr.FromInt32(int32(port))
	return networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &p}
}

var (
	ingress = networkingv1.PolicyTypeIngress
	egress  = networkingv1.PolicyTypeEgress
)

type podOpt func(*corev1.Pod)

func newPod(ns, name string, opts ...podOpt) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	for _, o := range opts {
		o(&p)
	}
	return p
}

func labeled(kv ...string) podOpt {
	return func(p *corev1.Pod) { p.Labels = selector(kv...).MatchLabels }
}

func hostNetwork(p *corev1.Pod) { p.Spec.HostNetwork = true }

func phase(ph corev1.PodPhase) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }

func ownedBy(kind, name string) podOpt {
	return func(p *corev1.Pod) {
		p.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: name, Controller: new(true)}}
	}
}

// summarize renders findings as "id severity kind ns/name".
func summarize(fs []v1alpha1.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s %s %s/%s", f.ID, f.Severity, f.Resource.Kind, f.Resource.Namespace, f.Resource.Name))
	}
	return out
}

// Expected namespace findings for namespace "a".
const (
	noDenyIn  = "netpol.no-default-deny-ingress Medium Namespace /a"
	noDenyEg  = "netpol.no-default-deny-egress Low Namespace /a"
	openIn    = "netpol.pods-not-isolated-ingress Medium Namespace /a"
	openEg    = "netpol.pods-not-isolated-egress Low Namespace /a"
	hostNetOK = "netpol.host-network-pods Info Namespace /a"
)

func TestCoverage(t *testing.T) {
	denyAll := netpol("a", "deny-all", selector(), types(ingress, egress))
	web := newPod("a", "web", labeled("app", "web"))
	db := newPod("a", "db", labeled("app", "db"))
	tests := map[string]struct {
		namespaces []corev1.Namespace
		policies   []networkingv1.NetworkPolicy
		pods       []corev1.Pod
		want       []string
	}{
		"no policy at all": {
			namespaces: namespaces("a"),
			pods:       []corev1.Pod{web, db},
			want:       []string{noDenyIn, openIn, noDenyEg, openEg},
		},
		"default deny in both directions": {
			namespaces: namespaces("a"),
			policies:   []networkingv1.NetworkPolicy{denyAll},
			pods:       []corev1.Pod{web, db},
			want:       []string{},
		},
		"without policyTypes, a policy with no rules denies ingress only": {
			namespaces: namespaces("a"),
			policies:   []networkingv1.NetworkPolicy{netpol("a", "deny", selector())},
			pods:       []corev1.Pod{web},
			want:       []string{noDenyEg, openEg},
		},
		"without policyTypes, egress rules make it an egress policy too": {
			namespaces: namespaces("a"),
			policies: []networkingv1.NetworkPolicy{
				netpol("a", "deny-in-allow-dns", selector(), egressRule(peers(nsPeer("kubernetes.io/metadata.name", "kube-system")), tcp(53))),
			},
			pods: []corev1.Pod{web},
			want: []string{noDenyEg},
		},
		"policyTypes [Egress] leaves ingress open": {
			namespaces: namespaces("a"),
			policies:   []networkingv1.NetworkPolicy{netpol("a", "deny-out", selector(), types(egress))},
			pods:       []corev1.Pod{web},
			want:       []string{noDenyIn, openIn},
		},
		"a policy isolates only the pods it selects": {
			namespaces: namespaces("a"),
			policies: []networkingv1.NetworkPolicy{
				netpol("a", "web", selector("app", "web"), types(ingress, egress), ingressRule(peers(podPeer("app", "lb")), tcp(80))),
			},
			pods: []corev1.Pod{web, db},
			want: []string{noDenyIn, openIn, noDenyEg, openEg},
		},
		"a policy that selects no pod": {
			namespaces: namespaces("a"),
			policies:   []networkingv1.NetworkPolicy{denyAll, netpol("a", "typo", selector("app", "wbe"))},
			pods:       []corev1.Pod{web},
			want:       []string{"netpol.policy-selects-no-pod Low NetworkPolicy a/typo"},
		},
		"an empty selector in an empty namespace is fine": {
			namespaces: namespaces("a"),
			policies:   []networkingv1.NetworkPolicy{denyAll},
			want:       []string{},
		},
		"hostNetwork pods are reported once, not as unisolated": {
			namespaces: namespaces("a"),
			policies:   []networkingv1.NetworkPolicy{netpol("a", "web", selector("app", "web"))},
			pods:       []corev1.Pod{newPod("a", "node-agent", labeled("app", "web"), hostNetwork), newPod("a", "exporter", hostNetwork)},
			want: []string{noDenyIn, noDenyEg, hostNetOK,
				"netpol.policy-selects-no-pod Low NetworkPolicy a/web"},
		},
		"completed pods are skipped": {
			namespaces: namespaces("a"),
			policies:   []networkingv1.NetworkPolicy{netpol("a", "web", selector("app", "web"), types(ingress, egress))},
			pods:       []corev1.Pod{newPod("a", "job", phase(corev1.PodSucceeded)), newPod("a", "crashed", phase(corev1.PodFailed)), web},
			want:       []string{noDenyIn, noDenyEg},
		},
		"allow-all ingress": {
			namespaces: namespaces("a"),
			policies:   []networkingv1.NetworkPolicy{denyAll, netpol("a", "allow-all", selector(), ingressRule(nil))},
			pods:       []corev1.Pod{web},
			want:       []string{"netpol.broad-ingress High NetworkPolicy a/allow-all"},
		},
		"from every namespace on one port": {
			namespaces: namespaces("a"),
			policies:   []networkingv1.NetworkPolicy{denyAll, netpol("a", "web", selector("app", "web"), ingressRule(peers(nsPeer()), tcp(80)))},
			pods:       []corev1.Pod{web},
			want:       []string{"netpol.broad-ingress Medium NetworkPolicy a/web"},
		},
		"egress to 0.0.0.0/0 on any port": {
			namespaces: namespaces("a"),
			policies:   []networkingv1.NetworkPolicy{denyAll, netpol("a", "web", selector("app", "web"), types(egress), egressRule(peers(cidrPeer("0.0.0.0/0"))))},
			pods:       []corev1.Pod{web},
			want:       []string{"netpol.broad-egress Medium NetworkPolicy a/web"},
		},
		"a named peer on any port": {
			namespaces: namespaces("a"),
			policies:   []networkingv1.NetworkPolicy{denyAll, netpol("a", "web", selector("app", "web"), ingressRule(peers(podPeer("app", "lb"))))},
			pods:       []corev1.Pod{web},
			want:       []string{"netpol.broad-ingress Low NetworkPolicy a/web"},
		},
		"a port entry without a number admits every port": {
			namespaces: namespaces("a"),
			policies: []networkingv1.NetworkPolicy{denyAll, netpol("a", "web", selector("app", "web"),
				ingressRule(peers(podPeer("app", "lb")), networkingv1.NetworkPolicyPort{}))},
			pods: []corev1.Pod{web},
			want: []string{"netpol.broad-ingress Low NetworkPolicy a/web"},
		},
		"a named peer on a named port is not broad": {
			namespaces: namespaces("a"),
			policies: []networkingv1.NetworkPolicy{denyAll, netpol("a", "web", selector("app", "web"), types(ingress, egress),
				ingressRule(peers(podPeer("app", "lb")), tcp(80)), egressRule(peers(cidrPeer("10.0.0.0/8")), tcp(443)))},
			pods: []corev1.Pod{web},
			want: []string{},
		},
		"namespaces out of scope are ignored": {
			namespaces: namespaces("a"),
			policies:   []networkingv1.NetworkPolicy{denyAll, netpol("b", "typo", selector("app", "x"))},
			pods:       []corev1.Pod{web, newPod("b", "other")},
			want:       []string{},
		},
		"no namespace list: every namespace seen is in scope": {
			policies: []networkingv1.NetworkPolicy{denyAll},
			pods:     []corev1.Pod{web, newPod("b", "other")},
			want: []string{
				"netpol.no-default-deny-ingress Medium Namespace /b", "netpol.pods-not-isolated-ingress Medium Namespace /b",
				"netpol.no-default-deny-egress Low Namespace /b", "netpol.pods-not-isolated-egress Low Namespace /b",
			},
		},
		"an invalid selector selects nothing": {
			namespaces: namespaces("a"),
			policies: []networkingv1.NetworkPolicy{denyAll, netpol("a", "bad", &metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}},
			})},
			pods: []corev1.Pod{web},
			want: []string{"netpol.policy-selects-no-pod Low NetworkPolicy a/bad"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := summarize(Analyze(tc.namespaces, tc.policies, tc.pods, Options{}))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	pods := []corev1.Pod{
		newPod("a", "web-7d9f8-x1", ownedBy("ReplicaSet", "web-7d9f8"), labeled("pod-template-hash", "7d9f8")),
		newPod("a", "web-7d9f8-x2", ownedBy("ReplicaSet", "web-7d9f8"), labeled("pod-template-hash", "7d9f8")),
		newPod("a", "db-0", ownedBy("StatefulSet", "db")),
		newPod("a", "debug"),
		newPod("a", "agent-abc", ownedBy("DaemonSet", "agent"), hostNetwork),
	}
	policies := []networkingv1.NetworkPolicy{
		netpol("a", "egress-only", selector(), types(egress)),
		netpol("a", "open", selector("app", "web"), ingressRule(peers(nsPeer(), cidrPeer("0.0.0.0/0"))), ingressRule(peers(podPeer("app", "x")), tcp(8080))),
	}
	got := Analyze(namespaces("a"), policies, pods, Options{MaxNames: 2})
	want := []v1alpha1.Finding{
		{
			ID: IDNoDefaultDenyIngress, Category: v1alpha1.CategoryNetworkPolicy, Severity: v1alpha1.SeverityMedium, Resource: namespaceRef("a"),
			Message:     "Namespace a has no default-deny ingress NetworkPolicy: pods that no ingress policy selects, including future ones, accept connections from anywhere.",
			Remediation: "Add a NetworkPolicy with podSelector: {} and policyTypes: [Ingress] and no ingress rules, then allow the flows each workload needs.",
		},
		{
			ID: IDNotIsolatedIngress, Category: v1alpha1.CategoryNetworkPolicy, Severity: v1alpha1.SeverityMedium, Resource: namespaceRef("a"),
			Message: "4 of 4 pods in namespace a are not isolated for ingress (no policy with policyType Ingress selects them): " +
				"Deployment web (2 pods), Pod debug (1 pod), and more.",
			Remediation: "Add a default-deny ingress policy to the namespace, or policies selecting these workloads.",
		},
		{
			ID: IDHostNetwork, Category: v1alpha1.CategoryNetworkPolicy, Severity: v1alpha1.SeverityInfo, Resource: namespaceRef("a"),
			Message:     "1 hostNetwork pod is in namespace a outside NetworkPolicy, which does not apply to host-network traffic: DaemonSet agent (1 pod).",
			Remediation: hostNetworkRemediation,
		},
		{
			ID: IDPolicySelectsNoPod, Category: v1alpha1.CategoryNetworkPolicy, Severity: v1alpha1.SeverityLow,
			Resource:    v1alpha1.ResourceRef{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Namespace: "a", Name: "open"},
			Message:     "NetworkPolicy a/open has no effect: its podSelector matches no pod.",
			Remediation: selectsNoPodRemediation,
		},
		{
			ID: IDBroadIngress, Category: v1alpha1.CategoryNetworkPolicy, Severity: v1alpha1.SeverityHigh,
			Resource:    v1alpha1.ResourceRef{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Namespace: "a", Name: "open"},
			Message:     "NetworkPolicy a/open admits too much: ingress rule 1: every pod in every namespace, any IP address (0.0.0.0/0) on any port.",
			Remediation: "Name the peers (namespaceSelector and podSelector together, or specific CIDRs) and the ports each rule needs.",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

func TestStructuredResults(t *testing.T) {
	a := New(namespaces("a"), []networkingv1.NetworkPolicy{
		netpol("a", "deny-in", selector()),
		netpol("a", "web", selector("app", "web"), types(egress), egressRule(peers(podPeer("app", "db")), tcp(5432))),
	}, Options{})
	for _, p := range []corev1.Pod{newPod("a", "web", labeled("app", "web")), newPod("a", "db"), newPod("a", "h", labeled("app", "web"), hostNetwork)} {
		a.Pod(&p)
	}
	wantNS := []NamespaceCoverage{{Namespace: "a", DefaultDenyIngress: []string{"deny-in"}, Pods: 2, HostNetworkPods: 1, NotIsolatedEgress: 1}}
	if diff := cmp.Diff(wantNS, a.Namespaces()); diff != "" {
		t.Errorf("Namespaces (-want +got):\n%s", diff)
	}
	ref := func(n string) v1alpha1.ResourceRef {
		return v1alpha1.ResourceRef{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Namespace: "a", Name: n}
	}
	wantPol := []PolicyCoverage{
		{Policy: ref("deny-in"), Ingress: true, DefaultDenyIngress: true, SelectedPods: 2, SelectedHostNetworkPods: 1},
		{Policy: ref("web"), Egress: true, SelectedPods: 1, SelectedHostNetworkPods: 1},
	}
	if diff := cmp.Diff(wantPol, a.Policies()); diff != "" {
		t.Errorf("Policies (-want +got):\n%s", diff)
	}
}

func TestWorkloadOf(t *testing.T) {
	tests := map[string]struct {
		pod  corev1.Pod
		want string
	}{
		"bare pod":    {newPod("a", "p"), "Pod p"},
		"deployment":  {newPod("a", "web-abc-1", ownedBy("ReplicaSet", "web-abc"), labeled("pod-template-hash", "abc")), "Deployment web"},
		"replicaset":  {newPod("a", "rs-1", ownedBy("ReplicaSet", "rs")), "ReplicaSet rs"},
		"statefulset": {newPod("a", "db-0", ownedBy("StatefulSet", "db")), "StatefulSet db"},
		"non-controller owner": {func() corev1.Pod {
			p := newPod("a", "p")
			p.OwnerReferences = []metav1.OwnerReference{{Kind: "Node", Name: "n"}}
			return p
		}(), "Pod p"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := workloadOf(&tc.pod); got != tc.want {
				t.Errorf("workloadOf = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestWorkloadSetIsOrderIndependent feeds the same pods in many orders and
// expects the same bounded list with exact counts.
func TestWorkloadSetIsOrderIndependent(t *testing.T) {
	var names []string
	for i := range 30 {
		for range 1 + i%4 {
			names = append(names, fmt.Sprintf("Deployment w%02d", i))
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	want := ""
	for range 50 {
		rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
		s := workloadSet{max: 3}
		for _, n := range names {
			s.add(n)
		}
		if s.pods != len(names) {
			t.Fatalf("pods = %d, want %d", s.pods, len(names))
		}
		if want == "" {
			want = s.String()
		}
		if got := s.String(); got != want {
			t.Fatalf("order changed the result: %q, then %q", want, got)
		}
	}
	if exp := "Deployment w00 (1 pod), Deployment w01 (2 pods), Deployment w02 (3 pods), and more"; want != exp {
		t.Errorf("workloads = %q, want %q", want, exp)
	}
}

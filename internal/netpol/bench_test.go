package netpol

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	policyv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
)

// benchCluster is 20 namespaces of 50 pods and 15 policies per namespace
// (1,000 pods, 300 policies), mixing every kind of selector, peer and port.
func benchCluster() ([]corev1.Namespace, []corev1.Pod, []networkingv1.NetworkPolicy) {
	var nss []corev1.Namespace
	var pods []corev1.Pod
	var pols []networkingv1.NetworkPolicy
	for i := range 20 {
		ns := fmt.Sprintf("ns%02d", i)
		nss = append(nss, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{
			"team": fmt.Sprintf("t%d", i%5), "env": []string{"prod", "dev"}[i%2],
		}}})
		for j := range 50 {
			p := testPod(ns, fmt.Sprintf("pod%02d", j), fmt.Sprintf("10.%d.%d.%d", i, j/10, j%10+1), fmt.Sprintf("192.168.0.%d", j%8+1), map[string]string{
				"app": fmt.Sprintf("app%d", j%10), "tier": []string{"fe", "be", "db"}[j%3],
			})
			pods = append(pods, p)
		}
		for k := range 15 {
			pols = append(pols, benchPolicy(ns, i, k))
		}
	}
	return nss, pods, pols
}

func benchPolicy(ns string, i, k int) networkingv1.NetworkPolicy {
	p := networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("p%02d", k)}}
	app := map[string]string{"app": fmt.Sprintf("app%d", k%10)}
	tcp := corev1.ProtocolTCP
	port80, named := intstr.FromInt32(80), intstr.FromString("serve-81-tcp")
	end := int32(90)
	switch k % 5 {
	case 0: // default deny both ways for one tier
		p.Spec.PodSelector = metav1.LabelSelector{MatchLabels: map[string]string{"tier": "db"}}
		p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	case 1: // same-namespace and cross-team ingress on a named port
		p.Spec.PodSelector = metav1.LabelSelector{MatchLabels: app}
		p.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{
			From: []networkingv1.NetworkPolicyPeer{
				{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "fe"}}},
				{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": fmt.Sprintf("t%d", (i+1)%5)}}, PodSelector: &metav1.LabelSelector{MatchLabels: app}},
			},
			Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &named}},
		}}
	case 2: // matchExpressions and a port range
		p.Spec.PodSelector = metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"be", "db"}}}}
		p.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{
			From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"dev"}}}}}},
			Ports: []networkingv1.NetworkPolicyPort{{Port: &port80, EndPort: &end}},
		}}
	case 3: // egress to ipBlocks with exceptions and to a namespace
		p.Spec.PodSelector = metav1.LabelSelector{MatchLabels: app}
		p.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{
			{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: fmt.Sprintf("10.%d.0.0/16", (i+3)%20), Except: []string{fmt.Sprintf("10.%d.1.0/24", (i+3)%20)}}}}},
			{To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": fmt.Sprintf("t%d", i%5)}}}}, Ports: []networkingv1.NetworkPolicyPort{{Port: &port80}}},
		}
	default: // egress by named port to any pod of a tier anywhere
		p.Spec.PodSelector = metav1.LabelSelector{MatchLabels: map[string]string{"tier": "fe"}}
		p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
		p.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{
			To:    []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}, PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "be"}}}},
			Ports: []networkingv1.NetworkPolicyPort{{Port: &named}, {Port: &port80}},
		}}
	}
	return p
}

// BenchmarkMatrix judges 1,000 × 1,000 pod pairs on two ports with 300
// policies; the engine is built once, outside the timer.
func BenchmarkMatrix(b *testing.B) {
	nss, pods, pols := benchCluster()
	e, err := New(nss, pods, pols)
	if err != nil {
		b.Fatal(err)
	}
	opts := MatrixOptions{Ports: []int32{80, 81}}
	var pairs int
	for b.Loop() {
		m, err := e.Matrix(opts)
		if err != nil {
			b.Fatal(err)
		}
		pairs = len(m.Pods) * len(m.Pods) * len(m.Tables)
	}
	b.ReportMetric(float64(pairs)*float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
}

// benchClusterPolicies are 20 AdminNetworkPolicies of distinct priorities
// and a BaselineAdminNetworkPolicy over benchCluster, mixing subjects,
// peers, ports and actions; several select every pod.
func benchClusterPolicies() ClusterPolicies {
	var c ClusterPolicies
	ns := func(k, v string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{k: v}}
	}
	pods := func(nsSel, podSel *metav1.LabelSelector) *policyv1alpha1.NamespacedPod {
		return &policyv1alpha1.NamespacedPod{NamespaceSelector: *nsSel, PodSelector: *podSel}
	}
	all := &metav1.LabelSelector{}
	for k := range 20 {
		p := policyv1alpha1.AdminNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("anp%02d", k)}}
		p.Spec.Priority = int32(10 * k)
		team, app := fmt.Sprintf("t%d", k%5), fmt.Sprintf("app%d", k%10)
		switch k % 5 {
		case 0: // deny dev namespaces to prod databases on 80
			p.Spec.Subject.Pods = pods(ns("env", "prod"), ns("tier", "db"))
			p.Spec.Ingress = []policyv1alpha1.AdminNetworkPolicyIngressRule{{Name: "no-dev", Action: "Deny",
				From:  []policyv1alpha1.AdminNetworkPolicyIngressPeer{{Namespaces: ns("env", "dev")}},
				Ports: &[]policyv1alpha1.AdminNetworkPolicyPort{{PortNumber: &policyv1alpha1.Port{Protocol: "TCP", Port: 80}}}}}
		case 1: // allow one team's egress to another's back ends by named port
			p.Spec.Subject.Namespaces = ns("team", fmt.Sprintf("t%d", (k+1)%5))
			p.Spec.Egress = []policyv1alpha1.AdminNetworkPolicyEgressRule{{Action: "Allow",
				To:    []policyv1alpha1.AdminNetworkPolicyEgressPeer{{Pods: pods(ns("team", team), ns("tier", "be"))}},
				Ports: &[]policyv1alpha1.AdminNetworkPolicyPort{{NamedPort: ptr.To("serve-81-tcp")}}}}
		case 2: // every pod: pass a team's ingress to NetworkPolicies
			p.Spec.Subject.Namespaces = all
			p.Spec.Ingress = []policyv1alpha1.AdminNetworkPolicyIngressRule{{Action: "Pass", From: []policyv1alpha1.AdminNetworkPolicyIngressPeer{{Namespaces: ns("team", team)}}}}
		case 3: // deny an app's egress to a namespace's addresses on a range
			p.Spec.Subject.Pods = pods(all, ns("app", app))
			p.Spec.Egress = []policyv1alpha1.AdminNetworkPolicyEgressRule{{Action: "Deny",
				To:    []policyv1alpha1.AdminNetworkPolicyEgressPeer{{Networks: []policyv1alpha1.CIDR{policyv1alpha1.CIDR(fmt.Sprintf("10.%d.0.0/16", k))}}},
				Ports: &[]policyv1alpha1.AdminNetworkPolicyPort{{PortRange: &policyv1alpha1.PortRange{Protocol: "TCP", Start: 80, End: 81}}}}}
		default: // prod: allow an app in, deny nodes and names out
			p.Spec.Subject.Namespaces = ns("env", "prod")
			p.Spec.Ingress = []policyv1alpha1.AdminNetworkPolicyIngressRule{{Action: "Allow", From: []policyv1alpha1.AdminNetworkPolicyIngressPeer{{Pods: pods(all, ns("app", app))}}}}
			p.Spec.Egress = []policyv1alpha1.AdminNetworkPolicyEgressRule{{Action: "Deny", To: []policyv1alpha1.AdminNetworkPolicyEgressPeer{{Nodes: ns("role", "infra")}, {DomainNames: []policyv1alpha1.DomainName{"example.com"}}}}}
		}
		c.AdminNetworkPolicies = append(c.AdminNetworkPolicies, p)
	}
	banp := policyv1alpha1.BaselineAdminNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	banp.Spec.Subject.Namespaces = all
	banp.Spec.Ingress = []policyv1alpha1.BaselineAdminNetworkPolicyIngressRule{{Action: "Deny", From: []policyv1alpha1.AdminNetworkPolicyIngressPeer{{Namespaces: ns("env", "dev")}}}}
	banp.Spec.Egress = []policyv1alpha1.BaselineAdminNetworkPolicyEgressRule{
		{Action: "Allow", To: []policyv1alpha1.BaselineAdminNetworkPolicyEgressPeer{{Namespaces: ns("team", "t0")}}},
		{Action: "Deny", To: []policyv1alpha1.BaselineAdminNetworkPolicyEgressPeer{{Networks: []policyv1alpha1.CIDR{"10.0.0.0/8"}}},
			Ports: &[]policyv1alpha1.AdminNetworkPolicyPort{{PortNumber: &policyv1alpha1.Port{Protocol: "TCP", Port: 81}}}},
	}
	c.BaselineAdminNetworkPolicies = []policyv1alpha1.BaselineAdminNetworkPolicy{banp}
	return c
}

// BenchmarkMatrixClusterPolicies is BenchmarkMatrix with 20
// AdminNetworkPolicies and a BaselineAdminNetworkPolicy besides the 300
// NetworkPolicies.
func BenchmarkMatrixClusterPolicies(b *testing.B) {
	nss, pods, pols := benchCluster()
	e, err := NewWithClusterPolicies(nss, pods, pols, benchClusterPolicies())
	if err != nil {
		b.Fatal(err)
	}
	opts := MatrixOptions{Ports: []int32{80, 81}}
	var pairs int
	for b.Loop() {
		m, err := e.Matrix(opts)
		if err != nil {
			b.Fatal(err)
		}
		pairs = len(m.Pods) * len(m.Pods) * len(m.Tables)
	}
	b.ReportMetric(float64(pairs)*float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
}

// BenchmarkNew builds the engine for the same cluster: defaulting,
// validation and selector compilation.
func BenchmarkNew(b *testing.B) {
	nss, pods, pols := benchCluster()
	for b.Loop() {
		if _, err := New(nss, pods, pols); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBenchClusterIsMixed guards the benchmark's meaning: its matrix must
// hold both verdicts in quantity, or it would measure a trivial case.
func TestBenchClusterIsMixed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 1,000-pod matrix")
	}
	nss, pods, pols := benchCluster()
	e, err := New(nss, pods, pols)
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Matrix(MatrixOptions{Ports: []int32{80}})
	if err != nil {
		t.Fatal(err)
	}
	tab := m.Tables[0]
	if len(m.Pods) != 1000 || len(e.Policies()) != 300 || tab.Allowed < 50000 || tab.Denied < 50000 {
		t.Errorf("%d pods, %d policies, %d allowed, %d denied", len(m.Pods), len(e.Policies()), tab.Allowed, tab.Denied)
	}
}

// TestBenchClusterPoliciesMatter guards BenchmarkMatrixClusterPolicies'
// meaning: the cluster-wide policies change many verdicts, both ways, and
// the matrix still holds both verdicts in quantity.
func TestBenchClusterPoliciesMatter(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two 1,000-pod matrices")
	}
	nss, pods, pols := benchCluster()
	plain, err := New(nss, pods, pols)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewWithClusterPolicies(nss, pods, pols, benchClusterPolicies())
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Warnings()) != 0 {
		t.Errorf("warnings: %q", e.Warnings())
	}
	opts := MatrixOptions{Ports: []int32{80}}
	before, err := plain.Matrix(opts)
	if err != nil {
		t.Fatal(err)
	}
	after, err := e.Matrix(opts)
	if err != nil {
		t.Fatal(err)
	}
	var allowed, denied int
	for i := range before.Pods {
		for j := range before.Pods {
			switch b, a := before.Tables[0].Verdicts[i][j], after.Tables[0].Verdicts[i][j]; {
			case b == Deny && a == Allow:
				allowed++
			case b == Allow && a == Deny:
				denied++
			}
		}
	}
	tab := after.Tables[0]
	if allowed < 5000 || denied < 5000 || tab.Allowed < 50000 || tab.Denied < 50000 || tab.Unspecified > len(after.Pods) {
		t.Errorf("%d newly allowed, %d newly denied; %d allowed, %d denied, %d unspecified", allowed, denied, tab.Allowed, tab.Denied, tab.Unspecified)
	}
}

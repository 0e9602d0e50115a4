package netpol

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// world is a randomly generated cluster.
type world struct {
	namespaces []corev1.Namespace
	pods       []corev1.Pod
	policies   []networkingv1.NetworkPolicy
	cluster    ClusterPolicies
}

var (
	propPorts     = []int32{53, 80, 81, 9090}
	propProtocols = []corev1.Protocol{tcp, udp}
)

// gen draws random clusters from a small vocabulary, so that selectors,
// named ports and ipBlocks often match.
type gen struct{ r *rand.Rand }

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, 1))} }

func (g *gen) pick(options ...string) string { return options[g.r.IntN(len(options))] }

func (g *gen) chance(percent int) bool { return g.r.IntN(100) < percent }

func (g *gen) world() world {
	var w world
	for i := range 2 + g.r.IntN(3) {
		ns := fmt.Sprintf("n%d", i)
		lbls := map[string]string{}
		if g.chance(70) {
			lbls["env"] = g.pick("prod", "dev")
		}
		w.namespaces = append(w.namespaces, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: lbls}})
		for j := range 1 + g.r.IntN(4) {
			w.pods = append(w.pods, g.pod(ns, i, j))
		}
	}
	for i := range g.r.IntN(6) {
		w.policies = append(w.policies, g.policy(fmt.Sprintf("p%d", i), g.pick(namespaceNames(w)...)))
	}
	return w
}

func namespaceNames(w world) []string {
	var out []string
	for _, ns := range w.namespaces {
		out = append(out, ns.Name)
	}
	return out
}

func (g *gen) pod(ns string, i, j int) corev1.Pod {
	lbls := map[string]string{}
	if g.chance(80) {
		lbls["app"] = g.pick("web", "db", "api")
	}
	if g.chance(50) {
		lbls["tier"] = g.pick("fe", "be")
	}
	node := fmt.Sprintf("192.168.0.%d", 1+g.r.IntN(2))
	p := testPod(ns, fmt.Sprintf("p%d", j), fmt.Sprintf("10.%d.0.%d", i, j+1), node, lbls)
	p.Spec.Containers[0].Ports = nil
	for _, cp := range []corev1.ContainerPort{
		{Name: "http", ContainerPort: 80, Protocol: tcp},
		{Name: "http", ContainerPort: 81, Protocol: udp},
		{Name: "dns", ContainerPort: 53, Protocol: udp},
		{Name: "metrics", ContainerPort: 9090},
		{Name: "alt", ContainerPort: 81, Protocol: tcp},
	} {
		if g.chance(50) {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, cp)
		}
	}
	switch {
	case g.chance(8):
		p.Spec.HostNetwork = true
		p.Status.PodIP, p.Status.PodIPs = node, []corev1.PodIP{{IP: node}}
	case g.chance(5):
		p.Status.PodIP, p.Status.PodIPs = "", nil
	}
	return p
}

func (g *gen) selector() *metav1.LabelSelector {
	switch g.r.IntN(5) {
	case 0:
		return &metav1.LabelSelector{}
	case 1:
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": g.pick("web", "db", "api")}}
	case 2:
		return &metav1.LabelSelector{MatchLabels: map[string]string{"env": g.pick("prod", "dev")}}
	case 3:
		op := metav1.LabelSelectorOperator(g.pick("In", "NotIn"))
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: g.pick("app", "env"), Operator: op, Values: []string{g.pick("web", "prod"), g.pick("db", "dev")}}}}
	default:
		op := metav1.LabelSelectorOperator(g.pick("Exists", "DoesNotExist"))
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: g.pick("tier", "env"), Operator: op}}}
	}
}

func (g *gen) policy(name, ns string) networkingv1.NetworkPolicy {
	p := networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	p.Spec.PodSelector = *g.selector()
	for range g.r.IntN(3) {
		p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{Ports: g.ports(), From: g.peers()})
	}
	for range g.r.IntN(3) {
		p.Spec.Egress = append(p.Spec.Egress, networkingv1.NetworkPolicyEgressRule{Ports: g.ports(), To: g.peers()})
	}
	switch g.r.IntN(4) {
	case 0:
		p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	case 1:
		p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	case 2:
		p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	}
	return p
}

func (g *gen) ports() []networkingv1.NetworkPolicyPort {
	var out []networkingv1.NetworkPolicyPort
	for range g.r.IntN(3) {
		var p networkingv1.NetworkPolicyPort
		if g.chance(70) {
			proto := corev1.Protocol(g.pick("TCP", "UDP"))
			p.Protocol = &proto
		}
		switch g.r.IntN(4) {
		case 0:
			n := intstr.FromInt32(propPorts[g.r.IntN(len(propPorts))])
			p.Port = &n
		case 1:
			n, end := intstr.FromInt32(80), int32(81+g.r.IntN(9100))
			p.Port, p.EndPort = &n, &end
		case 2:
			n := intstr.FromString(g.pick("http", "dns", "metrics", "alt", "none"))
			p.Port = &n
		}
		out = append(out, p)
	}
	return out
}

func (g *gen) peers() []networkingv1.NetworkPolicyPeer {
	var out []networkingv1.NetworkPolicyPeer
	for range g.r.IntN(3) {
		var p networkingv1.NetworkPolicyPeer
		switch g.r.IntN(4) {
		case 0:
			p.PodSelector = g.selector()
		case 1:
			p.NamespaceSelector = g.selector()
		case 2:
			p.PodSelector, p.NamespaceSelector = g.selector(), g.selector()
		default:
			p.IPBlock = &networkingv1.IPBlock{CIDR: g.pick("10.0.0.0/8", "10.1.0.0/16", "192.168.0.0/24", "0.0.0.0/0")}
			if g.chance(50) && p.IPBlock.CIDR != "10.1.0.0/16" {
				p.IPBlock.Except = []string{g.pick("10.1.0.0/16", "10.0.0.1/32")}
				if p.IPBlock.CIDR == "192.168.0.0/24" {
					p.IPBlock.Except = []string{"192.168.0.1/32"}
				}
			}
		}
		out = append(out, p)
	}
	return out
}

// reference judges a pod pair straight from the client-go objects, with no
// index, cache or compiled form: an independent statement of the semantics
// for single-stack clusters.
func reference(w world, policies []*networkingv1.NetworkPolicy, src, dst *corev1.Pod, port int32, protocol corev1.Protocol) Result {
	if src == dst || slices.ContainsFunc(dst.Status.HostIPs, func(h corev1.HostIP) bool { return h.IP == src.Status.PodIP }) {
		return Unspecified
	}
	if refAllows(w, policies, src, dst, dst, networkingv1.PolicyTypeEgress, port, protocol) &&
		refAllows(w, policies, dst, src, dst, networkingv1.PolicyTypeIngress, port, protocol) {
		return Allow
	}
	return Deny
}

// refAllows judges direction dir, in which local's policies apply; named
// ports resolve on dst.
func refAllows(w world, policies []*networkingv1.NetworkPolicy, local, remote, dst *corev1.Pod, dir networkingv1.PolicyType, port int32, protocol corev1.Protocol) bool {
	if local.Spec.HostNetwork {
		return true
	}
	isolated, allowed := false, false
	for _, np := range policies {
		sel, _ := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if np.Namespace != local.Namespace || !sel.Matches(labels.Set(local.Labels)) || !slices.Contains(np.Spec.PolicyTypes, dir) {
			continue
		}
		isolated = true
		for _, r := range refRules(np, dir) {
			if refPortOK(r.ports, dst, port, protocol) && refPeerOK(w, np.Namespace, r.peers, remote) {
				allowed = true
			}
		}
	}
	return !isolated || allowed
}

func refRules(np *networkingv1.NetworkPolicy, dir networkingv1.PolicyType) []ruleSpec {
	var out []ruleSpec
	if dir == networkingv1.PolicyTypeIngress {
		for _, r := range np.Spec.Ingress {
			out = append(out, ruleSpec{ports: r.Ports, peers: r.From})
		}
		return out
	}
	for _, r := range np.Spec.Egress {
		out = append(out, ruleSpec{ports: r.Ports, peers: r.To})
	}
	return out
}

func refPortOK(ports []networkingv1.NetworkPolicyPort, dst *corev1.Pod, port int32, protocol corev1.Protocol) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		if *p.Protocol != protocol {
			continue
		}
		switch {
		case p.Port == nil:
			return true
		case p.Port.Type == intstr.String:
			if dst.Spec.HostNetwork {
				continue
			}
			for _, cp := range dst.Spec.Containers[0].Ports {
				if cp.Name == p.Port.StrVal && cmpOr(cp.Protocol, tcp) == protocol && cp.ContainerPort == port {
					return true
				}
			}
		case p.EndPort != nil:
			if p.Port.IntVal <= port && port <= *p.EndPort {
				return true
			}
		case p.Port.IntVal == port:
			return true
		}
	}
	return false
}

func cmpOr(p, def corev1.Protocol) corev1.Protocol {
	if p == "" {
		return def
	}
	return p
}

func refPeerOK(w world, policyNS string, peers []networkingv1.NetworkPolicyPeer, remote *corev1.Pod) bool {
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		if p.IPBlock != nil {
			ip := netip.MustParseAddr(remote.Status.PodIP)
			in := netip.MustParsePrefix(p.IPBlock.CIDR).Contains(ip)
			for _, e := range p.IPBlock.Except {
				in = in && !netip.MustParsePrefix(e).Contains(ip)
			}
			if in {
				return true
			}
			continue
		}
		if remote.Spec.HostNetwork {
			continue
		}
		nsOK := remote.Namespace == policyNS
		if p.NamespaceSelector != nil {
			sel, _ := metav1.LabelSelectorAsSelector(p.NamespaceSelector)
			nsOK = sel.Matches(labels.Set(refNamespaceLabels(w, remote.Namespace)))
		}
		podOK := true
		if p.PodSelector != nil {
			sel, _ := metav1.LabelSelectorAsSelector(p.PodSelector)
			podOK = sel.Matches(labels.Set(remote.Labels))
		}
		if nsOK && podOK {
			return true
		}
	}
	return false
}

func refNamespaceLabels(w world, name string) map[string]string {
	for _, ns := range w.namespaces {
		if ns.Name == name {
			out := map[string]string{"kubernetes.io/metadata.name": name}
			for k, v := range ns.Labels {
				out[k] = v
			}
			return out
		}
	}
	return nil
}

// truth is every matrix verdict of a world, keyed "from to port/protocol".
func truth(t *testing.T, w world) map[string]Result {
	t.Helper()
	e, err := NewWithClusterPolicies(w.namespaces, w.pods, w.policies, w.cluster)
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Matrix(MatrixOptions{Ports: propPorts, Protocols: propProtocols})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Result{}
	for _, tab := range m.Tables {
		for i, from := range m.Pods {
			for j, to := range m.Pods {
				out[fmt.Sprintf("%s %s %d/%s", from, to, tab.Port, tab.Protocol)] = tab.Verdicts[i][j]
			}
		}
	}
	return out
}

const worlds = 100

// TestMatchesReference compares the engine's matrix and Check with the
// reference on random worlds.
func TestMatchesReference(t *testing.T) {
	for seed := range uint64(worlds) {
		w := newGen(seed).world()
		got := truth(t, w)
		want := map[string]Result{}
		e, _ := New(w.namespaces, w.pods, w.policies)
		var defaulted []*networkingv1.NetworkPolicy
		for i := range w.policies {
			defaulted = append(defaulted, Default(&w.policies[i]))
		}
		for i := range w.pods {
			for j := range w.pods {
				src, dst := &w.pods[i], &w.pods[j]
				if src.Status.PodIP == "" || dst.Status.PodIP == "" {
					continue
				}
				for _, proto := range propProtocols {
					for _, port := range propPorts {
						key := fmt.Sprintf("%s/%s %s/%s %d/%s", src.Namespace, src.Name, dst.Namespace, dst.Name, port, proto)
						want[key] = reference(w, defaulted, src, dst, port, proto)
						if port != 80 {
							continue // Check's explained path is compared on one port
						}
						v, err := e.Check(Query{From: PodEndpoint(src.Namespace, src.Name), To: PodEndpoint(dst.Namespace, dst.Name), Port: port, Protocol: proto})
						if err != nil {
							t.Fatal(err)
						}
						if v.Result != got[key] {
							t.Fatalf("seed %d: %s: Check says %s, Matrix says %s", seed, key, v.Result, got[key])
						}
					}
				}
			}
		}
		if maps.Equal(want, got) {
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("seed %d: engine differs from the reference (-reference +engine):\n%s\npolicies: %+v", seed, diff, w.policies)
		}
	}
}

// TestAddingAnAllowRuleNeverDenies: adding a rule to a direction a policy
// already governs can only allow more.
func TestAddingAnAllowRuleNeverDenies(t *testing.T) {
	for seed := range uint64(worlds) {
		g := newGen(seed)
		w := g.world()
		if len(w.policies) == 0 {
			continue
		}
		before := truth(t, w)
		i := g.r.IntN(len(w.policies))
		p := Default(&w.policies[i])
		if slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
			p.Spec.Egress = append(p.Spec.Egress, networkingv1.NetworkPolicyEgressRule{Ports: g.ports(), To: g.peers()})
		} else {
			p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{Ports: g.ports(), From: g.peers()})
		}
		w.policies[i] = *p
		after := truth(t, w)
		for k, r := range before {
			if r == Allow && after[k] != Allow {
				t.Fatalf("seed %d: %s went from Allow to %s after adding a rule to %s", seed, k, after[k], p.Name)
			}
		}
	}
}

// TestAddingAPolicyWithoutRulesNeverAllows: a policy with no rules only
// isolates.
func TestAddingAPolicyWithoutRulesNeverAllows(t *testing.T) {
	for seed := range uint64(worlds) {
		g := newGen(seed)
		w := g.world()
		before := truth(t, w)
		p := g.policy("isolate", g.pick(namespaceNames(w)...))
		p.Spec.Ingress, p.Spec.Egress = nil, nil
		w.policies = append(w.policies, p)
		after := truth(t, w)
		for k, r := range before {
			if r != Allow && after[k] == Allow {
				t.Fatalf("seed %d: %s went from %s to Allow after adding %+v", seed, k, r, p.Spec)
			}
		}
	}
}

// TestUnselectedPodIsReachableWherePeersEgressPermits: a destination no
// policy selects for ingress is reachable exactly where the source's egress
// allows, and a connection is allowed exactly when both sides allow it.
func TestUnselectedPodIsReachableWherePeersEgressPermits(t *testing.T) {
	for seed := range uint64(worlds) {
		w := newGen(seed).world()
		e, err := New(w.namespaces, w.pods, w.policies)
		if err != nil {
			t.Fatal(err)
		}
		for _, src := range e.Pods() {
			for _, dst := range e.Pods() {
				if src.Skipped != "" || dst.Skipped != "" || src == dst {
					continue
				}
				v, err := e.Check(Query{From: PodEndpoint(src.Namespace, src.Name), To: PodEndpoint(dst.Namespace, dst.Name), Port: 80})
				if err != nil {
					t.Fatal(err)
				}
				if v.Result == Unspecified {
					continue
				}
				both := v.Egress.Result == Allow && v.Ingress.Result == Allow
				if (v.Result == Allow) != both {
					t.Fatalf("seed %d: %s -> %s is %s with egress %s and ingress %s", seed, src.Key(), dst.Key(), v.Result, v.Egress.Result, v.Ingress.Result)
				}
				if len(dst.Policies(Ingress)) == 0 && v.Result != v.Egress.Result {
					t.Fatalf("seed %d: %s is selected by no ingress policy, yet %s -> it is %s while egress says %s", seed, dst.Key(), src.Key(), v.Result, v.Egress.Result)
				}
			}
		}
	}
}

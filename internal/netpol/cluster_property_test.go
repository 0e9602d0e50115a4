package netpol

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
	policyv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	policyv1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"
)

// clusterWorld is a random world with random cluster-wide policies.
func (g *gen) clusterWorld() world {
	w := g.world()
	for i := range g.r.IntN(4) {
		w.cluster.AdminNetworkPolicies = append(w.cluster.AdminNetworkPolicies, g.anp(fmt.Sprintf("anp%d", i)))
	}
	if g.chance(50) {
		w.cluster.BaselineAdminNetworkPolicies = append(w.cluster.BaselineAdminNetworkPolicies, g.banp())
	}
	for i := range g.r.IntN(4) {
		w.cluster.ClusterNetworkPolicies = append(w.cluster.ClusterNetworkPolicies, g.cnp(fmt.Sprintf("cnp%d", i)))
	}
	return w
}

// priority draws from few values, so that policies often share one.
func (g *gen) priority() int32 { return int32(1 + g.r.IntN(5)) }

func (g *gen) namespacedPod() *policyv1alpha1.NamespacedPod {
	return &policyv1alpha1.NamespacedPod{NamespaceSelector: *g.selector(), PodSelector: *g.selector()}
}

func (g *gen) alphaSubject() policyv1alpha1.AdminNetworkPolicySubject {
	if g.chance(50) {
		return policyv1alpha1.AdminNetworkPolicySubject{Namespaces: g.selector()}
	}
	return policyv1alpha1.AdminNetworkPolicySubject{Pods: g.namespacedPod()}
}

func (g *gen) alphaIngressPeers() []policyv1alpha1.AdminNetworkPolicyIngressPeer {
	out := make([]policyv1alpha1.AdminNetworkPolicyIngressPeer, 1+g.r.IntN(2))
	for i := range out {
		if g.chance(50) {
			out[i].Namespaces = g.selector()
		} else {
			out[i].Pods = g.namespacedPod()
		}
	}
	return out
}

// addressPeer draws a networks, nodes or domainNames peer (domainNames
// only when domains is true).
func (g *gen) addressPeer(domains bool) (networks []string, nodes *metav1.LabelSelector, domainNames []string) {
	switch n := g.r.IntN(10); {
	case n < 7:
		return []string{g.pick("10.0.0.0/8", "10.1.0.0/16", "192.168.0.0/24", "0.0.0.0/0", "10.0.0.1/32")}, nil, nil
	case n < 9 || !domains:
		if g.chance(50) {
			return nil, &metav1.LabelSelector{}, nil
		}
		return nil, &metav1.LabelSelector{MatchLabels: map[string]string{"role": "infra"}}, nil
	default:
		return nil, nil, []string{"example.com"}
	}
}

func (g *gen) anpEgressPeers(domains bool) (peers []policyv1alpha1.AdminNetworkPolicyEgressPeer, addresses bool) {
	out := make([]policyv1alpha1.AdminNetworkPolicyEgressPeer, 1+g.r.IntN(2))
	for i := range out {
		switch g.r.IntN(3) {
		case 0:
			out[i].Namespaces = g.selector()
		case 1:
			out[i].Pods = g.namespacedPod()
		default:
			networks, nodes, names := g.addressPeer(domains)
			out[i].Networks, out[i].Nodes = cidrs[policyv1alpha1.CIDR](networks), nodes
			for _, n := range names {
				out[i].DomainNames = append(out[i].DomainNames, policyv1alpha1.DomainName(n))
			}
			addresses = true
		}
	}
	return out, addresses
}

func cidrs[T ~string](in []string) []T {
	var out []T
	for _, s := range in {
		out = append(out, T(s))
	}
	return out
}

// alphaPorts draws ports for a rule; no named port when named is false.
func (g *gen) alphaPorts(named bool) *[]policyv1alpha1.AdminNetworkPolicyPort {
	if g.chance(30) {
		return nil
	}
	out := make([]policyv1alpha1.AdminNetworkPolicyPort, 1+g.r.IntN(2))
	for i := range out {
		protocol := corev1.Protocol(g.pick("", "TCP", "UDP"))
		switch n := g.r.IntN(3); {
		case n == 0 && named:
			out[i].NamedPort = ptr.To(g.pick("http", "dns", "metrics", "alt", "none"))
		case n == 1:
			out[i].PortRange = &policyv1alpha1.PortRange{Protocol: protocol, Start: 80, End: int32(81 + g.r.IntN(9100))}
		default:
			out[i].PortNumber = &policyv1alpha1.Port{Protocol: protocol, Port: propPorts[g.r.IntN(len(propPorts))]}
		}
	}
	return &out
}

func (g *gen) anp(name string) policyv1alpha1.AdminNetworkPolicy {
	p := policyv1alpha1.AdminNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}}
	p.Spec.Priority, p.Spec.Subject = g.priority(), g.alphaSubject()
	action := func() policyv1alpha1.AdminNetworkPolicyRuleAction {
		return policyv1alpha1.AdminNetworkPolicyRuleAction(g.pick("Allow", "Deny", "Pass"))
	}
	for range g.r.IntN(3) {
		p.Spec.Ingress = append(p.Spec.Ingress, policyv1alpha1.AdminNetworkPolicyIngressRule{Action: action(), From: g.alphaIngressPeers(), Ports: g.alphaPorts(true)})
	}
	for range g.r.IntN(3) {
		to, addresses := g.anpEgressPeers(true)
		p.Spec.Egress = append(p.Spec.Egress, policyv1alpha1.AdminNetworkPolicyEgressRule{Action: action(), To: to, Ports: g.alphaPorts(!addresses)})
	}
	return p
}

func (g *gen) banp() policyv1alpha1.BaselineAdminNetworkPolicy {
	p := policyv1alpha1.BaselineAdminNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	p.Spec.Subject = g.alphaSubject()
	action := func() policyv1alpha1.BaselineAdminNetworkPolicyRuleAction {
		return policyv1alpha1.BaselineAdminNetworkPolicyRuleAction(g.pick("Allow", "Deny"))
	}
	for range g.r.IntN(3) {
		p.Spec.Ingress = append(p.Spec.Ingress, policyv1alpha1.BaselineAdminNetworkPolicyIngressRule{Action: action(), From: g.alphaIngressPeers(), Ports: g.alphaPorts(true)})
	}
	for range g.r.IntN(3) {
		anpTo, addresses := g.anpEgressPeers(false)
		to := make([]policyv1alpha1.BaselineAdminNetworkPolicyEgressPeer, len(anpTo))
		for i, t := range anpTo {
			to[i] = policyv1alpha1.BaselineAdminNetworkPolicyEgressPeer{Namespaces: t.Namespaces, Pods: t.Pods, Nodes: t.Nodes, Networks: t.Networks}
		}
		p.Spec.Egress = append(p.Spec.Egress, policyv1alpha1.BaselineAdminNetworkPolicyEgressRule{Action: action(), To: to, Ports: g.alphaPorts(!addresses)})
	}
	return p
}

func (g *gen) betaPods() *policyv1beta1.NamespacedPod {
	return &policyv1beta1.NamespacedPod{NamespaceSelector: *g.selector(), PodSelector: *g.selector()}
}

// betaProtocols draws protocols for a rule; no named port when named is
// false.
func (g *gen) betaProtocols(named bool) []policyv1beta1.ClusterNetworkPolicyProtocol {
	if g.chance(30) {
		return nil
	}
	out := make([]policyv1beta1.ClusterNetworkPolicyProtocol, 1+g.r.IntN(2))
	for i := range out {
		if named && g.chance(30) {
			out[i].DestinationNamedPort = g.pick("http", "dns", "metrics", "alt", "none")
			continue
		}
		port := &policyv1beta1.Port{Number: propPorts[g.r.IntN(len(propPorts))]}
		if g.chance(40) {
			port = &policyv1beta1.Port{Range: &policyv1beta1.PortRange{Start: 53, End: int32(54 + g.r.IntN(9100))}}
		}
		if g.chance(50) {
			out[i].TCP = &policyv1beta1.ClusterNetworkPolicyProtocolTCP{DestinationPort: port}
		} else {
			out[i].UDP = &policyv1beta1.ClusterNetworkPolicyProtocolUDP{DestinationPort: port}
		}
	}
	return out
}

func (g *gen) cnp(name string) policyv1beta1.ClusterNetworkPolicy {
	p := policyv1beta1.ClusterNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}}
	p.Spec.Tier = policyv1beta1.Tier(g.pick("Admin", "Baseline"))
	p.Spec.Priority = g.priority()
	if g.chance(50) {
		p.Spec.Subject.Namespaces = g.selector()
	} else {
		p.Spec.Subject.Pods = g.betaPods()
	}
	action := func() policyv1beta1.ClusterNetworkPolicyRuleAction {
		return policyv1beta1.ClusterNetworkPolicyRuleAction(g.pick("Accept", "Deny", "Pass"))
	}
	for range g.r.IntN(3) {
		from := make([]policyv1beta1.ClusterNetworkPolicyIngressPeer, 1+g.r.IntN(2))
		for i := range from {
			if g.chance(50) {
				from[i].Namespaces = g.selector()
			} else {
				from[i].Pods = g.betaPods()
			}
		}
		p.Spec.Ingress = append(p.Spec.Ingress, policyv1beta1.ClusterNetworkPolicyIngressRule{Action: action(), From: from, Protocols: g.betaProtocols(true)})
	}
	for range g.r.IntN(3) {
		anpTo, addresses := g.anpEgressPeers(true)
		to := make([]policyv1beta1.ClusterNetworkPolicyEgressPeer, len(anpTo))
		for i, t := range anpTo {
			to[i] = policyv1beta1.ClusterNetworkPolicyEgressPeer{Namespaces: t.Namespaces, Nodes: t.Nodes, Networks: cidrs[policyv1beta1.CIDR](strs(t.Networks))}
			if t.Pods != nil {
				to[i].Pods = &policyv1beta1.NamespacedPod{NamespaceSelector: t.Pods.NamespaceSelector, PodSelector: t.Pods.PodSelector}
			}
			for _, d := range t.DomainNames {
				to[i].DomainNames = append(to[i].DomainNames, policyv1beta1.DomainName(d))
			}
		}
		p.Spec.Egress = append(p.Spec.Egress, policyv1beta1.ClusterNetworkPolicyEgressRule{Action: action(), To: to, Protocols: g.betaProtocols(!addresses)})
	}
	return p
}

// The reference model of cluster-wide policies judges straight from the
// API objects, as refAllows does for NetworkPolicies.

// refRule is a rule of any kind, as written.
type refRule struct {
	action string
	match  func(remote, dst *corev1.Pod, port int32, protocol corev1.Protocol) tristate
}

// refPolicy is a policy of any kind, as written.
type refPolicy struct {
	priority int32
	selects  func(pod *corev1.Pod) bool
	rules    map[networkingv1.PolicyType][]refRule
}

func refPolicies(w world) (admin, baseline []refPolicy) {
	for _, p := range w.cluster.AdminNetworkPolicies {
		rp := refPolicy{priority: p.Spec.Priority, selects: refAlphaSubject(w, p.Spec.Subject), rules: map[networkingv1.PolicyType][]refRule{}}
		for _, r := range p.Spec.Ingress {
			rp.rules[networkingv1.PolicyTypeIngress] = append(rp.rules[networkingv1.PolicyTypeIngress], refRule{string(r.Action), refAlphaRule(w, refAlphaIngress(r.From), r.Ports)})
		}
		for _, r := range p.Spec.Egress {
			var peers []refPeer
			for _, t := range r.To {
				peers = append(peers, refPeer{namespaces: t.Namespaces, pods: t.Pods, nodes: t.Nodes, networks: strs(t.Networks), domainNames: strs(t.DomainNames)})
			}
			rp.rules[networkingv1.PolicyTypeEgress] = append(rp.rules[networkingv1.PolicyTypeEgress], refRule{string(r.Action), refAlphaRule(w, peers, r.Ports)})
		}
		admin = append(admin, rp)
	}
	for _, p := range w.cluster.BaselineAdminNetworkPolicies {
		rp := refPolicy{priority: -1, selects: refAlphaSubject(w, p.Spec.Subject), rules: map[networkingv1.PolicyType][]refRule{}}
		for _, r := range p.Spec.Ingress {
			rp.rules[networkingv1.PolicyTypeIngress] = append(rp.rules[networkingv1.PolicyTypeIngress], refRule{string(r.Action), refAlphaRule(w, refAlphaIngress(r.From), r.Ports)})
		}
		for _, r := range p.Spec.Egress {
			var peers []refPeer
			for _, t := range r.To {
				peers = append(peers, refPeer{namespaces: t.Namespaces, pods: t.Pods, nodes: t.Nodes, networks: strs(t.Networks)})
			}
			rp.rules[networkingv1.PolicyTypeEgress] = append(rp.rules[networkingv1.PolicyTypeEgress], refRule{string(r.Action), refAlphaRule(w, peers, r.Ports)})
		}
		baseline = append(baseline, rp)
	}
	for _, p := range w.cluster.ClusterNetworkPolicies {
		subject := policyv1alpha1.AdminNetworkPolicySubject{Namespaces: p.Spec.Subject.Namespaces, Pods: refAlphaPods(p.Spec.Subject.Pods)}
		rp := refPolicy{priority: p.Spec.Priority, selects: refAlphaSubject(w, subject), rules: map[networkingv1.PolicyType][]refRule{}}
		for _, r := range p.Spec.Ingress {
			var peers []refPeer
			for _, f := range r.From {
				peers = append(peers, refPeer{namespaces: f.Namespaces, pods: refAlphaPods(f.Pods)})
			}
			rp.rules[networkingv1.PolicyTypeIngress] = append(rp.rules[networkingv1.PolicyTypeIngress], refRule{string(r.Action), refBetaRule(w, peers, r.Protocols)})
		}
		for _, r := range p.Spec.Egress {
			var peers []refPeer
			for _, t := range r.To {
				peers = append(peers, refPeer{namespaces: t.Namespaces, pods: refAlphaPods(t.Pods), nodes: t.Nodes, networks: strs(t.Networks), domainNames: strs(t.DomainNames)})
			}
			rp.rules[networkingv1.PolicyTypeEgress] = append(rp.rules[networkingv1.PolicyTypeEgress], refRule{string(r.Action), refBetaRule(w, peers, r.Protocols)})
		}
		if p.Spec.Tier == policyv1beta1.AdminTier {
			admin = append(admin, rp)
		} else {
			baseline = append(baseline, rp)
		}
	}
	return admin, baseline
}

func refAlphaPods(in *policyv1beta1.NamespacedPod) *policyv1alpha1.NamespacedPod {
	if in == nil {
		return nil
	}
	return &policyv1alpha1.NamespacedPod{NamespaceSelector: in.NamespaceSelector, PodSelector: in.PodSelector}
}

func refAlphaIngress(from []policyv1alpha1.AdminNetworkPolicyIngressPeer) []refPeer {
	var peers []refPeer
	for _, f := range from {
		peers = append(peers, refPeer{namespaces: f.Namespaces, pods: f.Pods})
	}
	return peers
}

// refSelector returns what a namespaces or pods selector selects, as a
// function of a pod, which it never selects on the host network.
func refSelector(w world, namespaces *metav1.LabelSelector, pods *policyv1alpha1.NamespacedPod) func(*corev1.Pod) bool {
	nsSel, podSel := namespaces, &metav1.LabelSelector{}
	if pods != nil {
		nsSel, podSel = &pods.NamespaceSelector, &pods.PodSelector
	}
	ns, _ := metav1.LabelSelectorAsSelector(nsSel)
	sel, _ := metav1.LabelSelectorAsSelector(podSel)
	return func(pod *corev1.Pod) bool {
		return !pod.Spec.HostNetwork && ns.Matches(labels.Set(refNamespaceLabels(w, pod.Namespace))) && sel.Matches(labels.Set(pod.Labels))
	}
}

func refAlphaSubject(w world, s policyv1alpha1.AdminNetworkPolicySubject) func(*corev1.Pod) bool {
	return refSelector(w, s.Namespaces, s.Pods)
}

// refPeer is a peer of any kind, as written.
type refPeer struct {
	namespaces  *metav1.LabelSelector
	pods        *policyv1alpha1.NamespacedPod
	nodes       *metav1.LabelSelector
	networks    []string
	domainNames []string
	// selects is what a namespaces or pods peer selects (see refCompile).
	selects func(*corev1.Pod) bool
}

// refCompile converts the peers' selectors once.
func refCompile(w world, peers []refPeer) []refPeer {
	for i, p := range peers {
		if p.namespaces != nil || p.pods != nil {
			peers[i].selects = refSelector(w, p.namespaces, p.pods)
		}
	}
	return peers
}

// match judges a remote pod: node peers match hostNetwork pods, and the
// reference, like the engine, cannot tell a node's labels; domain names
// never match pods.
func (p refPeer) match(w world, remote *corev1.Pod) tristate {
	switch {
	case p.selects != nil:
		if p.selects(remote) {
			return matched
		}
	case p.networks != nil:
		for _, n := range p.networks {
			if netip.MustParsePrefix(n).Contains(netip.MustParseAddr(remote.Status.PodIP)) {
				return matched
			}
		}
	case p.nodes != nil && remote.Spec.HostNetwork:
		if len(p.nodes.MatchLabels) == 0 && len(p.nodes.MatchExpressions) == 0 {
			return matched
		}
		return mayMatch
	}
	return notMatched
}

func refPeersMatch(w world, peers []refPeer, remote *corev1.Pod) tristate {
	out := notMatched
	for _, p := range peers {
		switch p.match(w, remote) {
		case matched:
			return matched
		case mayMatch:
			out = mayMatch
		}
	}
	return out
}

// refNamedPort reports whether dst's container port name is port/protocol.
func refNamedPort(dst *corev1.Pod, name string, port int32, protocol corev1.Protocol) bool {
	if dst.Spec.HostNetwork {
		return false
	}
	return slices.ContainsFunc(dst.Spec.Containers[0].Ports, func(cp corev1.ContainerPort) bool {
		return cp.Name == name && cmpOr(cp.Protocol, tcp) == protocol && cp.ContainerPort == port
	})
}

func refAlphaRule(w world, peers []refPeer, ports *[]policyv1alpha1.AdminNetworkPolicyPort) func(remote, dst *corev1.Pod, port int32, protocol corev1.Protocol) tristate {
	peers = refCompile(w, peers)
	return func(remote, dst *corev1.Pod, port int32, protocol corev1.Protocol) tristate {
		portOK := ports == nil || slices.ContainsFunc(*ports, func(p policyv1alpha1.AdminNetworkPolicyPort) bool {
			switch {
			case p.NamedPort != nil:
				return refNamedPort(dst, *p.NamedPort, port, protocol)
			case p.PortNumber != nil:
				return cmpOr(p.PortNumber.Protocol, tcp) == protocol && p.PortNumber.Port == port
			default:
				return cmpOr(p.PortRange.Protocol, tcp) == protocol && p.PortRange.Start <= port && port <= p.PortRange.End
			}
		})
		if !portOK {
			return notMatched
		}
		return refPeersMatch(w, peers, remote)
	}
}

func refBetaRule(w world, peers []refPeer, protocols []policyv1beta1.ClusterNetworkPolicyProtocol) func(remote, dst *corev1.Pod, port int32, protocol corev1.Protocol) tristate {
	peers = refCompile(w, peers)
	return func(remote, dst *corev1.Pod, port int32, protocol corev1.Protocol) tristate {
		portOK := len(protocols) == 0 || slices.ContainsFunc(protocols, func(p policyv1beta1.ClusterNetworkPolicyProtocol) bool {
			if p.DestinationNamedPort != "" {
				return refNamedPort(dst, p.DestinationNamedPort, port, protocol)
			}
			var dp *policyv1beta1.Port
			switch {
			case p.TCP != nil && protocol == tcp:
				dp = p.TCP.DestinationPort
			case p.UDP != nil && protocol == udp:
				dp = p.UDP.DestinationPort
			default:
				return false
			}
			if dp.Range != nil {
				return dp.Range.Start <= port && port <= dp.Range.End
			}
			return dp.Number == port
		})
		if !portOK {
			return notMatched
		}
		return refPeersMatch(w, peers, remote)
	}
}

// refTier judges a direction by a tier's policies that select local:
// the first priority with a match decides, unless a match is unknown or
// policies of that priority disagree (Unspecified). decided is false when
// nothing matched, or the match was a Pass.
func refTier(policies []refPolicy, local, remote, dst *corev1.Pod, dir networkingv1.PolicyType, port int32, protocol corev1.Protocol) (r Result, decided bool) {
	var selecting []refPolicy
	for _, p := range policies {
		if p.selects(local) && len(p.rules[dir]) > 0 {
			selecting = append(selecting, p)
		}
	}
	slices.SortStableFunc(selecting, func(a, b refPolicy) int { return cmp.Compare(a.priority, b.priority) })
	for i := 0; i < len(selecting); {
		j := i
		actions := map[effect]bool{}
		unsure := false
		for ; j < len(selecting) && selecting[j].priority == selecting[i].priority; j++ {
			for _, rule := range selecting[j].rules[dir] {
				if m := rule.match(remote, dst, port, protocol); m != notMatched {
					unsure = unsure || m == mayMatch
					actions[effectOf(rule.action)] = true
					break
				}
			}
		}
		switch {
		case unsure || len(actions) > 1:
			return Unspecified, true
		case actions[effectAllow]:
			return Allow, true
		case actions[effectDeny]:
			return Deny, true
		case actions[effectPass]:
			return Allow, false
		}
		i = j
	}
	return Allow, false
}

// refDirection judges one direction of a pod pair through the tiers.
func refDirection(w world, nps []*networkingv1.NetworkPolicy, admin, baseline []refPolicy, local, remote, dst *corev1.Pod, dir networkingv1.PolicyType, port int32, protocol corev1.Protocol) Result {
	if local.Spec.HostNetwork {
		return Allow
	}
	if r, ok := refTier(admin, local, remote, dst, dir, port, protocol); ok {
		return r
	}
	isolated := slices.ContainsFunc(nps, func(np *networkingv1.NetworkPolicy) bool {
		sel, _ := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		return np.Namespace == local.Namespace && sel.Matches(labels.Set(local.Labels)) && slices.Contains(np.Spec.PolicyTypes, dir)
	})
	if isolated {
		if refAllows(w, nps, local, remote, dst, dir, port, protocol) {
			return Allow
		}
		return Deny
	}
	r, _ := refTier(baseline, local, remote, dst, dir, port, protocol)
	return r
}

// clusterReference judges a pod pair of a single-stack world with
// cluster-wide policies.
func clusterReference(w world, nps []*networkingv1.NetworkPolicy, admin, baseline []refPolicy, src, dst *corev1.Pod, port int32, protocol corev1.Protocol) Result {
	if src == dst || slices.ContainsFunc(dst.Status.HostIPs, func(h corev1.HostIP) bool { return h.IP == src.Status.PodIP }) {
		return Unspecified
	}
	egress := refDirection(w, nps, admin, baseline, src, dst, dst, networkingv1.PolicyTypeEgress, port, protocol)
	ingress := refDirection(w, nps, admin, baseline, dst, src, dst, networkingv1.PolicyTypeIngress, port, protocol)
	switch {
	case egress == Deny || ingress == Deny:
		return Deny
	case egress == Unspecified || ingress == Unspecified:
		return Unspecified
	default:
		return Allow
	}
}

// TestClusterMatchesReference compares the engine's matrix with the
// reference on random worlds with random cluster-wide policies, and Check
// (the explained path) with the matrix (the fast path) on every pair, each
// on one of the ports and protocols in turn.
func TestClusterMatchesReference(t *testing.T) {
	counts := map[Result]int{}
	for seed := range uint64(worlds) {
		w := newGen(seed).clusterWorld()
		got := truth(t, w)
		e, err := NewWithClusterPolicies(w.namespaces, w.pods, w.policies, w.cluster)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		var defaulted []*networkingv1.NetworkPolicy
		for i := range w.policies {
			defaulted = append(defaulted, Default(&w.policies[i]))
		}
		admin, baseline := refPolicies(w)
		want := map[string]Result{}
		for i := range w.pods {
			for j := range w.pods {
				src, dst := &w.pods[i], &w.pods[j]
				if src.Status.PodIP == "" || dst.Status.PodIP == "" {
					continue
				}
				for k, proto := range propProtocols {
					for l, port := range propPorts {
						key := fmt.Sprintf("%s/%s %s/%s %d/%s", src.Namespace, src.Name, dst.Namespace, dst.Name, port, proto)
						want[key] = clusterReference(w, defaulted, admin, baseline, src, dst, port, proto)
						counts[want[key]]++
						if (i+j)%(len(propProtocols)*len(propPorts)) != k*len(propPorts)+l {
							continue // Check's explained path is compared on one port per pair, a different one for each pair
						}
						v, err := e.Check(Query{From: PodEndpoint(src.Namespace, src.Name), To: PodEndpoint(dst.Namespace, dst.Name), Port: port, Protocol: proto})
						if err != nil {
							t.Fatal(err)
						}
						if v.Result != got[key] {
							t.Fatalf("seed %d: %s: Check says %s (%s), Matrix says %s", seed, key, v.Result, v.Brief(), got[key])
						}
						if v.Result == Unspecified && v.Reason == "" {
							t.Fatalf("seed %d: %s: Unspecified without a reason", seed, key)
						}
					}
				}
			}
		}
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Fatalf("seed %d: engine differs from the reference (-reference +engine):\n%s\ncluster: %+v", seed, diff, w.cluster)
		}
	}
	t.Logf("results: %v", counts)
	// Guard the test's meaning: every result occurs in quantity.
	if counts[Allow] < 1000 || counts[Deny] < 1000 || counts[Unspecified] < 500 {
		t.Errorf("results %v: the worlds should give every result in quantity", counts)
	}
}

// denyAll is an AdminNetworkPolicy that denies everything it can for every
// pod, ahead of the random policies (whose priorities are above 0).
func denyAll(egress bool) policyv1alpha1.AdminNetworkPolicy {
	p := policyv1alpha1.AdminNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "zz-deny-all"}}
	p.Spec.Subject.Namespaces = &metav1.LabelSelector{}
	p.Spec.Ingress = []policyv1alpha1.AdminNetworkPolicyIngressRule{{Action: "Deny", From: []policyv1alpha1.AdminNetworkPolicyIngressPeer{{Namespaces: &metav1.LabelSelector{}}}}}
	if egress {
		p.Spec.Egress = []policyv1alpha1.AdminNetworkPolicyEgressRule{{Action: "Deny", To: []policyv1alpha1.AdminNetworkPolicyEgressPeer{{Networks: []policyv1alpha1.CIDR{"0.0.0.0/0"}}}}}
	}
	return p
}

// TestAdminDenyAllDenies: an admin Deny rule that matches everything denies
// every connection from its subjects (egress), and every connection
// between pods on the pod network (ingress), whatever else is there.
func TestAdminDenyAllDenies(t *testing.T) {
	for seed := range uint64(worlds) {
		for _, egress := range []bool{true, false} {
			w := newGen(seed).clusterWorld()
			w.cluster.AdminNetworkPolicies = append(w.cluster.AdminNetworkPolicies, denyAll(egress))
			e, err := NewWithClusterPolicies(w.namespaces, w.pods, w.policies, w.cluster)
			if err != nil {
				t.Fatal(err)
			}
			for _, src := range e.Pods() {
				for _, dst := range e.Pods() {
					if src.Skipped != "" || dst.Skipped != "" || src.HostNetwork || (!egress && dst.HostNetwork) {
						continue
					}
					v, err := e.Check(Query{From: PodEndpoint(src.Namespace, src.Name), To: PodEndpoint(dst.Namespace, dst.Name), Port: 80})
					if err != nil {
						t.Fatal(err)
					}
					if loop := src == dst || slices.Contains(dst.HostIPs, src.IPs[0]); !loop && v.Result != Deny {
						t.Fatalf("seed %d (egress rule %v): %s -> %s is %s: %s", seed, egress, src.Key(), dst.Key(), v.Result, v.Brief())
					}
				}
			}
		}
	}
}

// TestBaselineDenyNeverChangesIsolated: adding a baseline Deny never changes
// a connection to a pod that a NetworkPolicy isolates for ingress.
func TestBaselineDenyNeverChangesIsolated(t *testing.T) {
	deny := policyv1beta1.ClusterNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "zz-baseline-deny"}}
	deny.Spec.Tier, deny.Spec.Priority = policyv1beta1.BaselineTier, 1000
	deny.Spec.Subject.Namespaces = &metav1.LabelSelector{}
	deny.Spec.Ingress = []policyv1beta1.ClusterNetworkPolicyIngressRule{{Action: "Deny", From: []policyv1beta1.ClusterNetworkPolicyIngressPeer{{Namespaces: &metav1.LabelSelector{}}}}}
	changed := 0
	for seed := range uint64(worlds) {
		w := newGen(seed).clusterWorld()
		e, err := NewWithClusterPolicies(w.namespaces, w.pods, w.policies, w.cluster)
		if err != nil {
			t.Fatal(err)
		}
		before := truth(t, w)
		w.cluster.ClusterNetworkPolicies = append(w.cluster.ClusterNetworkPolicies, deny)
		after := truth(t, w)
		for k, r := range before {
			var from, to, port string
			fmt.Sscan(k, &from, &to, &port)
			dst := e.Pod(splitKey(to))
			if len(dst.Policies(Ingress)) > 0 && after[k] != r {
				t.Fatalf("seed %d: %s went from %s to %s, though a NetworkPolicy isolates %s", seed, k, r, after[k], to)
			}
			if after[k] != r {
				changed++
			}
		}
	}
	if changed == 0 {
		t.Error("the baseline Deny changed no connection at all")
	}
}

func splitKey(key string) (namespace, name string) {
	for i := range key {
		if key[i] == '/' {
			return key[:i], key[i+1:]
		}
	}
	return "", key
}

package netpol

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	policyv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	policyv1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"
)

// ClusterPolicies are the cluster-wide network policies the engine evaluates
// around NetworkPolicies: AdminNetworkPolicies and ClusterNetworkPolicies of
// tier Admin before them, the BaselineAdminNetworkPolicy and
// ClusterNetworkPolicies of tier Baseline after them. ClusterNetworkPolicies
// of v1alpha2 have v1beta1's schema: convert them to v1beta1.
type ClusterPolicies struct {
	AdminNetworkPolicies         []policyv1alpha1.AdminNetworkPolicy
	BaselineAdminNetworkPolicies []policyv1alpha1.BaselineAdminNetworkPolicy
	ClusterNetworkPolicies       []policyv1beta1.ClusterNetworkPolicy
}

// Empty reports whether there are none.
func (c ClusterPolicies) Empty() bool {
	return len(c.AdminNetworkPolicies) == 0 && len(c.BaselineAdminNetworkPolicies) == 0 && len(c.ClusterNetworkPolicies) == 0
}

// Kinds of cluster-wide policies, as in their objects and in
// [TierDecision.Policy].
const (
	kindANP  = "AdminNetworkPolicy"
	kindBANP = "BaselineAdminNetworkPolicy"
	kindCNP  = "ClusterNetworkPolicy"
)

// tier is where a cluster-wide policy stands relative to NetworkPolicies.
type tier uint8

const (
	adminTier    tier = iota // before NetworkPolicies
	baselineTier             // after them, for endpoints they do not isolate
)

func (t tier) String() string {
	if t == baselineTier {
		return "baseline"
	}
	return "admin"
}

// effect is what a rule's action does to a connection it matches.
type effect uint8

const (
	effectAllow effect = iota // Allow, Accept
	effectDeny
	effectPass // skip the rest of the tier
)

// effectOf reads a validated action of any of the three kinds.
func effectOf(action string) effect {
	switch action {
	case "Deny":
		return effectDeny
	case "Pass":
		return effectPass
	default:
		return effectAllow
	}
}

// clusterPolicy is a validated cluster-wide policy, compiled against the
// engine's pods.
type clusterPolicy struct {
	kind, name string
	tier       tier
	// priority orders policies within the tier, lowest first; the
	// BaselineAdminNetworkPolicy, which has none, gets -1.
	priority int32
	subject  *podSet
	rules    [2][]*clusterRule
}

// key is how verdicts name the policy, e.g. "AdminNetworkPolicy/deny-all".
func (p *clusterPolicy) key() string { return p.kind + "/" + p.name }

// order sorts policies as the engine evaluates them: by priority, then kind
// and name, so that the order is deterministic.
func (p *clusterPolicy) order(q *clusterPolicy) int {
	return cmp.Or(cmp.Compare(p.tier, q.tier), cmp.Compare(p.priority, q.priority), cmp.Compare(p.kind, q.kind), cmp.Compare(p.name, q.name))
}

// clusterRule is one ingress or egress rule of a cluster-wide policy.
type clusterRule struct {
	policy *clusterPolicy
	dir    Direction
	index  int
	name   string
	// action is as written: Allow, Deny, Pass, or Accept.
	action string
	effect effect
	peers  []*clusterPeer
	// ports are the rule's ports (AdminNetworkPolicy,
	// BaselineAdminNetworkPolicy) or protocols (ClusterNetworkPolicy);
	// none means every port of every protocol.
	ports      []*clusterPort
	portsField string
}

// path returns the rule's field path, e.g. "spec.ingress[0]".
func (r *clusterRule) path() string { return fmt.Sprintf("spec.%s[%d]", r.dir.field(), r.index) }

// clusterPeer is one from or to entry of a cluster-wide rule: exactly one
// of pods (a namespaces or pods peer), networks, nodes and domains is set.
type clusterPeer struct {
	index    int
	pods     *podSet
	networks []netip.Prefix
	nodes    labels.Selector
	domains  []string
	// nodeAddrs are the addresses the engine knows to be nodes'.
	nodeAddrs map[netip.Addr]bool
	text      string
}

func (p *clusterPeer) String() string { return p.text }

// clusterPort is one entry of a cluster-wide rule's ports or protocols.
type clusterPort struct {
	index int
	// protocol is empty for a named port, which matches the protocol of
	// the destination's container port of that name.
	protocol    corev1.Protocol
	first, last int32
	// named entries match the destination's container port of that name.
	named bool
	name  string
}

// matches reports whether the entry admits port/protocol on dst (nil for an
// address or a hostNetwork pod, on which named ports never resolve).
func (p *clusterPort) matches(port int32, protocol corev1.Protocol, dst *Pod) bool {
	if p.named {
		if dst == nil || p.name == "" {
			return false
		}
		n, ok := dst.NamedPort(p.name, protocol)
		return ok && n == port
	}
	return protocol == p.protocol && p.first <= port && port <= p.last
}

// String describes the entry, e.g. "80/TCP", "8000-8080/UDP", "named port
// http".
func (p *clusterPort) String() string {
	switch {
	case p.named:
		return "named port " + p.name
	case p.first == p.last:
		return fmt.Sprintf("%d/%s", p.first, p.protocol)
	default:
		return fmt.Sprintf("%d-%d/%s", p.first, p.last, p.protocol)
	}
}

// describe is String plus, for a named port, what it resolves to on dst.
func (p *clusterPort) describe(dst *Pod, protocol corev1.Protocol) string {
	if !p.named {
		return p.String()
	}
	if dst == nil {
		return p.String() + " (named ports only match pods on the pod network)"
	}
	if n, ok := dst.NamedPort(p.name, protocol); ok {
		return fmt.Sprintf("%s (%d/%s on %s)", p, n, protocol, dst.Key())
	}
	return fmt.Sprintf("%s (%s has no such %s port)", p, dst.Key(), protocol)
}

// addClusterPolicies validates and compiles the cluster-wide policies and
// hands each pod those whose subject selects it, per tier and direction,
// in evaluation order. It returns one error per invalid policy.
func (e *Engine) addClusterPolicies(c *compiler, in ClusterPolicies) []error {
	var specs []*clusterSpec
	for i := range in.AdminNetworkPolicies {
		specs = append(specs, anpSpec(&in.AdminNetworkPolicies[i]))
	}
	for i := range in.BaselineAdminNetworkPolicies {
		specs = append(specs, banpSpec(&in.BaselineAdminNetworkPolicies[i]))
	}
	for i := range in.ClusterNetworkPolicies {
		specs = append(specs, cnpSpec(&in.ClusterNetworkPolicies[i]))
	}
	var errs []error
	var compiled []*clusterPolicy
	seen := map[string]bool{}
	for _, s := range specs {
		if err := s.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		key := s.kind + "/" + s.meta.Name
		if seen[key] {
			errs = append(errs, fmt.Errorf("%s %s is given twice", s.kind, s.meta.Name))
			continue
		}
		seen[key] = true
		p, err := c.clusterPolicy(s, e.nodeAddrs)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		compiled = append(compiled, p)
	}
	if len(errs) > 0 {
		return errs
	}
	slices.SortFunc(compiled, (*clusterPolicy).order)
	e.warnClusterOrder(slices.DeleteFunc(slices.Clone(compiled), func(p *clusterPolicy) bool {
		return len(p.rules[Ingress]) == 0 && len(p.rules[Egress]) == 0
	}))
	for _, p := range compiled {
		for _, d := range directions {
			if len(p.rules[d]) == 0 {
				continue // a policy without rules of a direction does not affect it
			}
			for _, pod := range p.subject.pods {
				if pod.cluster == nil {
					pod.cluster = &podCluster{}
				}
				pod.cluster[p.tier][d] = append(pod.cluster[p.tier][d], p)
			}
		}
	}
	return nil
}

// warnClusterOrder notes what the APIs leave to implementations: policies
// (with rules) sharing a priority in a tier, and a
// BaselineAdminNetworkPolicy next to baseline ClusterNetworkPolicies.
func (e *Engine) warnClusterOrder(policies []*clusterPolicy) {
	for i := 0; i < len(policies); {
		j := i + 1
		for j < len(policies) && policies[j].tier == policies[i].tier && policies[j].priority == policies[i].priority {
			j++
		}
		if j-i > 1 {
			names := make([]string, j-i)
			for k, p := range policies[i:j] {
				names[k] = p.key()
			}
			e.warn("%s share priority %d in the %s tier: where two of them match a connection with different actions, implementations may apply either, so the verdict is Unspecified", strings.Join(names, ", "), policies[i].priority, policies[i].tier)
		}
		i = j
	}
	var banp string
	var baseline []string
	for _, p := range policies {
		switch {
		case p.kind == kindBANP:
			banp = p.key()
		case p.tier == baselineTier:
			baseline = append(baseline, p.key())
		}
	}
	if banp != "" && len(baseline) > 0 {
		e.warn("%s and baseline-tier %s are both given, and no API orders them: the engine evaluates %s first", banp, strings.Join(baseline, ", "), banp)
	}
}

// clusterPolicy compiles a validated cluster-wide policy.
func (c *compiler) clusterPolicy(s *clusterSpec, nodeAddrs map[netip.Addr]bool) (*clusterPolicy, error) {
	p := &clusterPolicy{kind: s.kind, name: s.meta.Name, tier: s.tier, priority: -1}
	if s.priority != nil {
		p.priority = *s.priority
	}
	subject, _, err := c.selectorPeer(s.subject.namespaces, s.subject.pods)
	if err != nil {
		return nil, fmt.Errorf("%s %s: spec.subject: %w", s.kind, p.name, err)
	}
	p.subject = subject
	for _, d := range directions {
		for i, rs := range s.rules[d] {
			r := &clusterRule{policy: p, dir: d, index: i, name: rs.name, action: rs.action, effect: effectOf(rs.action), ports: rs.ports, portsField: s.portsField}
			for j := range rs.peers {
				peer, err := c.clusterPeer(j, &rs.peers[j], nodeAddrs)
				if err != nil {
					return nil, fmt.Errorf("%s %s: %s.%s[%d]: %w", s.kind, p.name, r.path(), d.peersField(), j, err)
				}
				r.peers = append(r.peers, peer)
			}
			p.rules[d] = append(p.rules[d], r)
		}
	}
	return p, nil
}

// selectorPeer compiles a namespaces or a pods selector pair into the pods
// it selects.
func (c *compiler) selectorPeer(namespaces *metav1.LabelSelector, pods *namespacedPod) (*podSet, string, error) {
	nsSel, podSel := namespaces, (*metav1.LabelSelector)(nil)
	if pods != nil {
		nsSel, podSel = &pods.namespaces, &pods.pods
	}
	ns, err := selector(nsSel)
	if err != nil {
		return nil, "", err
	}
	sel, err := selector(podSel)
	if err != nil {
		return nil, "", err
	}
	sc := scope{selector: ns}
	return c.podSet(sc, sel), describePeer(sc, sel), nil
}

func (c *compiler) clusterPeer(index int, in *clusterPeerSpec, nodeAddrs map[netip.Addr]bool) (*clusterPeer, error) {
	p := &clusterPeer{index: index, nodeAddrs: nodeAddrs}
	switch {
	case in.namespaces != nil || in.pods != nil:
		set, text, err := c.selectorPeer(in.namespaces, in.pods)
		if err != nil {
			return nil, err
		}
		p.pods, p.text = set, text
	case in.networks != nil:
		for _, s := range in.networks {
			n, err := parsePrefix(s)
			if err != nil {
				return nil, err
			}
			p.networks = append(p.networks, n)
		}
		p.text = "networks " + strings.Join(in.networks, ", ")
	case in.nodes != nil:
		sel, err := selector(in.nodes)
		if err != nil {
			return nil, err
		}
		p.nodes, p.text = sel, "all nodes"
		if !sel.Empty() {
			p.text = "nodes {" + sel.String() + "}"
		}
	default:
		p.domains, p.text = in.domainNames, "domainNames "+strings.Join(in.domainNames, ", ")
	}
	return p, nil
}

// ClusterNetworks returns the CIDRs of the networks peers of the
// cluster-wide rules that govern the pod for direction d and admit
// port/protocol on dst: whether such a rule matches depends on the remote
// end's address alone.
func (p *Pod) ClusterNetworks(d Direction, port int32, protocol corev1.Protocol, dst *Pod) []netip.Prefix {
	if p.cluster == nil {
		return nil
	}
	var out []netip.Prefix
	for _, t := range []tier{adminTier, baselineTier} {
		for _, cp := range p.cluster[t][d] {
			for _, r := range cp.rules[d] {
				if _, ok := r.portIndex(port, protocol, dst); !ok {
					continue
				}
				for _, peer := range r.peers {
					out = append(out, peer.networks...)
				}
			}
		}
	}
	return out
}

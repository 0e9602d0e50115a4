package netpol

import (
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// bitset is a set of pod indexes.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int) { b[i>>6] |= 1 << (uint(i) & 63) }

func (b bitset) has(i int) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }

// podSet is the set of selectable pods a (namespaces, pod selector) pair
// matches, as a bitset for lookups and a list for enumeration.
type podSet struct {
	bits bitset
	pods []*Pod
}

func (s *podSet) has(p *Pod) bool { return p.selectable() && s.bits.has(p.index) }

// namespace is a namespace with its labels, as the API server stores them,
// and its selectable pods.
type namespace struct {
	name   string
	labels labels.Set
	pods   []*Pod
}

// compiler turns validated policies into [Policy] values, computing each
// distinct (namespaces, pod selector) pair's pod set once.
type compiler struct {
	namespaces []*namespace // in name order
	byName     map[string]*namespace
	selectable int
	sets       map[string]*podSet
}

// scope is which namespaces a peer (or a policy's podSelector) looks in:
// either one namespace by name, or those a selector matches.
type scope struct {
	own      string
	selector labels.Selector // nil: only own
}

func (s scope) key() string {
	if s.selector == nil {
		return "ns=" + s.own
	}
	return "sel=" + s.selector.String()
}

func (s scope) matches(ns *namespace) bool {
	if s.selector == nil {
		return ns.name == s.own
	}
	return s.selector.Matches(ns.labels)
}

func (s scope) String() string {
	switch {
	case s.selector == nil:
		return "namespace " + s.own
	case s.selector.Empty():
		return "all namespaces"
	default:
		return "namespaces {" + s.selector.String() + "}"
	}
}

// podSet returns the selectable pods in scope that sel matches.
func (c *compiler) podSet(sc scope, sel labels.Selector) *podSet {
	key := sc.key() + "\x00" + sel.String()
	if s, ok := c.sets[key]; ok {
		return s
	}
	s := &podSet{bits: newBitset(c.selectable)}
	for _, ns := range c.namespaces {
		if !sc.matches(ns) {
			continue
		}
		for _, p := range ns.pods {
			if sel.Matches(labels.Set(p.Labels)) {
				s.bits.set(p.index)
				s.pods = append(s.pods, p)
			}
		}
	}
	c.sets[key] = s
	return s
}

// selector compiles a validated label selector; nil means everything.
func selector(ls *metav1.LabelSelector) (labels.Selector, error) {
	if ls == nil {
		return labels.Everything(), nil
	}
	return metav1.LabelSelectorAsSelector(ls)
}

func (c *compiler) policy(np *networkingv1.NetworkPolicy) (*Policy, error) {
	p := &Policy{Namespace: np.Namespace, Name: np.Name, Spec: np.Spec}
	sel, err := selector(&np.Spec.PodSelector)
	if err != nil {
		return nil, fmt.Errorf("NetworkPolicy %s: spec.podSelector: %w", p.Key(), err)
	}
	p.selected = c.podSet(scope{own: np.Namespace}, sel)
	for _, t := range np.Spec.PolicyTypes {
		p.applies[directionOf(t)] = true
	}
	for _, d := range directions {
		if !p.applies[d] {
			continue
		}
		for i, spec := range ruleSpecs(&np.Spec, d) {
			r, err := c.rule(p, d, i, spec)
			if err != nil {
				return nil, fmt.Errorf("NetworkPolicy %s: %s: %w", p.Key(), r.Path(), err)
			}
			p.rules[d] = append(p.rules[d], r)
		}
	}
	return p, nil
}

func directionOf(t networkingv1.PolicyType) Direction {
	if t == networkingv1.PolicyTypeEgress {
		return Egress
	}
	return Ingress
}

// ruleSpec is the direction-independent content of an ingress or egress
// rule.
type ruleSpec struct {
	ports []networkingv1.NetworkPolicyPort
	peers []networkingv1.NetworkPolicyPeer
}

func ruleSpecs(spec *networkingv1.NetworkPolicySpec, d Direction) []ruleSpec {
	var out []ruleSpec
	if d == Egress {
		for _, r := range spec.Egress {
			out = append(out, ruleSpec{ports: r.Ports, peers: r.To})
		}
		return out
	}
	for _, r := range spec.Ingress {
		out = append(out, ruleSpec{ports: r.Ports, peers: r.From})
	}
	return out
}

func (c *compiler) rule(p *Policy, d Direction, index int, spec ruleSpec) (*Rule, error) {
	r := &Rule{Policy: p, Direction: d, Index: index}
	for i, port := range spec.ports {
		r.Ports = append(r.Ports, newPort(i, port))
	}
	for i := range spec.peers {
		peer, err := c.peer(p.Namespace, i, &spec.peers[i])
		if err != nil {
			return r, err
		}
		r.Peers = append(r.Peers, peer)
	}
	return r, nil
}

func (c *compiler) peer(policyNamespace string, index int, in *networkingv1.NetworkPolicyPeer) (*Peer, error) {
	p := &Peer{Index: index}
	if in.IPBlock != nil {
		b, err := ipBlock(in.IPBlock)
		if err != nil {
			return nil, err
		}
		p.IPBlock, p.text = b, b.String()
		return p, nil
	}
	sc := scope{own: policyNamespace}
	if in.NamespaceSelector != nil {
		sel, err := selector(in.NamespaceSelector)
		if err != nil {
			return nil, err
		}
		sc.selector = sel
	}
	sel, err := selector(in.PodSelector)
	if err != nil {
		return nil, err
	}
	p.pods = c.podSet(sc, sel)
	p.text = describePeer(sc, sel)
	return p, nil
}

// describePeer says what a selector peer matches, e.g. "pods {pod=b} in
// namespaces {ns=y}".
func describePeer(sc scope, sel labels.Selector) string {
	pods := "all pods"
	if !sel.Empty() {
		pods = "pods {" + sel.String() + "}"
	}
	return pods + " in " + sc.String()
}

func ipBlock(in *networkingv1.IPBlock) (*IPBlock, error) {
	cidr, err := parsePrefix(in.CIDR)
	if err != nil {
		return nil, err
	}
	b := &IPBlock{CIDR: cidr}
	for _, s := range in.Except {
		e, err := parsePrefix(s)
		if err != nil {
			return nil, err
		}
		b.Except = append(b.Except, e)
	}
	return b, nil
}

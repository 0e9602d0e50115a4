package netpol

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Policy is a NetworkPolicy after defaulting and validation, compiled against
// the engine's pods. Its fields must not be modified.
type Policy struct {
	Namespace string
	Name      string
	// Spec is the defaulted spec.
	Spec networkingv1.NetworkPolicySpec

	applies  [2]bool
	rules    [2][]*Rule
	selected *podSet
}

// Key returns "namespace/name".
func (p *Policy) Key() string { return p.Namespace + "/" + p.Name }

// Applies reports whether policyTypes includes d.
func (p *Policy) Applies(d Direction) bool { return p.applies[d] }

// Rules returns the rules of direction d: none when the direction has no
// rules (the policy then allows nothing in it), or when the policy does not
// apply to d (its rules of that direction, if any, are ignored).
func (p *Policy) Rules(d Direction) []*Rule { return p.rules[d] }

// Selected returns the pods spec.podSelector selects, hostNetwork and
// skipped pods excepted.
func (p *Policy) Selected() []*Pod { return p.selected.pods }

// Rule is one ingress or egress rule of a policy.
type Rule struct {
	Policy    *Policy
	Direction Direction
	// Index is the rule's position in spec.ingress or spec.egress.
	Index int
	// Peers are the rule's from (ingress) or to (egress) entries; none
	// means every address, inside the cluster or not.
	Peers []*Peer
	// Ports are the rule's ports; none means every port of every protocol.
	Ports []*Port
}

// Path returns the rule's field path, e.g. "spec.ingress[0]".
func (r *Rule) Path() string { return fmt.Sprintf("spec.%s[%d]", r.Direction.field(), r.Index) }

// MatchPort returns the index of the first of the rule's ports that admits
// port/protocol on destination dst (nil for an address or a hostNetwork pod,
// on which named ports never resolve), -1 when the rule lists no ports, and
// ok false when none admits it.
func (r *Rule) MatchPort(port int32, protocol corev1.Protocol, dst *Pod) (index int, ok bool) {
	if len(r.Ports) == 0 {
		return -1, true
	}
	for i, p := range r.Ports {
		if p.Matches(port, protocol, dst) {
			return i, true
		}
	}
	return -1, false
}

// Peer is one from or to entry of a rule.
type Peer struct {
	// Index is the peer's position in the rule's from or to list.
	Index int
	// IPBlock is set for ipBlock peers; the other peers match the pods
	// their selectors select.
	IPBlock *IPBlock
	pods    *podSet
	text    string
}

// Pods returns the pods a selector peer matches (nil for an ipBlock peer,
// which matches addresses: see [IPBlock.Contains]).
func (p *Peer) Pods() []*Pod {
	if p.pods == nil {
		return nil
	}
	return p.pods.pods
}

// String describes the peer, e.g. "pods {pod=b} in namespaces {ns=y}".
func (p *Peer) String() string { return p.text }

// peerMatch is how a peer judged a remote end.
type peerMatch uint8

const (
	noMatch peerMatch = iota
	matchBySelector
	matchByIPBlock
	exceptedByIPBlock
)

func (p *Peer) match(remote endpoint) peerMatch {
	if p.IPBlock == nil {
		if pod := remote.subject(); pod != nil && p.pods.has(pod) {
			return matchBySelector
		}
		return noMatch
	}
	switch {
	case !p.IPBlock.CIDR.Contains(remote.ip):
		return noMatch
	case p.IPBlock.Excepts(remote.ip) >= 0:
		return exceptedByIPBlock
	default:
		return matchByIPBlock
	}
}

// IPBlock is a compiled ipBlock peer.
type IPBlock struct {
	CIDR   netip.Prefix
	Except []netip.Prefix
}

// Contains reports whether ip is in the CIDR and in none of the exceptions.
func (b *IPBlock) Contains(ip netip.Addr) bool {
	return b.CIDR.Contains(ip) && b.Excepts(ip) < 0
}

// Excepts returns the index of the exception that holds ip, or -1.
func (b *IPBlock) Excepts(ip netip.Addr) int {
	for i, e := range b.Except {
		if e.Contains(ip) {
			return i
		}
	}
	return -1
}

func (b *IPBlock) String() string {
	s := "ipBlock " + b.CIDR.String()
	if len(b.Except) == 0 {
		return s
	}
	ex := make([]string, len(b.Except))
	for i, e := range b.Except {
		ex[i] = e.String()
	}
	return s + " except " + strings.Join(ex, ", ")
}

// parsePrefix parses a CIDR that passed validation, masking it.
func parsePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return p.Masked(), nil
}

// Port is one entry of a rule's ports, defaulted.
type Port struct {
	// Index is the entry's position in the rule's ports.
	Index    int
	Protocol corev1.Protocol
	// Port is the first port; 0 (with Name empty) means every port.
	Port int32
	// EndPort is the last port of a range, 0 for a single port.
	EndPort int32
	// Name is a named port, resolved on the destination pod.
	Name string
}

func newPort(i int, in networkingv1.NetworkPolicyPort) *Port {
	p := &Port{Index: i, Protocol: *in.Protocol}
	switch {
	case in.Port == nil:
	case in.Port.Type == intstr.String:
		p.Name = in.Port.StrVal
	default:
		p.Port = in.Port.IntVal
		if in.EndPort != nil {
			p.EndPort = *in.EndPort
		}
	}
	return p
}

// Range returns the port numbers the entry admits on destination dst; ok is
// false for a named port dst does not have for the entry's protocol, or
// when dst is nil (an address, or a hostNetwork pod, has no named ports).
func (p *Port) Range(dst *Pod) (first, last int32, ok bool) {
	switch {
	case p.Name != "":
		if dst == nil {
			return 0, 0, false
		}
		n, ok := dst.NamedPort(p.Name, p.Protocol)
		return n, n, ok
	case p.Port == 0:
		return 1, 65535, true
	case p.EndPort == 0:
		return p.Port, p.Port, true
	default:
		return p.Port, p.EndPort, true
	}
}

// Matches reports whether the entry admits port/protocol on dst.
func (p *Port) Matches(port int32, protocol corev1.Protocol, dst *Pod) bool {
	if protocol != p.Protocol {
		return false
	}
	first, last, ok := p.Range(dst)
	return ok && first <= port && port <= last
}

// String describes the entry, e.g. "80/TCP", "8000-8080/TCP",
// "serve-80/TCP", "every UDP port".
func (p *Port) String() string {
	switch {
	case p.Name != "":
		return fmt.Sprintf("%s/%s", p.Name, p.Protocol)
	case p.Port == 0:
		return fmt.Sprintf("every %s port", p.Protocol)
	case p.EndPort == 0:
		return fmt.Sprintf("%d/%s", p.Port, p.Protocol)
	default:
		return fmt.Sprintf("%d-%d/%s", p.Port, p.EndPort, p.Protocol)
	}
}

// describe is String plus, for a named port, what it resolves to on dst.
func (p *Port) describe(dst *Pod) string {
	if p.Name == "" {
		return p.String()
	}
	n, _, ok := p.Range(dst)
	switch {
	case dst == nil:
		return p.String() + " (named ports only match pods on the pod network)"
	case !ok:
		return fmt.Sprintf("%s (%s has no such %s port)", p, dst.Key(), p.Protocol)
	default:
		return fmt.Sprintf("%s (%d on %s)", p, n, dst.Key())
	}
}

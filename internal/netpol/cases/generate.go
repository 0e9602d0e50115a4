package cases

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/palisade-sec/palisade/internal/netpol"
)

// maxLocals is how many of the pods a policy selects get cases, per
// direction.
const maxLocals = 2

// Generate derives cases from the policies in e whose namespace is in
// opts.Namespaces; e must have been built from those namespaces, as they
// are given here. See the package documentation.
func Generate(e *netpol.Engine, opts Options) (*Plan, error) {
	if len(opts.DefaultPorts) == 0 {
		opts.DefaultPorts = []Port{{Port: 80, Protocol: corev1.ProtocolTCP}}
	}
	if opts.MaxCases <= 0 {
		opts.MaxCases = DefaultMaxCases
	}
	u, err := newUniverse(e, &opts)
	if err != nil {
		return nil, err
	}
	if len(u.namespaces) == 0 {
		return &Plan{Notes: []string{"no namespace is in scope"}}, nil
	}
	w, err := newWorld(u, &opts, u.identities(e))
	if err != nil {
		return nil, err
	}
	g := &generator{opts: &opts, universe: u, world: w, seen: map[string]bool{}, notes: map[string]bool{}, peerPods: map[*netpol.Peer]map[*netpol.Pod]bool{}}
	for _, p := range w.engine.Policies() {
		for _, d := range directions {
			if p.Applies(d) {
				g.policy(p, d)
			}
		}
	}
	return g.plan(), nil
}

// generator accumulates cases and notes.
type generator struct {
	opts     *Options
	universe *universe
	world    *world
	cases    []Case
	seen     map[string]bool // connection keys
	notes    map[string]bool
	// peerPods caches the pods each selector peer matches, as a set.
	peerPods map[*netpol.Peer]map[*netpol.Pod]bool
}

// matches reports whether a selector peer matches pod.
func (g *generator) matches(peer *netpol.Peer, pod *netpol.Pod) bool {
	set, ok := g.peerPods[peer]
	if !ok {
		set = make(map[*netpol.Pod]bool, len(peer.Pods()))
		for _, p := range peer.Pods() {
			set[p] = true
		}
		g.peerPods[peer] = set
	}
	return set[pod]
}

// peersAdmit reports whether a rule's peers admit pod by selector (or the
// rule has none).
func (g *generator) peersAdmit(r *netpol.Rule, pod *netpol.Pod) bool {
	return len(r.Peers) == 0 || slices.ContainsFunc(r.Peers, func(p *netpol.Peer) bool { return g.matches(p, pod) })
}

func (g *generator) note(format string, args ...any) { g.notes[fmt.Sprintf(format, args...)] = true }

// side is one policy direction being turned into cases, for one of the
// pods the policy selects.
type side struct {
	policy *netpol.Policy
	dir    netpol.Direction
	local  *probePod
}

// remoteServers reports whether the pods at the other end are servers
// (egress), not clients (ingress).
func (s *side) remoteServers() bool { return s.dir == netpol.Egress }

// dst returns the destination of a connection between local and remote.
func (s *side) dst(remote *probePod) *probePod {
	if s.dir == netpol.Egress {
		return remote
	}
	return s.local
}

func (g *generator) policy(p *netpol.Policy, d netpol.Direction) {
	locals := g.locals(p, d)
	if len(locals) == 0 {
		g.note("%s: selects no pod that a probe pod in scope can stand for, so its %s is not probed", p.Key(), d)
		return
	}
	for _, local := range locals {
		s := &side{policy: p, dir: d, local: local}
		if len(p.Rules(d)) == 0 {
			g.isolatedOnly(s)
			continue
		}
		for _, r := range p.Rules(d) {
			g.rule(s, r)
		}
		g.negativePeers(s)
	}
}

// locals returns the probe pods p selects on side d: servers for ingress,
// clients for egress, those standing for real pods first.
func (g *generator) locals(p *netpol.Policy, d netpol.Direction) []*probePod {
	var out []*probePod
	for _, pod := range p.Selected() {
		if pp := g.world.byPod[pod]; pp != nil && pp.server == (d == netpol.Ingress) {
			out = append(out, pp)
		}
	}
	slices.SortFunc(out, func(a, b *probePod) int { return cmp.Compare(a.rank, b.rank) })
	return out[:min(len(out), maxLocals)]
}

// rule writes the positive and port-negative cases of a rule: for each
// peer, one remote the peer admits on every port the rule admits, and on
// one port it does not.
func (g *generator) rule(s *side, r *netpol.Rule) {
	if len(r.Peers) == 0 {
		if remote := pick(g.world.role(s.remoteServers()), s.local, func(*probePod) bool { return true }); remote != nil {
			g.peerCases(s, r, remote, fmt.Sprintf("%s %s (every peer)", s.policy.Key(), r.Path()))
		}
		return
	}
	for _, peer := range r.Peers {
		at := fmt.Sprintf("%s %s.%s[%d] (%s)", s.policy.Key(), r.Path(), peersField(s.dir), peer.Index, peer)
		if peer.IPBlock != nil {
			g.ipBlockCases(s, r, peer, at)
			continue
		}
		remote := pick(g.world.role(s.remoteServers()), s.local, func(pp *probePod) bool { return g.matches(peer, pp.pod) })
		if remote == nil {
			if remote = g.temporaryRemote(s, r, peer, at); remote == nil {
				continue
			}
		}
		g.peerCases(s, r, remote, at)
	}
}

func peersField(d netpol.Direction) string {
	if d == netpol.Egress {
		return "to"
	}
	return "from"
}

// pick returns the first pod that ok accepts, preferring one of another
// identity than local's; nil when ok accepts none.
func pick(pods []*probePod, local *probePod, ok func(*probePod) bool) *probePod {
	var fallback *probePod
	for _, pp := range pods {
		if !ok(pp) {
			continue
		}
		if pp.id.source().key() != local.id.source().key() {
			return pp
		}
		if fallback == nil {
			fallback = pp
		}
	}
	return fallback
}

// peerCases writes a positive case per port r admits between local and
// remote, and a negative one on a port next to the first that no rule
// admits for remote.
func (g *generator) peerCases(s *side, r *netpol.Rule, remote *probePod, at string) {
	dst := s.dst(remote)
	ports := g.rulePorts(s, r, dst.pod)
	for _, port := range ports {
		g.add(s, Positive, remote, netip.Addr{}, port, fmt.Sprintf("%s admits %s on %s", at, remote.id, port))
	}
	if len(ports) == 0 {
		return
	}
	if port, ok := g.outsidePort(s, remote, dst, ports[0]); ok {
		g.add(s, NegativePort, remote, netip.Addr{}, port, fmt.Sprintf("no %s rule of %s admits %s on %s", dirField(s.dir), s.policy.Key(), remote.id, port))
	}
}

func dirField(d netpol.Direction) string {
	if d == netpol.Egress {
		return "egress"
	}
	return "ingress"
}

// rulePorts returns the ports r admits on dst (nil for an address): both
// ends of a range, the resolved number of a named port dst has, the
// default ports for "every port".
func (g *generator) rulePorts(s *side, r *netpol.Rule, dst *netpol.Pod) []Port {
	if len(r.Ports) == 0 {
		return g.opts.DefaultPorts
	}
	var out []Port
	for _, pp := range r.Ports {
		if pp.Protocol == corev1.ProtocolSCTP {
			g.note("%s %s.ports[%d] %s: SCTP is not probed", s.policy.Key(), r.Path(), pp.Index, pp)
			continue
		}
		if pp.Name == "" && pp.Port == 0 {
			out = append(out, g.defaultPorts(pp.Protocol)...)
			continue
		}
		first, last, ok := pp.Range(dst)
		if !ok {
			continue // a named port the destination does not have
		}
		out = append(out, Port{first, pp.Protocol}, Port{last, pp.Protocol})
	}
	return slices.Compact(out)
}

// defaultPorts are the default port numbers, on protocol.
func (g *generator) defaultPorts(protocol corev1.Protocol) []Port {
	var out []Port
	for _, p := range g.opts.DefaultPorts {
		if q := (Port{p.Port, protocol}); !slices.Contains(out, q) {
			out = append(out, q)
		}
	}
	return out
}

// outsidePort returns a port near admitted, of its protocol, that no rule
// of the side's policy admits for remote.
func (g *generator) outsidePort(s *side, remote, dst *probePod, admitted Port) (Port, bool) {
	for delta := int32(1); delta <= 32; delta++ {
		for _, n := range []int32{admitted.Port + delta, admitted.Port - delta} {
			port := Port{n, admitted.Protocol}
			if n >= 1 && n <= 65535 && !g.policyAdmits(s, remote, dst, port) {
				return port, true
			}
		}
	}
	return Port{}, false
}

// policyAdmits reports whether a rule of the side's policy admits remote
// on port, by its selectors (ipBlocks aside: see ipDependent).
func (g *generator) policyAdmits(s *side, remote, dst *probePod, port Port) bool {
	for _, r := range s.policy.Rules(s.dir) {
		if _, ok := r.MatchPort(port.Port, port.Protocol, dst.pod); ok && g.peersAdmit(r, remote.pod) {
			return true
		}
	}
	return false
}

// negativePeers writes cases from (ingress) or to (egress) remotes that
// no rule's peers admit, one in the local pod's namespace and one in
// another, on the first port a rule admits.
func (g *generator) negativePeers(s *side) {
	for _, remote := range g.unadmitted(s) {
		port, ok := g.firstRulePort(s, remote)
		if !ok {
			continue
		}
		g.add(s, NegativePeer, remote, netip.Addr{}, port, fmt.Sprintf("no %s rule of %s admits %s", dirField(s.dir), s.policy.Key(), remote.id))
	}
}

// unadmitted returns up to two remotes no rule of the side's policy
// admits by selector: the first in the local pod's namespace, then the
// first in another.
func (g *generator) unadmitted(s *side) []*probePod {
	remotes := g.world.role(s.remoteServers())
	unadmitted := func(pp *probePod) bool {
		return !slices.ContainsFunc(s.policy.Rules(s.dir), func(r *netpol.Rule) bool { return g.peersAdmit(r, pp.pod) })
	}
	same := pick(remotes, s.local, func(pp *probePod) bool { return pp.id.Namespace == s.local.id.Namespace && unadmitted(pp) })
	other := pick(remotes, s.local, func(pp *probePod) bool { return pp.id.Namespace != s.local.id.Namespace && unadmitted(pp) })
	var out []*probePod
	for _, pp := range []*probePod{same, other} {
		if pp != nil {
			out = append(out, pp)
		}
	}
	return out
}

// firstRulePort is the first port a rule of the side's policy admits on
// the connection's destination.
func (g *generator) firstRulePort(s *side, remote *probePod) (Port, bool) {
	for _, r := range s.policy.Rules(s.dir) {
		if ports := g.rulePorts(s, r, s.dst(remote).pod); len(ports) > 0 {
			return ports[0], true
		}
	}
	return Port{}, false
}

// isolatedOnly writes the cases of a policy without rules for the
// direction: it admits nothing, so every remote on every default port is
// a negative case.
func (g *generator) isolatedOnly(s *side) {
	for _, remote := range g.unadmitted(s) {
		for _, port := range g.opts.DefaultPorts {
			g.add(s, NegativePeer, remote, netip.Addr{}, port, fmt.Sprintf("%s has no %s rules: it admits nothing", s.policy.Key(), dirField(s.dir)))
		}
	}
}

// ipBlockCases writes the cases of an egress ipBlock peer, through the
// external addresses: one inside the block on every port the rule admits,
// and one the block excepts or leaves out that no rule of the policy
// admits.
func (g *generator) ipBlockCases(s *side, r *netpol.Rule, peer *netpol.Peer, at string) {
	if s.dir == netpol.Ingress {
		g.note("%s: sources outside the cluster cannot be probe pods", at)
		return
	}
	ports := g.rulePorts(s, r, nil)
	if inside, ok := g.externalAddress(func(a netip.Addr) bool { return peer.IPBlock.Contains(a) }); ok {
		for _, port := range ports {
			g.add(s, Positive, nil, inside, port, fmt.Sprintf("%s admits %s on %s", at, inside, port))
		}
	} else {
		g.note("%s: no external address (Options.ExternalAddresses) inside it, so it is not probed", at)
	}
	outside, found := g.externalAddress(func(a netip.Addr) bool { return !g.ipAdmitted(s, a) })
	if found && len(ports) > 0 {
		g.add(s, NegativePeer, nil, outside, ports[0], fmt.Sprintf("no egress rule of %s admits %s", s.policy.Key(), outside))
	}
}

// externalAddress returns the first external address ok accepts.
func (g *generator) externalAddress(ok func(netip.Addr) bool) (netip.Addr, bool) {
	for _, a := range g.opts.ExternalAddresses {
		if a.IsValid() && ok(a.Unmap()) && !inAny(g.world.addrRanges, a.Unmap()) && !inAny(g.opts.ClusterNetworks, a.Unmap()) {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

// ipAdmitted reports whether an ipBlock of the side's policy admits a.
func (g *generator) ipAdmitted(s *side, a netip.Addr) bool {
	for _, r := range s.policy.Rules(s.dir) {
		if len(r.Peers) == 0 || slices.ContainsFunc(r.Peers, func(p *netpol.Peer) bool { return p.IPBlock != nil && p.IPBlock.Contains(a) }) {
			return true
		}
	}
	return false
}

func inAny(prefixes []netip.Prefix, a netip.Addr) bool {
	return slices.ContainsFunc(prefixes, func(p netip.Prefix) bool { return p.Contains(a) })
}

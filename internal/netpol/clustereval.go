package netpol

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// tristate is whether a cluster-wide peer or rule matches a connection:
// the engine may not be able to tell.
type tristate uint8

const (
	notMatched tristate = iota
	matched
	mayMatch
)

// isNode reports whether the remote end is a node's address: a hostNetwork
// pod, or an address outside the pod network that some pod's hostIPs hold.
func (p *clusterPeer) isNode(remote endpoint) bool {
	if remote.pod != nil {
		return remote.pod.HostNetwork
	}
	return p.nodeAddrs[remote.ip]
}

// match judges the remote end. A nodes peer matches node addresses, but the
// engine has no node labels, so it can tell only for a selector that
// selects every node; a domainNames peer can match only an address outside
// the cluster, and the engine resolves no names.
func (p *clusterPeer) match(remote endpoint) tristate {
	switch {
	case p.pods != nil:
		if pod := remote.subject(); pod != nil && p.pods.has(pod) {
			return matched
		}
	case p.networks != nil:
		for _, n := range p.networks {
			if n.Contains(remote.ip) {
				return matched
			}
		}
	case p.nodes != nil:
		switch {
		case !p.isNode(remote):
		case p.nodes.Empty():
			return matched
		default:
			return mayMatch
		}
	default:
		if remote.pod == nil && !p.nodeAddrs[remote.ip] {
			return mayMatch
		}
	}
	return notMatched
}

// unknownWhy says why the engine cannot tell whether the peer matches.
func (p *clusterPeer) unknownWhy(remote endpoint) string {
	if p.nodes != nil {
		return fmt.Sprintf("%s is a node address, and the engine has no node labels", remote.name())
	}
	return fmt.Sprintf("%s is outside the cluster, and the engine resolves no domain names", remote.ip)
}

// portIndex returns the index of the first entry that admits port/protocol
// on dst, -1 when the rule lists none, and ok false when none admits it.
func (r *clusterRule) portIndex(port int32, protocol corev1.Protocol, dst *Pod) (index int, ok bool) {
	if len(r.ports) == 0 {
		return -1, true
	}
	for i, p := range r.ports {
		if p.matches(port, protocol, dst) {
			return i, true
		}
	}
	return -1, false
}

// match judges the connection: the peers, of which one that matches wins
// over one the engine cannot judge, then the ports (peers first: their
// bitsets are cheaper than named ports). peer is the index of the peer that
// matched (or that the engine cannot judge).
func (r *clusterRule) match(remote endpoint, port int32, protocol corev1.Protocol, dst *Pod) (m tristate, peer int) {
	m, peer = notMatched, -1
	for i, p := range r.peers {
		pm := p.match(remote)
		if pm == matched || (pm == mayMatch && m == notMatched) {
			m, peer = pm, i
		}
		if pm == matched {
			break
		}
	}
	if m == notMatched {
		return notMatched, -1
	}
	if _, ok := r.portIndex(port, protocol, dst); !ok {
		return notMatched, -1
	}
	return m, peer
}

// first returns the first rule of direction d that matches, and whether it
// surely does: notMatched when none does, mayMatch when the engine cannot
// judge a rule it reaches before any that surely matches.
func (p *clusterPolicy) first(d Direction, remote endpoint, port int32, protocol corev1.Protocol, dst *Pod) (*clusterRule, tristate) {
	for _, r := range p.rules[d] {
		if m, _ := r.match(remote, port, protocol, dst); m != notMatched {
			return r, m
		}
	}
	return nil, notMatched
}

// tierOutcome is what a tier of cluster-wide policies says about one
// direction.
type tierOutcome struct {
	// rule matched (and decides, or passes), or is one the engine cannot
	// judge (state mayMatch); nil when no rule matched.
	rule  *clusterRule
	state tristate
	// rival is a rule of another policy of rule's priority that matched
	// too, with another action: then implementations may apply either.
	rival *clusterRule
}

// tier evaluates the policies of a tier in order: the first priority at
// which a rule matches decides, unless a rule the engine cannot judge comes
// first, or policies of that priority disagree.
func (c *conn) tier(policies []*clusterPolicy, d Direction, remote endpoint, dst *Pod) tierOutcome {
	var found tierOutcome
	for _, p := range policies {
		if found.rule != nil && p.priority != found.rule.policy.priority {
			break
		}
		r, m := p.first(d, remote, c.port, c.protocol, dst)
		switch {
		case m == notMatched:
		case m == mayMatch:
			return tierOutcome{rule: r, state: mayMatch}
		case found.rule == nil:
			found = tierOutcome{rule: r, state: matched}
		case r.effect != found.rule.effect:
			found.rival = r
			return found
		}
	}
	return found
}

// result is the tier's result, and whether it is final: an Allow (or
// Accept) or Deny rule decides, as does a rule the engine cannot judge or a
// conflict (Unspecified); a Pass, or no match, hands over to what follows.
func (o tierOutcome) result() (Result, bool) {
	switch {
	case o.rule == nil:
		return Allow, false
	case o.state == mayMatch || o.rival != nil:
		return Unspecified, true
	case o.rule.effect == effectAllow:
		return Allow, true
	case o.rule.effect == effectDeny:
		return Deny, true
	default:
		return Allow, false
	}
}

// tier records tier t's outcome in Admin or Baseline and, when the engine
// cannot tell, says why in Reason; a nil v does nothing.
func (v *DirectionVerdict) tier(t tier, o tierOutcome, c *conn, remote endpoint, dst *Pod) {
	if v == nil || o.rule == nil {
		return
	}
	td := o.rule.decision(o.state, c, remote, dst)
	if t == adminTier {
		v.Admin = td
	} else {
		v.Baseline = td
	}
	switch {
	case o.state == mayMatch:
		v.Reason = fmt.Sprintf("%s rule %s may match, and the engine cannot tell: %s", t, o.rule, td.Detail)
	case o.rival != nil:
		v.Reason = fmt.Sprintf("%s rules %s (%s) and %s (%s) both match, and their policies share priority %d: implementations may apply either",
			t, o.rule, o.rule.action, o.rival, o.rival.action, o.rule.policy.priority)
	}
}

// finish sets the result of a direction a tier decided.
func (v *DirectionVerdict) finish(r Result) {
	if v != nil {
		v.Result = r
	}
}

// String names the rule, e.g. `AdminNetworkPolicy/deny-all ingress[0]
// "from-y"`.
func (r *clusterRule) String() string {
	s := fmt.Sprintf("%s %s[%d]", r.policy.key(), r.dir.field(), r.index)
	if r.name != "" {
		s += fmt.Sprintf(" %q", r.name)
	}
	return s
}

// decision explains how the rule judged the connection.
func (r *clusterRule) decision(state tristate, c *conn, remote endpoint, dst *Pod) *TierDecision {
	td := &TierDecision{Policy: r.policy.key(), Rule: r.index, RuleName: r.name, Action: r.action}
	_, peer := r.match(remote, c.port, c.protocol, dst)
	at := fmt.Sprintf("%s[%d] %s", r.dir.peersField(), peer, r.peers[peer])
	if state == mayMatch {
		td.Detail = fmt.Sprintf("%s may match: %s", at, r.peers[peer].unknownWhy(remote))
		return td
	}
	port := "any port (the rule lists none)"
	if i, _ := r.portIndex(c.port, c.protocol, dst); i >= 0 {
		port = fmt.Sprintf("%s[%d] %s", r.portsField, i, r.ports[i].describe(dst, c.protocol))
	}
	td.Detail = fmt.Sprintf("matches: %s, %s", at, port)
	return td
}

// describeRule names a recorded rule, as clusterRule.String does.
func (v *DirectionVerdict) describeRule(td *TierDecision) string {
	s := fmt.Sprintf("%s %s[%d]", td.Policy, v.Direction.field(), td.Rule)
	if td.RuleName != "" {
		s += fmt.Sprintf(" %q", td.RuleName)
	}
	return s
}

// effect is what the recorded rule's action does.
func (td *TierDecision) effect() effect { return effectOf(td.Action) }

// tierText renders a tier's rule for WriteText.
func (v *DirectionVerdict) tierText(b *strings.Builder, name string, td *TierDecision) {
	if td == nil {
		return
	}
	fmt.Fprintf(b, "  %s: %s: %s, %s\n", name, v.describeRule(td), td.Action, td.Detail)
}

package netpol

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// endpoint is one end of a connection, resolved.
type endpoint struct {
	pod *Pod // nil for an address outside the cluster
	ip  netip.Addr
}

// subject returns the pod that policies select and selectors match: nil
// for an address outside the cluster and for a hostNetwork pod.
func (ep endpoint) subject() *Pod {
	if ep.pod != nil && !ep.pod.HostNetwork {
		return ep.pod
	}
	return nil
}

func (ep endpoint) name() string {
	if ep.pod != nil {
		return ep.pod.Key()
	}
	return ep.ip.String()
}

func (ep endpoint) info() EndpointInfo {
	info := EndpointInfo{IP: ep.ip.String()}
	if ep.pod != nil {
		info.Pod, info.HostNetwork = ep.pod.Key(), ep.pod.HostNetwork
	}
	return info
}

// conn is a connection to judge.
type conn struct {
	src, dst endpoint
	port     int32
	protocol corev1.Protocol
}

// ends returns the end whose policies govern direction d, and the other.
func (c *conn) ends(d Direction) (local, remote endpoint) {
	if d == Egress {
		return c.src, c.dst
	}
	return c.dst, c.src
}

// loop is why a connection gets no verdict.
type loop uint8

const (
	notLoop     loop = iota
	sameAddress      // a pod to itself, or between hostNetwork pods of one node
	fromOwnNode      // the destination pod's node to the pod
)

func (c *conn) loop() loop {
	switch {
	case c.src.ip == c.dst.ip:
		return sameAddress
	case c.dst.pod != nil && slices.Contains(c.dst.pod.HostIPs, c.src.ip):
		return fromOwnNode
	default:
		return notLoop
	}
}

// result is the verdict without its explanation, for matrices. It stops
// as soon as one direction denies.
func (c *conn) result() Result {
	if c.loop() != notLoop {
		return Unspecified
	}
	egress := c.judge(Egress, nil)
	if egress == Deny {
		return Deny
	}
	return combine(egress, c.judge(Ingress, nil))
}

// combine is the connection's result from its directions': Deny when one
// denies, else Unspecified when the engine cannot tell one, else Allow.
func combine(egress, ingress Result) Result {
	switch {
	case egress == Deny || ingress == Deny:
		return Deny
	case egress == Unspecified || ingress == Unspecified:
		return Unspecified
	default:
		return Allow
	}
}

// verdict is the verdict with its explanation.
func (c *conn) verdict() Verdict {
	v := Verdict{From: c.src.info(), To: c.dst.info(), Port: c.port, Protocol: c.protocol}
	v.Result = combine(c.judge(Egress, &v.Egress), c.judge(Ingress, &v.Ingress))
	if v.Result == Unspecified {
		v.Reason = unknownReason(&v.Egress, &v.Ingress)
	}
	if l := c.loop(); l != notLoop {
		v.Reason = c.loopReason(l, v.Result)
		v.Result = Unspecified
	}
	return v
}

// unknownReason says which directions the engine cannot tell, and why.
func unknownReason(dirs ...*DirectionVerdict) string {
	var parts []string
	for _, dv := range dirs {
		if dv.Result == Unspecified {
			parts = append(parts, fmt.Sprintf("%s %s: %s", dv.Direction.word(), dv.Endpoint, dv.Reason))
		}
	}
	return strings.Join(parts, "; ")
}

func (c *conn) loopReason(l loop, policies Result) string {
	switch {
	case l == fromOwnNode:
		return fmt.Sprintf("%s is the node of %s; NetworkPolicy cannot block a pod's own node and CNIs differ, so no verdict is asserted (the policies alone say %s)", c.src.ip, c.dst.name(), policies)
	case c.src.pod == c.dst.pod:
		return fmt.Sprintf("a pod connecting to itself: CNIs disagree on whether policies apply, so no verdict is asserted (the policies alone say %s)", policies)
	default:
		return fmt.Sprintf("%s and %s share the address %s: loopback traffic on one node, so no verdict is asserted", c.src.name(), c.dst.name(), c.src.ip)
	}
}

// judge decides direction d: the admin tier of cluster-wide policies, then
// NetworkPolicies, then, for an endpoint no NetworkPolicy isolates, the
// baseline tier; what none decides is allowed. The result is Unspecified
// when a cluster-wide rule that could decide cannot be evaluated. When out
// is not nil, judge also explains the result there; otherwise it stops as
// soon as the result is known.
func (c *conn) judge(d Direction, out *DirectionVerdict) Result {
	local, remote := c.ends(d)
	pod := local.subject()
	var policies []*Policy
	if pod != nil {
		policies = pod.policies[d]
	}
	out.open(d, local, len(policies) > 0)
	if pod == nil || (pod.cluster == nil && len(policies) == 0) {
		return Allow
	}
	dst := c.dst.subject()
	if r, final := c.clusterTier(pod, adminTier, d, remote, dst, out); final {
		return r
	}
	if len(policies) > 0 {
		// NetworkPolicies isolate the endpoint: allowed when some rule
		// admits the connection. (Inline: it is the matrices' hot path.)
		allowed, onlyIPBlocks := false, true
		for _, p := range policies {
			rec := out.record(p)
			for _, r := range p.rules[d] {
				o := r.judge(remote, c.port, c.protocol, dst)
				if rec != nil {
					rec.Rules = append(rec.Rules, o.explain(r, c, remote, dst))
				}
				if !o.allows() {
					continue
				}
				if out == nil {
					return Allow
				}
				allowed, onlyIPBlocks = true, onlyIPBlocks && o.viaIPBlock
			}
		}
		out.conclude(allowed, onlyIPBlocks, remote)
		if allowed {
			return Allow
		}
		return Deny
	}
	r, _ := c.clusterTier(pod, baselineTier, d, remote, dst, out)
	return r
}

// clusterTier judges direction d by the pod's cluster-wide policies of
// tier t, explaining it in out; final is false when the tier leaves the
// decision to what follows.
func (c *conn) clusterTier(pod *Pod, t tier, d Direction, remote endpoint, dst *Pod, out *DirectionVerdict) (r Result, final bool) {
	if pod.cluster == nil || len(pod.cluster[t][d]) == 0 {
		return Allow, false
	}
	o := c.tier(pod.cluster[t][d], d, remote, dst)
	out.tier(t, o, c, remote, dst)
	if r, final = o.result(); final {
		out.finish(r)
	}
	return r, final
}

// open starts the explanation of direction d for local; a nil d does
// nothing, as do record and conclude.
func (v *DirectionVerdict) open(d Direction, local endpoint, isolated bool) {
	if v == nil {
		return
	}
	*v = DirectionVerdict{Direction: d, Endpoint: local.name(), Result: Allow, Isolated: isolated}
	if !isolated {
		v.Reason = openReason(d, local)
	}
}

// record adds policy p to the explanation and returns its entry.
func (v *DirectionVerdict) record(p *Policy) *PolicyResult {
	if v == nil {
		return nil
	}
	v.Policies = append(v.Policies, PolicyResult{Policy: p.Key(), Rules: []RuleResult{}})
	return &v.Policies[len(v.Policies)-1]
}

// conclude sets the result of an isolated direction, with a caveat when
// only ipBlocks admitted a pod.
func (v *DirectionVerdict) conclude(allowed, onlyIPBlocks bool, remote endpoint) {
	if v == nil {
		return
	}
	if !allowed {
		v.Result = Deny
		return
	}
	if onlyIPBlocks && remote.pod != nil {
		kind := "a pod IP"
		if remote.pod.HostNetwork {
			kind = "a node IP"
		}
		v.Caveats = append(v.Caveats, fmt.Sprintf("only ipBlock peers admit %s, whose address %s is %s: some CNIs, Cilium among them, never match pod or node IPs with ipBlock and would deny this", remote.pod.Key(), remote.ip, kind))
	}
}

func openReason(d Direction, local endpoint) string {
	switch {
	case local.pod == nil:
		return fmt.Sprintf("%s is not a pod, so no NetworkPolicy applies to it", local.ip)
	case local.pod.HostNetwork:
		return fmt.Sprintf("%s uses the host network: NetworkPolicies do not apply to it, and it is treated as its node's IP", local.pod.Key())
	default:
		return fmt.Sprintf("no NetworkPolicy selects %s for %s", local.pod.Key(), strings.ToLower(d.String()))
	}
}

// ruleOutcome is how one rule judged a connection.
type ruleOutcome struct {
	port, peer     int // as RuleResult's Port and Peer
	portOK, peerOK bool
	viaIPBlock     bool  // the peer that matched is an ipBlock, and no selector peer matched
	excepted       *Peer // an ipBlock peer whose except holds the remote address
}

func (o ruleOutcome) allows() bool { return o.portOK && o.peerOK }

// judge matches the remote end against the rule's peers and port/protocol
// against its ports, resolving named ports on dst. A selector peer's match
// is preferred to an ipBlock's.
func (r *Rule) judge(remote endpoint, port int32, protocol corev1.Protocol, dst *Pod) ruleOutcome {
	o := ruleOutcome{peer: -1}
	if o.port, o.portOK = r.MatchPort(port, protocol, dst); !o.portOK {
		return o
	}
	if len(r.Peers) == 0 {
		o.peerOK = true
		return o
	}
	for _, p := range r.Peers {
		switch p.match(remote) {
		case matchBySelector:
			o.peer, o.peerOK, o.viaIPBlock = p.Index, true, false
			return o
		case matchByIPBlock:
			if !o.peerOK {
				o.peer, o.peerOK, o.viaIPBlock = p.Index, true, true
			}
		case exceptedByIPBlock:
			if o.excepted == nil {
				o.excepted = p
			}
		}
	}
	return o
}

func (o ruleOutcome) explain(r *Rule, c *conn, remote endpoint, dst *Pod) RuleResult {
	res := RuleResult{Rule: r.Index, Allows: o.allows()}
	switch {
	case !o.portOK:
		ports := make([]string, len(r.Ports))
		for i, p := range r.Ports {
			ports[i] = p.describe(dst)
		}
		res.Detail = fmt.Sprintf("no port matches %d/%s (ports: %s)", c.port, c.protocol, strings.Join(ports, ", "))
	case !o.peerOK:
		res.Detail = "no peer matches " + remote.name()
		if o.excepted != nil {
			res.Detail += fmt.Sprintf(": %s is in %s[%d] %s, but excepted", remote.ip, r.Direction.peersField(), o.excepted.Index, o.excepted)
		}
	default:
		res.Peer, res.Port = &o.peer, &o.port
		res.Detail = fmt.Sprintf("allows it: %s, %s", o.describePeer(r), o.describePort(r, dst))
	}
	return res
}

func (o ruleOutcome) describePeer(r *Rule) string {
	if o.peer < 0 {
		return "any peer (the rule lists none)"
	}
	return fmt.Sprintf("%s[%d] %s", r.Direction.peersField(), o.peer, r.Peers[o.peer])
}

func (o ruleOutcome) describePort(r *Rule, dst *Pod) string {
	if o.port < 0 {
		return "any port (the rule lists none)"
	}
	return fmt.Sprintf("ports[%d] %s", o.port, r.Ports[o.port].describe(dst))
}

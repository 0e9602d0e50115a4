package cases

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"

	"github.com/palisade-sec/palisade/internal/netpol"
)

// add evaluates a case between the side's local pod and remote (nil for
// the address ip) and keeps it unless the connection already has a case,
// the engine gives no verdict, or the verdict depends on the probe pods'
// addresses.
func (g *generator) add(s *side, kind Kind, remote *probePod, ip netip.Addr, port Port, why string) {
	c := Case{Policy: s.policy.Key(), Direction: s.dir, Kind: kind, Port: port.Port, Protocol: port.Protocol}
	var src, dst *probePod
	switch {
	case s.dir == netpol.Ingress:
		src, dst = remote, s.local
		c.From, c.To = remote.id, s.local.id
	case remote != nil:
		src, dst = s.local, remote
		c.From, c.To = s.local.id, remote.id
	default:
		src = s.local
		c.From, c.ToIP = s.local.id, ip
	}
	key := fmt.Sprintf("%s -> %s %s", c.From.key(), c.destination(), port)
	if g.seen[key] {
		return
	}
	g.seen[key] = true
	q := netpol.Query{From: endpoint(src), To: netpol.IPEndpoint(ip), Port: port.Port, Protocol: port.Protocol}
	if dst != nil {
		q.To = endpoint(dst)
	}
	v, err := g.world.engine.Check(q)
	switch {
	case err != nil:
		g.note("%s -> %s %s: left out: %v", c.From, destinationText(&c), port, err)
		return
	case v.Result == netpol.Unspecified:
		g.note("%s -> %s %s: left out: %s", c.From, destinationText(&c), port, v.Reason)
		return
	case dst != nil && g.ipDependent(src.pod, dst.pod, port):
		g.note("%s -> %s %s: left out: an ipBlock or a cluster-wide networks peer that may hold the probe pods' addresses decides it, and they are known only at run time", c.From, destinationText(&c), port)
		return
	}
	c.Expected = v.Result
	c.Why = why + temporaryWhy(src, dst) + "; " + explain(&v)
	c.Name = caseName(key)
	g.cases = append(g.cases, c)
}

func endpoint(pp *probePod) netpol.Endpoint {
	return netpol.PodEndpoint(pp.pod.Namespace, pp.pod.Name)
}

func destinationText(c *Case) string {
	if c.ToIP.IsValid() {
		return c.ToIP.String()
	}
	return c.To.String()
}

// caseName derives a short stable name from the connection.
func caseName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "np-" + hex.EncodeToString(sum[:5])
}

// explain sums up the engine's verdict, e.g. "expected Deny (egress: not
// isolated; ingress: isolated by x/deny-all, no rule admits it)".
func explain(v *netpol.Verdict) string {
	return "expected " + v.Brief()
}

// ipDependent reports whether the verdict between two probe pods could
// change with their addresses: on some side, a cluster-wide rule admitting
// the port has networks that hold some pod addresses but not all, or no
// rule admits the remote pod by selector on the port but a rule admitting
// the port has an ipBlock that may hold a probe pod's address.
func (g *generator) ipDependent(src, dst *netpol.Pod, port Port) bool {
	return g.sideIPDependent(netpol.Egress, src, dst, dst, port) || g.sideIPDependent(netpol.Ingress, dst, src, dst, port)
}

func (g *generator) sideIPDependent(d netpol.Direction, local, remote, dst *netpol.Pod, port Port) bool {
	// A cluster-wide rule decides before NetworkPolicies (or where none
	// isolates the pod): one whose networks hold some pod addresses and
	// not others may match the real pods and not the planned ones.
	if slices.ContainsFunc(local.ClusterNetworks(d, port.Port, port.Protocol, dst), g.world.holdsSomePods) {
		return true
	}
	uncertain := false
	for _, p := range local.Policies(d) {
		for _, r := range p.Rules(d) {
			if _, ok := r.MatchPort(port.Port, port.Protocol, dst); !ok {
				continue
			}
			if g.peersAdmit(r, remote) {
				return false // a selector admits it, whatever the addresses
			}
			uncertain = uncertain || slices.ContainsFunc(r.Peers, func(p *netpol.Peer) bool {
				return p.IPBlock != nil && g.world.mayHoldPod(p.IPBlock)
			})
		}
	}
	return uncertain
}

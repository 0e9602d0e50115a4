package cases

import (
	"cmp"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/palisade-sec/palisade/internal/netpol"
)

// candidate is an identity probe pods may take.
type candidate struct {
	id Identity
	// real is true when a pod in scope has this identity.
	real bool
}

// pool collects candidate identities, once each.
type pool struct {
	byKey   map[string]*candidate
	sources map[string]bool // source keys (namespace and labels) taken
}

// newPool returns an empty pool.
func newPool() *pool {
	return &pool{byKey: map[string]*candidate{}, sources: map[string]bool{}}
}

// addReal adds the identity of a pod in scope.
func (p *pool) addReal(id Identity) {
	k := id.key()
	if _, ok := p.byKey[k]; !ok {
		p.byKey[k] = &candidate{id: id, real: true}
		p.sources[id.source().key()] = true
	}
}

// addMadeUp adds an identity made from a selector, unless one of the same
// namespace and labels is there already: pods in scope are what the
// policies really meet, named ports included.
func (p *pool) addMadeUp(id Identity) {
	if k := id.source().key(); !p.sources[k] {
		p.sources[k] = true
		p.byKey[id.key()] = &candidate{id: id}
	}
}

// sorted returns the candidates, those of real pods first, then by key.
func (p *pool) sorted() []*candidate {
	out := make([]*candidate, 0, len(p.byKey))
	for _, k := range sortedKeys(p.byKey) {
		out = append(out, p.byKey[k])
	}
	slices.SortStableFunc(out, func(a, b *candidate) int {
		return -cmp.Compare(boolInt(a.real), boolInt(b.real))
	})
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// identities returns the identities cases may use: those of the pods in
// scope; those the policies' selectors describe (for what no pod in scope
// is yet); a pod without labels in every namespace in scope, which
// selectors on labels leave out; and last, with
// Options.TemporaryNamespaces, those peers whose namespaceSelector matches
// no namespace in scope describe, in the namespaces it makes up for them.
func (u *universe) identities(e *netpol.Engine) []*candidate {
	p, temporary := newPool(), newPool()
	for _, pod := range e.Pods() {
		if _, ok := u.namespaces[pod.Namespace]; ok && pod.Skipped == "" && !pod.HostNetwork {
			p.addReal(Identity{Namespace: pod.Namespace, Labels: u.reduce(pod.Labels), NamedPorts: u.realNamedPorts(pod.Ports)})
		}
	}
	for _, pol := range u.policies {
		if lbls, ok := satisfy(&pol.Spec.PodSelector); ok {
			p.addMadeUp(u.madeUp(pol.Namespace, lbls))
		}
	}
	u.eachRule(func(pol *netpol.Policy, r *netpol.Rule) {
		for _, peer := range r.Peers {
			spec := peerSpec(pol, r, peer)
			if spec == nil {
				continue
			}
			lbls, ok := satisfy(spec.PodSelector)
			if !ok {
				continue
			}
			for _, ns := range u.peerNamespaces(pol.Namespace, spec.NamespaceSelector) {
				p.addMadeUp(u.madeUp(ns, lbls))
			}
			if ns := u.planTemporary(pol.Namespace, spec); ns != nil {
				temporary.addMadeUp(u.madeUp(ns.name, lbls))
			}
		}
	})
	for _, ns := range u.nsNames {
		p.addMadeUp(Identity{Namespace: ns})
	}
	return append(p.sorted(), temporary.sorted()...)
}

// madeUp is an identity made from a selector: it declares every named
// port the rules use (numbered from synthesizedPortBase).
func (u *universe) madeUp(ns string, lbls map[string]string) Identity {
	return Identity{Namespace: ns, Labels: u.reduce(lbls), NamedPorts: slices.Clone(u.namedPorts)}
}

// realNamedPorts are a pod's named ports that some rule uses, by name
// then protocol.
func (u *universe) realNamedPorts(ports []corev1.ContainerPort) []NamedPort {
	var out []NamedPort
	for _, cp := range ports {
		if cp.Name != "" && u.referenced(cp) {
			out = append(out, NamedPort{Name: cp.Name, Port: cp.ContainerPort, Protocol: cp.Protocol})
		}
	}
	slices.SortFunc(out, func(a, b NamedPort) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Protocol, b.Protocol))
	})
	return slices.CompactFunc(out, func(a, b NamedPort) bool { return a.Name == b.Name && a.Protocol == b.Protocol })
}

package cases

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/palisade-sec/palisade/internal/netpol"
)

// namespaceNameLabel is the label the API server sets on every namespace.
const namespaceNameLabel = "kubernetes.io/metadata.name"

// synthesizedPortBase is the first number given to a named port that
// identities made from selectors declare.
const synthesizedPortBase = 8000

// universe is the in-scope part of the cluster cases are drawn from.
type universe struct {
	namespaces   map[string]labels.Set // with kubernetes.io/metadata.name
	nsNames      []string              // sorted
	policies     []*netpol.Policy      // in scope, by key
	selectorKeys map[string]bool       // pod label keys some pod selector mentions
	namedPorts   []NamedPort           // named ports some rule uses, numbered for made-up identities
	probeLabels  map[string]string
	// allowTemporary is Options.TemporaryNamespaces, and temporaryOwn
	// Options.TemporaryNamespaceLabels.
	allowTemporary bool
	temporaryOwn   map[string]string
	// temporary are the namespaces made up for peers, by name.
	temporary map[string]*temporaryNamespace
	// temporaryFor is what became of each namespaceSelector that matches
	// no namespace in scope, by the selector rendered.
	temporaryFor map[string]temporaryOutcome
	// cluster are the engine's cluster-wide policies, as given: expected
	// verdicts account for them (no case is derived from them).
	cluster netpol.ClusterPolicies
}

func newUniverse(e *netpol.Engine, opts *Options) (*universe, error) {
	u := &universe{
		namespaces:     map[string]labels.Set{},
		selectorKeys:   map[string]bool{},
		probeLabels:    opts.ProbeLabels,
		allowTemporary: opts.TemporaryNamespaces,
		temporaryOwn:   opts.TemporaryNamespaceLabels,
		temporary:      map[string]*temporaryNamespace{},
		temporaryFor:   map[string]temporaryOutcome{},
		cluster:        e.ClusterPolicies(),
	}
	for _, ns := range opts.Namespaces {
		if ns.Name == "" {
			return nil, errors.New("a namespace in scope has no name")
		}
		if _, dup := u.namespaces[ns.Name]; dup {
			return nil, fmt.Errorf("namespace %s is in scope twice", ns.Name)
		}
		set := labels.Set(maps.Clone(ns.Labels))
		if set == nil {
			set = labels.Set{}
		}
		set[namespaceNameLabel] = ns.Name
		u.namespaces[ns.Name] = set
	}
	u.nsNames = sortedKeys(u.namespaces)
	for _, p := range e.Policies() {
		if _, ok := u.namespaces[p.Namespace]; ok {
			u.policies = append(u.policies, p)
		}
	}
	u.collectSelectorKeys()
	u.numberNamedPorts(opts.DefaultPorts)
	return u, nil
}

// eachRule calls f for every rule of every policy in scope, in the
// directions the policy governs.
func (u *universe) eachRule(f func(*netpol.Policy, *netpol.Rule)) {
	for _, p := range u.policies {
		for _, d := range directions {
			for _, r := range p.Rules(d) {
				f(p, r)
			}
		}
	}
}

var directions = [...]netpol.Direction{netpol.Ingress, netpol.Egress}

func (u *universe) collectSelectorKeys() {
	add := func(sel *metav1.LabelSelector) {
		if sel == nil {
			return
		}
		for k := range sel.MatchLabels {
			u.selectorKeys[k] = true
		}
		for _, r := range sel.MatchExpressions {
			u.selectorKeys[r.Key] = true
		}
	}
	for _, p := range u.policies {
		add(&p.Spec.PodSelector)
	}
	u.eachRule(func(p *netpol.Policy, r *netpol.Rule) {
		for _, peer := range r.Peers {
			if spec := peerSpec(p, r, peer); spec != nil {
				add(spec.PodSelector)
			}
		}
	})
}

// peerSpec returns the peer as written, nil for an ipBlock.
func peerSpec(p *netpol.Policy, r *netpol.Rule, peer *netpol.Peer) *networkingv1.NetworkPolicyPeer {
	if peer.IPBlock != nil {
		return nil
	}
	if r.Direction == netpol.Egress {
		return &p.Spec.Egress[r.Index].To[peer.Index]
	}
	return &p.Spec.Ingress[r.Index].From[peer.Index]
}

// numberNamedPorts lists the named ports rules use and numbers them, for
// identities made from selectors, avoiding the numbers rules and the
// default ports name.
func (u *universe) numberNamedPorts(defaults []Port) {
	type nameProto struct {
		name  string
		proto corev1.Protocol
	}
	names := map[nameProto]bool{}
	var taken [][2]int32 // port ranges rules or defaults name
	for _, p := range defaults {
		taken = append(taken, [2]int32{p.Port, p.Port})
	}
	u.eachRule(func(_ *netpol.Policy, r *netpol.Rule) {
		for _, pp := range r.Ports {
			if pp.Name != "" {
				names[nameProto{pp.Name, pp.Protocol}] = true
			} else if first, last, _ := pp.Range(nil); pp.Port != 0 {
				taken = append(taken, [2]int32{first, last})
			}
		}
	})
	isTaken := func(n int32) bool {
		return slices.ContainsFunc(taken, func(r [2]int32) bool { return r[0] <= n && n <= r[1] })
	}
	sorted := slices.SortedFunc(maps.Keys(names), func(a, b nameProto) int {
		return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.proto, b.proto))
	})
	n := int32(synthesizedPortBase)
	for _, np := range sorted {
		for isTaken(n) {
			n++
		}
		u.namedPorts = append(u.namedPorts, NamedPort{Name: np.name, Port: n, Protocol: np.proto})
		n++
	}
}

// referenced reports whether some rule uses a container port's name.
func (u *universe) referenced(cp corev1.ContainerPort) bool {
	return slices.ContainsFunc(u.namedPorts, func(np NamedPort) bool {
		return np.Name == cp.Name && np.Protocol == cp.Protocol
	})
}

// reduce keeps the labels some pod selector looks at, minus those the
// probe labels set: a pod with the result is selected exactly as a pod
// with all of them.
func (u *universe) reduce(in map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range in {
		if _, probe := u.probeLabels[k]; u.selectorKeys[k] && !probe {
			out[k] = v
		}
	}
	return cloneLabels(out)
}

// peerNamespaces returns up to two namespaces in scope a peer's
// namespaceSelector matches: the policy's own first when it does.
func (u *universe) peerNamespaces(own string, sel *metav1.LabelSelector) []string {
	if sel == nil {
		return []string{own}
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil
	}
	var out []string
	if s.Matches(u.namespaces[own]) {
		out = append(out, own)
	}
	for _, ns := range u.nsNames {
		if len(out) == 2 {
			break
		}
		if ns != own && s.Matches(u.namespaces[ns]) {
			out = append(out, ns)
		}
	}
	return out
}

// satisfy returns labels that sel selects, made from what it requires: a
// matchLabels entry, the first value of an In, "palisade-probe" for an
// Exists. ok is false when sel can select nothing that way.
func satisfy(sel *metav1.LabelSelector) (map[string]string, bool) {
	if sel == nil {
		return nil, true
	}
	out := maps.Clone(sel.MatchLabels)
	if out == nil {
		out = map[string]string{}
	}
	for _, r := range sel.MatchExpressions {
		if _, set := out[r.Key]; set {
			continue
		}
		switch r.Operator {
		case metav1.LabelSelectorOpIn:
			out[r.Key] = r.Values[0]
		case metav1.LabelSelectorOpExists:
			out[r.Key] = "palisade-probe"
		}
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || !s.Matches(labels.Set(out)) {
		return nil, false
	}
	return cloneLabels(out), true
}

package cases

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-sec/palisade/internal/netpol"
)

// reservedRanges are where hypothetical probe pods get addresses when the
// cluster networks are not known: reserved (240.0.0.0/4) and discard-only
// (100::/64) space, which no pod holds.
var reservedRanges = []netip.Prefix{
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("100::/64"),
}

// everywhere is every address.
var everywhere = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}

// probePod is a hypothetical probe pod: a client (source) or a server
// (destination) of one identity.
type probePod struct {
	id Identity
	// server is true for a destination, false for a source.
	server bool
	// real is true when a pod in scope has the identity.
	real bool
	// rank orders pods by preference: real identities first.
	rank int
	name string
	pod  *netpol.Pod
	// temporary is the namespace made up for the pod, nil for one in scope.
	temporary *temporaryNamespace
}

// world is an engine with the policies in scope and, instead of the
// pods, a client and a server pod per candidate identity.
type world struct {
	engine  *netpol.Engine
	clients []*probePod // in scope, by rank
	servers []*probePod // in scope, by rank
	// temporary are the clients then the servers in temporary namespaces,
	// by rank: only the peers they were made for use them.
	temporary []*probePod
	byPod     map[*netpol.Pod]*probePod
	// podRanges may hold a probe pod's address: the cluster networks, or
	// everywhere.
	podRanges []netip.Prefix
	// addrRanges are where the hypothetical pods' addresses are taken
	// from, one range per IP family.
	addrRanges []netip.Prefix
}

func newWorld(u *universe, opts *Options, candidates []*candidate) (*world, error) {
	w := &world{byPod: map[*netpol.Pod]*probePod{}, podRanges: everywhere, addrRanges: reservedRanges}
	if len(opts.ClusterNetworks) > 0 {
		w.podRanges, w.addrRanges = opts.ClusterNetworks, firstPerFamily(opts.ClusterNetworks)
	}
	clientKeys := map[string]bool{}
	for rank, c := range candidates {
		tmp := u.temporary[c.id.Namespace]
		if src := c.id.source(); !clientKeys[src.key()] {
			clientKeys[src.key()] = true
			w.clients = append(w.clients, &probePod{id: src, real: c.real, rank: rank, name: fmt.Sprintf("client-%d", rank), temporary: tmp})
		}
		w.servers = append(w.servers, &probePod{id: c.id, server: true, real: c.real, rank: rank, name: fmt.Sprintf("server-%d", rank), temporary: tmp})
	}
	all := slices.Concat(w.clients, w.servers)
	if err := w.checkCapacity(len(all)); err != nil {
		return nil, err
	}
	pods := make([]corev1.Pod, len(all))
	for i, pp := range all {
		pods[i] = w.hypotheticalPod(pp, opts.ProbeLabels, i+1)
	}
	e, err := netpol.NewWithClusterPolicies(u.engineNamespaces(opts.Namespaces), pods, policyObjects(u.policies), u.cluster)
	if err != nil {
		return nil, fmt.Errorf("building the engine with probe pods: %w", err)
	}
	w.engine = e
	for _, pp := range all {
		pp.pod = e.Pod(pp.id.Namespace, pp.name)
		w.byPod[pp.pod] = pp
	}
	w.setTemporaryApart()
	return w, nil
}

// setTemporaryApart moves the pods in temporary namespaces from clients
// and servers, where every case may draw on them, to temporary.
func (w *world) setTemporaryApart() {
	inTemporary := func(pp *probePod) bool { return pp.temporary != nil }
	for _, pp := range slices.Concat(w.clients, w.servers) {
		if inTemporary(pp) {
			w.temporary = append(w.temporary, pp)
		}
	}
	w.clients = slices.DeleteFunc(w.clients, inTemporary)
	w.servers = slices.DeleteFunc(w.servers, inTemporary)
}

// firstPerFamily returns the first IPv4 and the first IPv6 prefix.
func firstPerFamily(prefixes []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range prefixes {
		if !slices.ContainsFunc(out, func(q netip.Prefix) bool { return q.Addr().Is4() == p.Addr().Is4() }) {
			out = append(out, p.Masked())
		}
	}
	return out
}

// checkCapacity checks that every address range holds n pods.
func (w *world) checkCapacity(n int) error {
	for _, r := range w.addrRanges {
		if !r.Contains(addrAdd(r.Addr(), n)) {
			return fmt.Errorf("cluster network %s is too small for %d probe pods", r, n)
		}
	}
	return nil
}

// mayHoldPod reports whether an ipBlock may hold a probe pod's address:
// it overlaps a pod range that no exception covers whole.
func (w *world) mayHoldPod(b *netpol.IPBlock) bool {
	return slices.ContainsFunc(w.podRanges, func(n netip.Prefix) bool {
		return b.CIDR.Overlaps(n) && !slices.ContainsFunc(b.Except, func(e netip.Prefix) bool {
			return e.Bits() <= n.Bits() && e.Contains(n.Addr())
		})
	})
}

// holdsSomePods reports whether n holds some of the addresses pods may get
// but not all of them: whether a probe pod's address is in n depends on
// the address.
func (w *world) holdsSomePods(n netip.Prefix) bool {
	return slices.ContainsFunc(w.podRanges, func(r netip.Prefix) bool {
		return n.Overlaps(r) && !(n.Bits() <= r.Bits() && n.Contains(r.Addr()))
	})
}

// hypotheticalPod is a running pod of pp's identity, with the n-th
// address of each range.
func (w *world) hypotheticalPod(pp *probePod, probeLabels map[string]string, n int) corev1.Pod {
	id := pp.id
	lbls := maps.Clone(id.Labels)
	if lbls == nil {
		lbls = map[string]string{}
	}
	maps.Copy(lbls, probeLabels)
	c := corev1.Container{Name: "probe"}
	for _, np := range id.NamedPorts {
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: np.Name, ContainerPort: np.Port, Protocol: np.Protocol})
	}
	var ips []corev1.PodIP
	for _, r := range w.addrRanges {
		ips = append(ips, corev1.PodIP{IP: addrAdd(r.Addr(), n).String()})
	}
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: id.Namespace, Name: pp.name, Labels: lbls},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{c}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ips[0].IP, PodIPs: ips},
	}
}

// addrAdd returns a + n.
func addrAdd(a netip.Addr, n int) netip.Addr {
	b := a.As16()
	carry := uint(n)
	for i := 15; i >= 0 && carry > 0; i-- {
		sum := uint(b[i]) + carry&0xff
		b[i] = byte(sum)
		carry = carry>>8 + sum>>8
	}
	out := netip.AddrFrom16(b)
	if a.Is4() {
		return out.Unmap()
	}
	return out
}

// policyObjects turns compiled policies back into objects for netpol.New.
func policyObjects(policies []*netpol.Policy) []networkingv1.NetworkPolicy {
	out := make([]networkingv1.NetworkPolicy, len(policies))
	for i, p := range policies {
		out[i] = networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name},
			Spec:       *p.Spec.DeepCopy(),
		}
	}
	return out
}

// role returns the server pods in scope, or the client pods.
func (w *world) role(server bool) []*probePod {
	if server {
		return w.servers
	}
	return w.clients
}

package netpol

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
)

// Direction is the side of a connection a policy rule governs.
type Direction int

// Directions, usable as indexes.
const (
	Ingress Direction = iota
	Egress
)

var directions = [...]Direction{Ingress, Egress}

// String returns "Ingress" or "Egress", as in policyTypes.
func (d Direction) String() string {
	if d == Egress {
		return "Egress"
	}
	return "Ingress"
}

// MarshalText renders the direction as in policyTypes.
func (d Direction) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// field is the name of the rules' field in the policy spec.
func (d Direction) field() string {
	if d == Egress {
		return "egress"
	}
	return "ingress"
}

// word introduces the endpoint whose policies govern the direction, as in
// "egress from x/a".
func (d Direction) word() string {
	if d == Egress {
		return "egress from"
	}
	return "ingress to"
}

// peersField is the name of the peers' field in a rule.
func (d Direction) peersField() string {
	if d == Egress {
		return "to"
	}
	return "from"
}

// Pod is a pod as the engine sees it. Its fields must not be modified.
type Pod struct {
	Namespace string
	Name      string
	Labels    map[string]string
	// IPs are status.podIPs (or status.podIP), the primary first.
	IPs []netip.Addr
	// HostIPs are the addresses of the pod's node (status.hostIPs).
	HostIPs []netip.Addr
	// HostNetwork pods are not subject to policies and are treated as
	// their node's IP.
	HostNetwork bool
	// Ports are the containers' ports, protocol defaulted to TCP.
	Ports []corev1.ContainerPort
	// Skipped says why the pod takes no part in evaluation (it has no IP,
	// or it has terminated); empty for pods that do.
	Skipped string

	// index is the pod's position in pod sets, or -1 for pods that
	// selectors never match (hostNetwork and skipped pods).
	index int
	// policies lists, per direction, the policies that select the pod and
	// apply to that direction, in policy order.
	policies [2][]*Policy
	// cluster are the cluster-wide policies whose subject selects the pod,
	// nil when there are none.
	cluster *podCluster
}

// podCluster lists, per tier and direction, the cluster-wide policies whose
// subject selects a pod and that have rules of that direction, in
// evaluation order.
type podCluster [2][2][]*clusterPolicy

// Key returns "namespace/name".
func (p *Pod) Key() string { return p.Namespace + "/" + p.Name }

// Policies returns the policies that select the pod and govern direction d.
func (p *Pod) Policies(d Direction) []*Policy { return p.policies[d] }

// IP returns the pod's address of the given family.
func (p *Pod) IP(family corev1.IPFamily) (netip.Addr, bool) {
	for _, ip := range p.IPs {
		if familyOf(ip) == family {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

// selectable reports whether pod and namespace selectors can match the pod.
func (p *Pod) selectable() bool { return p.index >= 0 }

// NamedPort resolves a container port name for a protocol.
func (p *Pod) NamedPort(name string, protocol corev1.Protocol) (int32, bool) {
	for _, cp := range p.Ports {
		if cp.Name == name && cp.Protocol == protocol {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

func familyOf(ip netip.Addr) corev1.IPFamily {
	if ip.Is4() {
		return corev1.IPv4Protocol
	}
	return corev1.IPv6Protocol
}

// newPod converts a client-go pod; a pod that cannot take part is returned
// with Skipped set.
func newPod(in *corev1.Pod) *Pod {
	p := &Pod{
		Namespace:   in.Namespace,
		Name:        in.Name,
		Labels:      in.Labels,
		HostNetwork: in.Spec.HostNetwork,
		Ports:       containerPorts(in),
		index:       -1,
	}
	podIPs := make([]string, 0, len(in.Status.PodIPs))
	for _, ip := range in.Status.PodIPs {
		podIPs = append(podIPs, ip.IP)
	}
	hostIPs := make([]string, 0, len(in.Status.HostIPs))
	for _, ip := range in.Status.HostIPs {
		hostIPs = append(hostIPs, ip.IP)
	}
	ips, err := parseIPs(podIPs, in.Status.PodIP)
	nodeIPs, nodeErr := parseIPs(hostIPs, in.Status.HostIP)
	switch {
	case in.Status.Phase == corev1.PodSucceeded || in.Status.Phase == corev1.PodFailed:
		p.Skipped = fmt.Sprintf("has terminated (phase %s), so it holds no IP", in.Status.Phase)
	case err != nil:
		p.Skipped = "status.podIPs: " + err.Error()
	case len(ips) == 0:
		p.Skipped = "has no IP yet (status.podIP is empty)"
	case nodeErr != nil:
		p.Skipped = "status.hostIPs: " + nodeErr.Error()
	default:
		p.IPs, p.HostIPs = ips, nodeIPs
	}
	return p
}

// parseIPs reads a status's IP list, falling back to its singular field.
func parseIPs(list []string, single string) ([]netip.Addr, error) {
	if len(list) == 0 && single != "" {
		list = []string{single}
	}
	ips := make([]netip.Addr, 0, len(list))
	for _, s := range list {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address", s)
		}
		ips = append(ips, ip.Unmap())
	}
	return ips, nil
}

func containerPorts(in *corev1.Pod) []corev1.ContainerPort {
	var ports []corev1.ContainerPort
	for _, c := range in.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Protocol == "" {
				cp.Protocol = corev1.ProtocolTCP
			}
			ports = append(ports, cp)
		}
	}
	return ports
}

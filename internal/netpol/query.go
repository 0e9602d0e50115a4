package netpol

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Endpoint names one end of a connection: a pod, or an IP address (inside
// the cluster or not).
type Endpoint struct {
	Namespace, Name string
	// IP is used when Name is empty.
	IP netip.Addr
}

// PodEndpoint names a pod.
func PodEndpoint(namespace, name string) Endpoint {
	return Endpoint{Namespace: namespace, Name: name}
}

// IPEndpoint names an address.
func IPEndpoint(ip netip.Addr) Endpoint { return Endpoint{IP: ip} }

// ParseEndpoint reads "namespace/pod" or an IP address.
func ParseEndpoint(s string) (Endpoint, error) {
	if ip, err := netip.ParseAddr(s); err == nil {
		if ip.Zone() != "" {
			return Endpoint{}, fmt.Errorf("%q: an address with a zone cannot be a peer", s)
		}
		return IPEndpoint(ip), nil
	}
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return Endpoint{}, fmt.Errorf("%q is neither namespace/pod nor an IP address", s)
	}
	return PodEndpoint(ns, name), nil
}

func (e Endpoint) String() string {
	if e.Name != "" {
		return e.Namespace + "/" + e.Name
	}
	return e.IP.String()
}

// Query is one connection to judge.
type Query struct {
	From, To Endpoint
	Port     int32
	// Protocol is TCP, UDP or SCTP; empty means TCP.
	Protocol corev1.Protocol
	// Family is the connection's IP family. Empty means the family of the
	// IP given as an endpoint, or else that of the destination pod's
	// primary IP if the source has one of it, or else the other.
	Family corev1.IPFamily
}

// Check judges a connection and explains the verdict. An address that is a
// pod's IP stands for that pod. At least one end must be a pod. An address
// outside the cluster as source has no egress policies; as destination, no
// ingress policies.
func (e *Engine) Check(q Query) (Verdict, error) {
	c, err := e.conn(q)
	if err != nil {
		return Verdict{}, err
	}
	return c.verdict(), nil
}

func (e *Engine) conn(q Query) (*conn, error) {
	c := &conn{port: q.Port, protocol: cmp.Or(q.Protocol, corev1.ProtocolTCP)}
	if err := checkPort(c.port, c.protocol); err != nil {
		return nil, err
	}
	var err error
	if c.src, err = e.resolve(q.From); err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	if c.dst, err = e.resolve(q.To); err != nil {
		return nil, fmt.Errorf("destination: %w", err)
	}
	if c.src.pod == nil && c.dst.pod == nil {
		return nil, fmt.Errorf("neither %s nor %s is a pod: NetworkPolicies only govern pods", q.From, q.To)
	}
	family, err := connFamily(q.Family, c.src, c.dst)
	if err != nil {
		return nil, err
	}
	if err := c.src.address(family); err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	if err := c.dst.address(family); err != nil {
		return nil, fmt.Errorf("destination: %w", err)
	}
	return c, nil
}

func checkPort(port int32, protocol corev1.Protocol) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("port %d is not between 1 and 65535", port)
	}
	if !validProtocol(protocol) {
		return fmt.Errorf("protocol %q is not one of %s", protocol, strings.Join(supportedProtocols, ", "))
	}
	return nil
}

// resolve finds a pod by name, or by IP; an IP no pod holds stays an
// address, with its IP set.
func (e *Engine) resolve(ep Endpoint) (endpoint, error) {
	if ep.Name == "" {
		if !ep.IP.IsValid() {
			return endpoint{}, errors.New("an endpoint needs a pod or an IP address")
		}
		ip := ep.IP.Unmap()
		return endpoint{pod: e.byIP[ip], ip: ip}, nil
	}
	p := e.byKey[ep.Namespace+"/"+ep.Name]
	switch {
	case p == nil:
		return endpoint{}, fmt.Errorf("pod %s not found", ep)
	case p.Skipped != "":
		return endpoint{}, fmt.Errorf("pod %s is skipped: it %s", ep, p.Skipped)
	}
	return endpoint{pod: p}, nil
}

// connFamily settles the connection's IP family: the one asked for, that of
// the addresses given, or the pods' common family, the destination's
// primary one first.
func connFamily(want corev1.IPFamily, src, dst endpoint) (corev1.IPFamily, error) {
	if want != "" && want != corev1.IPv4Protocol && want != corev1.IPv6Protocol {
		return "", fmt.Errorf("IP family %q is not IPv4 or IPv6", want)
	}
	for _, ep := range []endpoint{dst, src} {
		if !ep.ip.IsValid() {
			continue
		}
		if f := familyOf(ep.ip); want != "" && f != want {
			return "", fmt.Errorf("%s is not an %s address", ep.ip, want)
		}
		want = familyOf(ep.ip)
	}
	if want != "" {
		return want, nil
	}
	if f, ok := commonFamily(src.pod, dst.pod); ok {
		return f, nil
	}
	return "", fmt.Errorf("pods %s and %s have no IP family in common", src.pod.Key(), dst.pod.Key())
}

// commonFamily is the family of dst's first IP that src also has one of:
// the destination's primary family when possible.
func commonFamily(src, dst *Pod) (corev1.IPFamily, bool) {
	for _, ip := range dst.IPs {
		if _, ok := src.IP(familyOf(ip)); ok {
			return familyOf(ip), true
		}
	}
	return "", false
}

// address sets a pod endpoint's IP for the family.
func (ep *endpoint) address(family corev1.IPFamily) error {
	if ep.ip.IsValid() {
		return nil
	}
	ip, ok := ep.pod.IP(family)
	if !ok {
		return fmt.Errorf("pod %s has no %s address", ep.pod.Key(), family)
	}
	ep.ip = ip
	return nil
}

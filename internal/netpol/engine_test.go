package netpol

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func keys[T interface{ Key() string }](items []T) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.Key())
	}
	return out
}

// TestCompiledPolicies covers what a case generator reads: which pods a
// policy selects, which pods each peer matches, and what ports resolve to.
func TestCompiledPolicies(t *testing.T) {
	e := newStdEngine(t, `
metadata: {name: web, namespace: x}
spec:
  podSelector: {}
  ingress:
  - from: [{namespaceSelector: {}}, {ipBlock: {cidr: 10.0.0.0/16, except: [10.0.2.0/24]}}, {podSelector: {matchLabels: {pod: b}}}]
    ports: [{port: serve-81-tcp}, {protocol: UDP}, {port: 8000, endPort: 8080}]
  egress: [{}]
  policyTypes: [Ingress]`, hostNetworkPod("x", "h", "192.168.0.3"))

	if got := keys(e.Policies()); !cmp.Equal(got, []string{"x/web"}) {
		t.Fatalf("policies = %v", got)
	}
	p := e.Policies()[0]
	if diff := cmp.Diff([]string{"x/a", "x/b", "x/c"}, keys(p.Selected())); diff != "" {
		t.Errorf("selected (-want +got):\n%s", diff)
	}
	if !p.Applies(Ingress) || p.Applies(Egress) || p.Rules(Egress) != nil {
		t.Errorf("Applies(Ingress)=%v Applies(Egress)=%v Rules(Egress)=%v, want the egress rules ignored", p.Applies(Ingress), p.Applies(Egress), p.Rules(Egress))
	}
	r := p.Rules(Ingress)[0]
	if r.Path() != "spec.ingress[0]" || r.Policy != p {
		t.Errorf("rule path %q, policy %p", r.Path(), r.Policy)
	}
	all := []string{"x/a", "x/b", "x/c", "y/a", "y/b", "y/c", "z/a", "z/b", "z/c"}
	if diff := cmp.Diff(all, keys(r.Peers[0].Pods())); diff != "" {
		t.Errorf("namespaceSelector {} pods (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"x/b"}, keys(r.Peers[2].Pods())); diff != "" {
		t.Errorf("podSelector pods (-want +got):\n%s", diff)
	}
	b := r.Peers[1].IPBlock
	if r.Peers[1].Pods() != nil || b == nil || !b.Contains(netip.MustParseAddr("10.0.1.1")) || b.Contains(netip.MustParseAddr("10.0.2.1")) || b.Excepts(netip.MustParseAddr("10.0.2.1")) != 0 {
		t.Errorf("ipBlock peer = %+v", r.Peers[1])
	}

	xa := e.Pod("x", "a")
	type rng struct {
		First, Last int32
		OK          bool
	}
	var got []rng
	for _, port := range r.Ports {
		first, last, ok := port.Range(xa)
		got = append(got, rng{first, last, ok})
	}
	first, last, ok := r.Ports[0].Range(nil)
	got = append(got, rng{first, last, ok})
	want := []rng{{81, 81, true}, {1, 65535, true}, {8000, 8080, true}, {0, 0, false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("port ranges (-want +got):\n%s", diff)
	}
	if idx, ok := r.MatchPort(81, corev1.ProtocolUDP, xa); idx != 1 || !ok {
		t.Errorf("MatchPort(81/UDP) = %d, %v; want 1, true", idx, ok)
	}
	if diff := cmp.Diff([]string{"x/web"}, keys(xa.Policies(Ingress))); diff != "" {
		t.Errorf("x/a ingress policies (-want +got):\n%s", diff)
	}
	if h := e.Pod("x", "h"); len(h.Policies(Ingress)) != 0 {
		t.Errorf("hostNetwork pod is selected by %v", keys(h.Policies(Ingress)))
	}
}

func TestWarnings(t *testing.T) {
	pending := testPod("w", "pending", "", "", nil)
	twin := testPod("x", "twin", "10.0.1.1", "192.168.0.1", nil)
	e := newStdEngine(t, `
metadata: {name: ignored, namespace: x}
spec: {podSelector: {}, policyTypes: [Egress], ingress: [{}], egress: [{}]}`, pending, twin)
	want := []string{
		"namespace w (of pod w/pending) is not among the inputs: assuming it has no labels but kubernetes.io/metadata.name",
		"pods x/a and x/twin both have IP 10.0.1.1: the address is taken to be x/a's",
		"NetworkPolicy x/ignored has ingress rules but policyTypes [Egress] leaves Ingress out: they are ignored",
	}
	if diff := cmp.Diff(want, e.Warnings()); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestMatrix(t *testing.T) {
	e := newStdEngine(t, `
metadata: {name: deny, namespace: x}
spec: {podSelector: {matchLabels: {pod: a}}}`, testPod("y", "pending", "", "", nil))
	m, err := e.Matrix(MatrixOptions{Namespaces: []string{"x", "y"}, Ports: []int32{80, 81}, Protocols: []corev1.Protocol{tcp, udp}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"x/a", "x/b", "x/c", "y/a", "y/b", "y/c"}, m.Pods); diff != "" {
		t.Errorf("pods (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]SkippedPod{{Pod: "y/pending", Reason: "has no IP yet (status.podIP is empty)"}}, m.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	var order []string
	for _, tab := range m.Tables {
		order = append(order, fmt.Sprintf("%d/%s", tab.Port, tab.Protocol))
		if tab.Allowed != 25 || tab.Denied != 5 || tab.Unspecified != 6 {
			t.Errorf("%d/%s counts = %d/%d/%d, want 25/5/6", tab.Port, tab.Protocol, tab.Allowed, tab.Denied, tab.Unspecified)
		}
	}
	if diff := cmp.Diff([]string{"80/TCP", "81/TCP", "80/UDP", "81/UDP"}, order); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
	var b strings.Builder
	if err := m.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `port 80/TCP: 25 allowed, 5 denied, 6 unspecified (rows: from, columns: to; . allow, X deny, - unspecified)
-   x/a x/b x/c y/a y/b y/c
x/a -   .   .   .   .   .
x/b X   -   .   .   .   .
x/c X   .   -   .   .   .
y/a X   .   .   -   .   .
y/b X   .   .   .   -   .
y/c X   .   .   .   .   -
`
	if got, _, _ := strings.Cut(b.String(), "\n\n"); got+"\n" != want {
		t.Errorf("first table:\n%s\nwant:\n%s", got, want)
	}
	if !strings.HasSuffix(b.String(), "\nskipped y/pending: it has no IP yet (status.podIP is empty)\n") {
		t.Errorf("text does not end with the skipped pod:\n%s", b.String())
	}
}

// TestMatrixMixedFamilies: a pair without a common IP family gets no
// verdict; the destination's primary IP sets the family.
func TestMatrixMixedFamilies(t *testing.T) {
	six := testPod("w", "six", "fd00::1", "fd00::ff", nil)
	dual := testPod("w", "dual", "fd00::2", "fd00::ff", nil)
	dual.Status.PodIPs = append(dual.Status.PodIPs, corev1.PodIP{IP: "10.0.9.2"})
	e := newStdEngine(t, "", six, dual)
	m, err := e.Matrix(MatrixOptions{Namespaces: []string{"w", "x"}, Ports: []int32{80}})
	if err != nil {
		t.Fatal(err)
	}
	// w/six and the IPv4-only pods have no common family; w/dual is
	// reached over IPv6 from w/six and over IPv4 from the others.
	want := `w/dual - . . . .
w/six . - - - -
x/a . - - . .
x/b . - . - .
x/c . - . . -
`
	if diff := cmp.Diff(want, render(m, &m.Tables[0])); diff != "" {
		t.Errorf("truth table (-want +got):\n%s", diff)
	}
}

func TestMatrixErrors(t *testing.T) {
	e := newStdEngine(t, "")
	tests := map[string]struct {
		opts MatrixOptions
		want string
	}{
		"no port":           {MatrixOptions{}, "a matrix needs at least one port"},
		"bad port":          {MatrixOptions{Ports: []int32{80, 0}}, "port 0 is not between 1 and 65535"},
		"bad protocol":      {MatrixOptions{Ports: []int32{80}, Protocols: []corev1.Protocol{"ICMP"}}, `protocol "ICMP" is not one of TCP, UDP, SCTP`},
		"unknown namespace": {MatrixOptions{Ports: []int32{80}, Namespaces: []string{"x", "nope"}}, "no pod in namespace nope"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := e.Matrix(tc.opts)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

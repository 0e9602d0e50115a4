package netpol

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

const webPolicies = `
metadata: {name: web, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {ns: z}}}]
    ports: [{port: serve-80-tcp}]
  - from:
    - namespaceSelector: {matchLabels: {ns: "y"}}
      podSelector: {matchLabels: {pod: b}}
    - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.2.0/24]}
    ports: [{port: 80, endPort: 90}]
---
metadata: {name: deny, namespace: x}
spec: {podSelector: {}}
`

func ip(s string) Endpoint { return IPEndpoint(netip.MustParseAddr(s)) }

func pod(s string) Endpoint {
	ns, name, _ := strings.Cut(s, "/")
	return PodEndpoint(ns, name)
}

func intp(i int) *int { return &i }

func TestCheckExplainsEveryRule(t *testing.T) {
	e := newStdEngine(t, webPolicies)
	got, err := e.Check(Query{From: pod("y/b"), To: pod("x/a"), Port: 80})
	if err != nil {
		t.Fatal(err)
	}
	want := Verdict{
		Result:   Allow,
		From:     EndpointInfo{Pod: "y/b", IP: "10.0.2.2"},
		To:       EndpointInfo{Pod: "x/a", IP: "10.0.1.1"},
		Port:     80,
		Protocol: corev1.ProtocolTCP,
		Egress: DirectionVerdict{
			Direction: Egress, Result: Allow, Endpoint: "y/b",
			Reason: "no NetworkPolicy selects y/b for egress",
		},
		Ingress: DirectionVerdict{
			Direction: Ingress, Result: Allow, Endpoint: "x/a", Isolated: true,
			Policies: []PolicyResult{
				{Policy: "x/deny", Rules: []RuleResult{}},
				{Policy: "x/web", Rules: []RuleResult{
					{Rule: 0, Detail: "no peer matches y/b"},
					{Rule: 1, Allows: true, Peer: intp(0), Port: intp(0), Detail: "allows it: from[0] pods {pod=b} in namespaces {ns=y}, ports[0] 80-90/TCP"},
				}},
			},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("verdict mismatch (-want +got):\n%s", diff)
	}
}

func TestVerdictText(t *testing.T) {
	e := newStdEngine(t, webPolicies)
	v, err := e.Check(Query{From: pod("y/c"), To: pod("x/a"), Port: 81})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := v.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `DENY
y/c (10.0.2.3) -> x/a (10.0.1.1), port 81/TCP
egress from y/c: Allow
  not isolated: no NetworkPolicy selects y/c for egress
ingress to x/a: Deny
  isolated by x/deny, x/web
  x/deny: no ingress rules, so it allows nothing
  x/web ingress[0]: no port matches 81/TCP (ports: serve-80-tcp/TCP (80 on x/a))
  x/web ingress[1]: no peer matches y/c: 10.0.2.3 is in from[1] ipBlock 10.0.0.0/16 except 10.0.2.0/24, but excepted
  no rule allows the connection
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("text mismatch (-want +got):\n%s", diff)
	}
}

// TestCheck covers addresses, loopback, caveats and IP families through the
// parts of the verdict each case is about.
func TestCheck(t *testing.T) {
	dualStack := testPod("v", "d", "10.0.9.1", "192.168.0.9", map[string]string{"pod": "d"})
	dualStack.Status.PodIPs = append(dualStack.Status.PodIPs, corev1.PodIP{IP: "fd00::9:1"})
	dualStackPeer := testPod("v", "e", "10.0.9.2", "192.168.0.9", map[string]string{"pod": "e"})
	dualStackPeer.Status.PodIPs = append(dualStackPeer.Status.PodIPs, corev1.PodIP{IP: "fd00::9:2"})
	sameNode := hostNetworkPod("y", "h1", "192.168.0.2")
	sameNode2 := hostNetworkPod("y", "h2", "192.168.0.2")
	sameNode2.Status.PodIPs = nil // falls back to status.podIP

	const policies = `
metadata: {name: egress, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 203.0.113.0/24}}, {ipBlock: {cidr: 10.0.2.0/24}}]
    ports: [{port: 80}, {port: serve-81-tcp}]
  - to: [{podSelector: {matchLabels: {pod: b}}}]
---
metadata: {name: ingress, namespace: z}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from: [{ipBlock: {cidr: 0.0.0.0/0}}]
    ports: [{port: 80}]
  - from: [{ipBlock: {cidr: 10.0.0.0/8}}, {podSelector: {matchLabels: {pod: b}}}]
    ports: [{port: 81}]
---
metadata: {name: v4-only, namespace: v}
spec:
  podSelector: {matchLabels: {pod: d}}
  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}]}]
`
	tests := map[string]struct {
		q            Query
		want         Result
		reason       string // substring of Verdict.Reason
		egress       string // substring of the egress side's reason or first rule detail
		ingress      string // likewise for ingress
		caveats      int
		from, to     string // resolved endpoints, as EndpointInfo.String
		ingressRules int    // rules listed for ingress (0 when not isolated)
	}{
		"an address outside the cluster as source: only the destination's ingress applies": {
			q:    Query{From: ip("203.0.113.7"), To: pod("z/a"), Port: 80},
			want: Allow, egress: "203.0.113.7 is not a pod", ingress: "allows it: from[0] ipBlock 0.0.0.0/0",
			from: "203.0.113.7", to: "z/a (10.0.3.1)", ingressRules: 2,
		},
		"an address outside the cluster as source is denied by the destination's ingress": {
			q:    Query{From: ip("203.0.113.7"), To: pod("z/a"), Port: 81},
			want: Deny, ingress: "no peer matches 203.0.113.7", ingressRules: 2,
			from: "203.0.113.7", to: "z/a (10.0.3.1)",
		},
		"an address outside the cluster as destination: only the source's egress applies": {
			q:    Query{From: pod("x/a"), To: ip("203.0.113.7"), Port: 80},
			want: Allow, ingress: "203.0.113.7 is not a pod", egress: "allows it: to[0] ipBlock 203.0.113.0/24, ports[0] 80/TCP",
			from: "x/a (10.0.1.1)", to: "203.0.113.7",
		},
		"named ports never match an address outside the cluster": {
			q:    Query{From: pod("x/a"), To: ip("203.0.113.7"), Port: 81},
			want: Deny, egress: "serve-81-tcp/TCP (named ports only match pods on the pod network)",
			from: "x/a (10.0.1.1)", to: "203.0.113.7",
		},
		"an address that is a pod's IP stands for the pod": {
			q:    Query{From: ip("10.0.2.2"), To: ip("10.0.3.1"), Port: 81},
			want: Allow, from: "y/b (10.0.2.2)", to: "z/a (10.0.3.1)", ingress: "allows it: from[0] ipBlock 10.0.0.0/8", caveats: 1, ingressRules: 2,
		},
		"a pod-to-pod allow decided only by an ipBlock carries a caveat": {
			q:    Query{From: pod("x/a"), To: pod("y/a"), Port: 80},
			want: Allow, egress: "allows it: to[1] ipBlock 10.0.2.0/24", caveats: 1,
			from: "x/a (10.0.1.1)", to: "y/a (10.0.2.1)",
		},
		"no caveat when a selector peer allows too": {
			q:    Query{From: pod("z/b"), To: pod("z/a"), Port: 81},
			want: Allow, ingress: "allows it: from[1] pods {pod=b} in namespace z", ingressRules: 2,
			from: "z/b (10.0.3.2)", to: "z/a (10.0.3.1)",
		},
		"no caveat for an address outside the cluster": {
			q:    Query{From: ip("10.9.9.9"), To: pod("z/a"), Port: 81},
			want: Allow, ingress: "allows it: from[0] ipBlock 10.0.0.0/8", ingressRules: 2,
			from: "10.9.9.9", to: "z/a (10.0.3.1)",
		},
		"named port resolved on the destination pod for egress": {
			q:    Query{From: pod("x/a"), To: pod("y/c"), Port: 81},
			want: Allow, egress: "ports[1] serve-81-tcp/TCP (81 on y/c)", caveats: 1,
			from: "x/a (10.0.1.1)", to: "y/c (10.0.2.3)",
		},
		"a pod to itself is unspecified": {
			q:    Query{From: pod("x/a"), To: pod("x/a"), Port: 80},
			want: Unspecified, reason: "a pod connecting to itself", egress: "no peer matches x/a",
			from: "x/a (10.0.1.1)", to: "x/a (10.0.1.1)",
		},
		"a pod's own node is unspecified": {
			q:    Query{From: ip("192.168.0.1"), To: pod("z/a"), Port: 81},
			want: Unspecified, reason: "192.168.0.1 is the node of z/a", ingressRules: 2,
			from: "192.168.0.1", to: "z/a (10.0.3.1)",
		},
		"a hostNetwork pod on the destination's node is unspecified": {
			q:    Query{From: pod("y/h1"), To: pod("z/b"), Port: 80},
			want: Unspecified, reason: "is the node of z/b", egress: "y/h1 uses the host network",
			from: "y/h1 (192.168.0.2)", to: "z/b (10.0.3.2)",
		},
		"hostNetwork pods sharing a node address are unspecified": {
			q:    Query{From: pod("y/h1"), To: pod("y/h2"), Port: 80},
			want: Unspecified, reason: "share the address 192.168.0.2",
			from: "y/h1 (192.168.0.2)", to: "y/h2 (192.168.0.2)",
		},
		"a hostNetwork pod elsewhere is its node's IP": {
			q:    Query{From: pod("y/h1"), To: pod("z/a"), Port: 80},
			want: Allow, ingress: "allows it: from[0] ipBlock 0.0.0.0/0", caveats: 1, ingressRules: 2,
			from: "y/h1 (192.168.0.2)", to: "z/a (10.0.3.1)",
		},
		"dual stack: the primary family by default": {
			q:    Query{From: pod("v/e"), To: pod("v/d"), Port: 80},
			want: Allow, caveats: 1, ingressRules: 1,
			from: "v/e (10.0.9.2)", to: "v/d (10.0.9.1)",
		},
		"dual stack: an IPv4 ipBlock does not match IPv6": {
			q:    Query{From: pod("v/e"), To: pod("v/d"), Port: 80, Family: corev1.IPv6Protocol},
			want: Deny, ingress: "no peer matches v/e", ingressRules: 1,
			from: "v/e (fd00::9:2)", to: "v/d (fd00::9:1)",
		},
		"the family of an address given": {
			q:    Query{From: ip("fd00::1"), To: pod("v/d"), Port: 80},
			want: Deny, ingressRules: 1,
			from: "fd00::1", to: "v/d (fd00::9:1)",
		},
	}
	e := newStdEngine(t, policies, dualStack, dualStackPeer, sameNode, sameNode2)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v, err := e.Check(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if v.Result != tc.want {
				t.Errorf("result = %s, want %s", v.Result, tc.want)
			}
			if !strings.Contains(v.Reason, tc.reason) {
				t.Errorf("reason = %q, want it to contain %q", v.Reason, tc.reason)
			}
			if got := explanation(&v.Egress); !strings.Contains(got, tc.egress) {
				t.Errorf("egress explanation = %q, want it to contain %q", got, tc.egress)
			}
			if got := explanation(&v.Ingress); !strings.Contains(got, tc.ingress) {
				t.Errorf("ingress explanation = %q, want it to contain %q", got, tc.ingress)
			}
			if got := len(v.Egress.Caveats) + len(v.Ingress.Caveats); got != tc.caveats {
				t.Errorf("caveats = %q %q, want %d", v.Egress.Caveats, v.Ingress.Caveats, tc.caveats)
			}
			if v.From.String() != tc.from || v.To.String() != tc.to {
				t.Errorf("endpoints = %s -> %s, want %s -> %s", v.From, v.To, tc.from, tc.to)
			}
			var rules int
			for _, p := range v.Ingress.Policies {
				rules += len(p.Rules)
			}
			if rules != tc.ingressRules {
				t.Errorf("ingress rules listed = %d, want %d", rules, tc.ingressRules)
			}
		})
	}
}

// explanation is a direction's reason and rule details, one per line.
func explanation(d *DirectionVerdict) string {
	lines := []string{d.Reason}
	for _, p := range d.Policies {
		for _, r := range p.Rules {
			lines = append(lines, r.Detail)
		}
	}
	return strings.Join(lines, "\n")
}

func TestCheckErrors(t *testing.T) {
	skipped := testPod("x", "pending", "", "", nil)
	done := testPod("x", "done", "10.0.1.9", "192.168.0.1", nil)
	done.Status.Phase = corev1.PodSucceeded
	e := newStdEngine(t, "", skipped, done, testPod("w", "six", "fd00::1", "", nil))
	tests := map[string]struct {
		q    Query
		want string
	}{
		"unknown pod":             {Query{From: pod("x/nope"), To: pod("x/a"), Port: 80}, "source: pod x/nope not found"},
		"pod without an IP":       {Query{From: pod("x/a"), To: pod("x/pending"), Port: 80}, "destination: pod x/pending is skipped: it has no IP yet"},
		"terminated pod":          {Query{From: pod("x/done"), To: pod("x/a"), Port: 80}, "source: pod x/done is skipped: it has terminated (phase Succeeded)"},
		"two addresses":           {Query{From: ip("1.2.3.4"), To: ip("5.6.7.8"), Port: 80}, "neither 1.2.3.4 nor 5.6.7.8 is a pod"},
		"empty endpoint":          {Query{From: Endpoint{}, To: pod("x/a"), Port: 80}, "source: an endpoint needs a pod or an IP address"},
		"port 0":                  {Query{From: pod("x/a"), To: pod("x/b"), Port: 0}, "port 0 is not between 1 and 65535"},
		"port too high":           {Query{From: pod("x/a"), To: pod("x/b"), Port: 65536}, "port 65536 is not between 1 and 65535"},
		"unknown protocol":        {Query{From: pod("x/a"), To: pod("x/b"), Port: 80, Protocol: "ICMP"}, `protocol "ICMP" is not one of TCP, UDP, SCTP`},
		"unknown family":          {Query{From: pod("x/a"), To: pod("x/b"), Port: 80, Family: "IPv5"}, `IP family "IPv5" is not IPv4 or IPv6`},
		"family and address":      {Query{From: ip("fd00::1"), To: pod("x/b"), Port: 80, Family: corev1.IPv4Protocol}, "fd00::1 is not an IPv4 address"},
		"addresses of two kinds":  {Query{From: ip("fd00::1"), To: ip("10.0.1.1"), Port: 80}, "fd00::1 is not an IPv4 address"},
		"pod without that family": {Query{From: ip("fd00::1"), To: pod("x/b"), Port: 80}, "destination: pod x/b has no IPv6 address"},
		"no common family":        {Query{From: pod("w/six"), To: pod("x/b"), Port: 80}, "pods w/six and x/b have no IP family in common"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := e.Check(tc.q)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseEndpoint(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    Endpoint
		wantErr bool
	}{
		"pod":          {in: "x/a", want: PodEndpoint("x", "a")},
		"IPv4":         {in: "10.0.0.1", want: ip("10.0.0.1")},
		"IPv6":         {in: "fd00::1", want: ip("fd00::1")},
		"no namespace": {in: "a", wantErr: true},
		"empty name":   {in: "x/", wantErr: true},
		"two slashes":  {in: "x/a/b", wantErr: true},
		"zoned IPv6":   {in: "fe80::1%eth0", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseEndpoint(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error = %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("endpoint mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestVerdictJSON: verdicts and directions are words in JSON, and a
// verdict read back equals the one written.
func TestVerdictJSON(t *testing.T) {
	e := newStdEngine(t, `
metadata: {name: egress, namespace: x}
spec: {podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{to: [{podSelector: {matchLabels: {pod: b}}}]}]}`)
	v, err := e.Check(Query{From: pod("x/a"), To: pod("x/c"), Port: 80})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"verdict":"Deny"`, `"egress":{"direction":"Egress","verdict":"Deny"`, `"ingress":{"direction":"Ingress","verdict":"Allow"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
	var back struct {
		Verdict Result `json:"verdict"`
		Ingress struct {
			Verdict Result `json:"verdict"`
		} `json:"ingress"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Verdict != Deny || back.Ingress.Verdict != Allow {
		t.Errorf("read back %+v", back)
	}
	var r Result
	if err := r.UnmarshalText([]byte("Maybe")); err == nil {
		t.Error("UnmarshalText accepted an unknown verdict")
	}
	if s := Result(9).String(); s != "Result(9)" {
		t.Errorf("Result(9) = %q", s)
	}
	var text strings.Builder
	if err := v.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if want := "  x/egress egress[0]: no peer matches x/c\n"; !strings.Contains(text.String(), want) {
		t.Errorf("text lacks %q:\n%s", want, text.String())
	}
}

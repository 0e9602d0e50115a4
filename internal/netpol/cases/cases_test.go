package cases_test

import (
	stdcmp "cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-sec/palisade/internal/netpol"
	"github.com/palisade-sec/palisade/internal/netpol/cases"
)

// equateAddrs compares netip.Addr values with ==.
var equateAddrs = cmpopts.EquateComparable(netip.Addr{})

// TestGenerateScenarios generates cases for upstream-style scenarios over
// the standard cluster, checks every case against probe pods materialised
// as the controller would create them, and looks for specific cases.
func TestGenerateScenarios(t *testing.T) {
	external := []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("192.0.2.200"), netip.MustParseAddr("198.51.100.7")}
	tests := map[string]struct {
		policies string
		opts     cases.Options
		// want lists the cases exactly when exact, else cases among them.
		want      []string
		exact     bool
		wantNotes []string // substrings, each in some note
	}{
		"default deny ingress": {
			policies: `
metadata: {name: deny-ingress, namespace: x}
spec: {podSelector: {}}`,
			exact: true,
			want: []string{
				"Ingress NegativePeer x/{} -> x/{} 80/TCP: Deny",
				"Ingress NegativePeer y/{} -> x/{} 80/TCP: Deny",
			},
		},
		"default deny both directions, two default ports": {
			policies: `
metadata: {name: deny-all, namespace: x}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}`,
			opts:  cases.Options{DefaultPorts: []cases.Port{{Port: 80, Protocol: corev1.ProtocolTCP}, {Port: 53, Protocol: corev1.ProtocolUDP}}},
			exact: true,
			want: []string{
				"Ingress NegativePeer x/{} -> x/{} 80/TCP: Deny",
				"Ingress NegativePeer x/{} -> x/{} 53/UDP: Deny",
				"Ingress NegativePeer y/{} -> x/{} 80/TCP: Deny",
				"Ingress NegativePeer y/{} -> x/{} 53/UDP: Deny",
				"Egress NegativePeer x/{} -> y/{} 80/TCP: Deny",
				"Egress NegativePeer x/{} -> y/{} 53/UDP: Deny",
			},
		},
		"allow from a namespace selector": {
			policies: `
metadata: {name: allow-from-y, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]}]`,
			exact: true,
			want: []string{
				"Ingress Positive y/{pod=a} -> x/{pod=a} 80/TCP: Allow",
				"Ingress NegativePeer x/{pod=b} -> x/{pod=a} 80/TCP: Deny",
				"Ingress NegativePeer z/{pod=a} -> x/{pod=a} 80/TCP: Deny",
			},
		},
		"pod selector AND namespace selector, one port": {
			policies: `
metadata: {name: allow-yb, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {ns: "y"}}, podSelector: {matchLabels: {pod: b}}}]
    ports: [{port: 80}]`,
			exact: true,
			want: []string{
				"Ingress Positive y/{pod=b} -> x/{pod=a} 80/TCP: Allow",
				"Ingress NegativePort y/{pod=b} -> x/{pod=a} 81/TCP: Deny",
				// pod b, but of x; a pod of y, but not b
				"Ingress NegativePeer x/{pod=b} -> x/{pod=a} 80/TCP: Deny",
				"Ingress NegativePeer y/{pod=a} -> x/{pod=a} 80/TCP: Deny",
			},
		},
		"named port resolves on the destination": {
			policies: `
metadata: {name: allow-81-udp, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{ports: [{port: serve-81-udp, protocol: UDP}]}]`,
			exact: true,
			want: []string{
				"Ingress Positive x/{pod=b} -> x/{pod=a} 81/UDP: Allow",
				"Ingress NegativePort x/{pod=b} -> x/{pod=a} 82/UDP: Deny",
			},
		},
		"named port on a made-up destination": {
			policies: `
metadata: {name: web, namespace: z}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {}}], ports: [{port: http}]}]`,
			want: []string{
				// the pods carry app labels, which now matter
				"Ingress Positive z/{app=demo-a} -> z/{app=web} 8000/TCP: Allow",
				"Ingress NegativePort z/{app=demo-a} -> z/{app=web} 8001/TCP: Deny",
				"Ingress NegativePeer x/{app=demo-a} -> z/{app=web} 8000/TCP: Deny",
			},
		},
		"port range: both ends, and a port outside": {
			policies: `
metadata: {name: range, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{ports: [{port: 8000, endPort: 8080}]}]`,
			exact: true,
			want: []string{
				"Ingress Positive x/{pod=b} -> x/{pod=a} 8000/TCP: Allow",
				"Ingress Positive x/{pod=b} -> x/{pod=a} 8080/TCP: Allow",
				"Ingress NegativePort x/{pod=b} -> x/{pod=a} 7999/TCP: Deny",
			},
		},
		"egress to pods and an ipBlock, through external addresses": {
			policies: `
metadata: {name: egress, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {ns: "y"}}, podSelector: {matchLabels: {pod: b}}}]
    ports: [{port: 80}]
  - to: [{ipBlock: {cidr: 192.0.2.0/24, except: [192.0.2.128/25]}}]
    ports: [{port: 443}]`,
			opts: cases.Options{ExternalAddresses: external},
			want: []string{
				"Egress Positive x/{pod=a} -> y/{pod=b} 80/TCP: Allow",
				"Egress NegativePort x/{pod=a} -> y/{pod=b} 81/TCP: Deny",
				"Egress Positive x/{pod=a} -> 192.0.2.10 443/TCP: Allow",
				"Egress NegativePeer x/{pod=a} -> 192.0.2.200 443/TCP: Deny",
				"Egress NegativePeer x/{pod=a} -> x/{pod=b} 80/TCP: Deny",
			},
		},
		"egress ipBlock without external addresses": {
			policies: `
metadata: {name: egress, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 192.0.2.0/24}}], ports: [{port: 443}]}]`,
			wantNotes: []string{"x/egress spec.egress[0].to[0] (ipBlock 192.0.2.0/24): no external address"},
		},
		"ingress ipBlock: no source outside the cluster, and pod sources depend on addresses": {
			policies: `
metadata: {name: from-pod-network, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{ipBlock: {cidr: 10.244.0.0/16}}]}]`,
			exact: true,
			wantNotes: []string{
				"sources outside the cluster cannot be probe pods",
				"an ipBlock or a cluster-wide networks peer that may hold the probe pods' addresses decides it",
			},
		},
		"egress to everywhere but the cluster: certain when the cluster networks are known": {
			policies: `
metadata: {name: internet-only, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.244.0.0/16]}}]}]`,
			opts: cases.Options{ExternalAddresses: external},
			want: []string{
				"Egress Positive x/{pod=a} -> 192.0.2.10 80/TCP: Allow",
				"Egress NegativePeer x/{pod=a} -> x/{pod=b} 80/TCP: Deny",
			},
		},
		"SCTP is not probed": {
			policies: `
metadata: {name: sctp, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{ports: [{port: 80, protocol: SCTP}, {port: 80, protocol: TCP}]}]`,
			want:      []string{"Ingress Positive x/{pod=b} -> x/{pod=a} 80/TCP: Allow"},
			wantNotes: []string{"x/sctp spec.ingress[0].ports[0] 80/SCTP: SCTP is not probed"},
		},
		"the verdict is the engine's, not the intent: a positive ingress case denied by egress": {
			policies: `
metadata: {name: allow-from-y, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]}]
---
metadata: {name: deny-egress, namespace: "y"}
spec: {podSelector: {}, policyTypes: [Egress]}`,
			want: []string{"Ingress Positive y/{pod=a} -> x/{pod=a} 80/TCP: Deny"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := stdScenario(t, tc.policies)
			if tc.opts.ClusterNetworks == nil {
				tc.opts.ClusterNetworks = clusterNetworks
			}
			plan := s.generate(t, tc.opts)
			checkPlan(t, s, tc.opts, plan)
			got := lines(plan.Cases)
			if tc.exact {
				if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("cases mismatch (-want +got):\n%s\nnotes: %q", diff, plan.Notes)
				}
			} else {
				for _, w := range tc.want {
					if !slices.Contains(got, w) {
						t.Errorf("no case %q among:\n%s\nnotes: %q", w, strings.Join(got, "\n"), plan.Notes)
					}
				}
			}
			for _, w := range tc.wantNotes {
				if !slices.ContainsFunc(plan.Notes, func(n string) bool { return strings.Contains(n, w) }) {
					t.Errorf("no note contains %q: %q", w, plan.Notes)
				}
			}
		})
	}
}

// checkPlan checks properties every plan has: no Unspecified case, names
// unique and stable, every case's expected verdict the one the engine
// gives for probe pods materialised as the controller would (with real
// addresses, whichever they are, and the temporary namespaces created),
// no more than MaxCases cases, the temporary namespaces those the cases
// use (see checkTemporaryNamespaces).
func checkPlan(t *testing.T, s scenario, opts cases.Options, plan *cases.Plan) {
	t.Helper()
	names := map[string]bool{}
	for _, c := range plan.Cases {
		if c.Expected == netpol.Unspecified {
			t.Errorf("case %s is Unspecified", line(c))
		}
		if names[c.Name] {
			t.Errorf("case name %s is used twice", c.Name)
		}
		names[c.Name] = true
		if c.Why == "" {
			t.Errorf("case %s does not say why", line(c))
		}
	}
	if max := stdcmp.Or(opts.MaxCases, cases.DefaultMaxCases); len(plan.Cases) > max {
		t.Errorf("%d cases, more than MaxCases %d", len(plan.Cases), max)
	}
	checkTemporaryNamespaces(t, s, opts, plan)
	namespaces := slices.Clone(s.namespaces)
	for _, tmp := range plan.TemporaryNamespaces {
		lbls := maps.Clone(tmp.Labels)
		if lbls == nil {
			lbls = map[string]string{}
		}
		maps.Copy(lbls, opts.TemporaryNamespaceLabels)
		namespaces = append(namespaces, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tmp.Name, Labels: lbls}})
	}
	for _, base := range materialiseBases(opts) {
		materialise(t, s, namespaces, opts.ProbeLabels, plan.Cases, base)
	}
}

// materialiseBases are where materialised probe pods get addresses: inside
// the cluster networks when they are known, else anywhere.
func materialiseBases(opts cases.Options) []netip.Addr {
	if len(opts.ClusterNetworks) > 0 {
		return []netip.Addr{netip.MustParseAddr("10.244.200.1"), netip.MustParseAddr("10.244.77.1")}
	}
	return []netip.Addr{netip.MustParseAddr("10.244.200.1"), netip.MustParseAddr("172.31.0.1")}
}

// materialise creates a client pod per source identity and a server pod
// per destination identity, next to the scenario's pods (in namespaces,
// the scenario's and the temporary ones), with addresses from base, and
// checks every case's expected verdict with the engine.
func materialise(t *testing.T, s scenario, namespaces []corev1.Namespace, probeLabels map[string]string, cs []cases.Case, base netip.Addr) {
	t.Helper()
	pods := slices.Clone(s.pods)
	names := map[string]string{} // role and identity -> pod name
	podFor := func(role string, id cases.Identity) string {
		key := fmt.Sprintf("%s %s %v", role, id, id.NamedPorts)
		if name, ok := names[key]; ok {
			return name
		}
		name := fmt.Sprintf("probe-%s-%d", role, len(names))
		names[key] = name
		lbls := map[string]string{}
		for k, v := range id.Labels {
			lbls[k] = v
		}
		for k, v := range probeLabels {
			lbls[k] = v
		}
		var ports []corev1.ContainerPort
		for _, np := range id.NamedPorts {
			ports = append(ports, corev1.ContainerPort{Name: np.Name, ContainerPort: np.Port, Protocol: np.Protocol})
		}
		ip := base
		for range len(names) {
			ip = ip.Next()
		}
		pods = append(pods, pod(id.Namespace, name, ip.String(), lbls, ports))
		return name
	}
	type query struct {
		c cases.Case
		q netpol.Query
	}
	var queries []query
	for _, c := range cs {
		q := netpol.Query{From: netpol.PodEndpoint(c.From.Namespace, podFor("client", c.From)), Port: c.Port, Protocol: c.Protocol}
		if c.ToIP.IsValid() {
			q.To = netpol.IPEndpoint(c.ToIP)
		} else {
			q.To = netpol.PodEndpoint(c.To.Namespace, podFor("server", c.To))
		}
		queries = append(queries, query{c, q})
	}
	e, err := netpol.NewWithClusterPolicies(namespaces, pods, s.policies, s.cluster)
	if err != nil {
		t.Fatalf("materialising the probe pods: %v", err)
	}
	for _, q := range queries {
		v, err := e.Check(q.q)
		if err != nil {
			t.Errorf("case %s: %v", line(q.c), err)
			continue
		}
		if v.Result != q.c.Expected {
			t.Errorf("case %s: materialised pods (addresses from %s) get %s\nwhy: %s", line(q.c), base, v.Result, q.c.Why)
		}
	}
}

// TestGenerateAddressUncertainty: with the cluster networks unknown, any
// ipBlock may hold a probe pod's address, so the pod-to-pod cases it could
// decide are left out; once they are known, they are certain.
func TestGenerateAddressUncertainty(t *testing.T) {
	s := stdScenario(t, `
metadata: {name: internet-only, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.244.0.0/16]}}]}]`)
	const podCase = "Egress NegativePeer x/{pod=a} -> x/{pod=b} 80/TCP: Deny"
	tests := map[string]struct {
		networks []netip.Prefix
		want     bool
	}{
		"unknown":                      {networks: nil, want: false},
		"known, excepted":              {networks: clusterNetworks, want: true},
		"known, only partly excepted":  {networks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, want: false},
		"known, several, all excepted": {networks: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/17"), netip.MustParsePrefix("10.244.128.0/17")}, want: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			opts := cases.Options{ClusterNetworks: tc.networks}
			plan := s.generate(t, opts)
			checkPlan(t, s, opts, plan)
			if got := slices.Contains(lines(plan.Cases), podCase); got != tc.want {
				t.Errorf("case %q generated: %v, want %v; cases:\n%s\nnotes: %q", podCase, got, tc.want, strings.Join(lines(plan.Cases), "\n"), plan.Notes)
			}
		})
	}
}

// TestGenerateProbeLabels: verdicts account for the labels every probe
// pod carries, here one a policy excludes.
func TestGenerateProbeLabels(t *testing.T) {
	s := stdScenario(t, `
metadata: {name: no-probes, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{podSelector: {matchExpressions: [{key: palisade-probe, operator: DoesNotExist}]}}]}]`)
	opts := cases.Options{ClusterNetworks: clusterNetworks, ProbeLabels: map[string]string{"palisade-probe": "run-1"}}
	plan := s.generate(t, opts)
	checkPlan(t, s, opts, plan)
	// No probe pod can be a source the rule admits: only negative cases.
	want := []string{
		"Ingress NegativePeer x/{pod=b} -> x/{pod=a} 80/TCP: Deny",
		"Ingress NegativePeer y/{pod=a} -> x/{pod=a} 80/TCP: Deny",
	}
	if diff := cmp.Diff(want, lines(plan.Cases)); diff != "" {
		t.Errorf("cases mismatch (-want +got):\n%s", diff)
	}
	const note = "x/no-probes spec.ingress[0].from[0] (pods {!palisade-probe} in namespace x): matches no probe pod in scope"
	if !slices.Contains(plan.Notes, note) {
		t.Errorf("notes %q lack %q", plan.Notes, note)
	}
	for _, c := range plan.Cases {
		if _, ok := c.From.Labels["palisade-probe"]; ok {
			t.Errorf("case %s: identity carries a probe label", line(c))
		}
	}
}

// TestGenerateScope: only policies of namespaces in scope get cases, and
// probe pods go only to namespaces in scope.
func TestGenerateScope(t *testing.T) {
	s := stdScenario(t, `
metadata: {name: allow-all, namespace: x}
spec:
  podSelector: {}
  ingress: [{from: [{namespaceSelector: {}}]}]
---
metadata: {name: deny-all, namespace: z}
spec: {podSelector: {}}`)
	opts := cases.Options{Namespaces: s.namespaces[:2], ClusterNetworks: clusterNetworks}
	plan := s.generate(t, opts)
	checkPlan(t, s, opts, plan)
	if len(plan.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range plan.Cases {
		if c.Policy != "x/allow-all" || c.From.Namespace == "z" || c.To.Namespace == "z" {
			t.Errorf("case %s (policy %s) reaches out of scope", line(c), c.Policy)
		}
	}
}

// manyPolicies allows x/a from y on 80 and x/b to y on 81, with default
// deny in both directions in x: plenty of cases of every kind.
const manyPolicies = `
metadata: {name: deny-all, namespace: x}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
metadata: {name: a-from-y, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}], ports: [{port: 80}, {port: 81, protocol: UDP}]}]
---
metadata: {name: b-to-y, namespace: x}
spec:
  podSelector: {matchLabels: {pod: b}}
  policyTypes: [Egress]
  egress: [{to: [{namespaceSelector: {matchLabels: {ns: "y"}}}], ports: [{port: 81}]}]`

// TestGenerateBalance caps the cases and checks that ingress and egress,
// Allow and Deny, all keep some, and that the cut is counted.
func TestGenerateBalance(t *testing.T) {
	s := stdScenario(t, manyPolicies)
	all := s.generate(t, cases.Options{ClusterNetworks: clusterNetworks})
	opts := cases.Options{ClusterNetworks: clusterNetworks, MaxCases: 4}
	plan := s.generate(t, opts)
	checkPlan(t, s, opts, plan)
	if len(plan.Cases) != 4 || plan.Dropped != len(all.Cases)-4 {
		t.Fatalf("%d cases, %d dropped; want 4 and %d", len(plan.Cases), plan.Dropped, len(all.Cases)-4)
	}
	type group struct {
		d netpol.Direction
		r netpol.Result
	}
	got := map[group]int{}
	for _, c := range plan.Cases {
		got[group{c.Direction, c.Expected}]++
	}
	want := map[group]int{{netpol.Ingress, netpol.Allow}: 1, {netpol.Ingress, netpol.Deny}: 1, {netpol.Egress, netpol.Allow}: 1, {netpol.Egress, netpol.Deny}: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("groups mismatch (-want +got):\n%s", diff)
	}
	for _, c := range plan.Cases {
		if !slices.ContainsFunc(all.Cases, func(a cases.Case) bool { return cmp.Equal(a, c, equateAddrs) }) {
			t.Errorf("capped case %s is not among the uncapped ones", line(c))
		}
	}
}

// TestGenerateDeterministic generates twice, from pods and policies given
// in another order, and expects the same plan.
func TestGenerateDeterministic(t *testing.T) {
	s := stdScenario(t, manyPolicies)
	first := s.generate(t, cases.Options{ClusterNetworks: clusterNetworks})
	slices.Reverse(s.pods)
	slices.Reverse(s.policies)
	slices.Reverse(s.namespaces)
	second := s.generate(t, cases.Options{ClusterNetworks: clusterNetworks})
	if diff := cmp.Diff(first, second, equateAddrs); diff != "" {
		t.Errorf("plans differ (-first +second):\n%s", diff)
	}
	if len(first.Cases) < 10 {
		t.Errorf("only %d cases: the scenario should give plenty", len(first.Cases))
	}
}

func TestGenerateNoNamespaces(t *testing.T) {
	s := stdScenario(t, manyPolicies)
	plan, err := cases.Generate(s.engine(t), cases.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := &cases.Plan{Notes: []string{"no namespace is in scope"}}
	if diff := cmp.Diff(want, plan); diff != "" {
		t.Errorf("plan mismatch (-want +got):\n%s", diff)
	}
}

func TestGenerateRejects(t *testing.T) {
	s := stdScenario(t, "")
	tests := map[string][]corev1.Namespace{
		"namespace twice": {s.namespaces[0], s.namespaces[0]},
		"unnamed":         {{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"a": "b"}}}},
	}
	for name, nss := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := cases.Generate(s.engine(t), cases.Options{Namespaces: nss}); err == nil {
				t.Error("Generate succeeded, want an error")
			}
		})
	}
}

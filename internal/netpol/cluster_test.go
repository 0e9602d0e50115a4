package netpol

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	policyv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	policyv1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"
	"sigs.k8s.io/yaml"
)

// decodeCluster reads YAML documents separated by "---", each an
// AdminNetworkPolicy, BaselineAdminNetworkPolicy or ClusterNetworkPolicy by
// its kind, strictly.
func decodeCluster(t testing.TB, docs string) ClusterPolicies {
	t.Helper()
	var out ClusterPolicies
	for _, doc := range strings.Split(docs, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatalf("decoding %q: %v", doc, err)
		}
		switch tm.Kind {
		case kindANP:
			out.AdminNetworkPolicies = append(out.AdminNetworkPolicies, decode[policyv1alpha1.AdminNetworkPolicy](t, doc)...)
		case kindBANP:
			out.BaselineAdminNetworkPolicies = append(out.BaselineAdminNetworkPolicies, decode[policyv1alpha1.BaselineAdminNetworkPolicy](t, doc)...)
		case kindCNP:
			out.ClusterNetworkPolicies = append(out.ClusterNetworkPolicies, decode[policyv1beta1.ClusterNetworkPolicy](t, doc)...)
		default:
			t.Fatalf("document of kind %q: %s", tm.Kind, doc)
		}
	}
	return out
}

// newClusterEngine is newStdEngine with cluster-wide policies.
func newClusterEngine(t testing.TB, policies, cluster string, extraPods ...corev1.Pod) *Engine {
	t.Helper()
	nss, pods := stdCluster()
	e, err := NewWithClusterPolicies(nss, append(pods, extraPods...), decode[networkingv1.NetworkPolicy](t, policies), decodeCluster(t, cluster))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// expectResults renders an expected truth table as render does, from edits
// of the form "FROM -> TO: allow|deny|unspecified" applied in order to
// everything allowed (see expect for the patterns); loopback is "-".
func expectResults(t testing.TB, pods []string, edits ...string) string {
	t.Helper()
	words := map[string]Result{"allow": Allow, "deny": Deny, "unspecified": Unspecified}
	cells := map[[2]string]Result{}
	for _, edit := range edits {
		pair, word, ok := strings.Cut(edit, ": ")
		from, to, ok2 := strings.Cut(pair, " -> ")
		r, ok3 := words[word]
		if !ok || !ok2 || !ok3 {
			t.Fatalf("bad edit %q", edit)
		}
		for _, f := range pods {
			for _, d := range pods {
				if matchPattern(from, f) && matchPattern(to, d) {
					cells[[2]string{f, d}] = r
				}
			}
		}
	}
	var b strings.Builder
	for _, from := range pods {
		b.WriteString(from)
		for _, to := range pods {
			r, ok := cells[[2]string{from, to}]
			if !ok {
				r = Allow
			}
			if from == to {
				r = Unspecified
			}
			b.WriteString(" " + marks[r])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestClusterScenarios runs scenarios with cluster-wide policies over the
// standard cluster, comparing whole truth tables, and checks that Check
// agrees with Matrix on every pair.
func TestClusterScenarios(t *testing.T) {
	tests := map[string]struct {
		policies, cluster string
		extra             []corev1.Pod
		probes            []probe
	}{
		"admin Deny wins over a NetworkPolicy allow": {
			policies: `
metadata: {name: allow-y, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]}]`,
			cluster: `
kind: AdminNetworkPolicy
metadata: {name: deny-y}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {ns: x}}}
  ingress: [{action: Deny, from: [{namespaces: {matchLabels: {ns: "y"}}}]}]`,
			probes: []probe{{80, tcp, []string{"* -> x/a: deny", "y/* -> x/*: deny"}}},
		},
		"admin Allow wins over a NetworkPolicy default deny": {
			policies: `
metadata: {name: deny-all, namespace: x}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}`,
			cluster: `
kind: AdminNetworkPolicy
metadata: {name: allow-z}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {ns: x}}}
  ingress: [{action: Allow, from: [{namespaces: {matchLabels: {ns: z}}}]}]
  egress: [{action: Allow, to: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {pod: c}}}}]}]`,
			probes: []probe{{80, tcp, []string{"* -> x/*: deny", "x/* -> *: deny", "z/* -> x/*: allow", "x/* -> */c: allow", "x/* -> x/c: deny"}}},
		},
		"admin Pass hands over to NetworkPolicies": {
			policies: `
metadata: {name: only-y-to-a, namespace: x}
spec:
  podSelector: {}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}, podSelector: {}}], ports: [{port: 80}]}]
---
metadata: {name: a, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]}]`,
			cluster: `
kind: AdminNetworkPolicy
metadata: {name: pass-y}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {ns: x}}}
  ingress: [{name: pass-y, action: Pass, from: [{namespaces: {matchLabels: {ns: "y"}}}]}]
---
kind: AdminNetworkPolicy
metadata: {name: deny-all}
spec:
  priority: 2
  subject: {namespaces: {matchLabels: {ns: x}}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]`,
			probes: []probe{
				{80, tcp, []string{"* -> x/*: deny", "y/* -> x/*: allow"}},
				{81, tcp, []string{"* -> x/*: deny", "y/* -> x/a: allow"}},
			},
		},
		"baseline Deny applies to pods no NetworkPolicy isolates": {
			policies: `
metadata: {name: a-from-y, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]}]`,
			cluster: `
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {matchLabels: {ns: x}}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]`,
			probes: []probe{{80, tcp, []string{"* -> x/*: deny", "y/* -> x/a: allow"}}},
		},
		"baseline Allow before a baseline Deny, and egress isolation is per direction": {
			policies: `
metadata: {name: egress-only, namespace: x}
spec: {podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{}]}`,
			cluster: `
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress:
  - {action: Allow, from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {pod: a}}}}]}
  - {action: Deny, from: [{namespaces: {}}]}`,
			probes: []probe{{80, tcp, []string{"* -> *: deny", "*/a -> *: allow"}}},
		},
		"priority, not name, orders admin policies": {
			cluster: `
kind: AdminNetworkPolicy
metadata: {name: a-deny-y}
spec:
  priority: 20
  subject: {namespaces: {matchLabels: {ns: x}}}
  ingress: [{action: Deny, from: [{namespaces: {matchLabels: {ns: "y"}}}]}]
---
kind: AdminNetworkPolicy
metadata: {name: z-allow-b}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {ns: x}}}
  ingress: [{action: Allow, from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {pod: b}}}}]}]`,
			probes: []probe{{80, tcp, []string{"y/* -> x/*: deny", "y/b -> x/*: allow"}}},
		},
		"rules in order within a policy": {
			cluster: `
kind: AdminNetworkPolicy
metadata: {name: ordered}
spec:
  priority: 10
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {pod: a}}}}
  egress:
  - {action: Allow, to: [{pods: {namespaceSelector: {matchLabels: {ns: z}}, podSelector: {}}}]}
  - {action: Deny, to: [{networks: [10.0.0.0/16]}]}`,
			probes: []probe{{80, tcp, []string{"*/a -> *: deny", "*/a -> z/*: allow"}}},
		},
		"same priority and different actions: unspecified, same action: decided": {
			cluster: `
kind: AdminNetworkPolicy
metadata: {name: deny-y}
spec:
  priority: 5
  subject: {namespaces: {matchLabels: {ns: x}}}
  ingress: [{action: Deny, from: [{namespaces: {matchLabels: {ns: "y"}}}]}]
---
kind: ClusterNetworkPolicy
metadata: {name: accept-b}
spec:
  tier: Admin
  priority: 5
  subject: {namespaces: {}}
  ingress: [{action: Accept, from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {pod: b}}}}]}]
---
kind: ClusterNetworkPolicy
metadata: {name: deny-c}
spec:
  tier: Admin
  priority: 5
  subject: {namespaces: {}}
  ingress: [{action: Deny, from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {pod: c}}}}]}]`,
			probes: []probe{{80, tcp, []string{"y/* -> x/*: deny", "y/b -> x/*: unspecified", "*/c -> *: deny"}}},
		},
		"ClusterNetworkPolicy tiers around NetworkPolicies": {
			policies: `
metadata: {name: a-from-y-z, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: ns, operator: In, values: ["y", z]}]}}]}]`,
			cluster: `
kind: ClusterNetworkPolicy
metadata: {name: admin-deny-z}
spec:
  tier: Admin
  priority: 1
  subject: {namespaces: {matchLabels: {ns: x}}}
  ingress: [{action: Deny, from: [{namespaces: {matchLabels: {ns: z}}}]}]
---
kind: ClusterNetworkPolicy
metadata: {name: baseline-deny-y}
spec:
  tier: Baseline
  priority: 1
  subject: {namespaces: {matchLabels: {ns: x}}}
  ingress: [{action: Deny, from: [{namespaces: {matchLabels: {ns: "y"}}}]}]`,
			probes: []probe{{80, tcp, []string{"* -> x/a: deny", "y/* -> x/*: deny", "y/* -> x/a: allow", "z/* -> x/*: deny"}}},
		},
		"a baseline Pass ends the baseline tier": {
			cluster: `
kind: ClusterNetworkPolicy
metadata: {name: pass-b}
spec:
  tier: Baseline
  priority: 1
  subject: {namespaces: {}}
  egress: [{action: Pass, to: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {pod: b}}}}]}]
---
kind: ClusterNetworkPolicy
metadata: {name: deny-all}
spec:
  tier: Baseline
  priority: 2
  subject: {namespaces: {}}
  egress: [{action: Deny, to: [{networks: [0.0.0.0/0]}]}]`,
			probes: []probe{{80, tcp, []string{"* -> *: deny", "* -> */b: allow"}}},
		},
		"networks match pod IPs": {
			cluster: `
kind: AdminNetworkPolicy
metadata: {name: no-y}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {ns: x}}}
  egress: [{action: Deny, to: [{networks: [10.0.2.0/24, "fd00::/8"]}]}]`,
			probes: []probe{{80, tcp, []string{"x/* -> y/*: deny"}}},
		},
		"named port and port range": {
			cluster: `
kind: AdminNetworkPolicy
metadata: {name: ports}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {ns: x}}}
  ingress:
  - action: Deny
    from: [{namespaces: {}}]
    ports: [{namedPort: serve-81-tcp}, {portRange: {protocol: UDP, start: 79, end: 80}}, {portNumber: {port: 82, protocol: SCTP}}]`,
			probes: []probe{
				{81, tcp, []string{"* -> x/*: deny"}},
				{80, tcp, nil},
				{81, udp, nil},
				{80, udp, []string{"* -> x/*: deny"}},
				{82, sctp, []string{"* -> x/*: deny"}},
				{82, tcp, nil},
			},
		},
		"ClusterNetworkPolicy protocols": {
			cluster: `
kind: ClusterNetworkPolicy
metadata: {name: protocols}
spec:
  tier: Admin
  priority: 1
  subject: {pods: {namespaceSelector: {matchLabels: {ns: z}}, podSelector: {}}}
  ingress:
  - action: Deny
    from: [{namespaces: {}}]
    protocols: [{tcp: {destinationPort: {range: {start: 80, end: 81}}}}, {udp: {destinationPort: {number: 81}}}, {destinationNamedPort: serve-80-udp}]`,
			probes: []probe{
				{80, tcp, []string{"* -> z/*: deny"}},
				{81, tcp, []string{"* -> z/*: deny"}},
				{82, tcp, nil},
				{81, udp, []string{"* -> z/*: deny"}},
				{80, udp, []string{"* -> z/*: deny"}},
				{80, sctp, nil},
			},
		},
		"subjects and peers never match hostNetwork pods": {
			cluster: `
kind: AdminNetworkPolicy
metadata: {name: deny-all}
spec:
  priority: 1
  subject: {namespaces: {}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]`,
			extra:  []corev1.Pod{hostNetworkPod("x", "h", "192.168.0.3")},
			probes: []probe{{80, tcp, []string{"* -> *: deny", "x/h -> *: allow", "* -> x/h: allow"}}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newClusterEngine(t, tc.policies, tc.cluster, tc.extra...)
			for _, p := range tc.probes {
				m, err := e.Matrix(MatrixOptions{Ports: []int32{p.port}, Protocols: []corev1.Protocol{p.protocol}})
				if err != nil {
					t.Fatal(err)
				}
				want := expectResults(t, m.Pods, p.want...)
				if diff := cmp.Diff(want, render(m, &m.Tables[0])); diff != "" {
					t.Errorf("%d/%s: truth table mismatch (-want +got):\n%s", p.port, p.protocol, diff)
				}
				checkAgreesWithMatrix(t, e, m)
			}
		})
	}
}

// checkAgreesWithMatrix checks every cell of a one-table matrix against
// Check's result, and that an Unspecified result says why.
func checkAgreesWithMatrix(t *testing.T, e *Engine, m *Matrix) {
	t.Helper()
	tab := &m.Tables[0]
	for i, from := range m.Pods {
		for j, to := range m.Pods {
			v, err := e.Check(Query{From: pod(from), To: pod(to), Port: tab.Port, Protocol: tab.Protocol})
			if err != nil {
				t.Fatal(err)
			}
			if v.Result != tab.Verdicts[i][j] {
				t.Errorf("%s -> %s %d/%s: Check says %s (%s), Matrix %s", from, to, tab.Port, tab.Protocol, v.Result, v.Brief(), tab.Verdicts[i][j])
			}
			if v.Result == Unspecified && v.Reason == "" {
				t.Errorf("%s -> %s: Unspecified without a reason", from, to)
			}
		}
	}
}

// TestClusterCheck covers what a verdict says about cluster-wide rules: the
// tier decisions recorded, the direction's result, and the summary.
func TestClusterCheck(t *testing.T) {
	const policies = `
metadata: {name: a-from-y, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]}]
---
metadata: {name: b-egress, namespace: z}
spec: {podSelector: {matchLabels: {pod: b}}, policyTypes: [Egress]}`
	const cluster = `
kind: AdminNetworkPolicy
metadata: {name: admin}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {ns: x}}}
  ingress:
  - {name: pass-y, action: Pass, from: [{namespaces: {matchLabels: {ns: "y"}}}]}
  - {name: deny-z-c, action: Deny, from: [{pods: {namespaceSelector: {matchLabels: {ns: z}}, podSelector: {matchLabels: {pod: c}}}}], ports: [{portNumber: {port: 80}}]}
  egress:
  - {name: infra, action: Deny, to: [{nodes: {matchLabels: {role: infra}}}]}
  - {name: any-node, action: Allow, to: [{nodes: {}}]}
  - {name: dns, action: Allow, to: [{domainNames: [example.com]}]}
  - {name: rest, action: Deny, to: [{networks: [203.0.113.0/24]}]}
---
kind: AdminNetworkPolicy
metadata: {name: z-to-x}
spec:
  priority: 20
  subject: {namespaces: {matchLabels: {ns: z}}}
  egress: [{action: Allow, to: [{namespaces: {matchLabels: {ns: x}}}]}]
---
kind: AdminNetworkPolicy
metadata: {name: conflict-1}
spec:
  priority: 30
  subject: {namespaces: {matchLabels: {ns: x}}}
  ingress: [{action: Deny, from: [{pods: {namespaceSelector: {matchLabels: {ns: z}}, podSelector: {matchLabels: {pod: a}}}}]}]
---
kind: ClusterNetworkPolicy
metadata: {name: conflict-2}
spec:
  tier: Admin
  priority: 30
  subject: {namespaces: {matchLabels: {ns: x}}}
  ingress: [{name: accept-z, action: Accept, from: [{namespaces: {matchLabels: {ns: z}}}]}]
---
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {matchLabels: {ns: "y"}}}
  ingress: [{name: no-x, action: Deny, from: [{namespaces: {matchLabels: {ns: x}}}]}]`
	infra := hostNetworkPod("z", "infra", "192.168.0.9")
	e := newClusterEngine(t, policies, cluster, infra)
	tests := map[string]struct {
		q                 Query
		want              Result
		egress, ingress   Result
		admin, baseline   string // the decisions' Policy and Action, "" for none
		brief, reason     string // substrings
		notBrief          string
		adminSide, detail string // which side's Admin to look at, and a substring of its Detail
	}{
		"admin Deny": {
			q: Query{From: pod("z/c"), To: pod("x/b"), Port: 80}, want: Deny, egress: Allow, ingress: Deny,
			adminSide: "ingress", admin: "AdminNetworkPolicy/admin Deny",
			brief:  `ingress: denied by admin rule AdminNetworkPolicy/admin ingress[1] "deny-z-c"`,
			detail: "matches: from[0] pods {pod=c} in namespaces {ns=z}, ports[0] 80/TCP",
		},
		"admin Deny rule on another port": {
			q: Query{From: pod("z/c"), To: pod("x/b"), Port: 81}, want: Allow, egress: Allow, ingress: Allow,
			adminSide: "ingress", admin: "ClusterNetworkPolicy/conflict-2 Accept",
			brief: `ingress: allowed by admin rule ClusterNetworkPolicy/conflict-2 ingress[0] "accept-z"`,
		},
		"admin Pass to an isolating NetworkPolicy that allows": {
			q: Query{From: pod("y/b"), To: pod("x/a"), Port: 80}, want: Allow, egress: Allow, ingress: Allow,
			adminSide: "ingress", admin: "AdminNetworkPolicy/admin Pass",
			brief: `ingress: admin rule AdminNetworkPolicy/admin ingress[0] "pass-y" passes to NetworkPolicies; allowed by x/a-from-y`,
		},
		"admin Allow on egress overrides a NetworkPolicy egress deny": {
			q: Query{From: pod("z/b"), To: pod("x/c"), Port: 80}, want: Allow, egress: Allow, ingress: Allow,
			adminSide: "egress", admin: "AdminNetworkPolicy/z-to-x Allow",
			brief: "egress: allowed by admin rule AdminNetworkPolicy/z-to-x egress[0]",
		},
		"baseline Deny for a pod no NetworkPolicy isolates": {
			q: Query{From: pod("x/b"), To: pod("y/c"), Port: 80}, want: Deny, egress: Allow, ingress: Deny,
			baseline: "BaselineAdminNetworkPolicy/default Deny",
			brief:    `ingress: not isolated, so baseline rule BaselineAdminNetworkPolicy/default ingress[0] "no-x" denies it`,
		},
		"a node selector the engine cannot evaluate": {
			q: Query{From: pod("x/a"), To: pod("z/infra"), Port: 80}, want: Unspecified, egress: Unspecified, ingress: Allow,
			adminSide: "egress", admin: "AdminNetworkPolicy/admin Deny", detail: "to[0] nodes {role=infra} may match: z/infra is a node address, and the engine has no node labels",
			reason: `egress from x/a: admin rule AdminNetworkPolicy/admin egress[0] "infra" may match, and the engine cannot tell`,
		},
		"an address in some pod's hostIPs is a node": {
			q: Query{From: pod("x/a"), To: ip("192.168.0.2"), Port: 80}, want: Unspecified, egress: Unspecified, ingress: Allow,
			reason: "192.168.0.2 is a node address",
		},
		"a pod IP is not a node, and domainNames never match pods": {
			q: Query{From: pod("x/a"), To: pod("z/a"), Port: 80}, want: Allow, egress: Allow, ingress: Allow,
		},
		"domainNames: an address outside the cluster": {
			q: Query{From: pod("x/a"), To: ip("203.0.113.7"), Port: 443}, want: Unspecified, egress: Unspecified, ingress: Allow,
			reason: `egress from x/a: admin rule AdminNetworkPolicy/admin egress[2] "dns" may match, and the engine cannot tell: to[0] domainNames example.com may match: 203.0.113.7 is outside the cluster, and the engine resolves no domain names`,
		},
		"equal priority, different actions": {
			q: Query{From: pod("z/a"), To: pod("x/b"), Port: 80}, want: Unspecified, egress: Allow, ingress: Unspecified,
			reason: `ingress to x/b: admin rules AdminNetworkPolicy/conflict-1 ingress[0] (Deny) and ClusterNetworkPolicy/conflict-2 ingress[0] "accept-z" (Accept) both match, and their policies share priority 30: implementations may apply either`,
		},
		"loopback stays unspecified": {
			q: Query{From: pod("x/a"), To: pod("x/a"), Port: 80}, want: Unspecified, egress: Allow, ingress: Deny,
			reason: "a pod connecting to itself",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v, err := e.Check(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if v.Result != tc.want || v.Egress.Result != tc.egress || v.Ingress.Result != tc.ingress {
				t.Errorf("result %s (egress %s, ingress %s), want %s (%s, %s); %s", v.Result, v.Egress.Result, v.Ingress.Result, tc.want, tc.egress, tc.ingress, v.Brief())
			}
			side := &v.Ingress
			if tc.adminSide == "egress" {
				side = &v.Egress
			}
			if got := decisionText(side.Admin); tc.adminSide != "" && got != tc.admin {
				t.Errorf("%s admin decision = %q, want %q", tc.adminSide, got, tc.admin)
			}
			if tc.detail != "" && (side.Admin == nil || !strings.Contains(side.Admin.Detail, tc.detail)) {
				t.Errorf("%s admin decision = %+v, want detail %q", tc.adminSide, side.Admin, tc.detail)
			}
			if got := decisionText(v.Ingress.Baseline); got != tc.baseline {
				t.Errorf("ingress baseline decision = %q, want %q", got, tc.baseline)
			}
			if !strings.Contains(v.Brief(), tc.brief) {
				t.Errorf("brief = %q, want it to contain %q", v.Brief(), tc.brief)
			}
			if !strings.Contains(v.Reason, tc.reason) {
				t.Errorf("reason = %q, want it to contain %q", v.Reason, tc.reason)
			}
		})
	}
}

func decisionText(td *TierDecision) string {
	if td == nil {
		return ""
	}
	return td.Policy + " " + td.Action
}

// TestClusterDenyWinsOverUnknown: a direction the engine cannot tell does
// not hide a certain Deny on the other side.
func TestClusterDenyWinsOverUnknown(t *testing.T) {
	e := newClusterEngine(t, `
metadata: {name: no-egress, namespace: z}
spec: {podSelector: {matchLabels: {pod: b}}, policyTypes: [Egress]}`, `
kind: AdminNetworkPolicy
metadata: {name: deny-z}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {ns: x}}}
  ingress: [{action: Deny, from: [{namespaces: {matchLabels: {ns: z}}}]}]
---
kind: AdminNetworkPolicy
metadata: {name: allow-z}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {ns: x}}}
  ingress: [{action: Allow, from: [{namespaces: {matchLabels: {ns: z}}}]}]`)
	v, err := e.Check(Query{From: pod("z/b"), To: pod("x/a"), Port: 80})
	if err != nil {
		t.Fatal(err)
	}
	if v.Result != Deny || v.Egress.Result != Deny || v.Ingress.Result != Unspecified || v.Reason != "" {
		t.Errorf("verdict %s (egress %s, ingress %s, reason %q), want Deny", v.Result, v.Egress.Result, v.Ingress.Result, v.Reason)
	}
	if want := "ingress: cannot tell: admin rules AdminNetworkPolicy/allow-z ingress[0] (Allow) and AdminNetworkPolicy/deny-z ingress[0] (Deny) both match"; !strings.Contains(v.Brief(), want) {
		t.Errorf("brief = %q, want it to contain %q", v.Brief(), want)
	}
	m, err := e.Matrix(MatrixOptions{Ports: []int32{80}})
	if err != nil {
		t.Fatal(err)
	}
	checkAgreesWithMatrix(t, e, m)
}

func TestClusterVerdictText(t *testing.T) {
	e := newClusterEngine(t, `
metadata: {name: deny, namespace: x}
spec: {podSelector: {}}`, `
kind: AdminNetworkPolicy
metadata: {name: pass-y}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {ns: x}}}
  ingress: [{name: pass, action: Pass, from: [{namespaces: {matchLabels: {ns: "y"}}}]}]
  egress: [{name: no-z, action: Deny, to: [{namespaces: {matchLabels: {ns: z}}}], ports: [{portRange: {start: 80, end: 90}}]}]
---
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress: [{action: Deny, from: [{namespaces: {matchLabels: {ns: x}}}]}]`)
	tests := map[string]struct {
		q    Query
		want string
	}{
		"admin decides": {
			q: Query{From: pod("x/a"), To: pod("z/b"), Port: 80},
			want: `DENY
x/a (10.0.1.1) -> z/b (10.0.3.2), port 80/TCP
egress from x/a: Deny
  admin: AdminNetworkPolicy/pass-y egress[0] "no-z": Deny, matches: to[0] all pods in namespaces {ns=z}, ports[0] 80-90/TCP
  the admin tier decides: NetworkPolicies are not consulted
ingress to z/b: Deny
  not isolated: no NetworkPolicy selects z/b for ingress
  baseline: BaselineAdminNetworkPolicy/default ingress[0]: Deny, matches: from[0] all pods in namespaces {ns=x}, any port (the rule lists none)
`,
		},
		"admin passes": {
			q: Query{From: pod("y/b"), To: pod("x/c"), Port: 80},
			want: `DENY
y/b (10.0.2.2) -> x/c (10.0.1.3), port 80/TCP
egress from y/b: Allow
  not isolated: no NetworkPolicy selects y/b for egress
ingress to x/c: Deny
  admin: AdminNetworkPolicy/pass-y ingress[0] "pass": Pass, matches: from[0] all pods in namespaces {ns=y}, any port (the rule lists none)
  isolated by x/deny
  x/deny: no ingress rules, so it allows nothing
  no rule allows the connection
`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v, err := e.Check(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			if err := v.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, b.String()); diff != "" {
				t.Errorf("text mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClusterVerdictJSON: tier decisions appear in JSON only when there
// are some.
func TestClusterVerdictJSON(t *testing.T) {
	e := newClusterEngine(t, "", `
kind: ClusterNetworkPolicy
metadata: {name: deny-z}
spec:
  tier: Admin
  priority: 1
  subject: {namespaces: {matchLabels: {ns: x}}}
  ingress: [{name: no-z, action: Deny, from: [{namespaces: {matchLabels: {ns: z}}}], protocols: [{tcp: {destinationPort: {number: 80}}}]}]`)
	v, err := e.Check(Query{From: pod("z/a"), To: pod("x/b"), Port: 80})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `"ingress":{"direction":"Ingress","verdict":"Deny","endpoint":"x/b","isolated":false,"reason":"no NetworkPolicy selects x/b for ingress","admin":{"policy":"ClusterNetworkPolicy/deny-z","rule":0,"ruleName":"no-z","action":"Deny","detail":"matches: from[0] all pods in namespaces {ns=z}, protocols[0] 80/TCP"}}`
	if !strings.Contains(string(b), want) {
		t.Errorf("JSON lacks %s:\n%s", want, b)
	}
	if strings.Contains(string(b), `"baseline"`) || strings.Count(string(b), `"admin"`) != 1 {
		t.Errorf("JSON has empty tier decisions:\n%s", b)
	}
}

func TestClusterPoliciesKeptAsGiven(t *testing.T) {
	cluster := decodeCluster(t, `
kind: AdminNetworkPolicy
metadata: {name: a}
spec:
  priority: 1
  subject: {namespaces: {}}
  ingress: [{action: Deny, from: [{namespaces: {}}], ports: [{portNumber: {port: 80}}]}]`)
	if cluster.Empty() || (ClusterPolicies{}).Empty() == false {
		t.Fatal("Empty is wrong")
	}
	nss, pods := stdCluster()
	e, err := NewWithClusterPolicies(nss, pods, nil, cluster)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cluster, e.ClusterPolicies()); diff != "" {
		t.Errorf("ClusterPolicies() differs from the input (-given +got):\n%s", diff)
	}
	if got := cluster.AdminNetworkPolicies[0].Spec.Ingress[0].Ports; (*got)[0].PortNumber.Protocol != "" {
		t.Errorf("the input was defaulted: %+v", got)
	}
	plain, err := New(nss, pods, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !plain.ClusterPolicies().Empty() {
		t.Error("New has cluster-wide policies")
	}
}

func TestClusterWarnings(t *testing.T) {
	e := newClusterEngine(t, "", `
kind: AdminNetworkPolicy
metadata: {name: a}
spec: {priority: 3, subject: {namespaces: {}}, ingress: [{action: Deny, from: [{namespaces: {}}]}]}
---
kind: ClusterNetworkPolicy
metadata: {name: b}
spec: {tier: Admin, priority: 3, subject: {namespaces: {}}, egress: [{action: Deny, to: [{namespaces: {}}]}]}
---
kind: ClusterNetworkPolicy
metadata: {name: c}
spec: {tier: Baseline, priority: 3, subject: {namespaces: {}}, egress: [{action: Deny, to: [{namespaces: {}}]}]}
---
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec: {subject: {namespaces: {}}, ingress: [{action: Deny, from: [{namespaces: {}}]}]}`)
	want := []string{
		"AdminNetworkPolicy/a, ClusterNetworkPolicy/b share priority 3 in the admin tier: where two of them match a connection with different actions, implementations may apply either, so the verdict is Unspecified",
		"BaselineAdminNetworkPolicy/default and baseline-tier ClusterNetworkPolicy/c are both given, and no API orders them: the engine evaluates BaselineAdminNetworkPolicy/default first",
	}
	if diff := cmp.Diff(want, e.Warnings()); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

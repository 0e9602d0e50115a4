package netpol

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

// probe is one port/protocol of a scenario with its expected reachability
// edits (see expect).
type probe struct {
	port     int32
	protocol corev1.Protocol
	want     []string
}

const (
	tcp  = corev1.ProtocolTCP
	udp  = corev1.ProtocolUDP
	sctp = corev1.ProtocolSCTP
)

// TestScenarios runs upstream-e2e-style scenarios over the standard cluster
// and compares the engine's whole truth table with the expected one.
func TestScenarios(t *testing.T) {
	tests := map[string]struct {
		policies string
		extra    []corev1.Pod
		probes   []probe
	}{
		"no policies: everything allowed": {
			probes: []probe{{80, tcp, nil}, {81, udp, nil}},
		},
		"default-deny-ingress: a pod selected by no policy is not isolated": {
			policies: `
metadata: {name: deny-ingress, namespace: x}
spec: {podSelector: {}}`,
			probes: []probe{{80, tcp, []string{"* -> x/*: deny"}}},
		},
		"default-deny-all: both directions isolated": {
			policies: `
metadata: {name: deny-all, namespace: x}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}`,
			probes: []probe{{80, tcp, []string{"* -> x/*: deny", "x/* -> *: deny"}}},
		},
		"podSelector peer without namespaceSelector means the policy's namespace": {
			policies: `
metadata: {name: allow-b, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]`,
			probes: []probe{{80, tcp, []string{"* -> x/a: deny", "x/b -> x/a: allow"}}},
		},
		"empty podSelector peer means every pod of the policy's namespace": {
			policies: `
metadata: {name: allow-ns, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{podSelector: {}}]}]`,
			probes: []probe{{80, tcp, []string{"* -> x/a: deny", "x/* -> x/a: allow"}}},
		},
		"namespaceSelector peer": {
			policies: `
metadata: {name: allow-y, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]}]`,
			probes: []probe{{80, tcp, []string{"* -> x/a: deny", "y/* -> x/a: allow"}}},
		},
		"empty namespaceSelector means every namespace": {
			policies: `
metadata: {name: allow-cluster, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{namespaceSelector: {}}]}]`,
			probes: []probe{{80, tcp, nil}},
		},
		"namespaceSelector and podSelector in one peer are ANDed": {
			policies: `
metadata: {name: allow-yb, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: "y"}}
      podSelector: {matchLabels: {pod: b}}`,
			probes: []probe{{80, tcp, []string{"* -> x/a: deny", "y/b -> x/a: allow"}}},
		},
		"namespaceSelector and podSelector in two peers are ORed": {
			policies: `
metadata: {name: allow-y-or-b, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: "y"}}
    - podSelector: {matchLabels: {pod: b}}`,
			probes: []probe{{80, tcp, []string{"* -> x/a: deny", "y/* -> x/a: allow", "x/b -> x/a: allow"}}},
		},
		"podSelector with matchExpressions": {
			policies: `
metadata: {name: exprs, namespace: x}
spec:
  podSelector: {matchExpressions: [{key: pod, operator: In, values: [a]}]}
  ingress:
  - from:
    - namespaceSelector: {}
      podSelector: {matchExpressions: [{key: pod, operator: NotIn, values: [a, b]}]}`,
			probes: []probe{{80, tcp, []string{"* -> x/a: deny", "*/c -> x/a: allow"}}},
		},
		"namespaceSelector with matchExpressions Exists and DoesNotExist": {
			policies: `
metadata: {name: exprs, namespace: x}
spec:
  podSelector: {matchExpressions: [{key: pod, operator: Exists}]}
  ingress:
  - from:
    - namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: ["y"]}]}
      podSelector: {matchExpressions: [{key: missing, operator: DoesNotExist}]}`,
			probes: []probe{{80, tcp, []string{"y/* -> x/*: deny"}}},
		},
		"namespaceSelector on the kubernetes.io/metadata.name label the API server sets": {
			policies: `
metadata: {name: by-name, namespace: x}
spec:
  podSelector: {}
  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: z}}}]}]`,
			probes: []probe{{80, tcp, []string{"* -> x/*: deny", "z/* -> x/*: allow"}}},
		},
		"numbered port": {
			policies: `
metadata: {name: port-81, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{ports: [{port: 81}]}]`,
			probes: []probe{
				{80, tcp, []string{"* -> x/a: deny"}},
				{81, tcp, nil},
				{81, udp, []string{"* -> x/a: deny"}},
			},
		},
		"endPort range": {
			policies: `
metadata: {name: range, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{ports: [{port: 81, endPort: 90}]}]`,
			probes: []probe{{80, tcp, []string{"* -> x/a: deny"}}, {81, tcp, nil}, {90, tcp, nil}, {91, tcp, []string{"* -> x/a: deny"}}},
		},
		"a protocol without a port admits every port of that protocol": {
			policies: `
metadata: {name: udp-only, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{ports: [{protocol: UDP}]}]`,
			probes: []probe{{80, udp, nil}, {81, udp, nil}, {80, tcp, []string{"* -> x/a: deny"}}},
		},
		"SCTP is not TCP": {
			policies: `
metadata: {name: sctp, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{ports: [{protocol: SCTP, port: 80}]}]`,
			probes: []probe{{80, sctp, nil}, {80, tcp, []string{"* -> x/a: deny"}}},
		},
		"named port on ingress resolves on the destination pod": {
			policies: `
metadata: {name: named, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{ports: [{port: serve-81-tcp}]}]`,
			probes: []probe{{81, tcp, nil}, {80, tcp, []string{"* -> x/a: deny"}}, {81, udp, []string{"* -> x/a: deny"}}},
		},
		"a named port that exists only with another protocol matches nothing": {
			policies: `
metadata: {name: named-udp, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{ports: [{port: serve-80-udp, protocol: TCP}, {port: serve-80-tcp, protocol: UDP}]}]`,
			probes: []probe{{80, tcp, []string{"* -> x/a: deny"}}, {80, udp, []string{"* -> x/a: deny"}}},
		},
		"a named port no pod has isolates and allows nothing": {
			policies: `
metadata: {name: no-such-port, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{ports: [{port: no-such-port}]}]`,
			probes: []probe{{80, tcp, []string{"* -> x/a: deny"}}},
		},
		"named port on egress resolves on each destination pod": {
			policies: `
metadata: {name: egress-named, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress: [{ports: [{port: serve-80-tcp}]}]`,
			probes: []probe{{80, tcp, nil}, {81, tcp, []string{"x/a -> *: deny"}}},
		},
		"stacked policies are a union": {
			policies: `
metadata: {name: allow-y, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]}]
---
metadata: {name: allow-z-81, namespace: x}
spec:
  podSelector: {}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: z}}}], ports: [{port: 81}]}]`,
			probes: []probe{
				{80, tcp, []string{"* -> x/*: deny", "y/* -> x/a: allow"}},
				{81, tcp, []string{"* -> x/*: deny", "y/* -> x/a: allow", "z/* -> x/*: allow"}},
			},
		},
		"an allow-all rule wins over a deny-all policy": {
			policies: `
metadata: {name: deny-all, namespace: x}
spec: {podSelector: {}, ingress: []}
---
metadata: {name: allow-all, namespace: x}
spec: {podSelector: {}, ingress: [{}]}`,
			probes: []probe{{80, tcp, nil}},
		},
		"an empty egress rule list denies all egress": {
			policies: `
metadata: {name: no-egress, namespace: x}
spec: {podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: []}`,
			probes: []probe{{80, tcp, []string{"x/a -> *: deny"}}, {81, udp, []string{"x/a -> *: deny"}}},
		},
		"an egress rule with no peers and no ports allows all egress": {
			policies: `
metadata: {name: all-egress, namespace: x}
spec: {podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{}]}`,
			probes: []probe{{80, tcp, nil}, {81, udp, nil}},
		},
		"an egress rule with ports but no peers allows those ports anywhere": {
			policies: `
metadata: {name: udp-egress, namespace: x}
spec: {podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{ports: [{protocol: UDP, port: 81}]}]}`,
			probes: []probe{{81, udp, nil}, {80, udp, []string{"x/a -> *: deny"}}, {81, tcp, []string{"x/a -> *: deny"}}},
		},
		"a rule with ports but no peers admits every source on those ports": {
			policies: `
metadata: {name: port-80-from-all, namespace: x}
spec: {podSelector: {}, ingress: [{ports: [{port: 80}]}]}`,
			probes: []probe{{80, tcp, nil}, {81, tcp, []string{"* -> x/*: deny"}}},
		},
		"egress rules only: policyTypes defaults to Ingress and Egress": {
			policies: `
metadata: {name: egress-to-y, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  egress: [{to: [{namespaceSelector: {matchLabels: {ns: "y"}}}]}]`,
			probes: []probe{{80, tcp, []string{"x/a -> *: deny", "x/a -> y/*: allow", "* -> x/a: deny"}}},
		},
		"policyTypes without Ingress ignores ingress rules": {
			policies: `
metadata: {name: egress-only, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]
  egress: [{}]`,
			probes: []probe{{80, tcp, nil}},
		},
		"egress deny wins over an ingress allow": {
			policies: `
metadata: {name: deny-egress, namespace: x}
spec: {podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress]}
---
metadata: {name: allow-from-x, namespace: "y"}
spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {ns: x}}}]}]}`,
			probes: []probe{{80, tcp, []string{"x/a -> *: deny", "*/* -> y/*: deny", "x/b -> y/*: allow", "x/c -> y/*: allow"}}},
		},
		"egress allowed but ingress denied": {
			policies: `
metadata: {name: egress-to-y, namespace: x}
spec: {podSelector: {}, policyTypes: [Egress], egress: [{to: [{namespaceSelector: {matchLabels: {ns: "y"}}}]}]}
---
metadata: {name: only-from-z, namespace: "y"}
spec: {podSelector: {matchLabels: {pod: b}}, ingress: [{from: [{namespaceSelector: {matchLabels: {ns: z}}}]}]}`,
			probes: []probe{{80, tcp, []string{"x/* -> *: deny", "x/* -> y/*: allow", "* -> y/b: deny", "z/* -> y/b: allow"}}},
		},
		"ipBlock matches pod IPs": {
			policies: `
metadata: {name: egress-cidr, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 10.0.2.0/24}}]}]`,
			probes: []probe{{80, tcp, []string{"x/a -> *: deny", "x/a -> y/*: allow"}}},
		},
		"ipBlock except removes addresses": {
			policies: `
metadata: {name: egress-cidr, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.2.2/32]}}]}]`,
			probes: []probe{{80, tcp, []string{"x/a -> y/b: deny"}}},
		},
		"an excepted address may be allowed by another peer": {
			policies: `
metadata: {name: egress-cidr, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.2.0/24]}
    - namespaceSelector: {matchLabels: {ns: "y"}}
      podSelector: {matchLabels: {pod: b}}`,
			probes: []probe{{80, tcp, []string{"x/a -> y/*: deny", "x/a -> y/b: allow"}}},
		},
		"an excepted address may be allowed by another policy": {
			policies: `
metadata: {name: egress-cidr, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.2.2/32]}}]}]
---
metadata: {name: egress-b, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 10.0.2.2/32}}]}]`,
			probes: []probe{{80, tcp, nil}},
		},
		"ipBlock on ingress matches source pod IPs": {
			policies: `
metadata: {name: ingress-cidr, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{ipBlock: {cidr: 10.0.3.0/24, except: [10.0.3.3/32]}}]}]`,
			probes: []probe{{80, tcp, []string{"* -> x/a: deny", "z/a -> x/a: allow", "z/b -> x/a: allow"}}},
		},
		"hostNetwork pods are not isolated and selectors do not match them": {
			policies: `
metadata: {name: deny-all, namespace: x}
spec: {podSelector: {}, policyTypes: [Ingress, Egress], ingress: [{from: [{podSelector: {}}]}], egress: [{to: [{podSelector: {}}]}]}`,
			extra: []corev1.Pod{hostNetworkPod("x", "h", "192.168.0.3")},
			probes: []probe{{80, tcp, []string{
				"* -> x/*: deny", "x/* -> *: deny", "x/* -> x/*: allow",
				"x/h -> *: allow", "* -> x/h: allow", "x/* -> x/h: deny", "x/h -> x/*: deny", "x/h -> x/h: allow",
			}}},
		},
		"ipBlock matches a hostNetwork pod's node IP": {
			policies: `
metadata: {name: from-nodes, namespace: x}
spec: {podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 192.168.0.0/24}}]}]}`,
			extra:  []corev1.Pod{hostNetworkPod("y", "h", "192.168.0.3")},
			probes: []probe{{80, tcp, []string{"* -> x/*: deny", "y/h -> x/*: allow"}}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newStdEngine(t, tc.policies, tc.extra...)
			for _, p := range tc.probes {
				m, err := e.Matrix(MatrixOptions{Ports: []int32{p.port}, Protocols: []corev1.Protocol{p.protocol}})
				if err != nil {
					t.Fatal(err)
				}
				want := expect(t, m.Pods, p.want...).String()
				if diff := cmp.Diff(want, render(m, &m.Tables[0])); diff != "" {
					t.Errorf("%d/%s: truth table mismatch (-want +got):\n%s", p.port, p.protocol, diff)
				}
			}
		})
	}
}

// hostNetworkPod is a pod on the host network of node ip, labelled like
// the standard pods so that selectors would match it if it were not.
func hostNetworkPod(ns, name, ip string) corev1.Pod {
	p := testPod(ns, name, ip, ip, map[string]string{"pod": name})
	p.Spec.HostNetwork = true
	return p
}

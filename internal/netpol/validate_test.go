package netpol

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

func TestNewRejectsWhatTheAPIServerRejects(t *testing.T) {
	tests := map[string]struct {
		spec string
		want []string // substrings of the error, in order
	}{
		"bad CIDR": {
			spec: `{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]}`,
			want: []string{`spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.0/33": must be a valid CIDR value`},
		},
		"not a CIDR": {
			spec: `{podSelector: {}, egress: [{to: [{ipBlock: {cidr: example.com}}]}]}`,
			want: []string{`spec.egress[0].to[0].ipBlock.cidr: Invalid value: "example.com"`},
		},
		"empty CIDR": {
			spec: `{podSelector: {}, egress: [{to: [{ipBlock: {cidr: ""}}]}]}`,
			want: []string{`spec.egress[0].to[0].ipBlock.cidr: Required value`},
		},
		"bits set beyond the prefix length": {
			spec: `{podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.0.0.1/8}}]}]}`,
			want: []string{"must not have bits set beyond the prefix length"},
		},
		"leading zeros": {
			spec: `{podSelector: {}, egress: [{to: [{ipBlock: {cidr: 010.0.0.0/8}}]}]}`,
			want: []string{"must not have leading 0s"},
		},
		"except outside the CIDR": {
			spec: `{podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.1.0.0/16, except: [10.2.0.0/24]}}]}]}`,
			want: []string{"spec.egress[0].to[0].ipBlock.except[0]: Invalid value: \"10.2.0.0/24\": must be a strict subset of `cidr`"},
		},
		"except equal to the CIDR": {
			spec: `{podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.1.0.0/16, except: [10.1.0.0/16]}}]}]}`,
			want: []string{"must be a strict subset of `cidr`"},
		},
		"except of another family": {
			spec: `{podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.1.0.0/16, except: ["fd00::/64"]}}]}]}`,
			want: []string{"must be a strict subset of `cidr`"},
		},
		"invalid port name": {
			spec: `{podSelector: {}, ingress: [{ports: [{port: Serve_80}]}]}`,
			want: []string{`spec.ingress[0].ports[0].port: Invalid value: "Serve_80"`},
		},
		"port out of range": {
			spec: `{podSelector: {}, ingress: [{ports: [{port: 70000}]}]}`,
			want: []string{"spec.ingress[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535"},
		},
		"endPort without port": {
			spec: `{podSelector: {}, ingress: [{ports: [{endPort: 90}]}]}`,
			want: []string{"spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is not specified"},
		},
		"endPort below port": {
			spec: `{podSelector: {}, ingress: [{ports: [{port: 90, endPort: 80}]}]}`,
			want: []string{"spec.ingress[0].ports[0].endPort: Invalid value: 80: must be greater than or equal to `port`"},
		},
		"endPort with a named port": {
			spec: `{podSelector: {}, egress: [{ports: [{port: http, endPort: 80}]}]}`,
			want: []string{"may not be specified when `port` is non-numeric"},
		},
		"unknown protocol": {
			spec: `{podSelector: {}, ingress: [{ports: [{protocol: ICMP}]}]}`,
			want: []string{`spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP"`},
		},
		"empty peer": {
			spec: `{podSelector: {}, ingress: [{from: [{}]}]}`,
			want: []string{"spec.ingress[0].from[0]: Required value: must specify a peer"},
		},
		"ipBlock with a selector": {
			spec: `{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]}`,
			want: []string{"spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer"},
		},
		"unknown policy type": {
			spec: `{podSelector: {}, policyTypes: [Ingres]}`,
			want: []string{`spec.policyTypes[0]: Unsupported value: "Ingres"`},
		},
		"three policy types": {
			spec: `{podSelector: {}, policyTypes: [Ingress, Egress, Ingress]}`,
			want: []string{"may not specify more than two policyTypes"},
		},
		"In without values": {
			spec: `{podSelector: {matchExpressions: [{key: app, operator: In}]}}`,
			want: []string{"spec.podSelector.matchExpressions[0].values: Required value"},
		},
		"Exists with values": {
			spec: `{podSelector: {}, ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: app, operator: Exists, values: [a]}]}}]}]}`,
			want: []string{"spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values: Forbidden"},
		},
		"unknown operator": {
			spec: `{podSelector: {matchExpressions: [{key: app, operator: Is, values: [a]}]}}`,
			want: []string{`spec.podSelector.matchExpressions[0].operator: Invalid value: "Is"`},
		},
		"invalid label value": {
			spec: `{podSelector: {matchLabels: {app: "not valid!"}}}`,
			want: []string{`spec.podSelector.matchLabels: Invalid value: "not valid!"`},
		},
		"every error at once": {
			spec: `{podSelector: {}, ingress: [{ports: [{port: 0}], from: [{}]}]}`,
			want: []string{"spec.ingress[0].ports[0].port", "; spec.ingress[0].from[0]"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			pols := decode[networkingv1.NetworkPolicy](t, "metadata: {name: p, namespace: x}\nspec: "+tc.spec)
			_, err := New(nil, nil, pols)
			var invalid *InvalidPolicyError
			if !errors.As(err, &invalid) {
				t.Fatalf("error = %v, want an *InvalidPolicyError", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "NetworkPolicy x/p is invalid: ") {
				t.Errorf("error %q does not name the policy", msg)
			}
			for _, w := range tc.want {
				i := strings.Index(msg, w)
				if i < 0 {
					t.Fatalf("error %q does not contain %q", msg, w)
				}
				msg = msg[i+len(w):]
			}
		})
	}
}

func TestNewAcceptsValidEdgeCases(t *testing.T) {
	pols := decode[networkingv1.NetworkPolicy](t, `
metadata: {name: p, namespace: x}
spec:
  podSelector: {}
  ingress:
  - from: [{ipBlock: {cidr: "2001:db8::/32", except: ["2001:db8:1::/48"]}}, {ipBlock: {cidr: 0.0.0.0/0}}]
    ports: [{port: 1, endPort: 65535}, {port: 80, endPort: 80}, {port: serve-80, protocol: SCTP}]
  - {}
  policyTypes: [Ingress, Ingress]`)
	if _, err := New(nil, nil, pols); err != nil {
		t.Fatal(err)
	}
}

func TestNewNamesEveryInvalidPolicy(t *testing.T) {
	pols := decode[networkingv1.NetworkPolicy](t, `
metadata: {name: bad-cidr, namespace: x}
spec: {podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]}
---
metadata: {name: fine, namespace: x}
spec: {podSelector: {}}
---
metadata: {name: Bad_Name, namespace: "y"}
spec: {podSelector: {}}
---
metadata: {name: no-namespace}
spec: {podSelector: {}}`)
	_, err := New(nil, nil, pols)
	var names []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var invalid *InvalidPolicyError
		if !errors.As(e, &invalid) {
			t.Fatalf("error %v is not an *InvalidPolicyError", e)
		}
		names = append(names, invalid.Namespace+"/"+invalid.Name)
	}
	if diff := cmp.Diff([]string{"x/bad-cidr", "y/Bad_Name", "/no-namespace"}, names); diff != "" {
		t.Errorf("invalid policies (-want +got):\n%s", diff)
	}
}

func TestNewRejectsDuplicatesAndNamelessObjects(t *testing.T) {
	nss, pods := stdCluster()
	pol := decode[networkingv1.NetworkPolicy](t, "metadata: {name: p, namespace: x}\nspec: {podSelector: {}}")[0]
	tests := map[string]struct {
		nss      []corev1.Namespace
		pods     []corev1.Pod
		policies []networkingv1.NetworkPolicy
		want     string
	}{
		"namespace twice":   {nss: append(nss, nss[0]), want: "namespace x is given twice"},
		"pod twice":         {pods: append(pods, pods[0]), want: "pod x/a is given twice"},
		"policy twice":      {policies: []networkingv1.NetworkPolicy{pol, pol}, want: "NetworkPolicy x/p is given twice"},
		"pod without name":  {pods: []corev1.Pod{testPod("x", "", "10.0.0.1", "", nil)}, want: `a Pod in namespace "x" has no name`},
		"pod without ns":    {pods: []corev1.Pod{testPod("", "a", "10.0.0.1", "", nil)}, want: `Pod "a" has no namespace`},
		"namespace no name": {nss: []corev1.Namespace{{}}, want: "a Namespace has no name"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New(tc.nss, tc.pods, tc.policies)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDefault(t *testing.T) {
	tests := map[string]struct {
		spec          string
		wantTypes     []networkingv1.PolicyType
		wantProtocols []corev1.Protocol // of every port, ingress then egress
	}{
		"no rules":               {spec: `{podSelector: {}}`, wantTypes: []networkingv1.PolicyType{"Ingress"}},
		"ingress rules":          {spec: `{podSelector: {}, ingress: [{}]}`, wantTypes: []networkingv1.PolicyType{"Ingress"}},
		"egress rules":           {spec: `{podSelector: {}, egress: [{}]}`, wantTypes: []networkingv1.PolicyType{"Ingress", "Egress"}},
		"empty egress list":      {spec: `{podSelector: {}, egress: []}`, wantTypes: []networkingv1.PolicyType{"Ingress"}},
		"explicit types stay":    {spec: `{podSelector: {}, egress: [{}], policyTypes: [Egress]}`, wantTypes: []networkingv1.PolicyType{"Egress"}},
		"protocol becomes TCP":   {spec: `{podSelector: {}, ingress: [{ports: [{port: 80}]}], egress: [{ports: [{}]}]}`, wantTypes: []networkingv1.PolicyType{"Ingress", "Egress"}, wantProtocols: []corev1.Protocol{"TCP", "TCP"}},
		"explicit protocol kept": {spec: `{podSelector: {}, ingress: [{ports: [{protocol: UDP}, {protocol: SCTP}]}]}`, wantTypes: []networkingv1.PolicyType{"Ingress"}, wantProtocols: []corev1.Protocol{"UDP", "SCTP"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := decode[networkingv1.NetworkPolicy](t, "metadata: {name: p, namespace: x}\nspec: "+tc.spec)[0]
			before := in.DeepCopy()
			got := Default(&in)
			if diff := cmp.Diff(tc.wantTypes, got.Spec.PolicyTypes); diff != "" {
				t.Errorf("policyTypes (-want +got):\n%s", diff)
			}
			var protocols []corev1.Protocol
			for _, r := range got.Spec.Ingress {
				protocols = appendProtocols(protocols, r.Ports)
			}
			for _, r := range got.Spec.Egress {
				protocols = appendProtocols(protocols, r.Ports)
			}
			if diff := cmp.Diff(tc.wantProtocols, protocols); diff != "" {
				t.Errorf("protocols (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, &in); diff != "" {
				t.Errorf("Default modified its argument:\n%s", diff)
			}
		})
	}
}

func appendProtocols(out []corev1.Protocol, ports []networkingv1.NetworkPolicyPort) []corev1.Protocol {
	for _, p := range ports {
		if p.Protocol == nil {
			return append(out, "<nil>")
		}
		out = append(out, *p.Protocol)
	}
	return out
}

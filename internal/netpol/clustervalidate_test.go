package netpol

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	networkingv1 "k8s.io/api/networking/v1"
)

// TestNewRejectsInvalidClusterPolicies: what the CRDs' schema and
// validation rules reject, the engine rejects, naming kind, name and field.
func TestNewRejectsInvalidClusterPolicies(t *testing.T) {
	const anp = "kind: AdminNetworkPolicy\nmetadata: {name: p}\nspec: "
	const cnp = "kind: ClusterNetworkPolicy\nmetadata: {name: p}\nspec: "
	const banp = "kind: BaselineAdminNetworkPolicy\nmetadata: {name: default}\nspec: "
	long := strings.Repeat("r", 101)
	var networks []string
	for i := range 26 {
		networks = append(networks, fmt.Sprintf("10.0.%d.0/24", i))
	}
	tests := map[string]struct {
		doc  string
		want []string // substrings of the error, in order
	}{
		"priority above 1000": {
			doc:  anp + `{priority: 1001, subject: {namespaces: {}}}`,
			want: []string{"AdminNetworkPolicy p is invalid: spec.priority: Invalid value: 1001: must be between 0 and 1000"},
		},
		"negative priority": {
			doc:  cnp + `{tier: Admin, priority: -1, subject: {namespaces: {}}}`,
			want: []string{"ClusterNetworkPolicy p is invalid: spec.priority: Invalid value: -1"},
		},
		"subject with both fields": {
			doc:  anp + `{priority: 1, subject: {namespaces: {}, pods: {namespaceSelector: {}, podSelector: {}}}}`,
			want: []string{"spec.subject: Forbidden: exactly one field must be set, not namespaces and pods"},
		},
		"subject with neither field": {
			doc:  cnp + `{tier: Admin, priority: 1, subject: {}}`,
			want: []string{"spec.subject: Required value: exactly one field must be set"},
		},
		"invalid subject selector": {
			doc:  anp + `{priority: 1, subject: {namespaces: {matchLabels: {a: "bad value!"}}}}`,
			want: []string{`spec.subject.namespaces.matchLabels: Invalid value: "bad value!"`},
		},
		"unknown action": {
			doc:  anp + `{priority: 1, subject: {namespaces: {}}, ingress: [{action: Reject, from: [{namespaces: {}}]}]}`,
			want: []string{`spec.ingress[0].action: Unsupported value: "Reject": supported values: "Allow", "Deny", "Pass"`},
		},
		"Pass in a BaselineAdminNetworkPolicy": {
			doc:  banp + `{subject: {namespaces: {}}, egress: [{action: Pass, to: [{namespaces: {}}]}]}`,
			want: []string{`BaselineAdminNetworkPolicy default is invalid: spec.egress[0].action: Unsupported value: "Pass": supported values: "Allow", "Deny"`},
		},
		"Allow in a ClusterNetworkPolicy": {
			doc:  cnp + `{tier: Baseline, priority: 1, subject: {namespaces: {}}, ingress: [{action: Allow, from: [{namespaces: {}}]}]}`,
			want: []string{`spec.ingress[0].action: Unsupported value: "Allow": supported values: "Accept", "Deny", "Pass"`},
		},
		"a BaselineAdminNetworkPolicy not named default": {
			doc:  "kind: BaselineAdminNetworkPolicy\nmetadata: {name: other}\nspec: {subject: {namespaces: {}}}",
			want: []string{`BaselineAdminNetworkPolicy other is invalid: metadata.name: Invalid value: "other": Only one baseline admin network policy with metadata.name="default"`},
		},
		"unknown tier": {
			doc:  cnp + `{tier: Middle, priority: 1, subject: {namespaces: {}}}`,
			want: []string{`spec.tier: Unsupported value: "Middle": supported values: "Admin", "Baseline"`},
		},
		"no tier": {
			doc:  cnp + `{priority: 1, subject: {namespaces: {}}}`,
			want: []string{`spec.tier: Unsupported value: ""`},
		},
		"a rule without peers": {
			doc:  anp + `{priority: 1, subject: {namespaces: {}}, egress: [{action: Deny}]}`,
			want: []string{"spec.egress[0].to: Required value: a rule needs at least one peer"},
		},
		"a peer with two fields": {
			doc:  anp + `{priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: [{namespaces: {}, networks: [10.0.0.0/8]}]}]}`,
			want: []string{"spec.egress[0].to[0]: Forbidden: exactly one field must be set, not namespaces and networks"},
		},
		"an empty peer": {
			doc:  cnp + `{tier: Admin, priority: 1, subject: {namespaces: {}}, ingress: [{action: Deny, from: [{}]}]}`,
			want: []string{"spec.ingress[0].from[0]: Required value: exactly one field must be set"},
		},
		"a CIDR with host bits": {
			doc:  anp + `{priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: [{networks: [10.0.0.1/8]}]}]}`,
			want: []string{`spec.egress[0].to[0].networks[0]: Invalid value: "10.0.0.1/8": Invalid CIDR format provided`},
		},
		"not a CIDR": {
			doc:  cnp + `{tier: Admin, priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: [{networks: [10.0.0.0]}]}]}`,
			want: []string{`spec.egress[0].to[0].networks[0]: Invalid value: "10.0.0.0": Invalid CIDR format provided`},
		},
		"an empty networks list": {
			doc:  anp + `{priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: [{networks: []}]}]}`,
			want: []string{"spec.egress[0].to[0].networks: Required value"},
		},
		"too many networks, one twice": {
			doc:  anp + `{priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: [{networks: [` + strings.Join(networks, ", ") + `, 10.0.0.0/24]}]}]}`,
			want: []string{"spec.egress[0].to[0].networks: Too many: 27: must have at most 25 items", `networks[26]: Duplicate value: "10.0.0.0/24"`},
		},
		"a bad domain name": {
			doc:  anp + `{priority: 1, subject: {namespaces: {}}, egress: [{action: Allow, to: [{domainNames: ["-bad.example", "example.*"]}]}]}`,
			want: []string{`spec.egress[0].to[0].domainNames[0]: Invalid value: "-bad.example"`, `domainNames[1]: Invalid value: "example.*"`},
		},
		"a named port with a networks peer": {
			doc:  anp + `{priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: [{networks: [10.0.0.0/8]}], ports: [{namedPort: http}]}]}`,
			want: []string{"spec.egress[0]: Forbidden: networks/nodes/domainNames peer cannot be set with namedPorts"},
		},
		"a named port with a nodes peer": {
			doc:  cnp + `{tier: Admin, priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: [{nodes: {}}], protocols: [{destinationNamedPort: http}]}]}`,
			want: []string{"spec.egress[0]: Forbidden: networks/nodes/domainNames peer cannot be set with namedPorts"},
		},
		"a port entry with two fields": {
			doc:  anp + `{priority: 1, subject: {namespaces: {}}, ingress: [{action: Deny, from: [{namespaces: {}}], ports: [{namedPort: http, portNumber: {port: 80}}]}]}`,
			want: []string{"spec.ingress[0].ports[0]: Forbidden: exactly one field must be set, not portNumber and namedPort"},
		},
		"port numbers and protocol": {
			doc: anp + `{priority: 1, subject: {namespaces: {}}, ingress: [{action: Deny, from: [{namespaces: {}}], ports: [{portNumber: {port: 70000}}, {portNumber: {port: 80, protocol: ICMP}}, {portRange: {start: 90, end: 90}}]}]}`,
			want: []string{
				"spec.ingress[0].ports[0].portNumber.port: Invalid value: 70000: must be between 1 and 65535",
				`spec.ingress[0].ports[1].portNumber.protocol: Unsupported value: "ICMP"`,
				"spec.ingress[0].ports[2].portRange: Invalid value: [90,90]: Start port must be less than End port",
			},
		},
		"empty ports": {
			doc:  banp + `{subject: {namespaces: {}}, ingress: [{action: Deny, from: [{namespaces: {}}], ports: []}]}`,
			want: []string{"spec.ingress[0].ports: Required value: must have at least one entry when set"},
		},
		"protocols": {
			doc: cnp + `{tier: Admin, priority: 1, subject: {namespaces: {}}, ingress: [{action: Deny, from: [{namespaces: {}}], protocols: [{tcp: {}}, {udp: {destinationPort: {number: 80, range: {start: 1, end: 2}}}}, {sctp: {destinationPort: {range: {start: 9, end: 8}}}}, {tcp: {destinationPort: {number: 80}}, destinationNamedPort: http}, {udp: {destinationPort: {number: 65536}}}]}]}`,
			want: []string{
				"spec.ingress[0].protocols[0].tcp.destinationPort: Required value",
				"spec.ingress[0].protocols[1].udp.destinationPort: Forbidden: exactly one field must be set, not number and range",
				"spec.ingress[0].protocols[2].sctp.destinationPort.range: Invalid value: [9,8]: Start port must be less than End port",
				"spec.ingress[0].protocols[3]: Forbidden: exactly one field must be set, not tcp and destinationNamedPort",
				"spec.ingress[0].protocols[4].udp.destinationPort.number: Invalid value: 65536",
			},
		},
		"a rule name too long": {
			doc:  anp + `{priority: 1, subject: {namespaces: {}}, ingress: [{name: ` + long + `, action: Deny, from: [{namespaces: {}}]}]}`,
			want: []string{"spec.ingress[0].name: Too long: may not be more than 100 bytes"},
		},
		"a bad name": {
			doc:  "kind: AdminNetworkPolicy\nmetadata: {name: Bad_Name}\nspec: {priority: 1, subject: {namespaces: {}}}",
			want: []string{`AdminNetworkPolicy Bad_Name is invalid: metadata.name: Invalid value: "Bad_Name"`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := NewWithClusterPolicies(nil, nil, nil, decodeCluster(t, tc.doc))
			if err == nil {
				t.Fatal("no error")
			}
			var invalid *InvalidPolicyError
			if !errors.As(err, &invalid) {
				t.Fatalf("error %v is not an *InvalidPolicyError", err)
			}
			rest := err.Error()
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error %q lacks %q (or not in order)", err, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestNewAcceptsValidClusterPolicies(t *testing.T) {
	cluster := decodeCluster(t, `
kind: AdminNetworkPolicy
metadata: {name: edge, namespace: ignored}
spec:
  priority: 0
  subject: {pods: {namespaceSelector: {}, podSelector: {matchExpressions: [{key: a, operator: Exists}]}}}
  ingress: [{action: Pass, from: [{pods: {namespaceSelector: {}, podSelector: {}}}], ports: [{namedPort: http}, {portRange: {start: 1, end: 65535}}]}]
  egress:
  - {action: Allow, to: [{domainNames: ["*.example.com", example.org.]}, {nodes: {matchLabels: {a: b}}}, {networks: ["::/0", 0.0.0.0/0]}]}
  - {action: Deny, to: [{namespaces: {}}], ports: [{namedPort: http}]}
---
kind: ClusterNetworkPolicy
metadata: {name: edge}
spec:
  tier: Baseline
  priority: 1000
  subject: {namespaces: {}}
  egress: [{action: Pass, to: [{pods: {namespaceSelector: {}, podSelector: {}}}], protocols: [{destinationNamedPort: http}, {sctp: {destinationPort: {number: 9}}}]}]`)
	if _, err := NewWithClusterPolicies(nil, nil, nil, cluster); err != nil {
		t.Fatal(err)
	}
}

// TestNewNamesEveryInvalidClusterPolicy: one *InvalidPolicyError per
// invalid object, NetworkPolicies and cluster-wide policies together.
func TestNewNamesEveryInvalidClusterPolicy(t *testing.T) {
	pols := decode[networkingv1.NetworkPolicy](t, `
metadata: {name: bad-cidr, namespace: x}
spec: {podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]}`)
	cluster := decodeCluster(t, `
kind: AdminNetworkPolicy
metadata: {name: bad-priority}
spec: {priority: 2000, subject: {namespaces: {}}}
---
kind: AdminNetworkPolicy
metadata: {name: fine}
spec: {priority: 1, subject: {namespaces: {}}}
---
kind: BaselineAdminNetworkPolicy
metadata: {name: other}
spec: {subject: {namespaces: {}}}
---
kind: ClusterNetworkPolicy
metadata: {name: bad-tier}
spec: {tier: admin, priority: 1, subject: {namespaces: {}}}`)
	_, err := NewWithClusterPolicies(nil, nil, pols, cluster)
	var names []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var invalid *InvalidPolicyError
		if !errors.As(e, &invalid) {
			t.Fatalf("error %v is not an *InvalidPolicyError", e)
		}
		names = append(names, invalid.Kind+" "+invalid.Namespace+"/"+invalid.Name)
	}
	want := []string{"NetworkPolicy x/bad-cidr", "AdminNetworkPolicy /bad-priority", "BaselineAdminNetworkPolicy /other", "ClusterNetworkPolicy /bad-tier"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("invalid policies (-want +got):\n%s", diff)
	}
}

func TestNewRejectsDuplicateClusterPolicies(t *testing.T) {
	cluster := decodeCluster(t, `
kind: AdminNetworkPolicy
metadata: {name: a}
spec: {priority: 1, subject: {namespaces: {}}}
---
kind: AdminNetworkPolicy
metadata: {name: a}
spec: {priority: 2, subject: {namespaces: {}}}
---
kind: ClusterNetworkPolicy
metadata: {name: a}
spec: {tier: Admin, priority: 1, subject: {namespaces: {}}}`)
	_, err := NewWithClusterPolicies(nil, nil, nil, cluster)
	if err == nil || err.Error() != "AdminNetworkPolicy a is given twice" {
		t.Errorf("error = %v, want AdminNetworkPolicy a is given twice", err)
	}
}

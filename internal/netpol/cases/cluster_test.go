package cases_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	policyv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/palisade-sec/palisade/internal/netpol"
	"github.com/palisade-sec/palisade/internal/netpol/cases"
)

// TestGenerateAccountsForClusterPolicies: the expected verdicts come from
// an engine that has the cluster-wide policies too, so an AdminNetworkPolicy
// Deny turns a positive case Deny; no case is derived from it.
func TestGenerateAccountsForClusterPolicies(t *testing.T) {
	const policies = `
metadata: {name: allow-from-y, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]}]`
	var anp policyv1alpha1.AdminNetworkPolicy
	if err := yaml.UnmarshalStrict([]byte(`
metadata: {name: deny-y-to-x}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {ns: x}}}
  ingress: [{name: no-y, action: Deny, from: [{namespaces: {matchLabels: {ns: "y"}}}]}]`), &anp); err != nil {
		t.Fatal(err)
	}
	const positive = "Ingress Positive y/{pod=a} -> x/{pod=a} 80/TCP"
	opts := cases.Options{ClusterNetworks: clusterNetworks}

	plain := stdScenario(t, policies)
	before := plain.generate(t, opts)
	checkPlan(t, plain, opts, before)
	if !slices.Contains(lines(before.Cases), positive+": Allow") {
		t.Fatalf("without the AdminNetworkPolicy, no case %q: Allow among:\n%s", positive, strings.Join(lines(before.Cases), "\n"))
	}

	s := stdScenario(t, policies)
	s.cluster = netpol.ClusterPolicies{AdminNetworkPolicies: []policyv1alpha1.AdminNetworkPolicy{anp}}
	after := s.generate(t, opts)
	checkPlan(t, s, opts, after)
	i := slices.IndexFunc(after.Cases, func(c cases.Case) bool { return strings.HasPrefix(line(c), positive+":") })
	if i < 0 {
		t.Fatalf("no case %q among:\n%s", positive, strings.Join(lines(after.Cases), "\n"))
	}
	c := after.Cases[i]
	if c.Expected != netpol.Deny || !strings.Contains(c.Why, `denied by admin rule AdminNetworkPolicy/deny-y-to-x ingress[0] "no-y"`) {
		t.Errorf("case %s, why %q: want Deny by the AdminNetworkPolicy", line(c), c.Why)
	}
	if len(after.Cases) != len(before.Cases) {
		t.Errorf("%d cases with the AdminNetworkPolicy, %d without: none should come from it", len(after.Cases), len(before.Cases))
	}
	for _, c := range after.Cases {
		if c.Policy != "x/allow-from-y" {
			t.Errorf("case %s comes from %s", line(c), c.Policy)
		}
	}
}

// TestGenerateClusterNetworksDependOnAddresses: an admin rule whose
// networks hold part of the pod network may match the real probe pods and
// not the planned ones, so the cases it could decide are left out with a
// note; one holding the whole pod network decides whatever the addresses.
func TestGenerateClusterNetworksDependOnAddresses(t *testing.T) {
	const policies = `
metadata: {name: allow-from-y, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]}]`
	anp := func(cidr string) policyv1alpha1.AdminNetworkPolicy {
		var p policyv1alpha1.AdminNetworkPolicy
		if err := yaml.UnmarshalStrict([]byte(`
metadata: {name: deny-net}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {ns: x}}}
  egress: [{name: no-net, action: Deny, to: [{networks: ["`+cidr+`"]}]}]
  ingress: [{name: no-net-in, action: Deny, from: [{namespaces: {matchLabels: {ns: "none"}}}]}]`), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	opts := cases.Options{ClusterNetworks: clusterNetworks}
	for _, tc := range []struct {
		name, cidr string
		dependent  bool
	}{
		{"part of the pod network", halfOf(clusterNetworks[0]), true},
		{"the whole pod network", clusterNetworks[0].String(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := stdScenario(t, policies)
			s.cluster = netpol.ClusterPolicies{AdminNetworkPolicies: []policyv1alpha1.AdminNetworkPolicy{anp(tc.cidr)}}
			plan := s.generate(t, opts)
			checkPlan(t, s, opts, plan)
			fromX := slices.ContainsFunc(plan.Cases, func(c cases.Case) bool { return c.From.Namespace == "x" })
			noted := slices.ContainsFunc(plan.Notes, func(n string) bool {
				return strings.Contains(n, "cluster-wide networks peer that may hold the probe pods' addresses")
			})
			if tc.dependent && (fromX || !noted) {
				t.Errorf("networks %s: cases from x %v, notes %q; want none from x and a note", tc.cidr, fromX, plan.Notes)
			}
			if !tc.dependent && !fromX {
				t.Errorf("networks %s: no case from x, want some (the rule matches every pod address)", tc.cidr)
			}
		})
	}
}

// halfOf is the first half of n.
func halfOf(n netip.Prefix) string {
	return netip.PrefixFrom(n.Addr(), n.Bits()+1).String()
}

package cases_test

import (
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

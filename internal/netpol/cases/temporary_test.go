package cases_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/palisade-sec/palisade/internal/netpol/cases"
)

// temporaryName is the form of a temporary namespace's name.
var temporaryName = regexp.MustCompile(`^palisade-tmp-[0-9a-f]{10}$`)

// paymentsNamespace is the name of the namespace made for labels
// team=payments: sha256("team=payments"), so that it stays the same from
// release to release (a run cleans up namespaces an earlier one left).
const paymentsNamespace = "palisade-tmp-261e494562"

// checkTemporaryNamespaces checks a plan's temporary namespaces: at most
// MaxTemporaryNamespaces, sorted by name, named "palisade-tmp-" and 10 hex
// digits, not in scope, without kubernetes.io/metadata.name among their
// labels, each used by a case; and that every case's ends are in a
// namespace in scope or a temporary one, which its Why then mentions.
func checkTemporaryNamespaces(t *testing.T, s scenario, opts cases.Options, plan *cases.Plan) {
	t.Helper()
	scope := map[string]bool{}
	inScope := opts.Namespaces
	if inScope == nil {
		inScope = s.namespaces
	}
	for _, ns := range inScope {
		scope[ns.Name] = true
	}
	if len(plan.TemporaryNamespaces) > cases.MaxTemporaryNamespaces {
		t.Errorf("%d temporary namespaces, more than %d", len(plan.TemporaryNamespaces), cases.MaxTemporaryNamespaces)
	}
	listed := map[string]bool{}
	for i, tmp := range plan.TemporaryNamespaces {
		if !temporaryName.MatchString(tmp.Name) || len(validation.IsDNS1123Label(tmp.Name)) > 0 {
			t.Errorf("temporary namespace name %q is not palisade-tmp- and 10 hex digits", tmp.Name)
		}
		if i > 0 && plan.TemporaryNamespaces[i-1].Name >= tmp.Name {
			t.Errorf("temporary namespaces not sorted by name, or listed twice: %v", plan.TemporaryNamespaces)
		}
		if _, ok := tmp.Labels["kubernetes.io/metadata.name"]; ok {
			t.Errorf("temporary namespace %s lists kubernetes.io/metadata.name", tmp.Name)
		}
		if scope[tmp.Name] {
			t.Errorf("temporary namespace %s is in scope", tmp.Name)
		}
		listed[tmp.Name] = true
	}
	used := map[string]bool{}
	for _, c := range plan.Cases {
		for _, ns := range []string{c.From.Namespace, c.To.Namespace} {
			switch {
			case ns == "" || scope[ns]:
			case listed[ns]:
				used[ns] = true
				if !strings.Contains(c.Why, "temporary namespace "+ns) {
					t.Errorf("case %s: Why does not mention temporary namespace %s: %s", line(c), ns, c.Why)
				}
			default:
				t.Errorf("case %s has an end in %s, neither in scope nor a temporary namespace of the plan", line(c), ns)
			}
		}
	}
	for ns := range listed {
		if !used[ns] {
			t.Errorf("temporary namespace %s is listed but no case uses it", ns)
		}
	}
}

// teamScenario is a small cluster where no namespace has team=payments:
// namespace a (team=web) with pods web and db, namespace b (team=ops) with
// pod tool.
func teamScenario(t *testing.T, policies string) scenario {
	nss := []corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"team": "web"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "b", Labels: map[string]string{"team": "ops"}}},
	}
	pods := []corev1.Pod{
		pod("a", "web", "10.244.1.1", map[string]string{"app": "web"}, nil),
		pod("a", "db", "10.244.1.2", map[string]string{"app": "db"}, nil),
		pod("b", "tool", "10.244.2.1", map[string]string{"app": "tool"}, nil),
	}
	return scenario{namespaces: nss, pods: pods, policies: decodePolicies(t, policies)}
}

// casesIn returns the lines of the cases with an end in namespace ns, and
// those of the others.
func casesIn(cs []cases.Case, ns string) (in, others []string) {
	for _, c := range cs {
		if c.From.Namespace == ns || c.To.Namespace == ns {
			in = append(in, line(c))
		} else {
			others = append(others, line(c))
		}
	}
	return in, others
}

const fromPayments = `
metadata: {name: from-payments, namespace: a}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: payments}}}]}]`

// TestGenerateTemporaryNamespaceIngress: a rule admitting a namespace that
// does not exist gets a positive case only with TemporaryNamespaces, from
// a namespace made up with the labels it asks for; nothing else changes.
func TestGenerateTemporaryNamespaceIngress(t *testing.T) {
	s := teamScenario(t, fromPayments)
	const note = "a/from-payments spec.ingress[0].from[0] (all pods in namespaces {team=payments}): matches no probe pod in scope"

	off := cases.Options{ClusterNetworks: clusterNetworks}
	offPlan := s.generate(t, off)
	checkPlan(t, s, off, offPlan)
	for _, c := range offPlan.Cases {
		if c.Kind == cases.Positive {
			t.Errorf("option off: positive case %s", line(c))
		}
	}
	if !slices.Contains(offPlan.Notes, note) {
		t.Errorf("option off: notes %q lack %q", offPlan.Notes, note)
	}
	if offPlan.TemporaryNamespaces != nil {
		t.Errorf("option off: temporary namespaces %v", offPlan.TemporaryNamespaces)
	}

	on := cases.Options{ClusterNetworks: clusterNetworks, TemporaryNamespaces: true}
	plan := s.generate(t, on)
	checkPlan(t, s, on, plan)
	want := []cases.TemporaryNamespace{{Name: paymentsNamespace, Labels: map[string]string{"team": "payments"}}}
	if diff := cmp.Diff(want, plan.TemporaryNamespaces); diff != "" {
		t.Fatalf("temporary namespaces mismatch (-want +got):\n%s", diff)
	}
	tmpCases, others := casesIn(plan.Cases, paymentsNamespace)
	// The rule has no ports: every port is admitted, none is a negative.
	wantTmp := []string{"Ingress Positive " + paymentsNamespace + "/{} -> a/{app=web} 80/TCP: Allow"}
	if diff := cmp.Diff(wantTmp, tmpCases); diff != "" {
		t.Errorf("cases in the temporary namespace mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(lines(offPlan.Cases), others); diff != "" {
		t.Errorf("the other cases changed with the option (-off +on):\n%s", diff)
	}
	if slices.Contains(plan.Notes, note) {
		t.Errorf("option on: the peer still has note %q", note)
	}
	for _, c := range plan.Cases {
		if c.From.Namespace == paymentsNamespace && !strings.Contains(c.Why, "made for namespaceSelector {team=payments}") {
			t.Errorf("case %s: Why does not say what the namespace was made for: %s", line(c), c.Why)
		}
	}

	again := s.generate(t, on)
	if diff := cmp.Diff(plan, again, equateAddrs); diff != "" {
		t.Errorf("a second plan differs (-first +second):\n%s", diff)
	}
}

// TestGenerateTemporaryNamespaceEgress: egress rules to a namespace that
// does not exist get servers in a namespace made up for it, with labels
// from matchExpressions, each rule's pod selector on its server.
func TestGenerateTemporaryNamespaceEgress(t *testing.T) {
	s := teamScenario(t, `
metadata: {name: to-api, namespace: a}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector:
        matchExpressions:
        - {key: env, operator: In, values: [staging, prod]}
        - {key: tier, operator: Exists}
        - {key: legacy, operator: DoesNotExist}
      podSelector: {matchLabels: {app: api}}
    ports: [{port: 8080}]
  - to:
    - namespaceSelector: {matchExpressions: [{key: env, operator: In, values: [prod]}, {key: tier, operator: Exists}]}
      podSelector: {matchLabels: {app: worker}}
    ports: [{port: 9090}]`)
	opts := cases.Options{ClusterNetworks: clusterNetworks, TemporaryNamespaces: true}
	plan := s.generate(t, opts)
	checkPlan(t, s, opts, plan)
	const name = "palisade-tmp-47b8ca523e" // sha256("env=prod,tier=palisade-temporary")
	want := []cases.TemporaryNamespace{{Name: name, Labels: map[string]string{"env": "prod", "tier": "palisade-temporary"}}}
	if diff := cmp.Diff(want, plan.TemporaryNamespaces); diff != "" {
		t.Fatalf("temporary namespaces mismatch (-want +got):\n%s", diff)
	}
	tmpCases, _ := casesIn(plan.Cases, name)
	wantTmp := []string{
		"Egress Positive a/{app=web} -> " + name + "/{app=api} 8080/TCP: Allow",
		"Egress NegativePort a/{app=web} -> " + name + "/{app=api} 8081/TCP: Deny",
		"Egress Positive a/{app=web} -> " + name + "/{app=worker} 9090/TCP: Allow",
		"Egress NegativePort a/{app=web} -> " + name + "/{app=worker} 9091/TCP: Deny",
	}
	if diff := cmp.Diff(wantTmp, tmpCases); diff != "" {
		t.Errorf("cases in the temporary namespace mismatch (-want +got):\n%s\nnotes: %q", diff, plan.Notes)
	}
}

// TestGenerateTemporaryNamespaceShared: selectors asking for the same
// labels share one namespace, and a namespaceSelector matching a namespace
// in scope, an empty one, or none at all never makes one.
func TestGenerateTemporaryNamespaceShared(t *testing.T) {
	s := teamScenario(t, fromPayments+`
---
metadata: {name: db-from-payments, namespace: a}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - namespaceSelector: {matchExpressions: [{key: team, operator: In, values: [zz-unknown, payments]}, {key: team, operator: NotIn, values: [zz-unknown]}]}
    - namespaceSelector: {matchLabels: {team: ops}}
    - namespaceSelector: {}
      podSelector: {matchLabels: {app: tool}}
    - podSelector: {matchLabels: {app: web}}`)
	opts := cases.Options{ClusterNetworks: clusterNetworks, TemporaryNamespaces: true}
	plan := s.generate(t, opts)
	checkPlan(t, s, opts, plan)
	want := []cases.TemporaryNamespace{{Name: paymentsNamespace, Labels: map[string]string{"team": "payments"}}}
	if diff := cmp.Diff(want, plan.TemporaryNamespaces); diff != "" {
		t.Fatalf("temporary namespaces mismatch (-want +got):\n%s", diff)
	}
	for _, w := range []string{
		"Ingress Positive " + paymentsNamespace + "/{} -> a/{app=web} 80/TCP: Allow",
		"Ingress Positive " + paymentsNamespace + "/{} -> a/{app=db} 80/TCP: Allow",
		"Ingress Positive b/{app=tool} -> a/{app=db} 80/TCP: Allow",
		"Ingress Positive a/{app=web} -> a/{app=db} 80/TCP: Allow",
	} {
		if !slices.Contains(lines(plan.Cases), w) {
			t.Errorf("no case %q among:\n%s", w, strings.Join(lines(plan.Cases), "\n"))
		}
	}
}

// TestGenerateTemporaryNamespaceRefused: selectors a made-up namespace
// cannot satisfy keep their note, saying why.
func TestGenerateTemporaryNamespaceRefused(t *testing.T) {
	tests := map[string]struct {
		selector string
		note     string
	}{
		"names a namespace": {
			selector: `{matchLabels: {kubernetes.io/metadata.name: payments}}`,
			note:     "matches no probe pod in scope, and no temporary namespace is made for it: it names a namespace (kubernetes.io/metadata.name) that is not in scope, and TemporaryNamespaces cannot create a namespace a selector names",
		},
		"names a namespace in an expression": {
			selector: `{matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [a, b]}], matchLabels: {team: payments}}`,
			note:     "it names a namespace (kubernetes.io/metadata.name)",
		},
		"In and NotIn exclude each other": {
			selector: `{matchExpressions: [{key: team, operator: In, values: [payments]}, {key: team, operator: NotIn, values: [payments]}]}`,
			note:     "no temporary namespace is made for it: label team: NotIn excludes every valid value In allows",
		},
		"DoesNotExist and matchLabels": {
			selector: `{matchLabels: {team: payments}, matchExpressions: [{key: team, operator: DoesNotExist}]}`,
			note:     "label team: DoesNotExist forbids it, and another requirement needs it",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := teamScenario(t, `
metadata: {name: refused, namespace: a}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{namespaceSelector: `+tc.selector+`}]}]`)
			opts := cases.Options{ClusterNetworks: clusterNetworks, TemporaryNamespaces: true}
			plan := s.generate(t, opts)
			checkPlan(t, s, opts, plan)
			if plan.TemporaryNamespaces != nil {
				t.Errorf("temporary namespaces %v", plan.TemporaryNamespaces)
			}
			if !slices.ContainsFunc(plan.Notes, func(n string) bool {
				return strings.HasPrefix(n, "a/refused spec.ingress[0].from[0] ") && strings.Contains(n, tc.note)
			}) {
				t.Errorf("no note on the peer contains %q: %q", tc.note, plan.Notes)
			}
		})
	}
}

// TestGenerateTemporaryNamespaceCap: a plan makes at most
// MaxTemporaryNamespaces namespaces, the first selectors' in policy and
// rule order (selectors that match a namespace in scope take none), and
// notes the others; capped cases list only the namespaces they use.
func TestGenerateTemporaryNamespaceCap(t *testing.T) {
	const extra = 2
	peers := []string{"{namespaceSelector: {matchLabels: {team: ops}}}", "{namespaceSelector: {}}"}
	first := len(peers) // index of the first peer needing a temporary namespace
	for i := range cases.MaxTemporaryNamespaces + extra {
		peers = append(peers, fmt.Sprintf("{namespaceSelector: {matchLabels: {team: t%02d}}}", i))
	}
	s := teamScenario(t, `
metadata: {name: many, namespace: a}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [`+strings.Join(peers, ", ")+`]}]`)
	opts := cases.Options{ClusterNetworks: clusterNetworks, TemporaryNamespaces: true}
	plan := s.generate(t, opts)
	checkPlan(t, s, opts, plan)
	var got []string
	for _, tmp := range plan.TemporaryNamespaces {
		got = append(got, tmp.Labels["team"])
	}
	slices.Sort(got)
	var want []string
	for i := range cases.MaxTemporaryNamespaces {
		want = append(want, fmt.Sprintf("t%02d", i))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("teams of the temporary namespaces mismatch (-want +got):\n%s", diff)
	}
	for i := cases.MaxTemporaryNamespaces; i < cases.MaxTemporaryNamespaces+extra; i++ {
		note := fmt.Sprintf("a/many spec.ingress[0].from[%d] (all pods in namespaces {team=t%02d}): matches no probe pod in scope, and no temporary namespace is made for it: the plan already makes %d (MaxTemporaryNamespaces)", first+i, i, cases.MaxTemporaryNamespaces)
		if !slices.Contains(plan.Notes, note) {
			t.Errorf("notes %q lack %q", plan.Notes, note)
		}
	}

	capped := cases.Options{ClusterNetworks: clusterNetworks, TemporaryNamespaces: true, MaxCases: 3}
	cappedPlan := s.generate(t, capped)
	checkPlan(t, s, capped, cappedPlan) // lists exactly the namespaces its cases use
	if n := len(cappedPlan.TemporaryNamespaces); n == 0 || n >= cases.MaxTemporaryNamespaces {
		t.Errorf("%d temporary namespaces for 3 cases", n)
	}
}

// TestGenerateTemporaryNamespacesUnneeded: when every namespaceSelector
// matches a namespace in scope, the option changes nothing.
func TestGenerateTemporaryNamespacesUnneeded(t *testing.T) {
	s := stdScenario(t, manyPolicies+`
---
metadata: {name: all-namespaces, namespace: z}
spec:
  podSelector: {}
  ingress: [{from: [{namespaceSelector: {}}, {podSelector: {matchLabels: {pod: b}}}]}]`)
	off := s.generate(t, cases.Options{ClusterNetworks: clusterNetworks})
	opts := cases.Options{ClusterNetworks: clusterNetworks, TemporaryNamespaces: true}
	on := s.generate(t, opts)
	checkPlan(t, s, opts, on)
	if diff := cmp.Diff(off, on, equateAddrs); diff != "" {
		t.Errorf("plans differ (-off +on):\n%s", diff)
	}
}

// TestGenerateTemporaryNamespaceVerdictFromEngine: the verdict of a case
// in a temporary namespace is the engine's, with every policy applied and
// the namespace's labels: a port-negative case of one policy that another
// policy admits for namespaces with a team label is Allow.
func TestGenerateTemporaryNamespaceVerdictFromEngine(t *testing.T) {
	s := teamScenario(t, `
metadata: {name: from-payments-80, namespace: a}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: payments}}}], ports: [{port: 80}]}]
---
metadata: {name: from-any-team-81, namespace: a}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: team, operator: Exists}]}}], ports: [{port: 81}]}]`)
	opts := cases.Options{ClusterNetworks: clusterNetworks, TemporaryNamespaces: true}
	plan := s.generate(t, opts)
	checkPlan(t, s, opts, plan)
	tmpCases, _ := casesIn(plan.Cases, paymentsNamespace)
	want := []string{
		"Ingress Positive " + paymentsNamespace + "/{} -> a/{app=web} 80/TCP: Allow",
		"Ingress NegativePort " + paymentsNamespace + "/{} -> a/{app=web} 81/TCP: Allow",
	}
	if diff := cmp.Diff(want, tmpCases); diff != "" {
		t.Errorf("cases in the temporary namespace mismatch (-want +got):\n%s", diff)
	}
}

// TestGenerateTemporaryNamespaceOwnLabels: the controller's own labels on
// a temporary namespace count for verdicts and names, and a selector they
// keep from matching gets no namespace.
func TestGenerateTemporaryNamespaceOwnLabels(t *testing.T) {
	own := map[string]string{"app.kubernetes.io/managed-by": "palisade", "security.palisade.dev/probe": "p1"}
	s := teamScenario(t, fromPayments+`
---
metadata: {name: from-unmanaged, namespace: a}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - namespaceSelector:
        matchLabels: {team: billing}
        matchExpressions: [{key: app.kubernetes.io/managed-by, operator: DoesNotExist}]`)
	opts := cases.Options{ClusterNetworks: clusterNetworks, TemporaryNamespaces: true, TemporaryNamespaceLabels: own}
	plan := s.generate(t, opts)
	checkPlan(t, s, opts, plan)
	if len(plan.TemporaryNamespaces) != 1 || plan.TemporaryNamespaces[0].Name == paymentsNamespace ||
		!cmp.Equal(plan.TemporaryNamespaces[0].Labels, map[string]string{"team": "payments"}) {
		t.Fatalf("temporary namespaces %v: want one for team=payments, named apart from %s (the own labels are in the name), listing only the selector's labels", plan.TemporaryNamespaces, paymentsNamespace)
	}
	other := s.generate(t, cases.Options{ClusterNetworks: clusterNetworks, TemporaryNamespaces: true, TemporaryNamespaceLabels: map[string]string{"security.palisade.dev/probe": "p2"}})
	if len(other.TemporaryNamespaces) == 0 || other.TemporaryNamespaces[0].Name == plan.TemporaryNamespaces[0].Name {
		t.Errorf("another probe's labels give namespaces %v, want a name other than %s", other.TemporaryNamespaces, plan.TemporaryNamespaces[0].Name)
	}
	if !slices.ContainsFunc(plan.Notes, func(n string) bool {
		return strings.Contains(n, "from-unmanaged") && strings.Contains(n, "keep it from matching")
	}) {
		t.Errorf("notes %q: want the unmanaged selector refused because of Palisade's own labels", plan.Notes)
	}
}

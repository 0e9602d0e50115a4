package rbac

import (
	"fmt"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Sizes of the generated cluster.
const (
	benchNamespaces   = 200
	benchRoles        = 4000
	benchClusterRoles = 1000
	benchRoleBindings = 18000
	benchCRBindings   = 2000
	benchPods         = 10000
	benchAccounts     = 10 // per namespace
)

// rulePool mixes harmless and risky rules, roughly as found in clusters.
var rulePool = []rbacv1.PolicyRule{
	rule(core, "configmaps", "get", "list", "watch"),
	rule(core, "services", "get", "list", "watch"),
	rule(core, "endpoints", "get", "list"),
	rule(core, "events", "create", "patch"),
	rule("apps", "deployments", "get", "list", "watch"),
	rule("coordination.k8s.io", "leases", "get", "create", "update"),
	rule("networking.k8s.io", "ingresses", "get", "list", "watch"),
	rule("batch", "jobs", "get", "list"),
	rule("monitoring.coreos.com", "servicemonitors", "get", "list", "create", "update"),
	rule("example.com", "widgets", "get", "list", "watch", "create", "update", "patch", "delete"),
	rule(core, "pods", "get", "list", "watch"),
	rule(core, "pods/log", "get"),
	named(rule(core, "secrets", "get"), "app-tls"),
	rule(core, "secrets", "get"),
	rule(core, "secrets", "list", "watch"),
	rule(core, "pods", "create", "delete"),
	rule(core, "pods/exec", "create"),
	rule("apps", "deployments", "create", "update", "patch"),
	rule(core, "serviceaccounts/token", "create"),
	rule(rbacG, "rolebindings", "create", "update"),
	rule(rbacG, "clusterroles", "bind"),
	rule(core, "nodes/proxy", "get"),
	rule(core, "*", "*"),
	rule("*", "*", "*"),
}

// benchCluster generates the benchmark input, deterministically.
func benchCluster() (Input, []corev1.Pod) {
	rng := rand.New(rand.NewPCG(7, 11))
	ns := func(i int) string { return fmt.Sprintf("ns-%03d", i%benchNamespaces) }
	pickRules := func() []rbacv1.PolicyRule {
		n := 2 + rng.IntN(6)
		rs := make([]rbacv1.PolicyRule, n)
		for i := range rs {
			// One rule in eight is risky: most roles of a real cluster
			// are harmless, and those that are not match a few templates.
			if rng.IntN(8) > 0 {
				rs[i] = rulePool[rng.IntN(12)]
			} else {
				rs[i] = rulePool[12+rng.IntN(len(rulePool)-12)]
			}
		}
		return rs
	}
	subject := func(namespace string) rbacv1.Subject {
		switch rng.IntN(4) {
		case 0:
			return user(fmt.Sprintf("user-%d", rng.IntN(500)))
		case 1:
			return group(fmt.Sprintf("team-%d", rng.IntN(50)))
		}
		return sa(namespace, fmt.Sprintf("sa-%d", rng.IntN(benchAccounts)))
	}
	subjects := func(namespace string) []rbacv1.Subject {
		out := make([]rbacv1.Subject, 1+rng.IntN(3))
		for i := range out {
			out[i] = subject(namespace)
		}
		return out
	}

	var in Input
	for i := range benchRoles {
		in.Roles = append(in.Roles, nsRole(ns(i), fmt.Sprintf("role-%d", i), pickRules()...))
	}
	for i := range benchClusterRoles {
		cr := clusterRole(fmt.Sprintf("clusterrole-%d", i), pickRules()...)
		cr.Labels = map[string]string{"agg": fmt.Sprint(i % 20)}
		if i < 20 { // a few aggregators, each picking up 1/20 of the ClusterRoles
			cr.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
				{MatchLabels: map[string]string{"agg": fmt.Sprint((i + 1) % 20)}},
			}}
		}
		in.ClusterRoles = append(in.ClusterRoles, cr)
	}
	for i := range benchRoleBindings {
		n := ns(rng.IntN(benchRoles))
		var b rbacv1.RoleBinding
		if rng.IntN(2) == 0 {
			// Roles of namespace n are role-j with j ≡ n (mod benchNamespaces).
			j := rng.IntN(benchRoles/benchNamespaces)*benchNamespaces + (i % benchNamespaces)
			n = ns(j)
			b = roleBinding(n, fmt.Sprintf("rb-%d", i), kindRole, fmt.Sprintf("role-%d", j), subjects(n)...)
		} else {
			b = roleBinding(n, fmt.Sprintf("rb-%d", i), kindClusterRole, fmt.Sprintf("clusterrole-%d", rng.IntN(benchClusterRoles)), subjects(n)...)
		}
		in.RoleBindings = append(in.RoleBindings, b)
	}
	for i := range benchCRBindings {
		n := ns(rng.IntN(benchNamespaces))
		in.ClusterRoleBindings = append(in.ClusterRoleBindings,
			clusterRoleBinding(fmt.Sprintf("crb-%d", i), fmt.Sprintf("clusterrole-%d", rng.IntN(benchClusterRoles)), subjects(n)...))
	}
	pods := make([]corev1.Pod, benchPods)
	for i := range pods {
		pods[i] = *pod(ns(i), fmt.Sprintf("pod-%d", i), fmt.Sprintf("sa-%d", rng.IntN(benchAccounts)), rng.IntN(5) == 0)
	}
	return in, pods
}

// BenchmarkRBAC measures the whole analysis: compiling 5,000 roles and
// 20,000 bindings, producing their findings, and feeding 10,000 pods.
func BenchmarkRBAC(b *testing.B) {
	in, pods := benchCluster()
	var findings, riskyPods int
	b.ReportAllocs()
	for b.Loop() {
		a, err := New(in, Options{})
		if err != nil {
			b.Fatal(err)
		}
		findings = len(a.Findings())
		riskyPods = 0
		for i := range pods {
			riskyPods += len(a.Pod(&pods[i]))
		}
	}
	b.ReportMetric(float64(findings), "findings")
	b.ReportMetric(float64(riskyPods), "risky-pods")
}

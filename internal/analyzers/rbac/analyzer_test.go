package rbac

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/palisade-sec/palisade/api/v1alpha1"
)

// summarize renders findings as "id severity kind ns/name".
func summarize(fs []v1alpha1.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s %s %s/%s", f.ID, f.Severity, f.Resource.Kind, f.Resource.Namespace, f.Resource.Name))
	}
	return out
}

var opsRole = clusterRole("ops", rule(core, "nodes/proxy", "get"), rule(core, "pods", "create"))

func TestBindings(t *testing.T) {
	tests := map[string]struct {
		in   Input
		opts Options
		want []string
	}{
		"a RoleBinding grants a ClusterRole's namespaced permissions only": {
			in: Input{
				ClusterRoles: []rbacv1.ClusterRole{opsRole},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "ops", kindClusterRole, "ops", sa("a", "ci"))},
			},
			want: []string{
				"rbac.nodes-proxy Critical ClusterRole /ops",
				"rbac.create-pods High ClusterRole /ops",
				"rbac.create-pods High RoleBinding a/ops",
			},
		},
		"a ClusterRoleBinding grants everything cluster-wide": {
			in: Input{
				ClusterRoles:        []rbacv1.ClusterRole{opsRole},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterRoleBinding("ops", "ops", sa("a", "ci"))},
			},
			want: []string{
				"rbac.nodes-proxy Critical ClusterRole /ops",
				"rbac.create-pods High ClusterRole /ops",
				"rbac.nodes-proxy Critical ClusterRoleBinding /ops",
				"rbac.create-pods High ClusterRoleBinding /ops",
			},
		},
		"one finding per subject": {
			in: Input{
				Roles:        []rbacv1.Role{nsRole("a", "pods", createPods)},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "pods", kindRole, "pods", user("alice"), group("devs"))},
			},
			want: []string{
				"rbac.create-pods High Role a/pods",
				"rbac.create-pods High RoleBinding a/pods",
				"rbac.create-pods High RoleBinding a/pods",
			},
		},
		"built-in roles and bindings are excluded": {
			in: Input{
				ClusterRoles:        []rbacv1.ClusterRole{clusterRole("system:controller:job-controller", createPods)},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterRoleBinding("system:controller:job-controller", "system:controller:job-controller", sa("kube-system", "job-controller"))},
			},
			want: []string{},
		},
		"built-in roles and bindings on request": {
			in: Input{
				ClusterRoles:        []rbacv1.ClusterRole{clusterRole("system:controller:job-controller", createPods)},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterRoleBinding("system:controller:job-controller", "system:controller:job-controller", sa("kube-system", "job-controller"))},
			},
			opts: Options{IncludeBuiltin: true},
			want: []string{
				"rbac.create-pods High ClusterRole /system:controller:job-controller",
				"rbac.create-pods High ClusterRoleBinding /system:controller:job-controller",
			},
		},
		"the bootstrapping label marks built-in objects": {
			in: Input{
				ClusterRoles: []rbacv1.ClusterRole{func() rbacv1.ClusterRole {
					cr := clusterRole("bootstrapped", createPods)
					cr.Labels = map[string]string{labelBootstrapping: "rbac-defaults"}
					return cr
				}()},
			},
			want: []string{},
		},
		"cluster-admin bound to system:masters is expected, to anyone else it is not": {
			in: Input{
				ClusterRoles: []rbacv1.ClusterRole{clusterRole("cluster-admin", rule("*", "*", "*"))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{
					clusterRoleBinding("cluster-admin", "cluster-admin", group("system:masters")),
					clusterRoleBinding("alice-admin", "cluster-admin", user("alice")),
				},
			},
			want: []string{"rbac.wildcard-all Critical ClusterRoleBinding /alice-admin"},
		},
		"a user's binding to a built-in role is reported": {
			in: Input{
				ClusterRoles: []rbacv1.ClusterRole{clusterRole("edit", createPods)},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "devs-edit", kindClusterRole, "edit", group("devs"))},
			},
			want: []string{"rbac.create-pods High RoleBinding a/devs-edit"},
		},
		"expected grants are configurable": {
			in: Input{
				ClusterRoles:        []rbacv1.ClusterRole{clusterRole("deployer", createPods)},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterRoleBinding("ci", "deployer", sa("ci", "deployer"), sa("ci", "other"))},
			},
			opts: Options{Expected: []ExpectedGrant{{RoleKind: kindClusterRole, RoleName: "deployer", Subject: sa("ci", "deployer")}}},
			want: []string{
				"rbac.create-pods High ClusterRole /deployer",
				"rbac.create-pods High ClusterRoleBinding /ci",
			},
		},
		"a binding to a missing role grants nothing": {
			in: Input{
				Roles:        []rbacv1.Role{nsRole("a", "pods", createPods)},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("b", "pods", kindRole, "pods", user("alice"))},
			},
			want: []string{"rbac.create-pods High Role a/pods"},
		},
		"a ClusterRoleBinding cannot refer to a Role": {
			in: Input{
				Roles: []rbacv1.Role{nsRole("", "pods", createPods)},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{func() rbacv1.ClusterRoleBinding {
					b := clusterRoleBinding("bad", "pods", user("alice"))
					b.RoleRef.Kind = kindRole
					return b
				}()},
			},
			want: []string{"rbac.create-pods High Role /pods"},
		},
		"everyone groups raise the severity": {
			in: Input{
				Roles: []rbacv1.Role{nsRole("a", "pods", createPods)},
				RoleBindings: []rbacv1.RoleBinding{
					roleBinding("a", "all", kindRole, "pods", group("system:authenticated")),
					roleBinding("a", "anon", kindRole, "pods", user("system:anonymous")),
				},
			},
			want: []string{
				"rbac.create-pods High Role a/pods",
				"rbac.create-pods Critical RoleBinding a/all",
				"rbac.create-pods Critical RoleBinding a/anon",
			},
		},
		"unknown subject kinds and namespace-less service accounts match nobody": {
			in: Input{
				ClusterRoles: []rbacv1.ClusterRole{clusterRole("pods", createPods)},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterRoleBinding("odd", "pods",
					rbacv1.Subject{Kind: "Robot", Name: "r2"}, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "ci"})},
			},
			want: []string{"rbac.create-pods High ClusterRole /pods"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := summarize(mustNew(t, tc.in, tc.opts).Findings())
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGrantFinding(t *testing.T) {
	a := mustNew(t, Input{
		ClusterRoles: []rbacv1.ClusterRole{clusterRole("exec", rule(core, "pods/exec", "create"), rule(core, "pods", "list"))},
		RoleBindings: []rbacv1.RoleBinding{roleBinding("shop", "debuggers", kindClusterRole, "exec", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "debugger"})},
	}, Options{})
	want := []v1alpha1.Finding{
		{
			ID: "rbac.exec-pods", Category: v1alpha1.CategoryRBAC, Severity: v1alpha1.SeverityHigh,
			Resource:    v1alpha1.ResourceRef{APIVersion: rbacAPIVersion, Kind: kindClusterRole, Name: "exec"},
			Message:     "ClusterRole exec lets its subjects exec into pods (take over their service accounts) [create pods/exec; list pods]. Bound by 1 binding(s).",
			Remediation: "Remove pods/exec, or restrict it to named debug pods with resourceNames; prefer ephemeral debugging with audit.",
		},
		{
			ID: "rbac.exec-pods", Category: v1alpha1.CategoryRBAC, Severity: v1alpha1.SeverityHigh,
			Resource: v1alpha1.ResourceRef{APIVersion: rbacAPIVersion, Kind: kindRoleBinding, Namespace: "shop", Name: "debuggers"},
			Message: "ServiceAccount shop/debugger can exec into pods (take over their service accounts) [create pods/exec; list pods] " +
				"in namespace shop, via RoleBinding shop/debuggers → ClusterRole exec.",
			Remediation: "Remove pods/exec, or restrict it to named debug pods with resourceNames; prefer ephemeral debugging with audit. " +
				"Or remove ServiceAccount shop/debugger from RoleBinding shop/debuggers.",
		},
	}
	if diff := cmp.Diff(want, a.Findings()); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	grants := a.Grants()
	if len(grants) != 1 || grants[0].Subject != sa("shop", "debugger") || grants[0].Binding.Namespace != "shop" {
		t.Errorf("grants = %+v, want the service account shop/debugger scoped to shop", grants)
	}
}

// TestDeterministic shuffles the input and expects identical output.
func TestDeterministic(t *testing.T) {
	in := Input{
		Roles:        []rbacv1.Role{nsRole("b", "r", createPods), nsRole("a", "r", secretsRule), nsRole("a", "q", execRules...)},
		ClusterRoles: []rbacv1.ClusterRole{opsRole, clusterRole("all", rule("*", "*", "*"))},
		RoleBindings: []rbacv1.RoleBinding{
			roleBinding("a", "x", kindRole, "r", user("u1"), user("u2")),
			roleBinding("b", "x", kindRole, "r", group("g")),
			roleBinding("a", "y", kindClusterRole, "ops", sa("a", "s")),
		},
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterRoleBinding("z", "all", user("root")), clusterRoleBinding("o", "ops", group("ops"))},
	}
	want := mustNew(t, in, Options{}).Findings()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		rng.Shuffle(len(in.Roles), func(i, j int) { in.Roles[i], in.Roles[j] = in.Roles[j], in.Roles[i] })
		rng.Shuffle(len(in.ClusterRoles), func(i, j int) { in.ClusterRoles[i], in.ClusterRoles[j] = in.ClusterRoles[j], in.ClusterRoles[i] })
		rng.Shuffle(len(in.RoleBindings), func(i, j int) { in.RoleBindings[i], in.RoleBindings[j] = in.RoleBindings[j], in.RoleBindings[i] })
		rng.Shuffle(len(in.ClusterRoleBindings), func(i, j int) {
			in.ClusterRoleBindings[i], in.ClusterRoleBindings[j] = in.ClusterRoleBindings[j], in.ClusterRoleBindings[i]
		})
		if diff := cmp.Diff(want, mustNew(t, in, Options{}).Findings()); diff != "" {
			t.Fatalf("findings depend on input order (-first +shuffled):\n%s", diff)
		}
	}
}

func TestNewRejectsBadTemplates(t *testing.T) {
	if _, err := New(Input{}, Options{Templates: []Template{{ID: "x"}}}); err == nil {
		t.Error("New accepted a template with no severity and no needs")
	}
}

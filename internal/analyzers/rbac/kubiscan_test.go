package rbac

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
)

// kubiscanModel reproduces how KubiScan decides that a role matches one of
// its templates: each (template rule, role rule) pair where the role rule
// lists every template verb and resource as plain strings counts once, and
// the role matches when the count reaches the number of template rules. API
// groups and resourceNames are ignored, wildcards are plain strings.
func kubiscanModel(role, template []rbacv1.PolicyRule) bool {
	hits := 0
	for _, tr := range template {
		for _, rr := range role {
			if containsAll(rr.Verbs, tr.Verbs) && containsAll(rr.Resources, tr.Resources) {
				hits++
			}
		}
	}
	return hits >= len(template)
}

func containsAll(set, want []string) bool {
	for _, w := range want {
		if !slices.Contains(set, w) {
			return false
		}
	}
	return true
}

// KubiScan templates used below, in its shape (apiGroups ["*"]).
var (
	ksExecPods      = rules(rule("*", "pods/exec", "create"), rule("*", "pods", "get"))
	ksGetSecrets    = rules(rule("*", "secrets", "get"))
	ksListSecrets   = rules(rule("*", "secrets", "list"))
	ksCreatePod     = rules(rule("*", "pods", "create"))
	ksNodeProxy     = rules(rule("*", "nodes/proxy", "get", "create"))
	ksAnyVerbCRoles = rules(rule("*", "clusterroles", "*"))
	ksUpdateDeploy  = rules(rule("*", "deployments", "update"))
)

func TestKubiScanFalsePositives(t *testing.T) {
	tests := map[string]struct {
		rules    []rbacv1.PolicyRule
		cluster  bool
		kubiscan []rbacv1.PolicyRule
		want     []string
	}{
		"create pods/exec twice is not exec + get pods": {
			rules:    rules(rule(core, "pods/exec", "create"), rule(core, "pods/exec", "create")),
			kubiscan: ksExecPods,
			want:     []string{},
		},
		"get pods of another API group does not find pods": {
			rules:    rules(rule("metrics.k8s.io", "pods", "get", "list"), rule(core, "pods/exec", "create")),
			kubiscan: ksExecPods,
			want:     []string{},
		},
		"secrets of a CRD group are not core secrets": {
			rules:    rules(rule("example.com", "secrets", "get", "list")),
			kubiscan: ksListSecrets,
			want:     []string{},
		},
		"get on named secrets is not get on every secret": {
			rules:    rules(named(rule(core, "secrets", "get"), "app-tls")),
			kubiscan: ksGetSecrets,
			want:     []string{"get-secrets:Medium"},
		},
		"create restricted to names cannot create pods": {
			rules:    rules(named(rule(core, "pods", "create"), "debug")),
			kubiscan: ksCreatePod,
			want:     []string{},
		},
		"nodes/proxy through a RoleBinding reaches no node": {
			rules:    rules(rule(core, "nodes/proxy", "get", "create")),
			kubiscan: ksNodeProxy,
			want:     []string{},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if !kubiscanModel(tc.rules, tc.kubiscan) {
				t.Fatal("KubiScan's model does not flag this case; it is not a false positive")
			}
			if diff := cmp.Diff(tc.want, matchSummary(evaluate(t, tc.rules, tc.cluster))); diff != "" {
				t.Errorf("matches (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKubiScanMisses(t *testing.T) {
	tests := map[string]struct {
		rules    []rbacv1.PolicyRule
		cluster  bool
		kubiscan []rbacv1.PolicyRule
		want     []string
	}{
		"wildcard verb on pods/exec": {
			rules:    rules(rule(core, "pods/exec", "*"), rule(core, "pods", "get")),
			kubiscan: ksExecPods,
			want:     []string{"exec-pods:High", "wildcard-verbs:Medium"},
		},
		"*/exec subresource wildcard": {
			rules:    rules(rule(core, "*/exec", "create"), rule(core, "pods", "get")),
			kubiscan: ksExecPods,
			want:     []string{"exec-pods:High"},
		},
		"get on pods/exec (WebSocket) on clusters before 1.35": {
			rules:    rules(rule(core, "pods/exec", "get"), rule(core, "pods", "get")),
			kubiscan: ksExecPods,
			want:     []string{"exec-pods:Medium"},
		},
		"watch secrets streams every secret": {
			rules:    rules(rule(core, "secrets", "watch")),
			kubiscan: ksListSecrets,
			want:     []string{"list-secrets:Critical"},
		},
		"escalate and update on clusterroles without a wildcard": {
			rules:    rules(rule(rbacG, "clusterroles", "escalate", "update")),
			cluster:  true,
			kubiscan: ksAnyVerbCRoles,
			want:     []string{"escalate-clusterroles:Critical"},
		},
		"patch on deployments": {
			rules:    rules(rule("apps", "deployments", "patch")),
			kubiscan: ksUpdateDeploy,
			want:     []string{"modify-workloads:High"},
		},
		"nodes/proxy through */proxy": {
			rules:    rules(rule(core, "*/proxy", "get")),
			cluster:  true,
			kubiscan: ksNodeProxy,
			want:     []string{"nodes-proxy:Critical"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if kubiscanModel(tc.rules, tc.kubiscan) {
				t.Fatal("KubiScan's model flags this case; it is not a miss")
			}
			if diff := cmp.Diff(tc.want, matchSummary(evaluate(t, tc.rules, tc.cluster))); diff != "" {
				t.Errorf("matches (-want +got):\n%s", diff)
			}
		})
	}
}

// TestKubiScanTemplatesAreReplaced checks that every KubiScan template name
// maps to a template of ours.
func TestKubiScanTemplatesAreReplaced(t *testing.T) {
	kubiscan := []string{
		"risky-get-secrets", "risky-list-secrets", "risky-impersonate-groups", "risky-any-verb",
		"risky-any-verb-secrets", "risky-any-verb-pods", "risky-any-verb-deployments", "risky-any-verb-daemonsets",
		"risky-any-verb-statefulsets", "risky-any-verb-replicationcontrollers", "risky-any-verb-replicasets",
		"risky-any-verb-cronjobs", "risky-any-verb-jobs", "risky-any-verb-roles", "risky-any-verb-clusterroles",
		"risky-any-verb-rolebindings", "risky-any-verb-clusterrolebindings", "risky-any-verb-users",
		"risky-any-verb-groups", "risky-any-resource-delete", "risky-any-resource-create", "risky-any-resource-list",
		"risky-any-resource-get", "risky-any-resource-impersonate", "risky-execute-command-node-proxy",
		"risky-create-deployments", "risky-update-deployments", "risky-create-daemonsets", "risky-update-daemonsets",
		"risky-create-statefulsets", "risky-update-statefulsets", "risky-create-replicationcontrollers",
		"risky-update-replicationcontrollers", "risky-create-replicasets", "risky-update-replicasets",
		"risky-create-jobs", "risky-update-jobs", "risky-create-rolebinding-role", "risky-create-rolebinding-clusterrole",
		"risky-create-clusterrolebinding-clusterrole", "risky-create-pod", "risky-exec-pods", "risky-attach-pods",
		"risky-add-rolebinding",
	}
	replaced := map[string]bool{}
	for _, tpl := range DefaultTemplates() {
		for _, k := range tpl.KubiScan {
			if !slices.Contains(kubiscan, k) {
				t.Errorf("template %q names unknown KubiScan template %q", tpl.ID, k)
			}
			replaced[k] = true
		}
	}
	for _, k := range kubiscan {
		if !replaced[k] {
			t.Errorf("KubiScan template %q is not replaced by any template", k)
		}
	}
}

package rbac

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// aggregating returns a ClusterRole aggregating roles labeled with each of
// selectLabels ("key=value").
func aggregating(name string, selectLabels ...string) rbacv1.ClusterRole {
	cr := clusterRole(name)
	cr.AggregationRule = &rbacv1.AggregationRule{}
	for _, l := range selectLabels {
		k, v, _ := strings.Cut(l, "=")
		cr.AggregationRule.ClusterRoleSelectors = append(cr.AggregationRule.ClusterRoleSelectors,
			metav1.LabelSelector{MatchLabels: map[string]string{k: v}})
	}
	return cr
}

// labeled adds "key=value" labels to a ClusterRole.
func labeled(cr rbacv1.ClusterRole, kv ...string) rbacv1.ClusterRole {
	cr.Labels = map[string]string{}
	for _, l := range kv {
		k, v, _ := strings.Cut(l, "=")
		cr.Labels[k] = v
	}
	return cr
}

func withRules(cr rbacv1.ClusterRole, rs ...rbacv1.PolicyRule) rbacv1.ClusterRole {
	cr.Rules = append(cr.Rules, rs...)
	return cr
}

var (
	execRules   = rules(rule(core, "pods/exec", "create"), rule(core, "pods", "get"))
	secretsRule = rule(core, "secrets", "list")
	createPods  = rule(core, "pods", "create")
)

func TestAggregation(t *testing.T) {
	tests := map[string]struct {
		clusterRoles []rbacv1.ClusterRole
		// want maps each risky role to "template<-source roles".
		want map[string][]string
	}{
		"aggregator takes the rules of labeled roles": {
			clusterRoles: []rbacv1.ClusterRole{
				aggregating("ops", "ops=true"),
				labeled(clusterRole("ops-exec", execRules...), "ops=true"),
				labeled(clusterRole("other", secretsRule), "ops=false"),
			},
			want: map[string][]string{
				"ops":      {"exec-pods<-ops-exec"},
				"ops-exec": {"exec-pods<-ops-exec"},
				"other":    {"list-secrets<-other"},
			},
		},
		"aggregation chains, whatever the input order": {
			clusterRoles: []rbacv1.ClusterRole{
				aggregating("top", "tier=mid"),
				labeled(aggregating("mid", "tier=leaf"), "tier=mid"),
				labeled(clusterRole("leaf", secretsRule), "tier=leaf"),
			},
			want: map[string][]string{
				"top":  {"list-secrets<-leaf"},
				"mid":  {"list-secrets<-leaf"},
				"leaf": {"list-secrets<-leaf"},
			},
		},
		"aggregation cycles terminate with the union": {
			clusterRoles: []rbacv1.ClusterRole{
				withRules(labeled(aggregating("a", "ring=b"), "ring=a"), createPods),
				withRules(labeled(aggregating("b", "ring=a"), "ring=b"), secretsRule),
			},
			want: map[string][]string{
				"a": {"list-secrets<-b", "create-pods<-a"},
				"b": {"list-secrets<-b", "create-pods<-a"},
			},
		},
		"rules the controller already copied are attributed to their source": {
			clusterRoles: []rbacv1.ClusterRole{
				withRules(aggregating("ops", "ops=true"), execRules...),
				labeled(clusterRole("ops-exec", execRules...), "ops=true"),
			},
			want: map[string][]string{
				"ops":      {"exec-pods<-ops-exec"},
				"ops-exec": {"exec-pods<-ops-exec"},
			},
		},
		"needs split over two sources combine": {
			clusterRoles: []rbacv1.ClusterRole{
				aggregating("ops", "ops=true"),
				labeled(clusterRole("ops-exec", rule(core, "pods/exec", "create")), "ops=true"),
				labeled(clusterRole("ops-view", rule(core, "pods", "list")), "ops=true"),
			},
			want: map[string][]string{"ops": {"exec-pods<-ops-exec,ops-view"}},
		},
		"an empty selector aggregates every ClusterRole": {
			clusterRoles: []rbacv1.ClusterRole{
				func() rbacv1.ClusterRole {
					cr := clusterRole("all")
					cr.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{}}}
					return cr
				}(),
				clusterRole("pods", createPods),
			},
			want: map[string][]string{"all": {"create-pods<-pods"}, "pods": {"create-pods<-pods"}},
		},
		"an aggregationRule without selectors adds nothing": {
			clusterRoles: []rbacv1.ClusterRole{aggregating("none"), labeled(clusterRole("pods", createPods), "x=y")},
			want:         map[string][]string{"pods": {"create-pods<-pods"}},
		},
		"Roles are never aggregated": {
			clusterRoles: []rbacv1.ClusterRole{aggregating("ops", "ops=true")},
			want:         map[string][]string{},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := Input{ClusterRoles: tc.clusterRoles}
			// A labeled Role must not feed the aggregator.
			r := nsRole("ns", "labeled", execRules...)
			r.Labels = map[string]string{"ops": "true"}
			in.Roles = []rbacv1.Role{r}
			got := map[string][]string{}
			for _, rr := range mustNew(t, in, Options{IncludeBuiltin: true}).RiskyRoles() {
				if rr.Role.Kind != kindClusterRole {
					continue
				}
				for _, m := range rr.Matches {
					got[rr.Role.Name] = append(got[rr.Role.Name], m.TemplateID+"<-"+strings.Join(m.from(), ","))
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("risky ClusterRoles (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAggregatedFindingNamesTheSource(t *testing.T) {
	a := mustNew(t, Input{
		ClusterRoles: []rbacv1.ClusterRole{
			aggregating("ops", "ops=true"),
			labeled(clusterRole("ops-exec", execRules...), "ops=true"),
		},
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterRoleBinding("oncall", "ops", group("oncall"))},
	}, Options{})
	var msgs []string
	for _, f := range a.Findings() {
		if f.Resource.Kind == kindClusterRoleBinding {
			msgs = append(msgs, f.Message)
		}
	}
	want := []string{"Group oncall can exec into pods (take over their service accounts) [create pods/exec; get pods] " +
		"cluster-wide, via ClusterRoleBinding oncall → ClusterRole ops (rules aggregated from ClusterRole ops-exec)."}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("binding messages (-want +got):\n%s", diff)
	}
}

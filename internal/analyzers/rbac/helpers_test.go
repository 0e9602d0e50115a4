package rbac

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// rule builds a PolicyRule for one API group and resource.
func rule(group, resource string, verbs ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{resource}, Verbs: verbs}
}

// named restricts r to resourceNames.
func named(r rbacv1.PolicyRule, names ...string) rbacv1.PolicyRule {
	r.ResourceNames = names
	return r
}

// rules is shorthand for a rule list.
func rules(rs ...rbacv1.PolicyRule) []rbacv1.PolicyRule { return rs }

func clusterRole(name string, rs ...rbacv1.PolicyRule) rbacv1.ClusterRole {
	return rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rs}
}

func nsRole(namespace, name string, rs ...rbacv1.PolicyRule) rbacv1.Role {
	return rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Rules: rs}
}

func sa(namespace, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}
}

func user(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

func group(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}
}

func roleBinding(namespace, name, roleKind, roleName string, subjects ...rbacv1.Subject) rbacv1.RoleBinding {
	return rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: roleKind, Name: roleName},
		Subjects:   subjects,
	}
}

func clusterRoleBinding(name, roleName string, subjects ...rbacv1.Subject) rbacv1.ClusterRoleBinding {
	return rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kindClusterRole, Name: roleName},
		Subjects:   subjects,
	}
}

// pod builds a pod as the API server stores it: admitted, with the projected
// token volume mounted unless noToken.
func pod(namespace, name, serviceAccount string, noToken bool) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{
			ServiceAccountName: serviceAccount,
			Containers:         []corev1.Container{{Name: "app", Image: "app"}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if !noToken {
		p.Spec.Volumes = []corev1.Volume{{Name: "kube-api-access-x", VolumeSource: corev1.VolumeSource{
			Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
			}},
		}}}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "kube-api-access-x", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"}}
	}
	return p
}

// mustNew builds an analyzer with default options.
func mustNew(t testing.TB, in Input, opts Options) *Analyzer {
	t.Helper()
	a, err := New(in, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// matchSummary renders matches as "template-id:Severity".
func matchSummary(ms []Match) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.TemplateID+":"+string(m.Severity))
	}
	return out
}

// evaluate matches rs against the default table.
func evaluate(t *testing.T, rs []rbacv1.PolicyRule, cluster bool) []Match {
	t.Helper()
	m, err := newMatcher(DefaultTemplates())
	if err != nil {
		t.Fatal(err)
	}
	return m.match(ownRules("r", rs), cluster)
}

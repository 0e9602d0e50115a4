package rbac

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-sec/palisade/api/v1alpha1"
)

// podInput grants:
//   - exec-pods in namespace a to ServiceAccount a/runner (RoleBinding);
//   - list-secrets cluster-wide to every service account of namespace b;
//   - create-pods in namespace c to the User form of c/legacy;
//   - create-pods cluster-wide to kube-system/job-controller via a built-in binding.
func podInput() Input {
	return Input{
		ClusterRoles: []rbacv1.ClusterRole{
			clusterRole("exec", execRules...),
			clusterRole("secrets", secretsRule),
			clusterRole("system:controller:job-controller", createPods),
		},
		Roles: []rbacv1.Role{nsRole("c", "pods", createPods)},
		RoleBindings: []rbacv1.RoleBinding{
			roleBinding("a", "runner-exec", kindClusterRole, "exec", sa("a", "runner")),
			roleBinding("c", "legacy", kindRole, "pods", user("system:serviceaccount:c:legacy")),
		},
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{
			clusterRoleBinding("b-secrets", "secrets", group("system:serviceaccounts:b")),
			clusterRoleBinding("system:controller:job-controller", "system:controller:job-controller", sa("kube-system", "job-controller")),
		},
		ServiceAccounts: []corev1.ServiceAccount{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "quiet"}, AutomountServiceAccountToken: new(false)},
		},
	}
}

// unadmitted turns p into a pod that never went through the API server.
func unadmitted(p *corev1.Pod) *corev1.Pod {
	p.UID, p.Status = "", corev1.PodStatus{}
	return p
}

func TestPods(t *testing.T) {
	tests := map[string]struct {
		pod  *corev1.Pod
		want string // "Severity mount: templates", or "" for no risk
	}{
		"service account with a risky RoleBinding and a mounted token": {
			pod:  pod("a", "p", "runner", false),
			want: "High projected volume kube-api-access-x: exec-pods@a",
		},
		"admitted pod without a token volume": {
			pod: pod("a", "p", "runner", true),
		},
		"same account in another namespace holds nothing": {
			pod: pod("z", "p", "runner", false),
		},
		"manifest without automount settings gets a token": {
			pod:  unadmitted(pod("a", "p", "runner", true)),
			want: "High automounted by default: exec-pods@a",
		},
		"manifest opting out on the pod": {
			pod: func() *corev1.Pod {
				p := unadmitted(pod("a", "p", "runner", true))
				p.Spec.AutomountServiceAccountToken = new(false)
				return p
			}(),
		},
		"manifest whose ServiceAccount opts out": {
			pod: unadmitted(pod("a", "p", "quiet", true)),
		},
		"the pod's automount setting wins over the ServiceAccount's": {
			pod: func() *corev1.Pod {
				p := unadmitted(pod("a", "p", "quiet", true))
				p.Spec.AutomountServiceAccountToken = new(true)
				return p
			}(),
		},
		"default service account through its namespace group": {
			pod:  pod("b", "p", "", false),
			want: "Critical projected volume kube-api-access-x: list-secrets@",
		},
		"service account named as a User subject": {
			pod:  pod("c", "p", "legacy", false),
			want: "High projected volume kube-api-access-x: create-pods@c",
		},
		"built-in bindings count for pods": {
			pod:  pod("kube-system", "p", "job-controller", false),
			want: "High projected volume kube-api-access-x: create-pods@",
		},
		"completed pods are not at risk": {
			pod: func() *corev1.Pod {
				p := pod("a", "p", "runner", false)
				p.Status.Phase = corev1.PodSucceeded
				return p
			}(),
		},
		"a token volume no container mounts": {
			pod: func() *corev1.Pod {
				p := pod("a", "p", "runner", false)
				p.Spec.Containers[0].VolumeMounts = nil
				return p
			}(),
		},
		"a token volume only an init container mounts": {
			pod: func() *corev1.Pod {
				p := pod("a", "p", "runner", false)
				p.Spec.InitContainers = []corev1.Container{{Name: "init", VolumeMounts: p.Spec.Containers[0].VolumeMounts}}
				p.Spec.Containers[0].VolumeMounts = nil
				return p
			}(),
			want: "High projected volume kube-api-access-x: exec-pods@a",
		},
	}
	a := mustNew(t, podInput(), Options{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := ""
			if r, ok := a.PodRisk(tc.pod); ok {
				var ts []string
				for _, g := range r.Grants {
					ts = append(ts, g.Match.TemplateID+"@"+g.Binding.Namespace)
				}
				got = string(r.Severity) + " " + r.TokenMount + ": " + strings.Join(ts, ",")
			}
			if got != tc.want {
				t.Errorf("PodRisk = %q, want %q", got, tc.want)
			}
			if fs := a.Pod(tc.pod); len(fs) != min(len(tc.want), 1) {
				t.Errorf("Pod returned %d findings, want %d", len(fs), min(len(tc.want), 1))
			}
		})
	}
}

func TestEveryoneGrantsReachPods(t *testing.T) {
	in := podInput()
	in.ClusterRoleBindings = append(in.ClusterRoleBindings, clusterRoleBinding("oops", "exec", group("system:authenticated")))
	r, ok := mustNew(t, in, Options{}).PodRisk(pod("z", "p", "anyone", false))
	if !ok || r.Severity != v1alpha1.SeverityCritical || len(r.Grants) != 1 || r.Grants[0].Match.TemplateID != "exec-pods" {
		t.Errorf("PodRisk = %+v, %v; want exec-pods through system:authenticated, raised to Critical", r, ok)
	}
}

func TestPodFinding(t *testing.T) {
	in := podInput()
	in.ClusterRoleBindings = append(in.ClusterRoleBindings, clusterRoleBinding("runner-secrets", "secrets", sa("a", "runner")))
	in.RoleBindings = append(in.RoleBindings, roleBinding("a", "runner-exec-2", kindClusterRole, "exec", sa("a", "runner")))
	a := mustNew(t, in, Options{})
	want := []v1alpha1.Finding{{
		ID: RiskyPodID, Category: v1alpha1.CategoryRBAC, Severity: v1alpha1.SeverityCritical,
		Resource: v1alpha1.ResourceRef{APIVersion: "v1", Kind: "Pod", Namespace: "a", Name: "web"},
		Message: "Pod a/web runs as ServiceAccount a/runner with its API token mounted (projected volume kube-api-access-x); " +
			"the account can read every secret (including service account tokens) cluster-wide " +
			"(ServiceAccount a/runner via ClusterRoleBinding runner-secrets → ClusterRole secrets); " +
			"exec into pods (take over their service accounts) in namespace a " +
			"(ServiceAccount a/runner via RoleBinding a/runner-exec → ClusterRole exec).",
		Remediation: "Set automountServiceAccountToken: false on the pod or its ServiceAccount if it does not call the " +
			"Kubernetes API; otherwise run it as a dedicated ServiceAccount without these permissions.",
	}}
	if diff := cmp.Diff(want, a.Pod(pod("a", "web", "runner", false))); diff != "" {
		t.Errorf("Pod (-want +got):\n%s", diff)
	}
}

package rbac

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/palisade-sec/palisade/internal/manifest"
)

// TestDump analyzes a `kubectl get -A -o yaml` dump decoded by the CLI's
// reader, with TypeMeta cleared as typed list calls leave it.
func TestDump(t *testing.T) {
	f, err := os.Open("testdata/dump.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objs, bad, err := manifest.Read(f, "dump.yaml")
	if err != nil || len(bad) > 0 {
		t.Fatalf("reading dump: %v %v", err, bad)
	}
	var in Input
	var pods []corev1.Pod
	for _, o := range objs {
		o.Obj.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
		switch x := o.Obj.(type) {
		case *rbacv1.Role:
			in.Roles = append(in.Roles, *x)
		case *rbacv1.ClusterRole:
			in.ClusterRoles = append(in.ClusterRoles, *x)
		case *rbacv1.RoleBinding:
			in.RoleBindings = append(in.RoleBindings, *x)
		case *rbacv1.ClusterRoleBinding:
			in.ClusterRoleBindings = append(in.ClusterRoleBindings, *x)
		case *corev1.ServiceAccount:
			in.ServiceAccounts = append(in.ServiceAccounts, *x)
		case *corev1.Pod:
			pods = append(pods, *x)
		default:
			t.Fatalf("unexpected %T", o.Obj)
		}
	}
	a := mustNew(t, in, Options{})
	got := a.Findings()
	for i := range pods {
		got = append(got, a.Pod(&pods[i])...)
	}
	want := []string{
		"rbac.exec-pods High ClusterRole /ops",
		"rbac.exec-pods High RoleBinding shop/ci-ops",
		"rbac.risky-pod High Pod shop/ci-runner-0",
	}
	if diff := cmp.Diff(want, summarize(got)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

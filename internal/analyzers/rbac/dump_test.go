package rbac

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-sec/palisade/internal/manifest/manifesttest"
)

// TestDump analyzes a `kubectl get -A -o yaml` dump decoded by the CLI's
// reader, with TypeMeta cleared as typed list calls leave it.
func TestDump(t *testing.T) {
	d := manifesttest.ReadDump(t, "testdata/dump.yaml")
	d.RequireKinds(t, "ClusterRole", "ClusterRoleBinding", "Pod", "Role", "RoleBinding", "ServiceAccount")
	a := mustNew(t, Input{
		Roles:               d.Roles,
		ClusterRoles:        d.ClusterRoles,
		RoleBindings:        d.RoleBindings,
		ClusterRoleBindings: d.ClusterRoleBindings,
		ServiceAccounts:     d.ServiceAccounts,
	}, Options{})
	got := a.Findings()
	for i := range d.Pods {
		got = append(got, a.Pod(&d.Pods[i])...)
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

// Package manifesttest gives tests the objects of a `kubectl get -A -o yaml`
// dump, read by the CLI's reader and split by type as an analyzer takes
// them.
package manifesttest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/palisade-sec/palisade/internal/manifest"
)

// Dump is the objects of a dump as ReadDump reads them, by type, in the
// dump's order. Typed objects have their TypeMeta cleared, as typed list
// calls leave it.
type Dump struct {
	Namespaces          []corev1.Namespace
	Pods                []corev1.Pod
	ServiceAccounts     []corev1.ServiceAccount
	NetworkPolicies     []networkingv1.NetworkPolicy
	Roles               []rbacv1.Role
	ClusterRoles        []rbacv1.ClusterRole
	RoleBindings        []rbacv1.RoleBinding
	ClusterRoleBindings []rbacv1.ClusterRoleBinding
	// Unstructured are the objects of kinds client-go does not know, such
	// as Istio's PeerAuthentications, with their apiVersion and kind kept.
	Unstructured []*unstructured.Unstructured

	kinds []string // sorted, each once
}

// ReadDump reads the dump at path, failing the test when the file cannot
// be read, a document cannot be decoded, or an object is of a kind client-go
// knows that Dump has no field for.
func ReadDump(t testing.TB, path string) Dump {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objs, bad, err := manifest.Read(f, filepath.Base(path))
	if err != nil || len(bad) > 0 {
		t.Fatalf("reading %s: %v %v", path, err, bad)
	}
	var d Dump
	for _, o := range objs {
		d.kinds = append(d.kinds, o.Obj.GetObjectKind().GroupVersionKind().Kind)
		if u, ok := o.Obj.(*unstructured.Unstructured); ok {
			d.Unstructured = append(d.Unstructured, u)
			continue
		}
		o.Obj.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
		switch x := o.Obj.(type) {
		case *corev1.Namespace:
			d.Namespaces = append(d.Namespaces, *x)
		case *corev1.Pod:
			d.Pods = append(d.Pods, *x)
		case *corev1.ServiceAccount:
			d.ServiceAccounts = append(d.ServiceAccounts, *x)
		case *networkingv1.NetworkPolicy:
			d.NetworkPolicies = append(d.NetworkPolicies, *x)
		case *rbacv1.Role:
			d.Roles = append(d.Roles, *x)
		case *rbacv1.ClusterRole:
			d.ClusterRoles = append(d.ClusterRoles, *x)
		case *rbacv1.RoleBinding:
			d.RoleBindings = append(d.RoleBindings, *x)
		case *rbacv1.ClusterRoleBinding:
			d.ClusterRoleBindings = append(d.ClusterRoleBindings, *x)
		default:
			t.Fatalf("%s: unexpected %T", o.Source, o.Obj)
		}
	}
	slices.Sort(d.kinds)
	d.kinds = slices.Compact(d.kinds)
	return d
}

// RequireKinds fails the test unless the dump holds objects of exactly
// these kinds, in any order: a test that names the kinds its analyzer takes
// is sure that no object of the dump goes unanalyzed.
func (d Dump) RequireKinds(t testing.TB, kinds ...string) {
	t.Helper()
	if want := slices.Sorted(slices.Values(kinds)); !slices.Equal(d.kinds, want) {
		t.Fatalf("the dump holds %q, want %q", d.kinds, want)
	}
}

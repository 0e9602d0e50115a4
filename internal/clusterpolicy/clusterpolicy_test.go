package clusterpolicy_test

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/palisade-sec/palisade/internal/clusterpolicy"
	"github.com/palisade-sec/palisade/internal/netpol"
)

func object(apiVersion, kind, name string, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": name}, "spec": spec,
	}}
}

func TestAdd(t *testing.T) {
	subject := map[string]any{"namespaces": map[string]any{}}
	var c netpol.ClusterPolicies
	for _, u := range []*unstructured.Unstructured{
		object("policy.networking.k8s.io/v1alpha1", "AdminNetworkPolicy", "anp", map[string]any{"priority": int64(3), "subject": subject}),
		object("policy.networking.k8s.io/v1alpha1", "BaselineAdminNetworkPolicy", "default", map[string]any{"subject": subject}),
		object("policy.networking.k8s.io/v1beta1", "ClusterNetworkPolicy", "cnp-beta", map[string]any{"tier": "Admin", "priority": int64(4), "subject": subject}),
		object("policy.networking.k8s.io/v1alpha2", "ClusterNetworkPolicy", "cnp-alpha", map[string]any{"tier": "Baseline", "priority": int64(5), "subject": subject}),
	} {
		if ok, err := clusterpolicy.Add(&c, u); !ok || err != nil {
			t.Fatalf("Add(%s %s) = %v, %v; want true, nil", u.GetKind(), u.GetName(), ok, err)
		}
	}
	if len(c.AdminNetworkPolicies) != 1 || c.AdminNetworkPolicies[0].Spec.Priority != 3 ||
		len(c.BaselineAdminNetworkPolicies) != 1 || c.BaselineAdminNetworkPolicies[0].Name != "default" ||
		len(c.ClusterNetworkPolicies) != 2 || c.ClusterNetworkPolicies[1].Spec.Tier != "Baseline" || c.ClusterNetworkPolicies[1].Spec.Priority != 5 {
		t.Errorf("converted %+v", c)
	}

	for _, u := range []*unstructured.Unstructured{
		object("networking.k8s.io/v1", "NetworkPolicy", "np", map[string]any{}),
		object("policy.networking.k8s.io/v1alpha9", "AdminNetworkPolicy", "future", map[string]any{}),
	} {
		if ok, err := clusterpolicy.Add(&c, u); ok || err != nil {
			t.Errorf("Add(%s %s) = %v, %v; want false, nil", u.GetAPIVersion(), u.GetKind(), ok, err)
		}
	}

	// YAML 1.1 reads an unquoted y as true: a label value that is no string.
	bad := object("policy.networking.k8s.io/v1alpha1", "AdminNetworkPolicy", "bad", map[string]any{"priority": int64(1),
		"subject": map[string]any{"namespaces": map[string]any{"matchLabels": map[string]any{"ns": true}}}})
	// A field of another version would be dropped: an error instead.
	unknown := object("policy.networking.k8s.io/v1alpha1", "AdminNetworkPolicy", "unknown", map[string]any{"priority": int64(1), "subject": subject,
		"ingress": []any{map[string]any{"action": "Deny", "from": []any{map[string]any{"namespaces": map[string]any{"namespaceSelector": map[string]any{}}}}}}})
	for _, u := range []*unstructured.Unstructured{bad, unknown} {
		ok, err := clusterpolicy.Add(&c, u)
		var decode *clusterpolicy.DecodeError
		if !ok || !errors.As(err, &decode) || !strings.Contains(err.Error(), "AdminNetworkPolicy "+u.GetName()) {
			t.Errorf("Add(%s) = %v, %v; want true and a DecodeError naming it", u.GetName(), ok, err)
		}
	}
}

// Package clusterpolicy reads the cluster-wide network policies of
// sigs.k8s.io/network-policy-api (AdminNetworkPolicy,
// BaselineAdminNetworkPolicy, ClusterNetworkPolicy), from the API server or
// from manifests, for the reachability engine.
package clusterpolicy

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	policyv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	policyv1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"

	"github.com/palisade-sec/palisade/internal/kube"
	"github.com/palisade-sec/palisade/internal/netpol"
)

// Group is the API group of the cluster-wide network policies.
const Group = "policy.networking.k8s.io"

// Kinds of cluster-wide network policies.
const (
	KindAdmin    = "AdminNetworkPolicy"
	KindBaseline = "BaselineAdminNetworkPolicy"
	KindCluster  = "ClusterNetworkPolicy"
)

// served are the versions read from the API server, preferred first for
// each kind: ClusterNetworkPolicy v1alpha2 has v1beta1's schema, and a
// cluster serving both serves the same objects through each.
var served = []schema.GroupVersionKind{
	{Group: Group, Version: "v1alpha1", Kind: KindAdmin},
	{Group: Group, Version: "v1alpha1", Kind: KindBaseline},
	{Group: Group, Version: "v1beta1", Kind: KindCluster},
	{Group: Group, Version: "v1alpha2", Kind: KindCluster},
}

// DecodeError is an object of a cluster-wide policy kind that does not
// decode into the schema the engine knows (a field of another version, a
// value of the wrong type): evaluating it without that field would be a
// guess.
type DecodeError struct {
	Kind, Name string
	Err        error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("%s %s cannot be read: %v", e.Kind, e.Name, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Add converts u into its typed form and appends it to c when it is a
// cluster-wide network policy of a version the engine reads; ok is false
// for any other object.
func Add(c *netpol.ClusterPolicies, u *unstructured.Unstructured) (ok bool, err error) {
	gvk := u.GroupVersionKind()
	if gvk.Group != Group {
		return false, nil
	}
	from := func(into any) error {
		// Strict: a field the schema lacks is an error, not dropped.
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, into, true); err != nil {
			return &DecodeError{Kind: gvk.Kind, Name: u.GetName(), Err: err}
		}
		return nil
	}
	switch {
	case gvk.Kind == KindAdmin && gvk.Version == "v1alpha1":
		var p policyv1alpha1.AdminNetworkPolicy
		if err := from(&p); err != nil {
			return true, err
		}
		c.AdminNetworkPolicies = append(c.AdminNetworkPolicies, p)
	case gvk.Kind == KindBaseline && gvk.Version == "v1alpha1":
		var p policyv1alpha1.BaselineAdminNetworkPolicy
		if err := from(&p); err != nil {
			return true, err
		}
		c.BaselineAdminNetworkPolicies = append(c.BaselineAdminNetworkPolicies, p)
	case gvk.Kind == KindCluster && (gvk.Version == "v1beta1" || gvk.Version == "v1alpha2"):
		var p policyv1beta1.ClusterNetworkPolicy
		if err := from(&p); err != nil {
			return true, err
		}
		c.ClusterNetworkPolicies = append(c.ClusterNetworkPolicies, p)
	default:
		return false, nil
	}
	return true, nil
}

// Read lists every cluster-wide network policy, page by page, in the
// versions the API server serves; kinds it does not serve are skipped.
func Read(ctx context.Context, r client.Reader) (netpol.ClusterPolicies, error) {
	var out netpol.ClusterPolicies
	done := map[string]bool{}
	for _, gvk := range served {
		if done[gvk.Kind] {
			continue
		}
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		var addErr error
		err := kube.ListPages(ctx, r, list, func() error {
			for i := range list.Items {
				item := list.Items[i].DeepCopy()
				item.SetGroupVersionKind(gvk)
				if _, err := Add(&out, item); err != nil {
					addErr = err
					return err
				}
			}
			return nil
		})
		switch {
		case addErr != nil:
			return out, addErr
		case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
			continue
		case err != nil:
			return out, fmt.Errorf("listing %ss: %w", gvk.Kind, err)
		}
		done[gvk.Kind] = true
	}
	return out, nil
}

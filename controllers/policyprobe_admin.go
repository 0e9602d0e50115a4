package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// clusterPolicyLists are the cluster-wide network policies of
// sigs.k8s.io/network-policy-api, in the versions clusters serve. The
// reachability engine evaluates NetworkPolicies only.
var clusterPolicyLists = []schema.GroupVersionKind{
	{Group: "policy.networking.k8s.io", Version: "v1alpha1", Kind: "AdminNetworkPolicyList"},
	{Group: "policy.networking.k8s.io", Version: "v1alpha1", Kind: "BaselineAdminNetworkPolicyList"},
	{Group: "policy.networking.k8s.io", Version: "v1beta1", Kind: "ClusterNetworkPolicyList"},
	{Group: "policy.networking.k8s.io", Version: "v1alpha2", Kind: "ClusterNetworkPolicyList"},
}

// +kubebuilder:rbac:groups=policy.networking.k8s.io,resources=adminnetworkpolicies;baselineadminnetworkpolicies;clusternetworkpolicies,verbs=list

// clusterPolicyNote says, when cluster-wide network policies exist, that
// the cases' expectations leave them out; "" when none exist or the API
// server serves none of their kinds.
func (r *PolicyProbeReconciler) clusterPolicyNote(ctx context.Context) (string, error) {
	var kinds []string
	for _, gvk := range clusterPolicyLists {
		kind := strings.TrimSuffix(gvk.Kind, "List")
		if slices.Contains(kinds, kind) {
			continue
		}
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk)
		err := r.APIReader.List(ctx, list, client.Limit(1))
		switch {
		case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
			continue
		case err != nil:
			return "", fmt.Errorf("listing %s: %w", kind, err)
		case len(list.Items) > 0:
			kinds = append(kinds, kind)
		}
	}
	if len(kinds) == 0 {
		return "", nil
	}
	return fmt.Sprintf("%s objects exist (policy.networking.k8s.io): they take precedence over NetworkPolicies (or apply where none isolates a pod), "+
		"and Palisade does not evaluate them, so the cases they decide are expected from the NetworkPolicies alone and may show as mismatches", strings.Join(kinds, ", ")), nil
}

package controllers

import (
	"context"
	"fmt"
	"strings"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/clusterpolicy"
	"github.com/palisade-sec/palisade/internal/netpol"
	"github.com/palisade-sec/palisade/internal/text"
)

// +kubebuilder:rbac:groups=policy.networking.k8s.io,resources=adminnetworkpolicies;baselineadminnetworkpolicies;clusternetworkpolicies,verbs=list

// readClusterPolicies reads the cluster-wide network policies a probe's
// expectations account for, with a note saying what they were. A tenant's
// probe reads none: they are the cluster administrator's, and its report
// would show their rules; the note says so instead.
func (r *PolicyProbeReconciler) readClusterPolicies(ctx context.Context, pp *securityv1alpha1.PolicyProbe) (netpol.ClusterPolicies, string, error) {
	if pp.Namespace != r.OperatorNamespace {
		return netpol.ClusterPolicies{}, "Cluster-wide network policies (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy) are not considered " +
			"for a PolicyProbe outside the operator's namespace: a mismatch may come from one", nil
	}
	c, err := clusterpolicy.Read(ctx, r.APIReader)
	if err != nil {
		return c, "", fmt.Errorf("reading the cluster-wide network policies: %w", err)
	}
	return c, clusterPolicyNote(c), nil
}

// clusterPolicyNote says which cluster-wide network policies the cases'
// expectations account for besides the NetworkPolicies; "" when there are
// none.
func clusterPolicyNote(c netpol.ClusterPolicies) string {
	var parts []string
	for _, k := range []struct {
		n    int
		kind string
	}{
		{len(c.AdminNetworkPolicies), "AdminNetworkPolicy"},
		{len(c.BaselineAdminNetworkPolicies), "BaselineAdminNetworkPolicy"},
		{len(c.ClusterNetworkPolicies), "ClusterNetworkPolicy"},
	} {
		if k.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", k.n, text.Plural(k.n, k.kind, strings.TrimSuffix(k.kind, "y")+"ies")))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "Expectations account for " + strings.Join(parts, ", ") + " (policy.networking.k8s.io) besides the NetworkPolicies"
}

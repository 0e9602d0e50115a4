package controllers

import (
	"fmt"
	"strings"

	"github.com/palisade-sec/palisade/internal/netpol"
	"github.com/palisade-sec/palisade/internal/text"
)

// +kubebuilder:rbac:groups=policy.networking.k8s.io,resources=adminnetworkpolicies;baselineadminnetworkpolicies;clusternetworkpolicies,verbs=list

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

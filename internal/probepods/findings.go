package probepods

import (
	"fmt"
	"strings"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/text"
)

// Finding IDs.
const (
	// FindingNotEnforced: traffic the policies deny got through.
	FindingNotEnforced = "probe.policy-not-enforced"
	// FindingAllowedBlocked: traffic the policies allow was blocked.
	FindingAllowedBlocked = "probe.allowed-traffic-blocked"
)

const (
	remediationNotEnforced = "Make sure the cluster's network plugin enforces NetworkPolicy (Calico, Cilium, kube-router, Antrea do; flannel or kindnet alone do not) " +
		"and supports what the policy uses (egress rules, named ports, endPort, ipBlock), and that it runs on every node."
	remediationAllowedBlocked = "Look for what else blocks the connection: another NetworkPolicy (the engine saw those in scope), an AdminNetworkPolicy, " +
		"the network plugin's own policies, a host firewall or a service mesh's authorization policy; or correct the policy if the traffic should be denied."
)

// Findings are the mismatches of a run's cases: High when traffic the
// policies deny got through, Medium when traffic they allow was blocked.
// A generated case's finding is about its NetworkPolicy; an explicit
// case's about the PolicyProbe (probe).
func Findings(cs []securityv1alpha1.ProbeCase, probe securityv1alpha1.ResourceRef) []securityv1alpha1.Finding {
	var out []securityv1alpha1.Finding
	for _, c := range cs {
		if c.Result != securityv1alpha1.ProbeMismatch {
			continue
		}
		f := securityv1alpha1.Finding{Category: securityv1alpha1.CategoryProbe, Resource: probe,
			ID: FindingNotEnforced, Severity: securityv1alpha1.SeverityHigh, Remediation: remediationNotEnforced}
		if c.Expected == securityv1alpha1.ExpectAllow {
			f.ID, f.Severity, f.Remediation = FindingAllowedBlocked, securityv1alpha1.SeverityMedium, remediationAllowedBlocked
		}
		if ns, name, ok := strings.Cut(c.Policy, "/"); ok && c.Origin == securityv1alpha1.ProbeGenerated {
			f.Resource = securityv1alpha1.ResourceRef{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Namespace: ns, Name: name}
		}
		f.Message = text.Cut(fmt.Sprintf("Case %s: %s -> %s %d/%s: expected %s, observed %s. %s",
			c.Name, IdentityString(c.Source), IdentityString(c.Destination), c.Port, c.Protocol, c.Expected, c.Observed, c.Reason), text.MaxField)
		out = append(out, f)
	}
	return out
}

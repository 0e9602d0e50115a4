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
	// FindingMTLSNotEnforced: a mesh workload whose PeerAuthentication
	// says STRICT answered a plaintext request.
	FindingMTLSNotEnforced = "probe.mtls-strict-not-enforced"
	// FindingPlaintextAccepted: a mesh workload whose PeerAuthentication
	// says PERMISSIVE or DISABLE answered a plaintext request, as
	// configured.
	FindingPlaintextAccepted = "probe.mtls-plaintext-accepted"
)

const (
	remediationNotEnforced = "Make sure the cluster's network plugin enforces NetworkPolicy (Calico, Cilium, kube-router, Antrea do; flannel or kindnet alone do not) " +
		"and supports what the policy uses (egress rules, named ports, endPort, ipBlock), and that it runs on every node; " +
		"if an AdminNetworkPolicy or ClusterNetworkPolicy rule decided the case (its reason says so), check that the network plugin implements that API, not only that its CRDs are installed."
	remediationAllowedBlocked = "Look for what else blocks the connection: another NetworkPolicy (the engine saw those in scope), an AdminNetworkPolicy, " +
		"the network plugin's own policies, a host firewall or a service mesh's authorization policy; or correct the policy if the traffic should be denied."
	remediationMTLSNotEnforced = "Find why plaintext reaches the application: the port excluded from interception (traffic.sidecar.istio.io/excludeInboundPorts), " +
		"the application bound to the pod IP instead of localhost, a hostNetwork or non-injected replica, or a PeerAuthentication the proxy has not received (istioctl proxy-status)."
	remediationPlaintextAccepted = "Set the PeerAuthentication mode to STRICT once every client of the workload is in the mesh (check with the mtls analyzer of a SecurityScan)."
)

// Findings are the mismatches of a run's cases: High when traffic the
// policies deny got through, Medium when traffic they allow was blocked.
// A generated case's finding is about its NetworkPolicy; an explicit
// case's about the PolicyProbe (probe).
func Findings(cs []securityv1alpha1.ProbeCase, probe securityv1alpha1.ResourceRef) []securityv1alpha1.Finding {
	var out []securityv1alpha1.Finding
	for _, c := range cs {
		if c.Check == securityv1alpha1.CheckMTLS {
			if f, ok := mtlsFinding(c); ok {
				out = append(out, f)
			}
			continue
		}
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

// mtlsFinding is what an MTLS case found: High when a STRICT workload
// answered in plaintext, Medium when a PERMISSIVE or DISABLE one did. The
// finding is about the workload.
func mtlsFinding(c securityv1alpha1.ProbeCase) (securityv1alpha1.Finding, bool) {
	if c.Observed != securityv1alpha1.ObservedPlaintextAccepted || c.Result == securityv1alpha1.ProbeInconclusive {
		return securityv1alpha1.Finding{}, false
	}
	f := securityv1alpha1.Finding{Category: securityv1alpha1.CategoryProbe, Resource: workloadRef(c.Destination),
		ID: FindingMTLSNotEnforced, Severity: securityv1alpha1.SeverityHigh, Remediation: remediationMTLSNotEnforced}
	if c.Result == securityv1alpha1.ProbeMatch {
		f.ID, f.Severity, f.Remediation = FindingPlaintextAccepted, securityv1alpha1.SeverityMedium, remediationPlaintextAccepted
	}
	f.Message = text.Cut(fmt.Sprintf("Case %s: %s port %d accepted plaintext from outside the mesh (mode %s). %s",
		c.Name, c.Destination.Workload, c.Port, c.MTLSMode, c.Reason), text.MaxField)
	return f, true
}

// workloadRef refers to the workload of an MTLS case's destination
// ("Deployment/web, pod web-1").
func workloadRef(e securityv1alpha1.ProbeEndpoint) securityv1alpha1.ResourceRef {
	kindName, _, _ := strings.Cut(e.Workload, ",")
	kind, name, _ := strings.Cut(kindName, "/")
	ref := securityv1alpha1.ResourceRef{Kind: kind, Namespace: e.Namespace, Name: name}
	switch kind {
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet":
		ref.APIVersion = "apps/v1"
	case "Job":
		ref.APIVersion = "batch/v1"
	case "Pod":
		ref.APIVersion = "v1"
	}
	return ref
}

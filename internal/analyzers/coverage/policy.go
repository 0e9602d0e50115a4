package coverage

import (
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/palisade-sec/palisade/api/v1alpha1"
)

// BroadRule is an ingress or egress rule that admits more than it should.
type BroadRule struct {
	Direction networkingv1.PolicyType
	// Index is the rule's position in spec.ingress or spec.egress, from 0.
	Index int
	// Peers describes a too-wide peer ("any peer", "every namespace",
	// "any IP address (0.0.0.0/0)"); empty when only the ports are broad.
	Peers string
	// AnyPort is set when the rule admits every port.
	AnyPort bool
}

// severity ranks a broad rule: a wide peer on any port is worst; ingress
// matters more than egress.
func (r BroadRule) severity() v1alpha1.Severity {
	levels := []v1alpha1.Severity{v1alpha1.SeverityLow, v1alpha1.SeverityMedium, v1alpha1.SeverityHigh}
	if r.Direction == networkingv1.PolicyTypeEgress {
		levels = []v1alpha1.Severity{v1alpha1.SeverityInfo, v1alpha1.SeverityLow, v1alpha1.SeverityMedium}
	}
	switch {
	case r.Peers != "" && r.AnyPort:
		return levels[2]
	case r.Peers != "":
		return levels[1]
	}
	return levels[0]
}

func (r BroadRule) String() string {
	var parts []string
	if r.Peers != "" {
		parts = append(parts, r.Peers)
	}
	if r.AnyPort {
		parts = append(parts, "any port")
	}
	return fmt.Sprintf("%s rule %d: %s", strings.ToLower(string(r.Direction)), r.Index+1, strings.Join(parts, " on "))
}

// PolicyCoverage is what one NetworkPolicy selects and admits.
type PolicyCoverage struct {
	Policy v1alpha1.ResourceRef
	// Ingress and Egress are the effective policy types: Ingress always
	// when policyTypes is empty, Egress then only when egress rules exist.
	Ingress, Egress bool
	// DefaultDeny is set per direction when the policy selects every pod
	// of its namespace and admits nothing in that direction.
	DefaultDenyIngress, DefaultDenyEgress bool
	// SelectedPods counts the pods it selects; SelectedHostNetworkPods the
	// hostNetwork pods, on which it has no effect.
	SelectedPods, SelectedHostNetworkPods int
	// InvalidSelector holds the podSelector's parse error, if any; such a
	// policy selects nothing.
	InvalidSelector string
	Broad           []BroadRule
}

// policy is a NetworkPolicy compiled for pod matching.
type policy struct {
	PolicyCoverage
	selectAll bool
	selector  labels.Selector
}

func compilePolicy(np *networkingv1.NetworkPolicy) *policy {
	p := &policy{PolicyCoverage: PolicyCoverage{
		Policy: v1alpha1.ResourceRef{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Namespace: np.Namespace, Name: np.Name},
	}}
	p.Ingress, p.Egress = policyTypes(&np.Spec)
	p.selectAll = isEmptySelector(&np.Spec.PodSelector)
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		p.InvalidSelector, sel = err.Error(), labels.Nothing()
	}
	p.selector = sel
	p.DefaultDenyIngress = p.selectAll && p.Ingress && len(np.Spec.Ingress) == 0
	p.DefaultDenyEgress = p.selectAll && p.Egress && len(np.Spec.Egress) == 0
	for i, r := range np.Spec.Ingress {
		p.addBroad(networkingv1.PolicyTypeIngress, i, r.From, r.Ports)
	}
	for i, r := range np.Spec.Egress {
		p.addBroad(networkingv1.PolicyTypeEgress, i, r.To, r.Ports)
	}
	return p
}

// addBroad records rule i of a direction when its peers or ports are too
// wide.
func (p *policy) addBroad(dir networkingv1.PolicyType, i int, peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) {
	r := BroadRule{Direction: dir, Index: i, Peers: broadPeers(peers), AnyPort: anyPort(ports)}
	if r.Peers != "" || r.AnyPort {
		p.Broad = append(p.Broad, r)
	}
}

// policyTypes applies the API's defaulting of spec.policyTypes.
func policyTypes(spec *networkingv1.NetworkPolicySpec) (ingress, egress bool) {
	if len(spec.PolicyTypes) == 0 {
		return true, len(spec.Egress) > 0
	}
	for _, t := range spec.PolicyTypes {
		ingress = ingress || t == networkingv1.PolicyTypeIngress
		egress = egress || t == networkingv1.PolicyTypeEgress
	}
	return ingress, egress
}

func isEmptySelector(s *metav1.LabelSelector) bool {
	return s != nil && len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0
}

// broadPeers describes why a rule's peers are too wide, or "".
func broadPeers(peers []networkingv1.NetworkPolicyPeer) string {
	if len(peers) == 0 {
		return "any peer (every pod and every address)"
	}
	var why []string
	for _, peer := range peers {
		switch {
		case peer.IPBlock != nil && (peer.IPBlock.CIDR == "0.0.0.0/0" || peer.IPBlock.CIDR == "::/0"):
			s := "any IP address (" + peer.IPBlock.CIDR + ")"
			if n := len(peer.IPBlock.Except); n > 0 {
				s += fmt.Sprintf(" except %d block(s)", n)
			}
			why = append(why, s)
		case isEmptySelector(peer.NamespaceSelector) && (peer.PodSelector == nil || isEmptySelector(peer.PodSelector)):
			why = append(why, "every pod in every namespace")
		case isEmptySelector(peer.NamespaceSelector):
			why = append(why, "pods in every namespace selected only by their labels")
		}
	}
	return strings.Join(why, ", ")
}

// anyPort reports whether ports admit every port: no list, or an entry with
// no port (every port of its protocol).
func anyPort(ports []networkingv1.NetworkPolicyPort) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		if p.Port == nil {
			return true
		}
	}
	return false
}

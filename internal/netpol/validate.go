package netpol

import (
	"cmp"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// InvalidPolicyError is a policy the API server would reject: a
// NetworkPolicy, or a cluster-wide policy (whose Namespace is empty).
type InvalidPolicyError struct {
	// Kind is NetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy
	// or ClusterNetworkPolicy; empty means NetworkPolicy.
	Kind            string
	Namespace, Name string
	Errs            field.ErrorList
}

func (e *InvalidPolicyError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	kind, name := cmp.Or(e.Kind, "NetworkPolicy"), e.Name
	if kind == "NetworkPolicy" {
		name = e.Namespace + "/" + e.Name
	}
	return fmt.Sprintf("%s %s is invalid: %s", kind, name, strings.Join(msgs, "; "))
}

// Default returns a copy of p with the API server's defaults applied:
// policyTypes is Ingress, plus Egress when there are egress rules, and a
// port's protocol is TCP.
func Default(p *networkingv1.NetworkPolicy) *networkingv1.NetworkPolicy {
	p = p.DeepCopy()
	if len(p.Spec.PolicyTypes) == 0 {
		p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(p.Spec.Egress) > 0 {
			p.Spec.PolicyTypes = append(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
	for i := range p.Spec.Ingress {
		defaultPorts(p.Spec.Ingress[i].Ports)
	}
	for i := range p.Spec.Egress {
		defaultPorts(p.Spec.Egress[i].Ports)
	}
	return p
}

func defaultPorts(ports []networkingv1.NetworkPolicyPort) {
	for i := range ports {
		if ports[i].Protocol == nil {
			tcp := corev1.ProtocolTCP
			ports[i].Protocol = &tcp
		}
	}
}

// Validate returns an *InvalidPolicyError when the API server would reject
// p on creation (with the strict IP and CIDR validation of Kubernetes 1.36
// and later). p should be defaulted first, as the API server does.
func Validate(p *networkingv1.NetworkPolicy) error {
	errs := apimachineryvalidation.ValidateObjectMeta(&p.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	errs = append(errs, validateSpec(&p.Spec, field.NewPath("spec"))...)
	if len(errs) == 0 {
		return nil
	}
	return &InvalidPolicyError{Kind: "NetworkPolicy", Namespace: p.Namespace, Name: p.Name, Errs: errs}
}

func validateSpec(spec *networkingv1.NetworkPolicySpec, path *field.Path) field.ErrorList {
	errs := validateSelector(&spec.PodSelector, path.Child("podSelector"))
	for i, rule := range spec.Ingress {
		errs = append(errs, validateRule(rule.Ports, rule.From, path.Child("ingress").Index(i), "from")...)
	}
	for i, rule := range spec.Egress {
		errs = append(errs, validateRule(rule.Ports, rule.To, path.Child("egress").Index(i), "to")...)
	}
	return append(errs, validatePolicyTypes(spec.PolicyTypes, path.Child("policyTypes"))...)
}

func validateRule(ports []networkingv1.NetworkPolicyPort, peers []networkingv1.NetworkPolicyPeer, path *field.Path, peersField string) field.ErrorList {
	var errs field.ErrorList
	for i := range ports {
		errs = append(errs, validatePort(&ports[i], path.Child("ports").Index(i))...)
	}
	for i := range peers {
		errs = append(errs, validatePeer(&peers[i], path.Child(peersField).Index(i))...)
	}
	return errs
}

var supportedProtocols = []string{string(corev1.ProtocolTCP), string(corev1.ProtocolUDP), string(corev1.ProtocolSCTP)}

func validProtocol(p corev1.Protocol) bool {
	return p == corev1.ProtocolTCP || p == corev1.ProtocolUDP || p == corev1.ProtocolSCTP
}

func validatePort(port *networkingv1.NetworkPolicyPort, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if port.Protocol != nil && !validProtocol(*port.Protocol) {
		errs = append(errs, field.NotSupported(path.Child("protocol"), *port.Protocol, supportedProtocols))
	}
	switch {
	case port.Port == nil:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(path.Child("endPort"), *port.EndPort, "may not be specified when `port` is not specified"))
		}
	case port.Port.Type == intstr.Int:
		errs = append(errs, invalidPortNum(path.Child("port"), port.Port.IntVal)...)
		if port.EndPort != nil {
			if *port.EndPort < port.Port.IntVal {
				errs = append(errs, field.Invalid(path.Child("endPort"), *port.EndPort, "must be greater than or equal to `port`"))
			}
			errs = append(errs, invalidPortNum(path.Child("endPort"), *port.EndPort)...)
		}
	default:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(path.Child("endPort"), *port.EndPort, "may not be specified when `port` is non-numeric"))
		}
		for _, msg := range validation.IsValidPortName(port.Port.StrVal) {
			errs = append(errs, field.Invalid(path.Child("port"), port.Port.StrVal, msg))
		}
	}
	return errs
}

func invalidPortNum(path *field.Path, n int32) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsValidPortNum(int(n)) {
		errs = append(errs, field.Invalid(path, n, msg))
	}
	return errs
}

func validatePeer(peer *networkingv1.NetworkPolicyPeer, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	if peer.PodSelector != nil {
		n++
		errs = append(errs, validateSelector(peer.PodSelector, path.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		n++
		errs = append(errs, validateSelector(peer.NamespaceSelector, path.Child("namespaceSelector"))...)
	}
	if peer.IPBlock != nil {
		n++
		errs = append(errs, validateIPBlock(peer.IPBlock, path.Child("ipBlock"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Required(path, "must specify a peer"))
	case n > 1 && peer.IPBlock != nil:
		errs = append(errs, field.Forbidden(path, "may not specify both ipBlock and another peer"))
	}
	return errs
}

func validateSelector(sel *metav1.LabelSelector, path *field.Path) field.ErrorList {
	return metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, path)
}

func validateIPBlock(b *networkingv1.IPBlock, path *field.Path) field.ErrorList {
	if b.CIDR == "" {
		return field.ErrorList{field.Required(path.Child("cidr"), "")}
	}
	errs := validation.IsValidCIDRForLegacyField(path.Child("cidr"), b.CIDR, true, nil)
	cidr, err := parsePrefix(b.CIDR)
	if err != nil {
		return errs
	}
	for i, s := range b.Except {
		p := path.Child("except").Index(i)
		errs = append(errs, validation.IsValidCIDRForLegacyField(p, s, true, nil)...)
		except, err := parsePrefix(s)
		if err != nil {
			continue
		}
		if !cidr.Contains(except.Addr()) || except.Bits() <= cidr.Bits() {
			errs = append(errs, field.Invalid(p, s, "must be a strict subset of `cidr`"))
		}
	}
	return errs
}

func validatePolicyTypes(types []networkingv1.PolicyType, path *field.Path) field.ErrorList {
	if len(types) > 2 {
		return field.ErrorList{field.Invalid(path, types, "may not specify more than two policyTypes")}
	}
	var errs field.ErrorList
	for i, t := range types {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			errs = append(errs, field.NotSupported(path.Index(i), t, []string{string(networkingv1.PolicyTypeIngress), string(networkingv1.PolicyTypeEgress)}))
		}
	}
	return errs
}

// validatePodName guards the pods the engine indexes by name.
func validatePodName(namespace, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("a Pod in namespace %q has no name", namespace)
	case namespace == "":
		return fmt.Errorf("Pod %q has no namespace", name)
	}
	return nil
}

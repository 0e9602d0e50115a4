package netpol

import (
	"net/netip"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	policyv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	policyv1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"
)

// clusterSpec is a cluster-wide policy of any of the three kinds in one
// form, for validation and compilation. Ports and protocols are converted
// (and checked) on the way in, since their shapes differ by kind.
type clusterSpec struct {
	kind string
	meta *metav1.ObjectMeta
	tier tier
	// tierField is spec.tier as written, for ClusterNetworkPolicies.
	tierField *policyv1beta1.Tier
	// priority is nil for the BaselineAdminNetworkPolicy, which has none.
	priority *int32
	subject  clusterPeerSpec // namespaces or pods
	rules    [2][]clusterRuleSpec
	// What the kind's schema allows.
	actions                      []string
	maxRules, maxPeers, maxPorts int
	portsField                   string
}

type clusterRuleSpec struct {
	name   string
	action string
	peers  []clusterPeerSpec
	// ports are the valid entries of ports or protocols; nports counts
	// every entry, and given is true when the field is set at all.
	ports  []*clusterPort
	nports int
	given  bool
	named  bool // some entry is a named port
	errs   field.ErrorList
}

// clusterPeerSpec is a peer (or a subject) of any kind: exactly one field
// must be set.
type clusterPeerSpec struct {
	namespaces  *metav1.LabelSelector
	pods        *namespacedPod
	nodes       *metav1.LabelSelector
	networks    []string
	domainNames []string
}

// namespacedPod is a pods peer: pods its podSelector selects in the
// namespaces its namespaceSelector selects.
type namespacedPod struct {
	namespaces, pods metav1.LabelSelector
}

// Limits of the schemas.
const (
	maxPriority      = 1000
	maxRuleName      = 100
	maxCIDRLength    = 43
	maxNetworks      = 25 // also domainNames
	alphaMaxEntries  = 100
	betaMaxEntries   = 25
	baselineANPName  = "default"
	namedPortsDetail = "networks/nodes/domainNames peer cannot be set with namedPorts since there are no namedPorts for networks/nodes/domainNames"
)

var (
	anpActions  = []string{"Allow", "Deny", "Pass"}
	banpActions = []string{"Allow", "Deny"}
	cnpActions  = []string{"Accept", "Deny", "Pass"}
	tiers       = []string{string(policyv1beta1.AdminTier), string(policyv1beta1.BaselineTier)}
	// domainName is the schema's pattern for domainNames entries.
	domainName = regexp.MustCompile(`^(\*\.)?([a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.)+[a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.?$`)
)

func anpSpec(p *policyv1alpha1.AdminNetworkPolicy) *clusterSpec {
	s := &clusterSpec{kind: kindANP, meta: &p.ObjectMeta, tier: adminTier, priority: &p.Spec.Priority,
		actions: anpActions, maxRules: alphaMaxEntries, maxPeers: alphaMaxEntries, maxPorts: alphaMaxEntries, portsField: "ports"}
	s.subject = alphaSubject(&p.Spec.Subject)
	for i, r := range p.Spec.Ingress {
		peers := make([]clusterPeerSpec, len(r.From))
		for j, f := range r.From {
			peers[j] = clusterPeerSpec{namespaces: f.Namespaces, pods: alphaPods(f.Pods)}
		}
		s.rules[Ingress] = append(s.rules[Ingress], alphaRule(r.Name, string(r.Action), peers, r.Ports, s.rulePath(Ingress, i)))
	}
	for i, r := range p.Spec.Egress {
		peers := make([]clusterPeerSpec, len(r.To))
		for j, t := range r.To {
			peers[j] = clusterPeerSpec{namespaces: t.Namespaces, pods: alphaPods(t.Pods), nodes: t.Nodes, networks: strs(t.Networks), domainNames: strs(t.DomainNames)}
		}
		s.rules[Egress] = append(s.rules[Egress], alphaRule(r.Name, string(r.Action), peers, r.Ports, s.rulePath(Egress, i)))
	}
	return s
}

func banpSpec(p *policyv1alpha1.BaselineAdminNetworkPolicy) *clusterSpec {
	s := &clusterSpec{kind: kindBANP, meta: &p.ObjectMeta, tier: baselineTier,
		actions: banpActions, maxRules: alphaMaxEntries, maxPeers: alphaMaxEntries, maxPorts: alphaMaxEntries, portsField: "ports"}
	s.subject = alphaSubject(&p.Spec.Subject)
	for i, r := range p.Spec.Ingress {
		peers := make([]clusterPeerSpec, len(r.From))
		for j, f := range r.From {
			peers[j] = clusterPeerSpec{namespaces: f.Namespaces, pods: alphaPods(f.Pods)}
		}
		s.rules[Ingress] = append(s.rules[Ingress], alphaRule(r.Name, string(r.Action), peers, r.Ports, s.rulePath(Ingress, i)))
	}
	for i, r := range p.Spec.Egress {
		peers := make([]clusterPeerSpec, len(r.To))
		for j, t := range r.To {
			peers[j] = clusterPeerSpec{namespaces: t.Namespaces, pods: alphaPods(t.Pods), nodes: t.Nodes, networks: strs(t.Networks)}
		}
		s.rules[Egress] = append(s.rules[Egress], alphaRule(r.Name, string(r.Action), peers, r.Ports, s.rulePath(Egress, i)))
	}
	return s
}

func cnpSpec(p *policyv1beta1.ClusterNetworkPolicy) *clusterSpec {
	s := &clusterSpec{kind: kindCNP, meta: &p.ObjectMeta, tierField: &p.Spec.Tier, priority: &p.Spec.Priority,
		actions: cnpActions, maxRules: betaMaxEntries, maxPeers: betaMaxEntries, maxPorts: betaMaxEntries, portsField: "protocols"}
	if p.Spec.Tier == policyv1beta1.BaselineTier {
		s.tier = baselineTier
	}
	s.subject = clusterPeerSpec{namespaces: p.Spec.Subject.Namespaces, pods: betaPods(p.Spec.Subject.Pods)}
	for i, r := range p.Spec.Ingress {
		peers := make([]clusterPeerSpec, len(r.From))
		for j, f := range r.From {
			peers[j] = clusterPeerSpec{namespaces: f.Namespaces, pods: betaPods(f.Pods)}
		}
		s.rules[Ingress] = append(s.rules[Ingress], betaRule(r.Name, string(r.Action), peers, r.Protocols, s.rulePath(Ingress, i)))
	}
	for i, r := range p.Spec.Egress {
		peers := make([]clusterPeerSpec, len(r.To))
		for j, t := range r.To {
			peers[j] = clusterPeerSpec{namespaces: t.Namespaces, pods: betaPods(t.Pods), nodes: t.Nodes, networks: strs(t.Networks), domainNames: strs(t.DomainNames)}
		}
		s.rules[Egress] = append(s.rules[Egress], betaRule(r.Name, string(r.Action), peers, r.Protocols, s.rulePath(Egress, i)))
	}
	return s
}

func (s *clusterSpec) rulePath(d Direction, i int) *field.Path {
	return field.NewPath("spec").Child(d.field()).Index(i)
}

func alphaSubject(in *policyv1alpha1.AdminNetworkPolicySubject) clusterPeerSpec {
	return clusterPeerSpec{namespaces: in.Namespaces, pods: alphaPods(in.Pods)}
}

func alphaPods(in *policyv1alpha1.NamespacedPod) *namespacedPod {
	if in == nil {
		return nil
	}
	return &namespacedPod{namespaces: in.NamespaceSelector, pods: in.PodSelector}
}

func betaPods(in *policyv1beta1.NamespacedPod) *namespacedPod {
	if in == nil {
		return nil
	}
	return &namespacedPod{namespaces: in.NamespaceSelector, pods: in.PodSelector}
}

// strs converts a list of string-typed values, keeping nil apart from
// empty: a field set to an empty list is set.
func strs[T ~string](in []T) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}

// alphaRule converts a rule of an AdminNetworkPolicy or a
// BaselineAdminNetworkPolicy, checking its ports.
func alphaRule(name, action string, peers []clusterPeerSpec, ports *[]policyv1alpha1.AdminNetworkPolicyPort, path *field.Path) clusterRuleSpec {
	r := clusterRuleSpec{name: name, action: action, peers: peers, given: ports != nil}
	if ports == nil {
		return r
	}
	r.nports = len(*ports)
	for i, p := range *ports {
		at := path.Child("ports").Index(i)
		var set []string
		if p.PortNumber != nil {
			set = append(set, "portNumber")
		}
		if p.NamedPort != nil {
			set = append(set, "namedPort")
		}
		if p.PortRange != nil {
			set = append(set, "portRange")
		}
		if len(set) != 1 {
			r.errs = append(r.errs, exactlyOne(at, set))
			continue
		}
		port := &clusterPort{index: i}
		var errs field.ErrorList
		switch {
		case p.NamedPort != nil:
			port.named, port.name = true, *p.NamedPort
			r.named = true
		case p.PortNumber != nil:
			port.protocol = defaultProtocol(p.PortNumber.Protocol)
			port.first, port.last = p.PortNumber.Port, p.PortNumber.Port
			errs = append(validateClusterProtocol(at.Child("portNumber", "protocol"), port.protocol), invalidPortNum(at.Child("portNumber", "port"), port.first)...)
		default:
			port.protocol = defaultProtocol(p.PortRange.Protocol)
			port.first, port.last = p.PortRange.Start, p.PortRange.End
			errs = append(validateClusterProtocol(at.Child("portRange", "protocol"), port.protocol), validateRange(at.Child("portRange"), port.first, port.last)...)
		}
		r.errs = append(r.errs, errs...)
		if len(errs) == 0 {
			r.ports = append(r.ports, port)
		}
	}
	return r
}

// betaRule converts a rule of a ClusterNetworkPolicy, checking its
// protocols.
func betaRule(name, action string, peers []clusterPeerSpec, protocols []policyv1beta1.ClusterNetworkPolicyProtocol, path *field.Path) clusterRuleSpec {
	r := clusterRuleSpec{name: name, action: action, peers: peers, given: protocols != nil, nports: len(protocols)}
	for i, p := range protocols {
		at := path.Child("protocols").Index(i)
		var set []string
		var dest *policyv1beta1.Port
		var protocol corev1.Protocol
		if p.TCP != nil {
			set, dest, protocol = append(set, "tcp"), p.TCP.DestinationPort, corev1.ProtocolTCP
		}
		if p.UDP != nil {
			set, dest, protocol = append(set, "udp"), p.UDP.DestinationPort, corev1.ProtocolUDP
		}
		if p.SCTP != nil {
			set, dest, protocol = append(set, "sctp"), p.SCTP.DestinationPort, corev1.ProtocolSCTP
		}
		if p.DestinationNamedPort != "" {
			set = append(set, "destinationNamedPort")
		}
		if len(set) != 1 {
			r.errs = append(r.errs, exactlyOne(at, set))
			continue
		}
		if p.DestinationNamedPort != "" {
			r.ports = append(r.ports, &clusterPort{index: i, named: true, name: p.DestinationNamedPort})
			r.named = true
			continue
		}
		port, errs := betaPort(at.Child(set[0], "destinationPort"), dest, protocol)
		r.errs = append(r.errs, errs...)
		if len(errs) == 0 {
			port.index = i
			r.ports = append(r.ports, port)
		}
	}
	return r
}

// betaPort checks a destinationPort, which must hold a number or a range.
func betaPort(path *field.Path, in *policyv1beta1.Port, protocol corev1.Protocol) (*clusterPort, field.ErrorList) {
	switch {
	case in == nil:
		return nil, field.ErrorList{field.Required(path, "")}
	case in.Number != 0 && in.Range != nil:
		return nil, field.ErrorList{exactlyOne(path, []string{"number", "range"})}
	case in.Range != nil:
		return &clusterPort{protocol: protocol, first: in.Range.Start, last: in.Range.End}, validateRange(path.Child("range"), in.Range.Start, in.Range.End)
	case in.Number != 0:
		return &clusterPort{protocol: protocol, first: in.Number, last: in.Number}, invalidPortNum(path.Child("number"), in.Number)
	default:
		return nil, field.ErrorList{exactlyOne(path, nil)}
	}
}

func defaultProtocol(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

func validateClusterProtocol(path *field.Path, p corev1.Protocol) field.ErrorList {
	if validProtocol(p) {
		return nil
	}
	return field.ErrorList{field.NotSupported(path, p, supportedProtocols)}
}

func validateRange(path *field.Path, start, end int32) field.ErrorList {
	errs := append(invalidPortNum(path.Child("start"), start), invalidPortNum(path.Child("end"), end)...)
	if start >= end {
		errs = append(errs, field.Invalid(path, [2]int32{start, end}, "Start port must be less than End port"))
	}
	return errs
}

// exactlyOne reports a union with none or several of its fields set.
func exactlyOne(path *field.Path, set []string) *field.Error {
	if len(set) == 0 {
		return field.Required(path, "exactly one field must be set")
	}
	return field.Forbidden(path, "exactly one field must be set, not "+strings.Join(set, " and "))
}

// validate returns an *InvalidPolicyError when the API server would reject
// the policy, by its CRD's schema and validation rules. A namespace is
// ignored, as the API server ignores it for cluster-scoped objects.
func (s *clusterSpec) validate() error {
	meta := s.meta.DeepCopy()
	meta.Namespace = ""
	errs := apimachineryvalidation.ValidateObjectMeta(meta, false, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	if s.kind == kindBANP && s.meta.Name != baselineANPName {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), s.meta.Name, `Only one baseline admin network policy with metadata.name="default" can be created in the cluster`))
	}
	spec := field.NewPath("spec")
	if s.tierField != nil && !slices.Contains(tiers, string(*s.tierField)) {
		errs = append(errs, field.NotSupported(spec.Child("tier"), *s.tierField, tiers))
	}
	if s.priority != nil && (*s.priority < 0 || *s.priority > maxPriority) {
		errs = append(errs, field.Invalid(spec.Child("priority"), *s.priority, "must be between 0 and 1000"))
	}
	errs = append(errs, validateClusterPeer(&s.subject, spec.Child("subject"))...)
	for _, d := range directions {
		path := spec.Child(d.field())
		if n := len(s.rules[d]); n > s.maxRules {
			errs = append(errs, field.TooMany(path, n, s.maxRules))
		}
		for i := range s.rules[d] {
			errs = append(errs, s.validateRule(d, &s.rules[d][i], path.Index(i))...)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &InvalidPolicyError{Kind: s.kind, Name: s.meta.Name, Errs: errs}
}

func (s *clusterSpec) validateRule(d Direction, r *clusterRuleSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(r.name) > maxRuleName {
		errs = append(errs, field.TooLong(path.Child("name"), r.name, maxRuleName))
	}
	if !slices.Contains(s.actions, r.action) {
		errs = append(errs, field.NotSupported(path.Child("action"), r.action, s.actions))
	}
	peers := path.Child(d.peersField())
	switch n := len(r.peers); {
	case n == 0:
		errs = append(errs, field.Required(peers, "a rule needs at least one peer"))
	case n > s.maxPeers:
		errs = append(errs, field.TooMany(peers, n, s.maxPeers))
	}
	for i := range r.peers {
		errs = append(errs, validateClusterPeer(&r.peers[i], peers.Index(i))...)
	}
	ports := path.Child(s.portsField)
	switch {
	case r.given && r.nports == 0:
		errs = append(errs, field.Required(ports, "must have at least one entry when set"))
	case r.nports > s.maxPorts:
		errs = append(errs, field.TooMany(ports, r.nports, s.maxPorts))
	}
	errs = append(errs, r.errs...)
	if r.named && slices.ContainsFunc(r.peers, clusterPeerSpec.addressPeer) {
		errs = append(errs, field.Forbidden(path, namedPortsDetail))
	}
	return errs
}

// addressPeer reports whether the peer matches addresses rather than pods,
// which have no named ports.
func (p clusterPeerSpec) addressPeer() bool {
	return p.nodes != nil || p.networks != nil || p.domainNames != nil
}

// set names the peer's fields that are set.
func (p *clusterPeerSpec) set() []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"namespaces", p.namespaces != nil},
		{"pods", p.pods != nil},
		{"nodes", p.nodes != nil},
		{"networks", p.networks != nil},
		{"domainNames", p.domainNames != nil},
	} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

func validateClusterPeer(p *clusterPeerSpec, path *field.Path) field.ErrorList {
	if set := p.set(); len(set) != 1 {
		return field.ErrorList{exactlyOne(path, set)}
	}
	switch {
	case p.namespaces != nil:
		return validateSelector(p.namespaces, path.Child("namespaces"))
	case p.pods != nil:
		at := path.Child("pods")
		return append(validateSelector(&p.pods.namespaces, at.Child("namespaceSelector")), validateSelector(&p.pods.pods, at.Child("podSelector"))...)
	case p.nodes != nil:
		return validateSelector(p.nodes, path.Child("nodes"))
	case p.networks != nil:
		return validateList(p.networks, path.Child("networks"), validateNetwork)
	default:
		return validateList(p.domainNames, path.Child("domainNames"), validateDomainName)
	}
}

// validateList checks a set-typed list of 1 to 25 entries.
func validateList(list []string, path *field.Path, entry func(string, *field.Path) field.ErrorList) field.ErrorList {
	var errs field.ErrorList
	switch n := len(list); {
	case n == 0:
		errs = append(errs, field.Required(path, "must have at least one entry when set"))
	case n > maxNetworks:
		errs = append(errs, field.TooMany(path, n, maxNetworks))
	}
	for i, s := range list {
		if slices.Contains(list[:i], s) {
			errs = append(errs, field.Duplicate(path.Index(i), s))
		}
		errs = append(errs, entry(s, path.Index(i))...)
	}
	return errs
}

// validateNetwork checks a CIDR as the schema does: at most 43 characters,
// and a CIDR with no bits set beyond the prefix length.
func validateNetwork(s string, path *field.Path) field.ErrorList {
	if len(s) > maxCIDRLength {
		return field.ErrorList{field.TooLong(path, s, maxCIDRLength)}
	}
	if p, err := netip.ParsePrefix(s); err != nil || p != p.Masked() {
		return field.ErrorList{field.Invalid(path, s, "Invalid CIDR format provided")}
	}
	return nil
}

func validateDomainName(s string, path *field.Path) field.ErrorList {
	if !domainName.MatchString(s) {
		return field.ErrorList{field.Invalid(path, s, "must be a domain name, optionally prefixed with \"*.\"")}
	}
	return nil
}

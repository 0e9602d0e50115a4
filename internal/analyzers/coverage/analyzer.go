package coverage

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/palisade-sec/palisade/api/v1alpha1"

	"github.com/palisade-sec/palisade/internal/text"
)

// DefaultMaxNames is how many workloads a grouped finding lists by default.
const DefaultMaxNames = 10

// Options tune the analysis. The zero value uses the defaults.
type Options struct {
	// MaxNames caps the workloads a grouped finding lists (DefaultMaxNames
	// when zero or less).
	MaxNames int
}

// NamespaceCoverage summarizes one namespace.
type NamespaceCoverage struct {
	Namespace string
	// DefaultDenyIngress and DefaultDenyEgress name the policies that select
	// every pod and admit nothing in that direction.
	DefaultDenyIngress, DefaultDenyEgress []string
	// Pods counts the running pods NetworkPolicy applies to (hostNetwork
	// pods excluded); HostNetworkPods the others.
	Pods, HostNetworkPods int
	// NotIsolatedIngress and NotIsolatedEgress count the pods no policy of
	// that type selects.
	NotIsolatedIngress, NotIsolatedEgress int
}

// namespace accumulates one namespace's pods.
type namespace struct {
	name                          string
	policies                      []*policy
	pods                          int
	hostNetwork, notIn, notEgress workloadSet
}

// Analyzer holds the compiled policies of the namespaces in scope and
// accumulates pods fed to Pod. It keeps counters and a bounded list of
// workload names per namespace, never the pods. It is not safe for
// concurrent use.
type Analyzer struct {
	maxNames int
	// open is set when no namespace list was given: every namespace seen is
	// in scope.
	open       bool
	namespaces map[string]*namespace
}

// New compiles the policies of the namespaces in scope. namespaces lists the
// scope; nil means every namespace a policy or pod names. Policies and pods
// of namespaces outside the scope are ignored.
func New(namespaces []corev1.Namespace, policies []networkingv1.NetworkPolicy, opts Options) *Analyzer {
	a := &Analyzer{maxNames: opts.MaxNames, open: namespaces == nil, namespaces: map[string]*namespace{}}
	if a.maxNames <= 0 {
		a.maxNames = DefaultMaxNames
	}
	for i := range namespaces {
		a.namespace(namespaces[i].Name, true)
	}
	for i := range policies {
		if ns := a.namespace(policies[i].Namespace, a.open); ns != nil {
			ns.policies = append(ns.policies, compilePolicy(&policies[i]))
		}
	}
	for _, ns := range a.namespaces {
		slices.SortFunc(ns.policies, func(x, y *policy) int { return cmp.Compare(x.Policy.Name, y.Policy.Name) })
	}
	return a
}

// Analyze runs the whole analysis on slices.
func Analyze(namespaces []corev1.Namespace, policies []networkingv1.NetworkPolicy, pods []corev1.Pod, opts Options) []v1alpha1.Finding {
	a := New(namespaces, policies, opts)
	for i := range pods {
		a.Pod(&pods[i])
	}
	return a.Findings()
}

// namespace returns the state of a namespace in scope, creating it when
// create is set; nil when it is out of scope.
func (a *Analyzer) namespace(name string, create bool) *namespace {
	if ns, ok := a.namespaces[name]; ok || !create {
		return ns
	}
	ns := &namespace{name: name}
	for _, s := range []*workloadSet{&ns.hostNetwork, &ns.notIn, &ns.notEgress} {
		s.max = a.maxNames
	}
	a.namespaces[name] = ns
	return ns
}

// Pod accounts for one pod. Pods that have completed hold no network
// identity and are skipped.
func (a *Analyzer) Pod(pod *corev1.Pod) {
	ns := a.namespace(pod.Namespace, a.open)
	if ns == nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return
	}
	set := labels.Set(pod.Labels)
	var ingress, egress bool
	for _, p := range ns.policies {
		if !p.selector.Matches(set) {
			continue
		}
		if pod.Spec.HostNetwork {
			p.SelectedHostNetworkPods++
			continue
		}
		p.SelectedPods++
		ingress, egress = ingress || p.Ingress, egress || p.Egress
	}
	workload := workloadOf(pod)
	if pod.Spec.HostNetwork {
		ns.hostNetwork.add(workload)
		return
	}
	ns.pods++
	if !ingress {
		ns.notIn.add(workload)
	}
	if !egress {
		ns.notEgress.add(workload)
	}
}

// sorted returns the namespaces in scope by name.
func (a *Analyzer) sorted() []*namespace {
	out := make([]*namespace, 0, len(a.namespaces))
	for _, ns := range a.namespaces {
		out = append(out, ns)
	}
	slices.SortFunc(out, func(x, y *namespace) int { return cmp.Compare(x.name, y.name) })
	return out
}

// Namespaces returns the coverage of each namespace in scope, by name.
func (a *Analyzer) Namespaces() []NamespaceCoverage {
	var out []NamespaceCoverage
	for _, ns := range a.sorted() {
		nc := NamespaceCoverage{
			Namespace: ns.name, Pods: ns.pods, HostNetworkPods: ns.hostNetwork.pods,
			NotIsolatedIngress: ns.notIn.pods, NotIsolatedEgress: ns.notEgress.pods,
		}
		for _, p := range ns.policies {
			if p.DefaultDenyIngress {
				nc.DefaultDenyIngress = append(nc.DefaultDenyIngress, p.Policy.Name)
			}
			if p.DefaultDenyEgress {
				nc.DefaultDenyEgress = append(nc.DefaultDenyEgress, p.Policy.Name)
			}
		}
		out = append(out, nc)
	}
	return out
}

// Policies returns the coverage of each policy in scope, by namespace and
// name. Selection counts are complete once every pod has been fed.
func (a *Analyzer) Policies() []PolicyCoverage {
	var out []PolicyCoverage
	for _, ns := range a.sorted() {
		for _, p := range ns.policies {
			out = append(out, p.PolicyCoverage)
		}
	}
	return out
}

// Findings reports, namespace by namespace (sorted by name), the namespace's
// findings and then its policies' (sorted by name). Call it after feeding
// every pod.
func (a *Analyzer) Findings() []v1alpha1.Finding {
	var out []v1alpha1.Finding
	nsc := a.Namespaces()
	for i, ns := range a.sorted() {
		out = append(out, ns.findings(&nsc[i])...)
		for _, p := range ns.policies {
			out = append(out, p.findings()...)
		}
	}
	return out
}

// Finding IDs.
const (
	IDNoDefaultDenyIngress  = "netpol.no-default-deny-ingress"
	IDNoDefaultDenyEgress   = "netpol.no-default-deny-egress"
	IDNotIsolatedIngress    = "netpol.pods-not-isolated-ingress"
	IDNotIsolatedEgress     = "netpol.pods-not-isolated-egress"
	IDHostNetwork           = "netpol.host-network-pods"
	IDPolicySelectsNoPod    = "netpol.policy-selects-no-pod"
	IDBroadIngress          = "netpol.broad-ingress"
	IDBroadEgress           = "netpol.broad-egress"
	defaultDenyRemediation  = "Add a NetworkPolicy with podSelector: {} and policyTypes: [%s] and no %s rules, then allow the flows each workload needs."
	notIsolatedRemediation  = "Add a default-deny %s policy to the namespace, or policies selecting these workloads."
	hostNetworkRemediation  = "Run these pods without hostNetwork where possible; otherwise restrict their traffic with host firewall rules or a CNI host policy."
	selectsNoPodRemediation = "Fix the podSelector labels or delete the policy."
)

func namespaceRef(name string) v1alpha1.ResourceRef {
	return v1alpha1.ResourceRef{APIVersion: "v1", Kind: "Namespace", Name: name}
}

func finding(id string, sev v1alpha1.Severity, res v1alpha1.ResourceRef, msg, remediation string) v1alpha1.Finding {
	return v1alpha1.Finding{ID: id, Category: v1alpha1.CategoryNetworkPolicy, Severity: sev, Resource: res, Message: text.Cut(msg, text.MaxField), Remediation: remediation}
}

// direction holds what differs between the ingress and egress findings.
type direction struct {
	name                  networkingv1.PolicyType
	denyID, isolatedID    string
	denySev, isolatedSev  v1alpha1.Severity
	defaultDeny           func(*NamespaceCoverage) []string
	notIsolated           func(*namespace) *workloadSet
	ruleField             string
	exposureForUnselected string
}

var directions = []direction{
	{
		name: networkingv1.PolicyTypeIngress, denyID: IDNoDefaultDenyIngress, isolatedID: IDNotIsolatedIngress,
		denySev: v1alpha1.SeverityMedium, isolatedSev: v1alpha1.SeverityMedium,
		defaultDeny: func(c *NamespaceCoverage) []string { return c.DefaultDenyIngress },
		notIsolated: func(ns *namespace) *workloadSet { return &ns.notIn },
		ruleField:   "ingress", exposureForUnselected: "accept connections from anywhere",
	},
	{
		name: networkingv1.PolicyTypeEgress, denyID: IDNoDefaultDenyEgress, isolatedID: IDNotIsolatedEgress,
		denySev: v1alpha1.SeverityLow, isolatedSev: v1alpha1.SeverityLow,
		defaultDeny: func(c *NamespaceCoverage) []string { return c.DefaultDenyEgress },
		notIsolated: func(ns *namespace) *workloadSet { return &ns.notEgress },
		ruleField:   "egress", exposureForUnselected: "may connect anywhere",
	},
}

// findings reports a namespace's default-deny gaps, unisolated pods (one
// finding per direction listing workloads) and hostNetwork pods.
func (ns *namespace) findings(c *NamespaceCoverage) []v1alpha1.Finding {
	var out []v1alpha1.Finding
	ref := namespaceRef(ns.name)
	for _, d := range directions {
		if len(d.defaultDeny(c)) == 0 {
			out = append(out, finding(d.denyID, d.denySev, ref,
				fmt.Sprintf("Namespace %s has no default-deny %s NetworkPolicy: pods that no %s policy selects, including future ones, %s.",
					ns.name, d.ruleField, d.ruleField, d.exposureForUnselected),
				fmt.Sprintf(defaultDenyRemediation, d.name, d.ruleField)))
		}
		if set := d.notIsolated(ns); set.pods > 0 {
			out = append(out, finding(d.isolatedID, d.isolatedSev, ref,
				fmt.Sprintf("%d of %d pods in namespace %s are not isolated for %s (no policy with policyType %s selects them): %s.",
					set.pods, ns.pods, ns.name, d.ruleField, d.name, set),
				fmt.Sprintf(notIsolatedRemediation, d.ruleField)))
		}
	}
	if ns.hostNetwork.pods > 0 {
		out = append(out, finding(IDHostNetwork, v1alpha1.SeverityInfo, ref,
			fmt.Sprintf("%d hostNetwork %s in namespace %s outside NetworkPolicy, which does not apply to host-network traffic: %s.",
				ns.hostNetwork.pods, text.Plural(ns.hostNetwork.pods, "pod is", "pods are"), ns.name, &ns.hostNetwork),
			hostNetworkRemediation))
	}
	return out
}

// findings reports a policy that selects no pod and its broad rules (one
// finding per direction, at the severity of its broadest rule).
func (p *policy) findings() []v1alpha1.Finding {
	var out []v1alpha1.Finding
	if f, ok := p.selectsNothing(); ok {
		out = append(out, f)
	}
	for _, d := range []struct {
		dir networkingv1.PolicyType
		id  string
	}{{networkingv1.PolicyTypeIngress, IDBroadIngress}, {networkingv1.PolicyTypeEgress, IDBroadEgress}} {
		var rules []string
		sev := v1alpha1.SeverityInfo
		for _, r := range p.Broad {
			if r.Direction != d.dir {
				continue
			}
			rules = append(rules, r.String())
			if s := r.severity(); s.Rank() < sev.Rank() {
				sev = s
			}
		}
		if len(rules) > 0 {
			out = append(out, finding(d.id, sev, p.Policy,
				fmt.Sprintf("NetworkPolicy %s/%s admits too much: %s.", p.Policy.Namespace, p.Policy.Name, strings.Join(rules, "; ")),
				"Name the peers (namespaceSelector and podSelector together, or specific CIDRs) and the ports each rule needs."))
		}
	}
	return out
}

// selectsNothing reports a policy whose podSelector selects no pod that
// NetworkPolicy applies to. An empty podSelector in an empty namespace is
// not a mistake.
func (p *policy) selectsNothing() (v1alpha1.Finding, bool) {
	if p.selectAll || p.SelectedPods > 0 {
		return v1alpha1.Finding{}, false
	}
	why := "its podSelector matches no pod"
	switch {
	case p.InvalidSelector != "":
		why = "its podSelector is invalid: " + p.InvalidSelector
	case p.SelectedHostNetworkPods > 0:
		why = fmt.Sprintf("it selects only hostNetwork pods (%d), to which NetworkPolicy does not apply", p.SelectedHostNetworkPods)
	}
	return finding(IDPolicySelectsNoPod, v1alpha1.SeverityLow, p.Policy,
		fmt.Sprintf("NetworkPolicy %s/%s has no effect: %s.", p.Policy.Namespace, p.Policy.Name, why),
		selectsNoPodRemediation), true
}

package netpol

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// namespaceNameLabel is the label the API server sets on every namespace.
const namespaceNameLabel = "kubernetes.io/metadata.name"

// Engine answers reachability questions about a fixed set of namespaces,
// pods and policies. It is safe for concurrent use.
type Engine struct {
	pods     []*Pod // by key
	byKey    map[string]*Pod
	byIP     map[netip.Addr]*Pod // pod-network pods only
	policies []*Policy           // by key
	cluster  ClusterPolicies     // as given
	// nodeAddrs are the addresses known to be nodes': pods' hostIPs and
	// hostNetwork pods' IPs.
	nodeAddrs map[netip.Addr]bool
	warnings  []string
}

// New builds an engine. Policies may be as the API server stores them or
// raw: New applies the API server's defaulting, then rejects what its
// validation would reject, naming each invalid policy (errors.As finds an
// *InvalidPolicyError for each). Namespaces that pods live in but that are
// not given are assumed to carry only the kubernetes.io/metadata.name label
// (see [Engine.Warnings]).
func New(namespaces []corev1.Namespace, pods []corev1.Pod, policies []networkingv1.NetworkPolicy) (*Engine, error) {
	return NewWithClusterPolicies(namespaces, pods, policies, ClusterPolicies{})
}

// NewWithClusterPolicies is [New] with cluster-wide policies too, validated
// as their CRDs validate them: errors.As finds an *InvalidPolicyError (with
// its Kind) for each invalid one, NetworkPolicies' and cluster-wide ones'
// together. See the package documentation for how the tiers combine.
func NewWithClusterPolicies(namespaces []corev1.Namespace, pods []corev1.Pod, policies []networkingv1.NetworkPolicy, cluster ClusterPolicies) (*Engine, error) {
	e := &Engine{byKey: map[string]*Pod{}, byIP: map[netip.Addr]*Pod{}, cluster: cluster, nodeAddrs: map[netip.Addr]bool{}}
	c := &compiler{byName: map[string]*namespace{}, sets: map[string]*podSet{}}
	if err := c.addNamespaces(namespaces); err != nil {
		return nil, err
	}
	if err := e.addPods(c, pods); err != nil {
		return nil, err
	}
	errs := e.addPolicies(c, policies)
	if !cluster.Empty() {
		errs = append(errs, e.addClusterPolicies(c, cluster)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return e, nil
}

func (c *compiler) addNamespaces(in []corev1.Namespace) error {
	for i := range in {
		ns := &in[i]
		if ns.Name == "" {
			return errors.New("a Namespace has no name")
		}
		if _, dup := c.byName[ns.Name]; dup {
			return fmt.Errorf("namespace %s is given twice", ns.Name)
		}
		set := labels.Set(maps.Clone(ns.Labels))
		if set == nil {
			set = labels.Set{}
		}
		set[namespaceNameLabel] = ns.Name
		c.add(&namespace{name: ns.Name, labels: set})
	}
	return nil
}

func (c *compiler) add(ns *namespace) {
	c.byName[ns.name] = ns
	i, _ := slices.BinarySearchFunc(c.namespaces, ns.name, func(n *namespace, name string) int { return cmp.Compare(n.name, name) })
	c.namespaces = slices.Insert(c.namespaces, i, ns)
}

func (e *Engine) addPods(c *compiler, in []corev1.Pod) error {
	for i := range in {
		if err := validatePodName(in[i].Namespace, in[i].Name); err != nil {
			return err
		}
		p := newPod(&in[i])
		if _, dup := e.byKey[p.Key()]; dup {
			return fmt.Errorf("pod %s is given twice", p.Key())
		}
		e.byKey[p.Key()] = p
		e.pods = append(e.pods, p)
	}
	slices.SortFunc(e.pods, func(a, b *Pod) int { return cmp.Compare(a.Key(), b.Key()) })
	for _, p := range e.pods {
		ns := c.byName[p.Namespace]
		if ns == nil {
			ns = &namespace{name: p.Namespace, labels: labels.Set{namespaceNameLabel: p.Namespace}}
			c.add(ns)
			e.warn("namespace %s (of pod %s) is not among the inputs: assuming it has no labels but %s", p.Namespace, p.Key(), namespaceNameLabel)
		}
		if p.Skipped != "" {
			continue
		}
		for _, ip := range p.HostIPs {
			e.nodeAddrs[ip] = true
		}
		if p.HostNetwork {
			for _, ip := range p.IPs {
				e.nodeAddrs[ip] = true
			}
			continue
		}
		p.index = c.selectable
		c.selectable++
		ns.pods = append(ns.pods, p)
		for _, ip := range p.IPs {
			if other, dup := e.byIP[ip]; dup {
				e.warn("pods %s and %s both have IP %s: the address is taken to be %s's", other.Key(), p.Key(), ip, other.Key())
				continue
			}
			e.byIP[ip] = p
		}
	}
	return nil
}

// addPolicies validates and compiles the NetworkPolicies and hands each
// pod those that select it. It returns one error per invalid policy.
func (e *Engine) addPolicies(c *compiler, in []networkingv1.NetworkPolicy) []error {
	var errs []error
	seen := map[string]bool{}
	for i := range in {
		np := Default(&in[i])
		if err := Validate(np); err != nil {
			errs = append(errs, err)
			continue
		}
		p, err := c.policy(np)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[p.Key()] {
			errs = append(errs, fmt.Errorf("NetworkPolicy %s is given twice", p.Key()))
			continue
		}
		seen[p.Key()] = true
		e.policies = append(e.policies, p)
		e.warnIgnoredRules(np)
	}
	if len(errs) > 0 {
		return errs
	}
	slices.SortFunc(e.policies, func(a, b *Policy) int { return cmp.Compare(a.Key(), b.Key()) })
	for _, p := range e.policies {
		for _, d := range directions {
			if !p.applies[d] {
				continue
			}
			for _, pod := range p.selected.pods {
				pod.policies[d] = append(pod.policies[d], p)
			}
		}
	}
	return nil
}

// warnIgnoredRules notes rules of a direction policyTypes leaves out.
func (e *Engine) warnIgnoredRules(np *networkingv1.NetworkPolicy) {
	types := np.Spec.PolicyTypes
	if len(np.Spec.Ingress) > 0 && !slices.Contains(types, networkingv1.PolicyTypeIngress) {
		e.warn("NetworkPolicy %s/%s has ingress rules but policyTypes %v leaves Ingress out: they are ignored", np.Namespace, np.Name, types)
	}
	if len(np.Spec.Egress) > 0 && !slices.Contains(types, networkingv1.PolicyTypeEgress) {
		e.warn("NetworkPolicy %s/%s has egress rules but policyTypes %v leaves Egress out: they are ignored", np.Namespace, np.Name, types)
	}
}

func (e *Engine) warn(format string, args ...any) {
	e.warnings = append(e.warnings, fmt.Sprintf(format, args...))
}

// Warnings returns what New assumed or ignored: namespaces not given, pods
// sharing an IP, rules policyTypes leaves out, and what the cluster-wide
// policies' APIs leave to implementations (policies sharing a priority, a
// BaselineAdminNetworkPolicy next to baseline ClusterNetworkPolicies).
// Skipped pods are not among them: see [Pod.Skipped].
func (e *Engine) Warnings() []string { return e.warnings }

// Pods returns every pod given, skipped ones included, by namespace/name.
func (e *Engine) Pods() []*Pod { return e.pods }

// Pod returns a pod by namespace and name, or nil.
func (e *Engine) Pod(namespace, name string) *Pod { return e.byKey[namespace+"/"+name] }

// Policies returns the compiled policies, by namespace/name.
func (e *Engine) Policies() []*Policy { return e.policies }

// ClusterPolicies returns the cluster-wide policies the engine was built
// with, as given, so that an engine can be rebuilt with other pods.
func (e *Engine) ClusterPolicies() ClusterPolicies { return e.cluster }

package cases

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/palisade-sec/palisade/internal/netpol"
)

// DefaultMaxCases caps the cases when Options.MaxCases is 0.
const DefaultMaxCases = 200

// Options tune Generate.
type Options struct {
	// Namespaces are the namespaces in scope, with their labels as the API
	// server stores them. Only their policies get cases, and probe pods
	// are only placed in them.
	Namespaces []corev1.Namespace
	// MaxCases caps the cases; 0 means DefaultMaxCases.
	MaxCases int
	// DefaultPorts stand for "every port": a rule without ports, or a port
	// entry without a port number. Empty means 80/TCP.
	DefaultPorts []Port
	// ClusterNetworks are the address ranges pods (and nodes) get. An
	// ipBlock that overlaps none of them cannot hold a probe pod's address,
	// so it does not make pod-to-pod verdicts uncertain. Empty means any
	// address may be a pod's.
	ClusterNetworks []netip.Prefix
	// ExternalAddresses are addresses outside the pod network where a probe
	// server answers (such as a node running a hostNetwork probe server).
	// Egress ipBlock rules are probed only through them.
	ExternalAddresses []netip.Addr
	// ProbeLabels are labels every probe pod carries besides its
	// identity's (the controller's own); verdicts account for them, and
	// they win over an identity's label of the same key.
	ProbeLabels map[string]string
	// TemporaryNamespaces lets a selector peer whose namespaceSelector
	// matches no namespace in scope get cases all the same, from (ingress)
	// or to (egress) probe pods in a namespace made up for it: one carrying
	// labels the selector matches, named after them (see
	// [TemporaryNamespace]), which the controller creates for the run. A
	// selector that names a namespace (kubernetes.io/metadata.name) or that
	// no labels satisfy gets none, and a plan makes at most
	// MaxTemporaryNamespaces. Their verdicts are computed like every
	// other's, by an engine that has the namespaces too.
	TemporaryNamespaces bool
	// TemporaryNamespaceLabels are labels the controller puts on every
	// temporary namespace besides those a selector asks for (its own, to
	// find them again). Verdicts account for them, a selector they keep
	// from matching gets no namespace, and they go into the name: probes
	// with different labels never share a namespace.
	TemporaryNamespaceLabels map[string]string
}

// MaxTemporaryNamespaces caps the namespaces a plan makes up
// (Options.TemporaryNamespaces).
const MaxTemporaryNamespaces = 10

// Port is a port number and protocol.
type Port struct {
	Port     int32
	Protocol corev1.Protocol
}

func (p Port) String() string { return fmt.Sprintf("%d/%s", p.Port, p.Protocol) }

// NamedPort is a container port a probe server declares, so that rules
// naming it resolve on the server as on the pods it stands for.
type NamedPort struct {
	Name     string
	Port     int32
	Protocol corev1.Protocol
}

// Identity is what a probe pod is to NetworkPolicies: its namespace and
// labels, and for a destination its named ports.
type Identity struct {
	Namespace string
	// Labels, besides Options.ProbeLabels; nil for none.
	Labels map[string]string
	// NamedPorts, by name then protocol; set for destinations only.
	NamedPorts []NamedPort
}

// String renders the namespace and labels, e.g. "x/{pod=a}".
func (id Identity) String() string {
	return id.Namespace + "/{" + labels.Set(id.Labels).String() + "}"
}

// key tells identities apart, named ports included.
func (id Identity) key() string {
	var b strings.Builder
	b.WriteString(id.String())
	for _, np := range id.NamedPorts {
		fmt.Fprintf(&b, " %s=%d/%s", np.Name, np.Port, np.Protocol)
	}
	return b.String()
}

// source is the identity as a source, without named ports.
func (id Identity) source() Identity { return Identity{Namespace: id.Namespace, Labels: id.Labels} }

// Kind is why a case was chosen.
type Kind string

// Kinds.
const (
	// Positive: a peer and port a rule of the policy admits.
	Positive Kind = "Positive"
	// NegativePeer: a peer no rule of the policy admits.
	NegativePeer Kind = "NegativePeer"
	// NegativePort: a peer a rule admits, on a port no rule admits for it.
	NegativePort Kind = "NegativePort"
)

// Case is one connection to probe.
type Case struct {
	// Name is derived from the connection, so it is stable across runs:
	// "np-" and 10 hex digits.
	Name string
	// Policy is the namespace/name of the policy the case was derived
	// from, and Direction the side of it the case exercises.
	Policy    string
	Direction netpol.Direction
	Kind      Kind
	From      Identity
	// To is the destination pod identity; zero when ToIP is set.
	To Identity
	// ToIP is a destination outside the cluster, one of
	// Options.ExternalAddresses.
	ToIP     netip.Addr
	Port     int32
	Protocol corev1.Protocol
	// Expected is Allow or Deny, never Unspecified.
	Expected netpol.Result
	// Why says how the case was chosen and what the engine concluded.
	Why string
}

// destination renders the destination.
func (c *Case) destination() string {
	if c.ToIP.IsValid() {
		return c.ToIP.String()
	}
	return c.To.key()
}

// Plan is what Generate produced.
type Plan struct {
	// Cases in a deterministic order: by policy, then direction.
	Cases []Case
	// Dropped counts the cases MaxCases left out.
	Dropped int
	// Notes say what could not be probed and why, sorted.
	Notes []string
	// TemporaryNamespaces are the namespaces made up for the cases
	// (Options.TemporaryNamespaces) that some case in Cases has a source or
	// destination in, by name. The controller creates them before the
	// probe pods and deletes them after.
	TemporaryNamespaces []TemporaryNamespace
}

// TemporaryNamespace is a namespace a plan makes up for a namespaceSelector
// that matches no namespace in scope.
type TemporaryNamespace struct {
	// Name is "palisade-tmp-" and 10 hex digits of a hash of the labels, so
	// that the same selector gets the same name on every run.
	Name string
	// Labels are those the selector asks for; the API server adds
	// kubernetes.io/metadata.name, and the controller
	// Options.TemporaryNamespaceLabels, which they do not include.
	Labels map[string]string
}

func cloneLabels(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

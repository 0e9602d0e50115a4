package cases

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/palisade-sec/palisade/internal/netpol"
)

// temporaryPrefix starts the name of every temporary namespace.
const temporaryPrefix = "palisade-tmp-"

// existsValue is the value a temporary namespace gives a label that a
// selector only requires to exist.
const existsValue = "palisade-temporary"

var (
	// errNamedNamespace: a namespace made up under a name of its own can
	// never be the namespace a selector names.
	errNamedNamespace = errors.New("it names a namespace (" + namespaceNameLabel + ") that is not in scope, and TemporaryNamespaces cannot create a namespace a selector names")
	// errTooManyTemporary: the plan has made all the namespaces it may.
	errTooManyTemporary = fmt.Errorf("the plan already makes %d (MaxTemporaryNamespaces)", MaxTemporaryNamespaces)
)

// temporaryNamespace is a namespace made up for namespaceSelectors that
// match no namespace in scope.
type temporaryNamespace struct {
	name string
	// labels the selectors match, without kubernetes.io/metadata.name.
	labels map[string]string
	// all are labels and the controller's own: what the namespace carries.
	all map[string]string
	// selector is the first namespaceSelector it was made for, rendered.
	selector string
}

// temporaryOutcome is what became of a namespaceSelector that matches no
// namespace in scope: the namespace made for it, or why none was.
type temporaryOutcome struct {
	ns  *temporaryNamespace
	err error
}

// unmatched returns the rendered namespaceSelector of a peer when it
// matches no namespace in scope and Options.TemporaryNamespaces is set; ok
// is false otherwise (a peer without one is in the policy's namespace).
func (u *universe) unmatched(own string, spec *networkingv1.NetworkPolicyPeer) (rendered string, ok bool) {
	if !u.allowTemporary || spec.NamespaceSelector == nil || len(u.peerNamespaces(own, spec.NamespaceSelector)) > 0 {
		return "", false
	}
	return metav1.FormatLabelSelector(spec.NamespaceSelector), true
}

// planTemporary returns the temporary namespace for a peer whose
// namespaceSelector matches no namespace in scope, making it the first
// time the selector comes up; nil when the peer needs none or can have
// none (temporaryOf says why).
func (u *universe) planTemporary(own string, spec *networkingv1.NetworkPolicyPeer) *temporaryNamespace {
	rendered, ok := u.unmatched(own, spec)
	if !ok {
		return nil
	}
	out, done := u.temporaryFor[rendered]
	if !done {
		out.ns, out.err = u.makeTemporary(spec.NamespaceSelector, rendered)
		u.temporaryFor[rendered] = out
	}
	return out.ns
}

// temporaryOf returns what planTemporary made of a peer's
// namespaceSelector; zero when the peer needs no temporary namespace or
// planTemporary did not consider it (its pod selector selects nothing).
func (u *universe) temporaryOf(own string, spec *networkingv1.NetworkPolicyPeer) temporaryOutcome {
	rendered, ok := u.unmatched(own, spec)
	if !ok {
		return temporaryOutcome{}
	}
	return u.temporaryFor[rendered]
}

// makeTemporary makes up a namespace sel matches, or shares the one made
// already with the same labels.
func (u *universe) makeTemporary(sel *metav1.LabelSelector, rendered string) (*temporaryNamespace, error) {
	lbls, err := temporaryLabels(sel)
	if err != nil {
		return nil, err
	}
	all, err := withOwnLabels(sel, lbls, u.temporaryOwn)
	if err != nil {
		return nil, err
	}
	name := temporaryName(all)
	if ns := u.temporary[name]; ns != nil {
		return ns, nil
	}
	if _, taken := u.namespaces[name]; taken {
		return nil, fmt.Errorf("namespace %s, the name it would get, is in scope and does not match", name)
	}
	if len(u.temporary) >= MaxTemporaryNamespaces {
		return nil, errTooManyTemporary
	}
	ns := &temporaryNamespace{name: name, labels: lbls, all: all, selector: rendered}
	u.temporary[name] = ns
	return ns, nil
}

// withOwnLabels adds the controller's own labels to those sel asked for,
// failing when they change one of them or keep sel from matching.
func withOwnLabels(sel *metav1.LabelSelector, lbls, own map[string]string) (map[string]string, error) {
	all := maps.Clone(lbls)
	for k, v := range own {
		if got, ok := lbls[k]; ok && got != v {
			return nil, fmt.Errorf("it asks for label %s=%s, which Palisade sets to %s on the namespaces it makes", k, got, v)
		}
		all[k] = v
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, fmt.Errorf("invalid namespaceSelector: %w", err)
	}
	if !s.Matches(labels.Set(all)) {
		return nil, fmt.Errorf("Palisade's own labels on the namespaces it makes {%s} keep it from matching", labels.Set(own))
	}
	return all, nil
}

// temporaryName is "palisade-tmp-" and 10 hex digits of a SHA-256 of the
// labels in canonical form ("k1=v1,k2=v2", by key): a valid DNS-1123 label.
func temporaryName(lbls map[string]string) string {
	sum := sha256.Sum256([]byte(labels.Set(lbls).String()))
	return temporaryPrefix + hex.EncodeToString(sum[:5])
}

// temporaryLabels returns labels that make a namespace match sel (its
// kubernetes.io/metadata.name aside): the matchLabels; for an In, its
// first value in sorted order; for an Exists, "palisade-temporary"; never
// a value a NotIn lists, nor a key a DoesNotExist names. It fails, saying
// why, when sel names a namespace (errNamedNamespace) or no labels satisfy
// it.
func temporaryLabels(sel *metav1.LabelSelector) (map[string]string, error) {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, fmt.Errorf("invalid namespaceSelector: %w", err)
	}
	reqs := keyRequirements(sel)
	if _, named := reqs[namespaceNameLabel]; named {
		return nil, errNamedNamespace
	}
	out := map[string]string{}
	for _, key := range sortedKeys(reqs) {
		if errs := validation.IsQualifiedName(key); len(errs) > 0 {
			return nil, fmt.Errorf("label key %q: %s", key, strings.Join(errs, "; "))
		}
		v, present, err := reqs[key].value()
		if err != nil {
			return nil, fmt.Errorf("label %s: %w", key, err)
		}
		if present {
			out[key] = v
		}
	}
	if !s.Matches(labels.Set(out)) {
		return nil, fmt.Errorf("labels {%s} do not match it", labels.Set(out))
	}
	return out, nil
}

// keyRequirement is what a selector requires of one label key.
type keyRequirement struct {
	fixed    string // the matchLabels value, when hasFixed
	hasFixed bool
	in       []string // the values every In allows, when hasIn
	hasIn    bool
	exists   bool
	absent   bool     // DoesNotExist
	notIn    []string // values some NotIn excludes
}

// keyRequirements gathers a selector's requirements by key.
func keyRequirements(sel *metav1.LabelSelector) map[string]*keyRequirement {
	reqs := map[string]*keyRequirement{}
	of := func(key string) *keyRequirement {
		if reqs[key] == nil {
			reqs[key] = &keyRequirement{}
		}
		return reqs[key]
	}
	for k, v := range sel.MatchLabels {
		r := of(k)
		r.fixed, r.hasFixed = v, true
	}
	for _, e := range sel.MatchExpressions {
		r := of(e.Key)
		switch e.Operator {
		case metav1.LabelSelectorOpIn:
			if r.hasIn {
				r.in = slices.DeleteFunc(r.in, func(v string) bool { return !slices.Contains(e.Values, v) })
			} else {
				r.in, r.hasIn = slices.Clone(e.Values), true
			}
		case metav1.LabelSelectorOpNotIn:
			r.notIn = append(r.notIn, e.Values...)
		case metav1.LabelSelectorOpExists:
			r.exists = true
		case metav1.LabelSelectorOpDoesNotExist:
			r.absent = true
		}
	}
	return reqs
}

// value returns the value the key takes; present is false when the key is
// best left out.
func (r *keyRequirement) value() (v string, present bool, err error) {
	required := r.hasFixed || r.hasIn || r.exists
	if r.absent {
		if required {
			return "", false, errors.New("DoesNotExist forbids it, and another requirement needs it")
		}
		return "", false, nil
	}
	var candidates []string
	switch {
	case r.hasFixed:
		if r.hasIn && !slices.Contains(r.in, r.fixed) {
			return "", false, fmt.Errorf("matchLabels sets it to %q, which In does not allow", r.fixed)
		}
		candidates = []string{r.fixed}
	case r.hasIn:
		if len(r.in) == 0 {
			return "", false, errors.New("its In expressions have no value in common")
		}
		candidates = slices.Sorted(slices.Values(r.in))
	case r.exists:
		candidates = existsValues(len(r.notIn))
	default:
		return "", false, nil // only NotIn, which an absent key satisfies
	}
	for _, c := range candidates {
		if len(validation.IsValidLabelValue(c)) == 0 && !slices.Contains(r.notIn, c) {
			return c, true, nil
		}
	}
	if r.hasFixed && !slices.Contains(r.notIn, r.fixed) {
		return "", false, fmt.Errorf("matchLabels sets it to %q, which is not a valid label value", r.fixed)
	}
	if r.hasFixed {
		return "", false, fmt.Errorf("matchLabels sets it to %q, which NotIn excludes", r.fixed)
	}
	return "", false, errors.New("NotIn excludes every valid value In allows")
}

// existsValues are n+1 values for a label that only has to exist, so that
// n excluded ones leave one.
func existsValues(n int) []string {
	out := []string{existsValue}
	for i := 1; i <= n; i++ {
		out = append(out, fmt.Sprintf("%s-%d", existsValue, i))
	}
	return out
}

// engineNamespaces are the namespaces in scope and, after them, the
// temporary ones by name, with their labels.
func (u *universe) engineNamespaces(inScope []corev1.Namespace) []corev1.Namespace {
	out := slices.Clip(inScope)
	for _, name := range sortedKeys(u.temporary) {
		out = append(out, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: maps.Clone(u.temporary[name].all)}})
	}
	return out
}

// temporaryNamespaces lists the temporary namespaces that cases have an
// end in, by name.
func (u *universe) temporaryNamespaces(cs []Case) []TemporaryNamespace {
	used := map[string]*temporaryNamespace{}
	for _, c := range cs {
		for _, ns := range []string{c.From.Namespace, c.To.Namespace} {
			if t := u.temporary[ns]; t != nil {
				used[ns] = t
			}
		}
	}
	var out []TemporaryNamespace
	for _, name := range sortedKeys(used) {
		out = append(out, TemporaryNamespace{Name: name, Labels: cloneLabels(used[name].labels)})
	}
	return out
}

// temporaryRemote returns a probe pod that a peer admits in the temporary
// namespace made for its namespaceSelector, when the selector matches no
// namespace in scope; nil, with a note saying why, when there is none.
func (g *generator) temporaryRemote(s *side, r *netpol.Rule, peer *netpol.Peer, at string) *probePod {
	out := g.universe.temporaryOf(s.policy.Namespace, peerSpec(s.policy, r, peer))
	switch {
	case out.err != nil:
		g.note("%s: matches no probe pod in scope, and no temporary namespace is made for it: %v", at, out.err)
	case out.ns == nil:
		g.note("%s: matches no probe pod in scope", at)
	default:
		server := s.remoteServers()
		remote := pick(g.world.temporary, s.local, func(pp *probePod) bool {
			return pp.server == server && pp.temporary == out.ns && g.matches(peer, pp.pod)
		})
		if remote != nil {
			return remote
		}
		g.note("%s: matches no probe pod in scope, nor in temporary namespace %s", at, out.ns.name)
	}
	return nil
}

// temporaryWhy says which ends of a connection are in a temporary
// namespace, and what for; "" when neither is.
func temporaryWhy(src, dst *probePod) string {
	var b strings.Builder
	for _, end := range []struct {
		role string
		pp   *probePod
	}{{"source", src}, {"destination", dst}} {
		if end.pp != nil && end.pp.temporary != nil {
			fmt.Fprintf(&b, "; the %s is in temporary namespace %s, made for namespaceSelector {%s}", end.role, end.pp.temporary.name, end.pp.temporary.selector)
		}
	}
	return b.String()
}

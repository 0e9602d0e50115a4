package mtls

import (
	"cmp"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/palisade-sec/palisade/api/v1alpha1"
)

// DefaultRootNamespace is Istio's default meshConfig.rootNamespace.
const DefaultRootNamespace = "istio-system"

// Options tune the analysis. The zero value uses the defaults.
type Options struct {
	// RootNamespace holds the mesh-wide policy (DefaultRootNamespace when
	// empty).
	RootNamespace string
}

// Level says which policy decided a mode.
type Level string

// Levels, narrowest last.
const (
	// LevelDefault: no policy applies; Istio uses PERMISSIVE.
	LevelDefault   Level = "default"
	LevelMesh      Level = "mesh"
	LevelNamespace Level = "namespace"
	LevelWorkload  Level = "workload"
)

// Effective is a resolved PeerAuthentication mode.
type Effective struct {
	Mode  Mode
	Level Level
	// Policy decided Mode; nil at LevelDefault.
	Policy *PeerAuthentication
	// Ports holds the workload policy's portLevelMtls, UNSET resolved to
	// Mode.
	Ports map[uint32]Mode
	// PortPolicy is the workload policy that set Ports (which may differ
	// from Policy when its own mode is UNSET).
	PortPolicy *PeerAuthentication
}

// WorkloadMTLS is the effective mode of one pod.
type WorkloadMTLS struct {
	Effective
	Membership Membership
}

// NamespaceMTLS summarizes one namespace.
type NamespaceMTLS struct {
	Namespace string
	// Effective is the namespace-level mode: what workloads without a
	// workload policy get.
	Effective
	// Meshed is set when the namespace's labels enroll its pods (sidecar
	// injection or ambient).
	Meshed bool
	// Pods counts running pods; MeshedPods those in the mesh;
	// PlaintextPods the meshed ones accepting plaintext on some port;
	// PodsWithoutSidecar the pods of a meshed namespace outside the mesh
	// (hostNetwork pods excluded).
	Pods, MeshedPods, PlaintextPods, PodsWithoutSidecar int
}

// exposure groups pods that accept plaintext for the same reason.
type exposure struct {
	mode   Mode
	level  Level
	policy *PeerAuthentication
	port   uint32
}

type namespace struct {
	name   string
	labels map[string]string
	// wide is the oldest namespace-wide policy; workload holds the
	// selector policies, oldest first.
	wide     *PeerAuthentication
	workload []*PeerAuthentication
	stats    NamespaceMTLS
	groups   map[exposure]int
}

// Analyzer holds the compiled policies and accumulates pods fed to Pod,
// keeping counters per namespace, never the pods. It is not safe for
// concurrent use.
type Analyzer struct {
	root string
	// open is set when no namespace list was given: every namespace seen is
	// in scope.
	open       bool
	mesh       *PeerAuthentication
	ignored    []*PeerAuthentication
	namespaces map[string]*namespace
}

// New compiles PeerAuthentications. namespaces lists the scope (nil: every
// namespace a policy or pod names); policies must include those of the root
// namespace, which apply everywhere.
func New(namespaces []corev1.Namespace, policies []PeerAuthentication, opts Options) *Analyzer {
	a := &Analyzer{root: cmp.Or(opts.RootNamespace, DefaultRootNamespace), open: namespaces == nil, namespaces: map[string]*namespace{}}
	for i := range namespaces {
		a.namespace(namespaces[i].Name, true).labels = namespaces[i].Labels
	}
	for _, p := range oldestFirst(policies) {
		a.add(p)
	}
	return a
}

// Analyze runs the whole analysis on slices.
func Analyze(namespaces []corev1.Namespace, policies []PeerAuthentication, pods []corev1.Pod, opts Options) []v1alpha1.Finding {
	a := New(namespaces, policies, opts)
	for i := range pods {
		a.Pod(&pods[i])
	}
	return a.Findings()
}

// oldestFirst orders policies as Istio picks among them: oldest creation
// time first, then by name.
func oldestFirst(policies []PeerAuthentication) []*PeerAuthentication {
	out := make([]*PeerAuthentication, len(policies))
	for i := range policies {
		out[i] = &policies[i]
	}
	slices.SortStableFunc(out, func(x, y *PeerAuthentication) int {
		return cmp.Or(x.CreationTimestamp.Compare(y.CreationTimestamp.Time), cmp.Compare(x.Namespace, y.Namespace), cmp.Compare(x.Name, y.Name))
	})
	return out
}

// add files a policy by level; policies arrive oldest first, so the first
// mesh-wide and namespace-wide policy of each namespace wins.
func (a *Analyzer) add(p *PeerAuthentication) {
	switch {
	case p.Namespace == a.root && len(p.Selector) == 0:
		if a.mesh == nil {
			a.mesh = p
		}
	case p.Namespace == a.root:
		a.ignored = append(a.ignored, p) // Istio ignores selectors in the root namespace
	default:
		ns := a.namespace(p.Namespace, a.open)
		switch {
		case ns == nil:
		case len(p.Selector) > 0:
			ns.workload = append(ns.workload, p)
		case ns.wide == nil:
			ns.wide = p
		}
	}
}

// namespace returns the state of a namespace in scope, creating it when
// create is set; nil when it is out of scope.
func (a *Analyzer) namespace(name string, create bool) *namespace {
	if ns, ok := a.namespaces[name]; ok || !create {
		return ns
	}
	ns := &namespace{name: name, groups: map[exposure]int{}}
	a.namespaces[name] = ns
	return ns
}

// namespaceEffective resolves the namespace-level mode: the namespace-wide
// policy, else the mesh-wide one, else PERMISSIVE; UNSET inherits.
func (a *Analyzer) namespaceEffective(ns *namespace) Effective {
	e := Effective{Mode: ModePermissive, Level: LevelDefault}
	if a.mesh != nil && !a.mesh.Mode.unset() {
		e = Effective{Mode: a.mesh.Mode, Level: LevelMesh, Policy: a.mesh}
	}
	if ns != nil && ns.wide != nil && !ns.wide.Mode.unset() {
		e = Effective{Mode: ns.wide.Mode, Level: LevelNamespace, Policy: ns.wide}
	}
	return e
}

// Workload resolves the effective mode of pod: the oldest workload policy of
// its namespace whose selector matches, over the namespace level; UNSET
// inherits, and portLevelMtls entries resolve against the result.
func (a *Analyzer) Workload(pod *corev1.Pod) WorkloadMTLS {
	ns := a.namespaces[pod.Namespace]
	w := WorkloadMTLS{Effective: a.namespaceEffective(ns)}
	if ns != nil {
		w.Membership = membership(pod, ns.labels)
		if p := ns.selecting(pod.Labels); p != nil {
			w.apply(p)
		}
	} else {
		w.Membership = membership(pod, nil)
	}
	return w
}

// selecting returns the oldest workload policy whose selector matches.
func (ns *namespace) selecting(podLabels map[string]string) *PeerAuthentication {
	for _, p := range ns.workload {
		if matches(p.Selector, podLabels) {
			return p
		}
	}
	return nil
}

func matches(selector, podLabels map[string]string) bool {
	for k, v := range selector {
		if got, ok := podLabels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// apply layers a workload policy over the inherited mode.
func (w *WorkloadMTLS) apply(p *PeerAuthentication) {
	if !p.Mode.unset() {
		w.Mode, w.Level, w.Policy = p.Mode, LevelWorkload, p
	}
	if len(p.PortLevel) == 0 {
		return
	}
	w.Ports, w.PortPolicy = make(map[uint32]Mode, len(p.PortLevel)), p
	for port, m := range p.PortLevel {
		if m.unset() {
			m = w.Mode
		}
		w.Ports[port] = m
	}
}

// exposures lists why a meshed workload accepts plaintext: its mode, and
// ports whose own mode differs and accepts plaintext.
func (w *WorkloadMTLS) exposures() []exposure {
	var out []exposure
	if w.Mode.acceptsPlaintext() {
		out = append(out, exposure{mode: w.Mode, level: w.Level, policy: w.Policy})
	}
	for _, port := range slices.Sorted(maps.Keys(w.Ports)) {
		if m := w.Ports[port]; m != w.Mode && m.acceptsPlaintext() {
			out = append(out, exposure{mode: m, level: LevelWorkload, policy: w.PortPolicy, port: port})
		}
	}
	return out
}

// Pod accounts for one pod. Pods that have completed are skipped.
func (a *Analyzer) Pod(pod *corev1.Pod) {
	ns := a.namespace(pod.Namespace, a.open)
	if ns == nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return
	}
	w := a.Workload(pod)
	ns.stats.Pods++
	if w.Membership == NotInMesh {
		if namespaceMeshed(ns.labels) && !pod.Spec.HostNetwork {
			ns.stats.PodsWithoutSidecar++
		}
		return
	}
	ns.stats.MeshedPods++
	exp := w.exposures()
	if len(exp) > 0 {
		ns.stats.PlaintextPods++
	}
	for _, e := range exp {
		ns.groups[e]++
	}
}

// sorted returns the namespaces in scope by name.
func (a *Analyzer) sorted() []*namespace {
	return slices.SortedFunc(maps.Values(a.namespaces), func(x, y *namespace) int { return cmp.Compare(x.name, y.name) })
}

// Namespaces returns each namespace in scope, by name.
func (a *Analyzer) Namespaces() []NamespaceMTLS {
	var out []NamespaceMTLS
	for _, ns := range a.sorted() {
		s := ns.stats
		s.Namespace, s.Effective, s.Meshed = ns.name, a.namespaceEffective(ns), namespaceMeshed(ns.labels)
		out = append(out, s)
	}
	return out
}

// Port resolves the mode in effect on one of the workload's ports and says
// which policy decided it.
func (w WorkloadMTLS) Port(port uint32) (Mode, string) {
	if m, ok := w.Ports[port]; ok {
		return m, "portLevelMtls of workload PeerAuthentication " + policyName(w.PortPolicy)
	}
	return w.Mode, source(w.Level, w.Policy)
}

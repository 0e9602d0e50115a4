package mtls

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/palisade-sec/palisade/api/v1alpha1"

	"github.com/palisade-sec/palisade/internal/text"
)

// Finding IDs.
const (
	IDNotInstalled        = "mtls.istio-not-installed"
	IDNoMeshPolicy        = "mtls.no-mesh-policy"
	IDIgnoredSelector     = "mtls.root-selector-ignored"
	IDNamespaceNotStrict  = "mtls.namespace-not-strict"
	IDPodsWithoutSidecar  = "mtls.pods-without-sidecar"
	IDPermissive          = "mtls.permissive"
	IDDisabled            = "mtls.disabled"
	strictRemediation     = "Set mtls.mode: STRICT on %s once every client of these workloads runs in the mesh (PERMISSIVE is for migration only)."
	noSidecarRemediation  = "Restart the pods so the injector adds the sidecar, or remove their sidecar.istio.io/inject=false opt-out."
	meshPolicyRemediation = "Create PeerAuthentication default in %s with mtls.mode: STRICT (and namespace overrides where migration needs PERMISSIVE)."
)

// NotInstalled is the finding to report once when the PeerAuthentication
// CRD is absent: the mTLS posture cannot be assessed, and that is not an
// error.
func NotInstalled() v1alpha1.Finding {
	return v1alpha1.Finding{
		ID: IDNotInstalled, Category: v1alpha1.CategoryMTLS, Severity: v1alpha1.SeverityInfo,
		Resource: v1alpha1.ResourceRef{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition", Name: CRDName},
		Message:  "Istio is not installed (no " + CRDName + " CRD): the mTLS posture was not assessed.",
	}
}

func finding(id string, sev v1alpha1.Severity, res v1alpha1.ResourceRef, msg, remediation string) v1alpha1.Finding {
	return v1alpha1.Finding{ID: id, Category: v1alpha1.CategoryMTLS, Severity: sev, Resource: res, Message: text.Cut(msg, text.MaxField), Remediation: text.Cut(remediation, text.MaxField)}
}

func namespaceRef(name string) v1alpha1.ResourceRef {
	return v1alpha1.ResourceRef{APIVersion: "v1", Kind: "Namespace", Name: name}
}

// modeSeverity: DISABLE accepts only plaintext, PERMISSIVE also mTLS.
func modeSeverity(m Mode) v1alpha1.Severity {
	if m == ModeDisable {
		return v1alpha1.SeverityHigh
	}
	return v1alpha1.SeverityMedium
}

// Findings reports mesh-wide problems first, then namespace by namespace
// (sorted by name): the namespace's mode, its pods without sidecar, and its
// plaintext exposures grouped by the policy (and port) responsible. Call it
// after feeding every pod.
func (a *Analyzer) Findings() []v1alpha1.Finding {
	out := a.meshFindings()
	stats := a.Namespaces()
	for i, ns := range a.sorted() {
		out = append(out, ns.findings(&stats[i])...)
	}
	return out
}

func (a *Analyzer) meshFindings() []v1alpha1.Finding {
	var out []v1alpha1.Finding
	if a.mesh == nil || a.mesh.Mode.unset() {
		out = append(out, finding(IDNoMeshPolicy, v1alpha1.SeverityLow, namespaceRef(a.root),
			fmt.Sprintf("No mesh-wide PeerAuthentication sets a mode in root namespace %s: the mesh default is PERMISSIVE.", a.root),
			fmt.Sprintf(meshPolicyRemediation, a.root)))
	}
	for _, p := range a.ignored {
		out = append(out, finding(IDIgnoredSelector, v1alpha1.SeverityLow, p.Ref(),
			fmt.Sprintf("PeerAuthentication %s/%s has a workload selector in the root namespace, where Istio ignores such policies.", p.Namespace, p.Name),
			"Move the policy to the workloads' namespace, or drop its selector to make it the mesh-wide policy."))
	}
	return out
}

// findings reports the namespace's mode, its pods without sidecar and its
// plaintext exposures.
func (ns *namespace) findings(s *NamespaceMTLS) []v1alpha1.Finding {
	var out []v1alpha1.Finding
	ref := namespaceRef(ns.name)
	if s.Meshed && s.Mode != ModeStrict {
		out = append(out, finding(IDNamespaceNotStrict, modeSeverity(s.Mode), ref,
			fmt.Sprintf("Namespace %s is in the mesh but its namespace-level mTLS mode is %s (%s): workloads without a STRICT policy of their own accept plaintext.",
				ns.name, s.Mode, source(s.Level, s.Policy)),
			fmt.Sprintf(strictRemediation, policyOrNew(s.Level, s.Policy, ns.name))))
	}
	if n := s.PodsWithoutSidecar; n > 0 {
		out = append(out, finding(IDPodsWithoutSidecar, v1alpha1.SeverityMedium, ref,
			fmt.Sprintf("%d %s without an istio-proxy sidecar in mesh namespace %s (opted out, or created before injection was enabled): plaintext only, no mTLS.",
				n, text.Plural(n, "pod runs", "pods run"), ns.name),
			noSidecarRemediation))
	}
	for _, e := range sortedExposures(ns.groups) {
		out = append(out, exposureFinding(ns.name, e, ns.groups[e]))
	}
	return out
}

// sortedExposures orders groups by port, severity, level and policy name.
func sortedExposures(groups map[exposure]int) []exposure {
	return slices.SortedFunc(maps.Keys(groups), func(x, y exposure) int {
		return cmp.Or(cmp.Compare(x.port, y.port), cmp.Compare(modeSeverity(x.mode).Rank(), modeSeverity(y.mode).Rank()),
			cmp.Compare(x.level, y.level), cmp.Compare(policyName(x.policy), policyName(y.policy)))
	})
}

func exposureFinding(namespace string, e exposure, pods int) v1alpha1.Finding {
	id := IDPermissive
	if e.mode == ModeDisable {
		id = IDDisabled
	}
	res := namespaceRef(namespace)
	if e.level == LevelNamespace || e.level == LevelWorkload {
		res = e.policy.Ref()
	}
	where := ""
	if e.port != 0 {
		where = fmt.Sprintf(" on port %d (portLevelMtls)", e.port)
	}
	return finding(id, modeSeverity(e.mode), res,
		fmt.Sprintf("In namespace %s, %d meshed %s plaintext%s: mode %s (%s).",
			namespace, pods, text.Plural(pods, "pod accepts", "pods accept"), where, e.mode, source(e.level, e.policy)),
		fmt.Sprintf(strictRemediation, policyOrNew(e.level, e.policy, namespace)))
}

// source says where a mode comes from.
func source(l Level, p *PeerAuthentication) string {
	switch l {
	case LevelMesh:
		return "mesh-wide PeerAuthentication " + policyName(p)
	case LevelNamespace:
		return "namespace-wide PeerAuthentication " + policyName(p)
	case LevelWorkload:
		return "workload PeerAuthentication " + policyName(p)
	}
	return "no PeerAuthentication applies; Istio defaults to PERMISSIVE"
}

// policyOrNew names the policy to change: the deciding one when it belongs
// to the namespace, else a new namespace-wide one.
func policyOrNew(l Level, p *PeerAuthentication, namespace string) string {
	if l == LevelNamespace || l == LevelWorkload {
		return "PeerAuthentication " + policyName(p)
	}
	return "a namespace-wide PeerAuthentication in " + namespace
}

func policyName(p *PeerAuthentication) string {
	if p == nil {
		return ""
	}
	return p.Namespace + "/" + p.Name
}

package mtls

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/palisade-sec/palisade/api/v1alpha1"

	"github.com/palisade-sec/palisade/internal/text"
)

// Mode is a PeerAuthentication mTLS mode.
type Mode string

// Modes.
const (
	ModeUnset      Mode = "UNSET"
	ModeDisable    Mode = "DISABLE"
	ModePermissive Mode = "PERMISSIVE"
	ModeStrict     Mode = "STRICT"
)

// unset reports whether the mode inherits; the zero value counts as UNSET.
func (m Mode) unset() bool { return m == ModeUnset || m == "" }

// acceptsPlaintext reports whether a sidecar in this mode accepts plaintext.
func (m Mode) acceptsPlaintext() bool { return m == ModePermissive || m == ModeDisable }

// CRDName is the PeerAuthentication CustomResourceDefinition; when it is
// absent Istio is not installed.
const CRDName = "peerauthentications.security.istio.io"

// PeerAuthenticationResources are the versions to read PeerAuthentications
// with, preferred first.
var PeerAuthenticationResources = []schema.GroupVersionResource{
	{Group: "security.istio.io", Version: "v1", Resource: "peerauthentications"},
	{Group: "security.istio.io", Version: "v1beta1", Resource: "peerauthentications"},
}

// PeerAuthentication is the part of an Istio PeerAuthentication the analyzer
// reads.
type PeerAuthentication struct {
	Namespace, Name   string
	CreationTimestamp metav1.Time
	// Selector is spec.selector.matchLabels. Empty means the whole
	// namespace (the whole mesh in the root namespace).
	Selector map[string]string
	// Mode is spec.mtls.mode, UNSET when absent.
	Mode Mode
	// PortLevel is spec.portLevelMtls: modes by workload port.
	PortLevel map[uint32]Mode
}

// Ref names the policy in findings.
func (p *PeerAuthentication) Ref() v1alpha1.ResourceRef {
	return v1alpha1.ResourceRef{APIVersion: "security.istio.io/v1", Kind: "PeerAuthentication", Namespace: p.Namespace, Name: p.Name}
}

// FromUnstructured reads a PeerAuthentication of security.istio.io/v1 or
// v1beta1 (both have the same schema). An empty apiVersion and kind are
// accepted.
func FromUnstructured(u *unstructured.Unstructured) (PeerAuthentication, error) {
	p := PeerAuthentication{Namespace: u.GetNamespace(), Name: u.GetName(), CreationTimestamp: u.GetCreationTimestamp(), Mode: ModeUnset}
	if gvk := u.GroupVersionKind(); gvk.Kind != "" && (gvk.Kind != "PeerAuthentication" || gvk.Group != PeerAuthenticationResources[0].Group) {
		return p, fmt.Errorf("%s: %w", gvk, errNotPeerAuthentication)
	}
	var err error
	if p.Selector, _, err = unstructured.NestedStringMap(u.Object, "spec", "selector", "matchLabels"); err != nil {
		return p, fmt.Errorf("spec.selector.matchLabels: %w", err)
	}
	mode, _, err := unstructured.NestedString(u.Object, "spec", "mtls", "mode")
	if err != nil {
		return p, fmt.Errorf("spec.mtls.mode: %w", err)
	}
	if p.Mode, err = parseMode(mode); err != nil {
		return p, fmt.Errorf("spec.mtls.mode: %w", err)
	}
	ports, _, err := unstructured.NestedMap(u.Object, "spec", "portLevelMtls")
	if err != nil {
		return p, fmt.Errorf("spec.portLevelMtls: %w", err)
	}
	for k := range ports {
		port, err := strconv.ParseUint(k, 10, 32)
		if err != nil || port == 0 || port > 65535 {
			return p, fmt.Errorf("spec.portLevelMtls: invalid port %q", k)
		}
		mode, _, err := unstructured.NestedString(ports, k, "mode")
		if err != nil {
			return p, fmt.Errorf("spec.portLevelMtls[%s].mode: %w", k, err)
		}
		m, err := parseMode(mode)
		if err != nil {
			return p, fmt.Errorf("spec.portLevelMtls[%s].mode: %w", k, err)
		}
		if p.PortLevel == nil {
			p.PortLevel = map[uint32]Mode{}
		}
		p.PortLevel[uint32(port)] = m
	}
	return p, nil
}

func parseMode(s string) (Mode, error) {
	if s == "" {
		return ModeUnset, nil
	}
	m := Mode(s)
	if !slices.Contains([]Mode{ModeUnset, ModeDisable, ModePermissive, ModeStrict}, m) {
		return "", fmt.Errorf("unknown mode %q", s)
	}
	return m, nil
}

// IDInvalidPolicy is the finding ID for PeerAuthentications that cannot be
// read.
const IDInvalidPolicy = "mtls.invalid-policy"

// FromUnstructuredList converts objects, reporting those it cannot read as
// Low findings instead of failing the scan.
func FromUnstructuredList(us []*unstructured.Unstructured) ([]PeerAuthentication, []v1alpha1.Finding) {
	var out []PeerAuthentication
	var bad []v1alpha1.Finding
	for _, u := range us {
		p, err := FromUnstructured(u)
		if err != nil {
			bad = append(bad, v1alpha1.Finding{
				ID: IDInvalidPolicy, Category: v1alpha1.CategoryMTLS, Severity: v1alpha1.SeverityLow, Resource: p.Ref(),
				Message:     text.Cut(fmt.Sprintf("PeerAuthentication %s/%s cannot be read, so it is left out: %v.", p.Namespace, p.Name, err), text.MaxField),
				Remediation: "Fix the policy; istioctl analyze reports the same problem.",
			})
			continue
		}
		out = append(out, p)
	}
	return out, bad
}

// errNotPeerAuthentication is returned for objects of another kind.
var errNotPeerAuthentication = errors.New("not a security.istio.io PeerAuthentication")

package scan

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/analyzers/mtls"
	"github.com/palisade-sec/palisade/internal/kube"
)

// MTLS reports the effective Istio PeerAuthentication mode of the namespaces
// and workloads in scope. Without Istio's CRDs it says so once and succeeds.
type MTLS struct {
	Options  mtls.Options
	analyzer *mtls.Analyzer // nil when Istio is not installed
	out      securityv1alpha1.AnalyzerResult
	pending  []securityv1alpha1.Finding
}

// Name implements Analyzer.
func (*MTLS) Name() string { return "mtls" }

// Start implements Analyzer: it reads namespaces and PeerAuthentications,
// those of the mesh's root namespace included, which apply everywhere.
func (m *MTLS) Start(ctx context.Context, t Target, _ *Results) error {
	m.out, m.analyzer, m.pending = securityv1alpha1.AnalyzerResult{}, nil, nil
	raw, installed, err := PeerAuthentications(ctx, t, m.Options.RootNamespace)
	if err != nil {
		return err
	}
	if !installed {
		m.pending = []securityv1alpha1.Finding{mtls.NotInstalled()}
		return nil
	}
	namespaces, err := Namespaces(ctx, t)
	if err != nil {
		return err
	}
	policies, bad := mtls.FromUnstructuredList(raw)
	m.pending = bad
	m.out.Resources = int32(len(raw))
	m.analyzer = mtls.New(namespaces, policies, m.Options)
	return nil
}

// Pod implements Analyzer.
func (m *MTLS) Pod(pod *corev1.Pod, _ *Results) {
	if m.analyzer != nil {
		m.analyzer.Pod(pod)
	}
}

// Finish implements Analyzer.
func (m *MTLS) Finish(res *Results) securityv1alpha1.AnalyzerResult {
	findings := m.pending
	if m.analyzer != nil {
		findings = append(findings, m.analyzer.Findings()...)
	}
	for _, f := range findings {
		m.out.Findings++
		res.Findings.Add(f)
	}
	m.out.Phase = securityv1alpha1.AnalyzerSucceeded
	return m.out
}

// PeerAuthentications lists PeerAuthentications in scope and in the root
// namespace, trying each served version; installed is false when the API
// server serves none.
func PeerAuthentications(ctx context.Context, t Target, root string) ([]*unstructured.Unstructured, bool, error) {
	if root == "" {
		root = mtls.DefaultRootNamespace
	}
	for _, gvr := range mtls.PeerAuthenticationResources {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvr.GroupVersion().WithKind("PeerAuthenticationList"))
		var out []*unstructured.Unstructured
		keep := func(obj client.Object) error {
			out = append(out, obj.(*unstructured.Unstructured).DeepCopy())
			return nil
		}
		err := EachObject(ctx, t, list, keep)
		if err == nil && !t.Scope.Contains(root) {
			err = kube.ListPages(ctx, t.Reader, list, func() error { return eachItem(list, keep) }, client.InNamespace(root))
		}
		switch {
		case err == nil:
			return out, true, nil
		case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
			continue
		default:
			return nil, false, err
		}
	}
	return nil, false, nil
}

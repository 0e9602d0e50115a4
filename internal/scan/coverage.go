package scan

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/analyzers/coverage"
)

// NetworkPolicies audits NetworkPolicy coverage of the namespaces in scope.
type NetworkPolicies struct {
	Options  coverage.Options
	analyzer *coverage.Analyzer
	out      securityv1alpha1.AnalyzerResult
}

// Name implements Analyzer.
func (*NetworkPolicies) Name() string { return "networkPolicies" }

// Start implements Analyzer: it reads namespaces and policies.
func (n *NetworkPolicies) Start(ctx context.Context, t Target, _ *Results) error {
	n.out = securityv1alpha1.AnalyzerResult{}
	namespaces, err := Namespaces(ctx, t)
	if err != nil {
		return err
	}
	var policies []networkingv1.NetworkPolicy
	if err := collect(ctx, t, &networkingv1.NetworkPolicyList{}, &policies, false); err != nil {
		return err
	}
	n.out.Resources = int32(len(namespaces) + len(policies))
	n.analyzer = coverage.New(namespaces, policies, n.Options)
	return nil
}

// Pod implements Analyzer.
func (n *NetworkPolicies) Pod(pod *corev1.Pod, _ *Results) { n.analyzer.Pod(pod) }

// Finish implements Analyzer.
func (n *NetworkPolicies) Finish(res *Results) securityv1alpha1.AnalyzerResult {
	for _, f := range n.analyzer.Findings() {
		n.out.Findings++
		res.Findings.Add(f)
	}
	n.out.Phase = securityv1alpha1.AnalyzerSucceeded
	return n.out
}

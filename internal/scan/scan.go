// Package scan runs a SecurityScan's in-process analyzers against the
// cluster and gathers their results for a ScanReport.
package scan

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/kube"
	"github.com/palisade-sec/palisade/internal/report"
	"github.com/palisade-sec/palisade/internal/scope"
)

// Target is what a run reads: the cluster, through a reader that goes to the
// API server (not the manager's cache), limited to a scope.
type Target struct {
	Reader client.Reader
	Scope  scope.Scope
}

// Results gathers what the analyzers of one run produce.
type Results struct {
	Findings    *report.Collector
	PodSecurity *securityv1alpha1.PodSecurityCounts
	Analyzers   []securityv1alpha1.AnalyzerResult
}

// NewResults keeps at most maxFindings findings.
func NewResults(maxFindings int) *Results {
	return &Results{Findings: report.NewCollector(maxFindings)}
}

// Resources is the number of objects all analyzers evaluated.
func (r *Results) Resources() int32 {
	var n int32
	for _, a := range r.Analyzers {
		n += a.Resources
	}
	return n
}

// Phase is the report phase the analyzer outcomes add up to.
func (r *Results) Phase() securityv1alpha1.ReportPhase {
	failed := 0
	for _, a := range r.Analyzers {
		if a.Phase == securityv1alpha1.AnalyzerFailed {
			failed++
		}
	}
	switch {
	case failed == 0:
		return securityv1alpha1.ReportComplete
	case failed == len(r.Analyzers):
		return securityv1alpha1.ReportFailed
	default:
		return securityv1alpha1.ReportPartiallyComplete
	}
}

// Analyzer is one in-process analyzer.
type Analyzer interface {
	// Name is the analyzer's name in the report (workloads, rbac, ...).
	Name() string
	// Run evaluates the target, adds findings to res and returns its
	// outcome. It returns a Failed outcome, not an error, when the cluster
	// could not be read, so the other analyzers still run.
	Run(ctx context.Context, t Target, res *Results) securityv1alpha1.AnalyzerResult
}

// Run runs every analyzer and records their outcomes in res.
func Run(ctx context.Context, t Target, analyzers []Analyzer, res *Results) {
	for _, a := range analyzers {
		out := a.Run(ctx, t, res)
		out.Name = a.Name()
		res.Analyzers = append(res.Analyzers, out)
	}
}

// clusterListThreshold is the number of namespaces above which one
// cluster-wide paginated List (filtered here) is cheaper than one List per
// namespace.
const clusterListThreshold = 16

// EachObject lists objects of list's type in every namespace of the scope,
// page by page, and calls fn for each. fn must not keep obj: the list is
// reused between pages.
func EachObject(ctx context.Context, t Target, list client.ObjectList, fn func(obj client.Object) error) error {
	visit := func(filter bool) func() error {
		return func() error {
			return meta.EachListItem(list, func(o runtime.Object) error {
				obj, ok := o.(client.Object)
				if !ok {
					return fmt.Errorf("%T is not an object", o)
				}
				if filter && !t.Scope.Contains(obj.GetNamespace()) {
					return nil
				}
				return fn(obj)
			})
		}
	}
	if t.Scope.Cluster || len(t.Scope.Namespaces) > clusterListThreshold {
		return kube.ListPages(ctx, t.Reader, list, visit(!t.Scope.Cluster))
	}
	for _, ns := range t.Scope.Namespaces {
		if err := kube.ListPages(ctx, t.Reader, list, visit(false), client.InNamespace(ns)); err != nil {
			return err
		}
	}
	return nil
}

// ResourceRef names obj, finding its kind from client-go's scheme when the
// object carries no TypeMeta (as objects from a typed List do not).
func ResourceRef(obj client.Object) securityv1alpha1.ResourceRef {
	gvk := obj.GetObjectKind().GroupVersionKind()
	if gvk.Kind == "" {
		if g, err := apiutil.GVKForObject(obj, scheme.Scheme); err == nil {
			gvk = g
		}
	}
	return securityv1alpha1.ResourceRef{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// listErrors joins list failures into one outcome message.
type listErrors []error

func (l listErrors) outcome(res securityv1alpha1.AnalyzerResult) securityv1alpha1.AnalyzerResult {
	if len(l) == 0 {
		res.Phase = securityv1alpha1.AnalyzerSucceeded
		return res
	}
	msgs := make([]string, len(l))
	for i, err := range l {
		msgs[i] = err.Error()
	}
	res.Phase = securityv1alpha1.AnalyzerFailed
	res.Reason = "ListFailed"
	res.Message = truncate(strings.Join(msgs, "; "), 1024)
	return res
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

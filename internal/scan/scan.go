// Package scan runs a SecurityScan's in-process analyzers against the
// cluster and gathers their results for a ScanReport.
package scan

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/kube"
	"github.com/palisade-sec/palisade/internal/report"
	"github.com/palisade-sec/palisade/internal/scope"

	"github.com/palisade-sec/palisade/internal/text"
)

// Target is what a run reads: the cluster, through a reader that goes to the
// API server (not the manager's cache), limited to a scope.
type Target struct {
	Reader client.Reader
	Scope  scope.Scope
	// ClusterObjects lets analyzers report on cluster-scoped objects
	// (ClusterRoles, ClusterRoleBindings): true for a scan in the
	// operator's namespace, false for a tenant's.
	ClusterObjects bool
}

// Visible tells whether a finding about ref may be reported for this
// target: objects in a namespace in scope, a namespace in scope itself, and
// other cluster-scoped objects only when ClusterObjects is set.
func (t Target) Visible(ref securityv1alpha1.ResourceRef) bool {
	switch {
	case ref.Namespace != "":
		return t.Scope.Contains(ref.Namespace)
	case ref.Kind == "Namespace":
		return t.Scope.Contains(ref.Name)
	default:
		return t.ClusterObjects
	}
}

// Namespaces lists the Namespace objects in scope.
func Namespaces(ctx context.Context, t Target) ([]corev1.Namespace, error) {
	var out []corev1.Namespace
	list := &corev1.NamespaceList{}
	err := kube.ListPages(ctx, t.Reader, list, func() error {
		for i := range list.Items {
			if t.Scope.Contains(list.Items[i].Name) {
				out = append(out, list.Items[i])
			}
		}
		return nil
	})
	return out, err
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

// Analyzer is one in-process analyzer. A run calls Start on each, then
// makes one paginated pass over the pods in scope, handing each pod to every
// analyzer that started, then calls Finish: pods, the most numerous objects,
// are read once however many analyzers need them.
type Analyzer interface {
	// Name is the analyzer's name in the report (workloads, rbac, ...).
	Name() string
	// Start reads what the analyzer needs besides pods. An error fails the
	// analyzer (the others still run).
	Start(ctx context.Context, t Target, res *Results) error
	// Pod hands the analyzer one pod in scope. It must not keep pod.
	Pod(pod *corev1.Pod, res *Results)
	// Finish adds the analyzer's remaining findings to res and returns its
	// outcome.
	Finish(res *Results) securityv1alpha1.AnalyzerResult
}

// Run runs every analyzer and records their outcomes in res.
func Run(ctx context.Context, t Target, analyzers []Analyzer, res *Results) {
	var started []Analyzer
	for _, a := range analyzers {
		if err := a.Start(ctx, t, res); err != nil {
			res.Analyzers = append(res.Analyzers, failed(a.Name(), err))
			continue
		}
		started = append(started, a)
	}
	var podErr error
	if len(started) > 0 {
		podErr = EachObject(ctx, t, &corev1.PodList{}, func(obj client.Object) error {
			for _, a := range started {
				a.Pod(obj.(*corev1.Pod), res)
			}
			return nil
		})
	}
	for _, a := range started {
		out := a.Finish(res)
		out.Name = a.Name()
		if podErr != nil {
			out = failed(a.Name(), podErr)
		}
		res.Analyzers = append(res.Analyzers, out)
	}
}

func failed(name string, err error) securityv1alpha1.AnalyzerResult {
	return securityv1alpha1.AnalyzerResult{Name: name, Phase: securityv1alpha1.AnalyzerFailed, Reason: "ListFailed", Message: text.Cut(err.Error(), text.MaxField)}
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
			return eachItem(list, func(obj client.Object) error {
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

// eachItem calls fn for each item of list.
func eachItem(list client.ObjectList, fn func(obj client.Object) error) error {
	return meta.EachListItem(list, func(o runtime.Object) error {
		obj, ok := o.(client.Object)
		if !ok {
			return fmt.Errorf("%T is not an object", o)
		}
		return fn(obj)
	})
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

package scancmd

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/analyzers/mtls"
	"github.com/palisade-sec/palisade/internal/kube"
	"github.com/palisade-sec/palisade/internal/manifest"
	"github.com/palisade-sec/palisade/internal/scan"
	"github.com/palisade-sec/palisade/internal/scope"
)

// analyzer is one analyzer `palisade scan` can run.
type analyzer struct {
	// name is the analyzer's name, as in a ScanReport.
	name string
	// kinds are the kinds whose presence makes the analyzer apply (auto);
	// nil for workloads, which applies when an object has a pod template.
	kinds []schema.GroupKind
	// alsoReads are the other kinds it reads, besides pods.
	alsoReads []schema.GroupKind
	// build returns the analyzer for a run; w holds the workload findings.
	build func(w *scoredWorkloads) scan.Analyzer
}

// workloadsAnalyzer is the name of the workloads analyzer.
const workloadsAnalyzer = "workloads"

// analyzers are the analyzers in the order they run, that of a
// SecurityScan.
var analyzers = []analyzer{
	{
		name:  workloadsAnalyzer,
		build: func(w *scoredWorkloads) scan.Analyzer { return w },
	},
	{
		name: "rbac",
		kinds: []schema.GroupKind{
			{Group: rbacv1.GroupName, Kind: "Role"}, {Group: rbacv1.GroupName, Kind: "ClusterRole"},
			{Group: rbacv1.GroupName, Kind: "RoleBinding"}, {Group: rbacv1.GroupName, Kind: "ClusterRoleBinding"},
		},
		alsoReads: []schema.GroupKind{{Kind: "ServiceAccount"}},
		build:     func(*scoredWorkloads) scan.Analyzer { return &scan.RBAC{} },
	},
	{
		name:      "networkPolicies",
		kinds:     []schema.GroupKind{{Group: networkingv1.GroupName, Kind: "NetworkPolicy"}},
		alsoReads: []schema.GroupKind{{Kind: "Namespace"}},
		build:     func(*scoredWorkloads) scan.Analyzer { return &scan.NetworkPolicies{} },
	},
	{
		name:      "mtls",
		kinds:     []schema.GroupKind{{Group: mtls.PeerAuthenticationResources[0].Group, Kind: "PeerAuthentication"}},
		alsoReads: []schema.GroupKind{{Kind: "Namespace"}},
		build:     func(*scoredWorkloads) scan.Analyzer { return &scan.MTLS{} },
	},
}

// AnalyzerNames are the analyzers Options.Analyzers may name.
func AnalyzerNames() []string {
	names := make([]string, len(analyzers))
	for i, a := range analyzers {
		names[i] = a.name
	}
	return names
}

// inRunOrder sorts results as AnalyzerNames: scan.Run lists the analyzers
// that failed to start first.
func inRunOrder(results []v1alpha1.AnalyzerResult) []v1alpha1.AnalyzerResult {
	out := append([]v1alpha1.AnalyzerResult{}, results...)
	names := AnalyzerNames()
	slices.SortStableFunc(out, func(a, b v1alpha1.AnalyzerResult) int {
		return slices.Index(names, a.Name) - slices.Index(names, b.Name)
	})
	return out
}

// ValidateAnalyzers checks that names are analyzers.
func ValidateAnalyzers(names []string) error {
	for _, n := range names {
		if !slices.Contains(AnalyzerNames(), n) {
			return fmt.Errorf("unknown analyzer %q: use auto or some of %s", n, strings.Join(AnalyzerNames(), ","))
		}
	}
	return nil
}

// selectAnalyzers builds the analyzers named, or with no names those that
// apply to the objects present: workloads when an object has a pod template, the others
// when an object of their kinds is present.
func selectAnalyzers(names []string, present map[objectKey]bool, w *scoredWorkloads) []scan.Analyzer {
	kinds := map[schema.GroupKind]bool{}
	for k := range present {
		kinds[k.GroupKind] = true
	}
	var out []scan.Analyzer
	for _, a := range analyzers {
		applies := slices.ContainsFunc(a.kinds, func(gk schema.GroupKind) bool { return kinds[gk] })
		if a.kinds == nil {
			applies = w.scored+w.owned > 0
		}
		if slices.Contains(names, a.name) || (len(names) == 0 && applies) {
			out = append(out, a.build(w))
		}
	}
	return out
}

// markAnalyzed gives the status analyzed to the objects without a pod
// template that an analyzer which succeeded reads.
func markAnalyzed(objects []Object, ran []v1alpha1.AnalyzerResult) {
	read := map[schema.GroupKind]bool{}
	for _, a := range analyzers {
		succeeded := func(r v1alpha1.AnalyzerResult) bool { return r.Name == a.name && r.Phase == v1alpha1.AnalyzerSucceeded }
		if slices.ContainsFunc(ran, succeeded) {
			for _, gk := range slices.Concat(a.kinds, a.alsoReads) {
				read[gk] = true
			}
		}
	}
	for i := range objects {
		o := &objects[i]
		if o.Status == statusUnsupported && read[keyOf(*o.Resource).GroupKind] {
			o.Status, o.Error = statusAnalyzed, ""
		}
	}
}

// scoredWorkloads is the workloads analyzer of an offline scan. Each object
// was scored on its own beforehand (scoreObjects), since its kubesec entry
// and score are part of the report; the analyzer hands the findings to the
// run.
type scoredWorkloads struct {
	scored, owned int32
	findings      []v1alpha1.Finding
}

// Name implements scan.Analyzer.
func (*scoredWorkloads) Name() string { return workloadsAnalyzer }

// Start implements scan.Analyzer.
func (*scoredWorkloads) Start(context.Context, scan.Target, *scan.Results) error { return nil }

// Pod implements scan.Analyzer: pods were scored with the other objects.
func (*scoredWorkloads) Pod(*corev1.Pod, *scan.Results) {}

// Finish implements scan.Analyzer.
func (w *scoredWorkloads) Finish(res *scan.Results) v1alpha1.AnalyzerResult {
	for _, f := range w.findings {
		res.Findings.Add(f)
	}
	return v1alpha1.AnalyzerResult{Phase: v1alpha1.AnalyzerSucceeded, Resources: w.scored, Findings: int32(len(w.findings))}
}

// memoryTarget is a scan target holding objs: every namespace they name is
// in scope, and cluster-scoped objects are reported on, as for a scan in
// the operator's namespace.
func memoryTarget(objs []manifest.Object) (scan.Target, error) {
	list := make([]client.Object, len(objs))
	namespaces := map[string]bool{}
	for i, o := range objs {
		list[i] = o.Obj
		if ns := o.Obj.GetNamespace(); ns != "" {
			namespaces[ns] = true
		}
		if _, ok := o.Obj.(*corev1.Namespace); ok {
			namespaces[o.Obj.GetName()] = true
		}
	}
	reader, err := kube.NewMemoryReader(list)
	if err != nil {
		return scan.Target{}, err
	}
	return scan.Target{
		Reader:         reader,
		Scope:          scope.Scope{Namespaces: slices.Sorted(maps.Keys(namespaces)), Cluster: true},
		ClusterObjects: true,
	}, nil
}

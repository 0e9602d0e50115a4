package scan

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/analyzers/rbac"
	"github.com/palisade-sec/palisade/internal/kube"
)

// RBAC finds risky roles, the subjects bound to them and the pods that run
// with them. ClusterRoles and ClusterRoleBindings are read whatever the
// scope, since they grant in every namespace; findings are kept to what the
// target may see (Target.Visible).
type RBAC struct {
	Options  rbac.Options
	analyzer *rbac.Analyzer
	t        Target
	out      securityv1alpha1.AnalyzerResult
}

// Name implements Analyzer.
func (*RBAC) Name() string { return "rbac" }

// Start implements Analyzer: it reads and compiles roles and bindings.
func (r *RBAC) Start(ctx context.Context, t Target, _ *Results) error {
	r.t, r.out = t, securityv1alpha1.AnalyzerResult{}
	var in rbac.Input
	steps := []func() error{
		func() error { return collect(ctx, t, &rbacv1.RoleList{}, &in.Roles, false) },
		func() error { return collect(ctx, t, &rbacv1.RoleBindingList{}, &in.RoleBindings, false) },
		func() error { return collect(ctx, t, &corev1.ServiceAccountList{}, &in.ServiceAccounts, false) },
		func() error { return collect(ctx, t, &rbacv1.ClusterRoleList{}, &in.ClusterRoles, true) },
		func() error { return collect(ctx, t, &rbacv1.ClusterRoleBindingList{}, &in.ClusterRoleBindings, true) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	r.out.Resources = int32(len(in.Roles) + len(in.RoleBindings) + len(in.ClusterRoles) + len(in.ClusterRoleBindings))
	a, err := rbac.New(in, r.Options)
	if err != nil {
		return err
	}
	r.analyzer = a
	return nil
}

// Pod implements Analyzer: a pod is risky when it runs as a service account
// holding a risky permission with its token mounted.
func (r *RBAC) Pod(pod *corev1.Pod, res *Results) {
	for _, f := range r.analyzer.Pod(pod) {
		r.add(f, res)
	}
}

// Finish implements Analyzer.
func (r *RBAC) Finish(res *Results) securityv1alpha1.AnalyzerResult {
	for _, f := range r.analyzer.Findings() {
		r.add(f, res)
	}
	r.out.Phase = securityv1alpha1.AnalyzerSucceeded
	return r.out
}

func (r *RBAC) add(f securityv1alpha1.Finding, res *Results) {
	if !r.t.Visible(f.Resource) {
		return
	}
	r.out.Findings++
	res.Findings.Add(f)
}

// collect appends every object of list's kind to *dst: those in the
// target's scope, or all of them when clusterWide (for cluster-scoped kinds).
func collect[T any](ctx context.Context, t Target, list client.ObjectList, dst *[]T, clusterWide bool) error {
	visit := func(obj client.Object) error {
		*dst = append(*dst, *any(obj).(*T))
		return nil
	}
	if !clusterWide {
		return EachObject(ctx, t, list, visit)
	}
	return kube.ListPages(ctx, t.Reader, list, func() error {
		return eachItem(list, visit)
	})
}

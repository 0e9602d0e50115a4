package scan

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/analyzers/workloads"

	"github.com/palisade-sec/palisade/internal/text"
)

// Workloads scores every top-level workload in scope with kubesec's rules
// and the Pod Security Standards.
type Workloads struct {
	Options workloads.Options
	out     securityv1alpha1.AnalyzerResult
}

// Name implements Analyzer.
func (*Workloads) Name() string { return "workloads" }

// workloadLists are the kinds evaluated besides pods, each pod template once
// (see workloads.IsTopLevel).
func workloadLists() []client.ObjectList {
	return []client.ObjectList{
		&appsv1.DeploymentList{}, &appsv1.StatefulSetList{}, &appsv1.DaemonSetList{},
		&batchv1.CronJobList{}, &batchv1.JobList{}, &appsv1.ReplicaSetList{},
	}
}

// Start implements Analyzer: it evaluates the controllers; pods come later.
func (w *Workloads) Start(ctx context.Context, t Target, res *Results) error {
	w.out = securityv1alpha1.AnalyzerResult{}
	if res.PodSecurity == nil {
		res.PodSecurity = &securityv1alpha1.PodSecurityCounts{}
	}
	for _, list := range workloadLists() {
		err := EachObject(ctx, t, list, func(obj client.Object) error {
			w.evaluate(obj, res)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Pod implements Analyzer.
func (w *Workloads) Pod(pod *corev1.Pod, res *Results) { w.evaluate(pod, res) }

// Finish implements Analyzer.
func (w *Workloads) Finish(*Results) securityv1alpha1.AnalyzerResult {
	w.out.Phase = securityv1alpha1.AnalyzerSucceeded
	return w.out
}

func (w *Workloads) evaluate(obj client.Object, res *Results) {
	if !workloads.IsTopLevel(obj) {
		return
	}
	w.out.Resources++
	r, err := workloads.Analyze(obj, w.Options)
	if err != nil {
		w.out.Invalid++
		res.Findings.Add(invalidWorkload(obj, err))
		return
	}
	countLevel(res.PodSecurity, r.PodSecurityLevel)
	for _, f := range r.Findings {
		w.out.Findings++
		res.Findings.Add(f)
	}
}

func countLevel(c *securityv1alpha1.PodSecurityCounts, level string) {
	switch level {
	case string(securityv1alpha1.PodSecurityRestricted):
		c.Restricted++
	case string(securityv1alpha1.PodSecurityBaseline):
		c.Baseline++
	default:
		c.Privileged++
	}
}

func invalidWorkload(obj client.Object, err error) securityv1alpha1.Finding {
	return securityv1alpha1.Finding{
		ID:       "workload.invalid",
		Category: securityv1alpha1.CategoryWorkload,
		Severity: securityv1alpha1.SeverityLow,
		Resource: ResourceRef(obj),
		Message:  text.Cut(fmt.Sprintf("Could not evaluate this workload: %v", err), text.MaxField),
	}
}

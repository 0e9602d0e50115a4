package scan

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/analyzers/workloads"
)

// Workloads scores every top-level workload in scope with kubesec's rules
// and the Pod Security Standards.
type Workloads struct {
	Options workloads.Options
}

// Name implements Analyzer.
func (Workloads) Name() string { return "workloads" }

// workloadLists are the kinds evaluated, each pod template once (see
// workloads.IsTopLevel).
func workloadLists() []client.ObjectList {
	return []client.ObjectList{
		&appsv1.DeploymentList{}, &appsv1.StatefulSetList{}, &appsv1.DaemonSetList{},
		&batchv1.CronJobList{}, &batchv1.JobList{}, &appsv1.ReplicaSetList{}, &corev1.PodList{},
	}
}

// Run implements Analyzer.
func (w Workloads) Run(ctx context.Context, t Target, res *Results) securityv1alpha1.AnalyzerResult {
	var out securityv1alpha1.AnalyzerResult
	if res.PodSecurity == nil {
		res.PodSecurity = &securityv1alpha1.PodSecurityCounts{}
	}
	var errs listErrors
	for _, list := range workloadLists() {
		err := EachObject(ctx, t, list, func(obj client.Object) error {
			if !workloads.IsTopLevel(obj) {
				return nil
			}
			out.Resources++
			r, err := workloads.Analyze(obj, w.Options)
			if err != nil {
				out.Invalid++
				res.Findings.Add(invalidWorkload(obj, err))
				return nil
			}
			countLevel(res.PodSecurity, r.PodSecurityLevel)
			for _, f := range r.Findings {
				out.Findings++
				res.Findings.Add(f)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs.outcome(out)
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
		Message:  truncate("Could not evaluate this workload: "+err.Error(), 1024),
	}
}

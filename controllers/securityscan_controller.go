// Package controllers holds Palisade's reconcilers.
package controllers

import (
	"context"
	"fmt"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/analyzers/coverage"
	"github.com/palisade-sec/palisade/internal/analyzers/mtls"
	"github.com/palisade-sec/palisade/internal/analyzers/rbac"
	"github.com/palisade-sec/palisade/internal/analyzers/workloads"
	"github.com/palisade-sec/palisade/internal/scan"
	"github.com/palisade-sec/palisade/internal/schedule"
	"github.com/palisade-sec/palisade/internal/scope"
)

// Event reasons.
const (
	EventRunStarted   = "RunStarted"
	EventRunCompleted = "RunCompleted"
	EventRunFailed    = "RunFailed"
	EventBadSchedule  = "InvalidSchedule"
)

// SecurityScanReconciler runs SecurityScans: one ScanReport per run, on
// creation, on each spec change and on the schedule.
type SecurityScanReconciler struct {
	// Client reads Palisade's own objects from the cache and writes them.
	client.Client
	// APIReader reads the cluster for the analyzers, page by page, without
	// caching it.
	APIReader client.Reader
	Scheme    *runtime.Scheme
	Recorder  events.EventRecorder
	Clock     clock.PassiveClock
	Metrics   *Metrics
	// OperatorNamespace is where the operator runs; only scans there may
	// look beyond their own namespace.
	OperatorNamespace string
	// Benchmark reads the kube-bench Jobs' logs and the API server's
	// version (see benchmark.go).
	Benchmark BenchmarkRunner
}

// +kubebuilder:rbac:groups=security.palisade.dev,resources=securityscans,verbs=get;list;watch
// +kubebuilder:rbac:groups=security.palisade.dev,resources=securityscans/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=security.palisade.dev,resources=scanreports,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=security.palisade.dev,resources=scanreports/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=namespaces;pods,verbs=list
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets;replicasets,verbs=list
// +kubebuilder:rbac:groups=batch,resources=jobs;cronjobs,verbs=list
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=list
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings;clusterroles;clusterrolebindings,verbs=list
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=list
// +kubebuilder:rbac:groups=security.istio.io,resources=peerauthentications,verbs=list
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile starts a run when one is due, carries the run in progress to its
// end, prunes old reports and writes the scan's status.
func (r *SecurityScanReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	sc := &securityv1alpha1.SecurityScan{}
	if err := r.Get(ctx, req.NamespacedName, sc); err != nil {
		if apierrors.IsNotFound(err) {
			r.Metrics.forget(req.Namespace, req.Name)
			return ctrl.Result{}, r.cleanupBenchmarkJobs(ctx, req.Namespace, req.Name, nil)
		}
		return ctrl.Result{}, fmt.Errorf("getting SecurityScan: %w", err)
	}
	if !sc.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("securityscan", klog.KObj(sc)))
	before := sc.Status.DeepCopy()
	now := r.Clock.Now()

	resolver := scope.Resolver{Reader: r.APIReader, OperatorNamespace: r.OperatorNamespace}
	st := &scanState{now: now, narrowed: resolver.Narrowed(sc.Namespace, sc.Spec.Namespaces)}
	st.sched, st.schedErr = parseSchedule(sc)
	reports, err := r.ownedReports(ctx, sc)
	if err != nil {
		return ctrl.Result{}, err
	}
	owner := scanOwner(sc)
	st.observe(owner, reports)

	if st.active == nil && st.schedErr == nil && !sc.Spec.Suspend {
		if trigger, slot, due := st.due(owner); due {
			if st.active, err = r.startRun(ctx, sc, trigger, slot); err != nil {
				return ctrl.Result{}, err
			}
			st.observe(owner, append(reports, *st.active))
		}
	} else if st.active != nil {
		if st.runRequeue, err = r.finishRun(ctx, sc, st.active, resolver); err != nil {
			return ctrl.Result{}, err
		}
		st.observe(owner, reports)
	}
	if err := r.prune(ctx, sc, reports); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.cleanupBenchmarkJobs(ctx, sc.Namespace, sc.Name, st.active); err != nil {
		return ctrl.Result{}, err
	}

	st.setStatus(sc)
	if !equality.Semantic.DeepEqual(before, &sc.Status) {
		if err := r.Status().Update(ctx, sc); err != nil {
			return ctrl.Result{}, fmt.Errorf("updating SecurityScan status: %w", err)
		}
	}
	if st.schedErr != nil && (before.ObservedGeneration != sc.Generation || !isInvalidSchedule(before)) {
		r.Recorder.Eventf(sc, nil, "Warning", EventBadSchedule, "Validate", "%v", st.schedErr)
	}
	return st.requeue(owner), nil
}

// ownedReports lists the scan's reports from the cache.
func (r *SecurityScanReconciler) ownedReports(ctx context.Context, sc *securityv1alpha1.SecurityScan) ([]securityv1alpha1.ScanReport, error) {
	list := &securityv1alpha1.ScanReportList{}
	if err := r.List(ctx, list, client.InNamespace(sc.Namespace), client.MatchingLabels{securityv1alpha1.LabelScan: labelValue(sc.Name)}); err != nil {
		return nil, fmt.Errorf("listing ScanReports: %w", err)
	}
	var out []securityv1alpha1.ScanReport
	for _, rep := range list.Items {
		if metav1.IsControlledBy(&rep, sc) {
			out = append(out, rep)
		}
	}
	return out, nil
}

// startRun creates the report of a new run. Its name is derived from the
// generation or the schedule slot, so a run is never started twice: after a
// restart, creating it again finds the existing report.
func (r *SecurityScanReconciler) startRun(ctx context.Context, sc *securityv1alpha1.SecurityScan, trigger securityv1alpha1.RunTrigger, slot *time.Time) (*securityv1alpha1.ScanReport, error) {
	suffix := generationSuffix(sc.Generation)
	if slot != nil {
		suffix = scheduleSuffix(*slot)
	}
	rep := newRunReport(sc, "SecurityScan", sc.Generation, childName(sc.Name, suffix, 253), securityv1alpha1.LabelScan, trigger, slot)
	return runReports{r.Client, r.APIReader, r.Scheme, r.Recorder, r.Clock}.start(ctx, sc, rep, "Scan")
}

// finishRun carries the run in progress forward: the in-process analyzers
// run once, the benchmark advances, and once it is done the report is
// completed. The report's status is written once, when it changed. It
// returns when to look again while the benchmark runs.
func (r *SecurityScanReconciler) finishRun(ctx context.Context, sc *securityv1alpha1.SecurityScan, rep *securityv1alpha1.ScanReport, resolver scope.Resolver) (time.Duration, error) {
	before := rep.Status.DeepCopy()
	if !analyzersDone(rep, analyzersFor(sc)) {
		if err := r.runAnalyzers(ctx, sc, rep, resolver); err != nil {
			return 0, err
		}
	}
	// Progress is written even when the benchmark step fails part way.
	done, requeue, stepErr := r.stepBenchmark(ctx, sc, rep)
	if stepErr == nil && done {
		r.completeReport(rep)
	}
	if !equality.Semantic.DeepEqual(before, &rep.Status) {
		if err := r.Status().Update(ctx, rep); err != nil {
			return 0, fmt.Errorf("updating ScanReport %s: %w", rep.Name, err)
		}
	}
	if stepErr != nil {
		return 0, fmt.Errorf("benchmark of ScanReport %s: %w", rep.Name, stepErr)
	}
	if done {
		r.runFinished(ctx, sc, rep)
	}
	return requeue, nil
}

// runAnalyzers runs the in-process analyzers and stores their results in
// the report, which stays Running until the benchmark is done too.
func (r *SecurityScanReconciler) runAnalyzers(ctx context.Context, sc *securityv1alpha1.SecurityScan, rep *securityv1alpha1.ScanReport, resolver scope.Resolver) error {
	sp, err := resolver.Resolve(ctx, sc.Namespace, sc.Spec.Namespaces)
	if err != nil {
		return fmt.Errorf("resolving namespaces: %w", err)
	}
	res := scan.NewResults(int(ptrOr(sc.Spec.MaxFindings, 500)))
	target := scan.Target{Reader: r.APIReader, Scope: sp, ClusterObjects: sc.Namespace == r.OperatorNamespace}
	scan.Run(ctx, target, analyzersFor(sc), res)

	counts := res.Findings.Counts()
	rep.Status.Namespaces = int32(len(sp.Namespaces))
	rep.Status.Summary = securityv1alpha1.ReportSummary{SeverityCounts: counts, Total: counts.Total(), Resources: res.Resources(),
		PodSecurity: res.PodSecurity, ByCategory: categoryCounts(res.Findings.ByCategory())}
	rep.Status.Analyzers = res.Analyzers
	rep.Status.Findings = res.Findings.Findings()
	rep.Status.FindingsOmitted = res.Findings.Omitted()
	return nil
}

// analyzersFor lists the in-process analyzers the spec enables.
func analyzersFor(sc *securityv1alpha1.SecurityScan) []scan.Analyzer {
	var out []scan.Analyzer
	if w := sc.Spec.Workloads; w != nil {
		out = append(out, &scan.Workloads{Options: workloads.Options{Level: w.PodSecurityLevel, Advice: ptrOr(w.KubesecAdvice, true)}})
	}
	if r := sc.Spec.RBAC; r != nil {
		out = append(out, &scan.RBAC{Options: rbac.Options{IncludeBuiltin: r.IncludeSystem}})
	}
	if n := sc.Spec.NetworkPolicies; n != nil {
		out = append(out, &scan.NetworkPolicies{Options: coverage.Options{MaxNames: int(ptrOr(n.MaxPodsListed, 10))}})
	}
	if m := sc.Spec.MTLS; m != nil {
		out = append(out, &scan.MTLS{Options: mtls.Options{RootNamespace: m.RootNamespace}})
	}
	return out
}

// prune deletes finished reports beyond the history limit, oldest first.
func (r *SecurityScanReconciler) prune(ctx context.Context, sc *securityv1alpha1.SecurityScan, reports []securityv1alpha1.ScanReport) error {
	return pruneReports(ctx, r.Client, reports, int(ptrOr(sc.Spec.HistoryLimit, 3)))
}

// SetupWithManager registers the reconciler: it watches SecurityScans and
// the ScanReports they own.
func (r *SecurityScanReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&securityv1alpha1.SecurityScan{}).
		Owns(&securityv1alpha1.ScanReport{}).
		// Benchmark Jobs are owned by a report, in the scan's namespace:
		// they and their pods wake the scan named in their annotation.
		Watches(&batchv1.Job{}, handler.EnqueueRequestsFromMapFunc(scanOfBenchmarkObject)).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(scanOfBenchmarkObject)).
		Named("securityscan").
		Complete(r)
}

func sortNewestFirst(reports []securityv1alpha1.ScanReport) {
	sort.Slice(reports, func(i, j int) bool {
		a, b := reports[i], reports[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return b.CreationTimestamp.Before(&a.CreationTimestamp)
		}
		// Timestamps have a resolution of one second: runs created in the
		// same second are told apart by generation, then schedule slot.
		if a.Spec.Source.Generation != b.Spec.Source.Generation {
			return a.Spec.Source.Generation > b.Spec.Source.Generation
		}
		if ta, tb := slotOf(a), slotOf(b); !ta.Equal(tb) {
			return ta.After(tb)
		}
		return a.Name > b.Name
	})
}

func slotOf(rep securityv1alpha1.ScanReport) time.Time {
	if rep.Spec.ScheduledTime == nil {
		return time.Time{}
	}
	return rep.Spec.ScheduledTime.Time
}

func parseSchedule(sc *securityv1alpha1.SecurityScan) (*schedule.Schedule, error) {
	if sc.Spec.Schedule == "" {
		return nil, nil
	}
	return schedule.Parse(sc.Spec.Schedule, ptrOr(sc.Spec.TimeZone, ""))
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

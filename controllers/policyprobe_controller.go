package controllers

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/probepods"
	"github.com/palisade-sec/palisade/internal/schedule"
	"github.com/palisade-sec/palisade/internal/scope"
)

// AnalyzerProbe is the name of a PolicyProbe run's result in its report's
// analyzers.
const AnalyzerProbe = "probe"

// Probe analyzer reasons.
const (
	ReasonCasesInconclusive    = "CasesInconclusive"
	ReasonAllCasesInconclusive = "AllCasesInconclusive"
	ReasonNoCases              = "NoCases"
	ReasonInvalidPolicies      = "InvalidPolicies"
	ReasonRunTimeout           = "RunTimeout"
	ReasonServerFailed         = "ServerFailed"
	ReasonClientFailed         = "ClientFailed"
)

const (
	// policyChangeDebounce is how long NetworkPolicies and namespace
	// labels in scope must stay unchanged before rerunOnChange probes
	// again: applying a set of policies is seldom one write.
	policyChangeDebounce = 10 * time.Second
	// defaultAttemptTimeout and defaultRunTimeout apply when the spec
	// leaves timeouts out (the API server defaults them).
	defaultAttemptTimeout = 3 * time.Second
	defaultRunTimeout     = 5 * time.Minute
	// defaultMaxMeshWorkloads applies when spec.mtls leaves maxWorkloads
	// out (the API server defaults it).
	defaultMaxMeshWorkloads = 50
	// namespaceWait is how often a run waiting for a temporary namespace
	// (created, or an earlier one going away) looks again.
	namespaceWait = 2 * time.Second
	// probeMaxFindings is how many findings a probe report stores.
	probeMaxFindings = 500
)

// PolicyProbeReconciler runs PolicyProbes: on creation, on each spec
// change, on the schedule and, with rerunOnChange, when the NetworkPolicies
// or namespace labels in scope change. Each run is one ScanReport: its
// cases are planned into the report's status first, then server pods start
// in the destinations' namespaces, client pods follow once their servers
// listen, and their termination messages fill the cases in.
type PolicyProbeReconciler struct {
	// Client reads Palisade's own objects, its pods and the metadata of
	// NetworkPolicies and Namespaces from the cache, and writes.
	client.Client
	// APIReader reads the namespaces, pods and NetworkPolicies a run plans
	// from, page by page, without caching them.
	APIReader client.Reader
	Scheme    *runtime.Scheme
	Recorder  events.EventRecorder
	Clock     clock.PassiveClock
	// OperatorNamespace is where the operator runs; only probes there may
	// look beyond their own namespace.
	OperatorNamespace string
	// ProbeImage runs the probe pods when the spec names none: the
	// operator's own image.
	ProbeImage string
	// Metrics records finished runs; nil records nothing.
	Metrics *Metrics
}

// Probe pods go into the namespaces probed, so creating and deleting them
// is granted cluster-wide, and so are creating and deleting namespaces, for
// spec.allowTemporaryNamespaces (only namespaces Palisade labelled as its
// own are ever deleted); nothing else is written outside Palisade's own
// kinds.
// +kubebuilder:rbac:groups=security.palisade.dev,resources=policyprobes,verbs=get;list;watch
// +kubebuilder:rbac:groups=security.palisade.dev,resources=policyprobes/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=list;watch

// Reconcile starts a run when one is due, carries the run in progress to
// its end, prunes old reports, deletes probe pods no run needs and writes
// the probe's status.
func (r *PolicyProbeReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	pp := &securityv1alpha1.PolicyProbe{}
	if err := r.Get(ctx, req.NamespacedName, pp); err != nil {
		if apierrors.IsNotFound(err) {
			if r.Metrics != nil {
				r.Metrics.forgetProbe(req.Namespace, req.Name)
			}
			return ctrl.Result{}, r.cleanup(ctx, req.Namespace, req.Name, nil)
		}
		return ctrl.Result{}, fmt.Errorf("getting PolicyProbe: %w", err)
	}
	if !pp.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.cleanup(ctx, pp.Namespace, pp.Name, nil)
	}
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("policyprobe", klog.KObj(pp)))
	before := pp.Status.DeepCopy()
	now := r.Clock.Now()

	resolver := scope.Resolver{Reader: r.APIReader, OperatorNamespace: r.OperatorNamespace}
	st := &scanState{now: now, narrowed: resolver.Narrowed(pp.Namespace, pp.Spec.Namespaces)}
	if pp.Spec.Schedule != "" {
		st.sched, st.schedErr = schedule.Parse(pp.Spec.Schedule, ptrOr(pp.Spec.TimeZone, ""))
	}
	reports, err := r.ownedReports(ctx, pp)
	if err != nil {
		return ctrl.Result{}, err
	}
	owner := probeOwner(pp)
	st.observe(owner, reports)

	change := pp.Status.PolicyChange
	if st.active == nil {
		if change, err = r.policyChange(ctx, pp, st); err != nil {
			return ctrl.Result{}, err
		}
	}
	if st.active == nil && st.schedErr == nil && !pp.Spec.Suspend {
		trigger, slot, due := st.due(owner)
		suffix := ""
		if !due && change != nil && !now.Before(change.SeenTime.Add(policyChangeDebounce)) {
			trigger, due, suffix = securityv1alpha1.TriggerPolicyChanged, true, "c"+change.SeenTime.UTC().Format("20060102-150405")
		}
		if due {
			if st.active, err = r.startRun(ctx, pp, trigger, slot, suffix); err != nil {
				return ctrl.Result{}, err
			}
			change, st.runRequeue = nil, 0
			reports = append(reports, *st.active)
			st.observe(owner, reports)
		}
	}
	if st.active != nil {
		rep := st.active
		if st.runRequeue, err = r.stepRun(ctx, pp, rep, resolver); err != nil {
			return ctrl.Result{}, err
		}
		reports = replaceReport(reports, rep)
		st.observe(owner, reports)
	}
	if err := pruneReports(ctx, r.Client, reports, int(ptrOr(pp.Spec.HistoryLimit, 3))); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.cleanup(ctx, pp.Namespace, pp.Name, st.active); err != nil {
		return ctrl.Result{}, err
	}

	st.setProbeStatus(pp, change)
	if !equality.Semantic.DeepEqual(before, &pp.Status) {
		if err := r.Status().Update(ctx, pp); err != nil {
			return ctrl.Result{}, fmt.Errorf("updating PolicyProbe status: %w", err)
		}
	}
	if st.schedErr != nil && (before.ObservedGeneration != pp.Generation || !hasReason(before.Conditions, securityv1alpha1.ConditionReady, securityv1alpha1.ReasonInvalidSchedule)) {
		r.Recorder.Eventf(pp, nil, "Warning", EventBadSchedule, "Validate", "%v", st.schedErr)
	}
	return st.requeue(owner), nil
}

// policyChange tells, with rerunOnChange and no run in progress, whether
// the NetworkPolicies or namespace labels in scope changed since the latest
// run was planned: the change as first seen (kept while it stays the
// same), nil when nothing changed. While a change is recent it sets the
// state's requeue to when it will be old enough to run.
func (r *PolicyProbeReconciler) policyChange(ctx context.Context, pp *securityv1alpha1.PolicyProbe, st *scanState) (*securityv1alpha1.PolicyChange, error) {
	if !pp.Spec.RerunOnChange || st.latest == nil || st.latest.Status.Probes == nil || st.latest.Status.Probes.PolicyFingerprint == "" {
		return nil, nil
	}
	cur, err := r.fingerprint(ctx, pp)
	if err != nil {
		return nil, err
	}
	if cur == st.latest.Status.Probes.PolicyFingerprint {
		return nil, nil
	}
	change := pp.Status.PolicyChange
	if change == nil || change.Fingerprint != cur {
		change = &securityv1alpha1.PolicyChange{Fingerprint: cur, SeenTime: metav1.Time{Time: st.now}}
		log.FromContext(ctx).Info("NetworkPolicies or namespace labels in scope changed; probing again once they settle", "debounce", policyChangeDebounce)
	}
	if wait := change.SeenTime.Add(policyChangeDebounce).Sub(st.now); wait > 0 {
		st.runRequeue = wait
	}
	return change, nil
}

// ownedReports lists the probe's reports from the cache.
func (r *PolicyProbeReconciler) ownedReports(ctx context.Context, pp *securityv1alpha1.PolicyProbe) ([]securityv1alpha1.ScanReport, error) {
	list := &securityv1alpha1.ScanReportList{}
	if err := r.List(ctx, list, client.InNamespace(pp.Namespace), client.MatchingLabels{securityv1alpha1.LabelProbe: labelValue(pp.Name)}); err != nil {
		return nil, fmt.Errorf("listing ScanReports: %w", err)
	}
	var out []securityv1alpha1.ScanReport
	for _, rep := range list.Items {
		if metav1.IsControlledBy(&rep, pp) {
			out = append(out, rep)
		}
	}
	return out, nil
}

// startRun creates the report of a new run, <probe>-probe- and the
// generation, the schedule slot or (suffix) the policy change, so that a
// run is never started twice: after a restart, creating it again finds the
// report.
func (r *PolicyProbeReconciler) startRun(ctx context.Context, pp *securityv1alpha1.PolicyProbe, trigger securityv1alpha1.RunTrigger, slot *time.Time, suffix string) (*securityv1alpha1.ScanReport, error) {
	switch {
	case suffix != "":
	case slot != nil:
		suffix = scheduleSuffix(*slot)
	default:
		suffix = generationSuffix(pp.Generation)
	}
	// "probe-" keeps the reports of a SecurityScan and a PolicyProbe of
	// the same name apart. Probe pods are named after the report, with a
	// hash where needed: a short name keeps them readable.
	rep := newRunReport(pp, "PolicyProbe", pp.Generation, childName(pp.Name, "probe-"+suffix, 63), securityv1alpha1.LabelProbe, trigger, slot)
	return runReports{r.Client, r.APIReader, r.Scheme, r.Recorder, r.Clock}.start(ctx, pp, rep, "Probe")
}

// stepRun carries the run in progress forward: it plans the run on the
// first pass, then starts servers, starts the clients whose servers
// listen, reads the clients' outcomes, times the run out, and completes
// the report once no case is pending. The report's status is written once,
// when it changed. It returns when to look again (the run's deadline).
func (r *PolicyProbeReconciler) stepRun(ctx context.Context, pp *securityv1alpha1.PolicyProbe, rep *securityv1alpha1.ScanReport, resolver scope.Resolver) (time.Duration, error) {
	before := rep.Status.DeepCopy()
	now := r.Clock.Now()
	deadline := runDeadline(pp, rep, now)
	var stepErr error
	wait := false
	switch {
	case rep.Status.Probes == nil && !now.Before(deadline):
		// Planning failed until the deadline (the error is retried and
		// logged each time): the run ends rather than block the next.
		failPlan(rep, fmt.Errorf("%s: the run could not be planned within %s; the manager's log says why", ReasonRunTimeout, runTimeout(pp)))
	case rep.Status.Probes == nil:
		stepErr = r.plan(ctx, pp, rep, resolver)
	case !now.Before(deadline):
		stepErr = r.timeOut(ctx, pp, rep)
	default:
		wait, stepErr = r.advance(ctx, pp, rep)
	}
	done := stepErr == nil && rep.Status.Probes != nil && rep.Status.Probes.Counts.Pending == 0 && !rep.Status.Phase.Finished()
	if done {
		r.complete(pp, rep)
	}
	if !equality.Semantic.DeepEqual(before, &rep.Status) {
		if err := r.Status().Update(ctx, rep); err != nil {
			return 0, fmt.Errorf("updating ScanReport %s: %w", rep.Name, err)
		}
	}
	if stepErr != nil {
		return 0, fmt.Errorf("run %s: %w", rep.Name, stepErr)
	}
	if done {
		r.runFinished(ctx, pp, rep)
		return 0, nil
	}
	if wait {
		return namespaceWait, nil
	}
	return max(deadline.Sub(now), time.Second), nil
}

// runDeadline is when the run times out: spec.timeouts.run after it
// started.
func runDeadline(pp *securityv1alpha1.PolicyProbe, rep *securityv1alpha1.ScanReport, now time.Time) time.Time {
	start := now
	if rep.Status.StartTime != nil {
		start = rep.Status.StartTime.Time
	}
	return start.Add(runTimeout(pp))
}

func runTimeout(pp *securityv1alpha1.PolicyProbe) time.Duration {
	if t := pp.Spec.Timeouts.Run; t != nil && t.Duration > 0 {
		return t.Duration
	}
	return defaultRunTimeout
}

func attemptTimeout(pp *securityv1alpha1.PolicyProbe) time.Duration {
	if t := pp.Spec.Timeouts.Attempt; t != nil && t.Duration > 0 {
		return t.Duration
	}
	return defaultAttemptTimeout
}

// complete gives a report whose cases all have a result its findings,
// analyzer result, phase and Complete condition.
func (r *PolicyProbeReconciler) complete(pp *securityv1alpha1.PolicyProbe, rep *securityv1alpha1.ScanReport) {
	res := rep.Status.Probes
	findings := probepods.Findings(res.Cases, securityv1alpha1.ResourceRef{
		APIVersion: securityv1alpha1.GroupVersion.String(), Kind: "PolicyProbe", Namespace: pp.Namespace, Name: pp.Name})
	if !slices.ContainsFunc(rep.Status.Analyzers, func(a securityv1alpha1.AnalyzerResult) bool { return a.Name == AnalyzerProbe }) {
		setAnalyzerResult(rep, probeOutcome(res, len(findings)))
	}
	addFindings(rep, findings, probeMaxFindings)
	rep.Status.Phase = runPhase(rep.Status.Analyzers)
	rep.Status.CompletionTime = &metav1.Time{Time: r.Clock.Now()}
	rep.Status.Summary.Resources = res.Counts.Total - res.Counts.Inconclusive
	setReportConditions(rep)
}

// runFinished logs the end of a run and records an event.
func (r *PolicyProbeReconciler) runFinished(ctx context.Context, pp *securityv1alpha1.PolicyProbe, rep *securityv1alpha1.ScanReport) {
	if r.Metrics != nil {
		r.Metrics.probeRunFinished(pp, rep)
	}
	c := rep.Status.Probes.Counts
	log.FromContext(ctx).Info("Run finished", "report", rep.Name, "phase", rep.Status.Phase, "cases", c.Total, "mismatches", c.Mismatch, "inconclusive", c.Inconclusive)
	if rep.Status.Phase == securityv1alpha1.ReportFailed {
		r.Recorder.Eventf(pp, rep, "Warning", EventRunFailed, "Probe", "Run failed, report %s: %s", rep.Name, conditionMessage(rep))
		return
	}
	r.Recorder.Eventf(pp, rep, "Normal", EventRunCompleted, "Probe", "Run %s, report %s: %d cases, %d match, %d mismatch, %d inconclusive",
		rep.Status.Phase, rep.Name, c.Total, c.Match, c.Mismatch, c.Inconclusive)
}

// cleanup deletes the probe's pods and temporary namespaces that its run in
// progress (active, nil when there is none) does not need.
func (r *PolicyProbeReconciler) cleanup(ctx context.Context, namespace, name string, active *securityv1alpha1.ScanReport) error {
	if err := r.cleanupPods(ctx, namespace, name, active); err != nil {
		return err
	}
	return r.cleanupNamespaces(ctx, namespace, name, active)
}

// cleanupPods deletes the probe's pods that do not belong to its run in
// progress (active, nil when there is none): those of finished or deleted
// reports, and all of them once the probe is deleted. Pods outside the
// report's namespace have no owner reference (it cannot cross
// namespaces), so the garbage collector would never delete them: this
// does, on every reconcile.
func (r *PolicyProbeReconciler) cleanupPods(ctx context.Context, namespace, name string, active *securityv1alpha1.ScanReport) error {
	list := &corev1.PodList{}
	if err := r.List(ctx, list, client.MatchingLabels{probepods.LabelProbeNamespace: namespace, securityv1alpha1.LabelProbe: labelValue(name)}); err != nil {
		return fmt.Errorf("listing probe pods: %w", err)
	}
	for i := range list.Items {
		pod := &list.Items[i]
		if pod.Annotations[probepods.AnnotationProbe] != name || (active != nil && pod.Annotations[probepods.AnnotationReportUID] == string(active.UID)) {
			continue
		}
		if err := r.deletePod(ctx, pod); err != nil {
			return err
		}
	}
	return nil
}

func (r *PolicyProbeReconciler) deletePod(ctx context.Context, pod *corev1.Pod) error {
	if !pod.DeletionTimestamp.IsZero() {
		return nil
	}
	err := r.Delete(ctx, pod, client.Preconditions{UID: &pod.UID})
	if client.IgnoreNotFound(err) != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting probe pod %s: %w", klog.KObj(pod), err)
	}
	log.FromContext(ctx).V(1).Info("Deleted probe pod", "pod", klog.KObj(pod))
	return nil
}

// SetupWithManager registers the reconciler. It watches PolicyProbes, the
// ScanReports they own and the probe pods (through the label-selected
// cache), and, for rerunOnChange, NetworkPolicies and Namespaces as
// metadata only: the cache then holds their names, labels and generations,
// not their specs (NetworkPolicies are few and small, and their metadata
// smaller; annotations and managed fields are dropped, see
// managercmd.CacheOptions). A policy's generation changes with its spec,
// a namespace's labels are in its metadata: that is all a change needs.
func (r *PolicyProbeReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&securityv1alpha1.PolicyProbe{}).
		Owns(&securityv1alpha1.ScanReport{}).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(probeOfPod)).
		WatchesMetadata(&networkingv1.NetworkPolicy{}, handler.EnqueueRequestsFromMapFunc(r.probesWatching)).
		WatchesMetadata(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.probesWatching)).
		Named("policyprobe").
		Complete(r)
}

// probeOfPod maps a probe pod to its PolicyProbe.
func probeOfPod(_ context.Context, obj client.Object) []reconcile.Request {
	name, ns := obj.GetAnnotations()[probepods.AnnotationProbe], obj.GetLabels()[probepods.LabelProbeNamespace]
	if name == "" || ns == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}}
}

// probesWatching maps a NetworkPolicy or Namespace change to the probes
// with rerunOnChange that may see it: those in the operator's namespace,
// and those in the object's namespace; and a temporary namespace to the
// probe that created it.
func (r *PolicyProbeReconciler) probesWatching(ctx context.Context, obj client.Object) []reconcile.Request {
	ns := obj.GetNamespace()
	if ns == "" {
		ns = obj.GetName() // a Namespace
	}
	list := &securityv1alpha1.PolicyProbeList{}
	if err := r.List(ctx, list); err != nil {
		log.FromContext(ctx).Error(err, "Listing PolicyProbes for a NetworkPolicy or Namespace change")
		return nil
	}
	var out []reconcile.Request
	owner, ownerNS, found := "", "", false
	if isTemporaryNamespace(obj.GetLabels()) && obj.GetNamespace() == "" {
		owner, ownerNS = obj.GetLabels()[securityv1alpha1.LabelProbe], obj.GetLabels()[probepods.LabelProbeNamespace]
	}
	for _, pp := range list.Items {
		if owner != "" && pp.Namespace == ownerNS && labelValue(pp.Name) == owner {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&pp)})
			found = true
			continue
		}
		if pp.Spec.RerunOnChange && (pp.Namespace == r.OperatorNamespace || pp.Namespace == ns) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&pp)})
		}
	}
	if owner != "" && !found {
		// The probe is gone (deleted while its namespace was being
		// created, or while the operator was down): reconciling its name,
		// as the label gives it, cleans the namespace up.
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ownerNS, Name: owner}})
	}
	return out
}

// replaceReport puts rep in place of the report of the same name.
func replaceReport(reports []securityv1alpha1.ScanReport, rep *securityv1alpha1.ScanReport) []securityv1alpha1.ScanReport {
	out := slices.Clone(reports)
	for i := range out {
		if out[i].Name == rep.Name {
			out[i] = *rep
		}
	}
	return out
}

func hasReason(conditions []metav1.Condition, condition, reason string) bool {
	c := meta.FindStatusCondition(conditions, condition)
	return c != nil && c.Reason == reason
}

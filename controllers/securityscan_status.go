package controllers

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/schedule"

	"github.com/palisade-sec/palisade/internal/text"
)

// scanState is what one reconcile knows about a scan: its schedule, its
// reports and the clock.
type scanState struct {
	now      time.Time
	sched    *schedule.Schedule
	schedErr error

	active   *securityv1alpha1.ScanReport // the run in progress
	latest   *securityv1alpha1.ScanReport // the newest report
	finished *securityv1alpha1.ScanReport // the newest finished report
	success  *securityv1alpha1.ScanReport // the newest report that did not fail
	ranGen   int64                        // highest generation a run was started for
	lastSlot *time.Time                   // latest schedule slot a run was started for
	narrowed bool                         // the multi-tenancy rule narrowed the scope

	runRequeue time.Duration // when the run in progress needs a look (benchmark timeouts), 0 if never
}

// observe derives the state of runs from the scan's reports, so that status
// heals itself after a restart or a lost status write.
func (st *scanState) observe(o runOwner, reports []securityv1alpha1.ScanReport) {
	st.active, st.latest, st.finished, st.success = nil, nil, nil, nil
	st.ranGen = o.lastRunGeneration
	if t := o.lastScheduleTime; t != nil {
		st.lastSlot = &t.Time
	}
	sorted := append([]securityv1alpha1.ScanReport(nil), reports...)
	sortNewestFirst(sorted)
	for i := range sorted {
		rep := &sorted[i]
		if st.latest == nil {
			st.latest = rep
		}
		switch {
		case !rep.Status.Phase.Finished():
			if st.active == nil {
				st.active = rep
			}
		case st.finished == nil:
			st.finished = rep
		}
		if rep.Status.Phase.Finished() && rep.Status.Phase != securityv1alpha1.ReportFailed && st.success == nil {
			st.success = rep
		}
		if rep.Spec.Trigger != securityv1alpha1.TriggerSchedule && rep.Spec.Source.Generation > st.ranGen {
			st.ranGen = rep.Spec.Source.Generation
		}
		if t := rep.Spec.ScheduledTime; t != nil && (st.lastSlot == nil || t.After(*st.lastSlot)) {
			st.lastSlot = &t.Time
		}
	}
}

// due tells whether a run should start now: for a spec generation not run
// yet, or for a schedule slot that has passed.
func (st *scanState) due(o runOwner) (securityv1alpha1.RunTrigger, *time.Time, bool) {
	if st.ranGen < o.generation {
		if st.ranGen == 0 {
			return securityv1alpha1.TriggerCreated, nil, true
		}
		return securityv1alpha1.TriggerSpecChanged, nil, true
	}
	if st.sched == nil {
		return "", nil, false
	}
	after := o.created
	if st.lastSlot != nil {
		after = *st.lastSlot
	}
	slot, ok := st.sched.LatestDue(after, st.now)
	if !ok {
		return "", nil, false
	}
	return securityv1alpha1.TriggerSchedule, &slot, true
}

// nextRun is the next schedule slot, if there is a schedule.
func (st *scanState) nextRun(o runOwner) *time.Time {
	if st.sched == nil || o.suspend {
		return nil
	}
	t := st.sched.Next(st.now)
	if t.IsZero() {
		return nil
	}
	return &t
}

// requeue wakes the reconciler at the next schedule slot, or earlier when
// the run in progress needs it (a benchmark node's timeout). Runs in
// progress and new generations are otherwise driven by watch events.
func (st *scanState) requeue(o runOwner) ctrl.Result {
	after := st.runRequeue
	if next := st.nextRun(o); next != nil {
		if d := next.Sub(st.now) + time.Second; after == 0 || d < after {
			after = d
		}
	}
	return ctrl.Result{RequeueAfter: after}
}

// setStatus writes everything the status says, from the state alone.
func (st *scanState) setStatus(sc *securityv1alpha1.SecurityScan) {
	s := &sc.Status
	st.setRunStatus(&s.RunStatus, scanOwner(sc), "SecurityScan", sc.Namespace)
	if st.finished != nil {
		s.Namespaces = st.finished.Status.Namespaces
	}
	s.Benchmark = benchmarkProgress(st.active)
	if st.active == nil {
		s.Benchmark = benchmarkProgress(st.finished)
	}
}

// setRunStatus writes what a SecurityScan's and a PolicyProbe's status
// say alike of their runs, from the state alone (their reports): the kind
// and namespace of the owner word its conditions.
func (st *scanState) setRunStatus(s *securityv1alpha1.RunStatus, owner runOwner, kind, namespace string) {
	s.ObservedGeneration = owner.generation
	s.LastRunGeneration = st.ranGen
	s.LastScheduleTime = timePtr(st.lastSlot)
	s.NextRunTime = timePtr(st.nextRun(owner))
	s.LatestReport, s.ActiveReport, s.LastRunTime = "", "", nil
	if st.latest != nil {
		s.LatestReport = st.latest.Name
		s.LastRunTime = st.latest.Status.StartTime
		if s.LastRunTime == nil {
			s.LastRunTime = &st.latest.CreationTimestamp
		}
	}
	if st.active != nil {
		s.ActiveReport = st.active.Name
	}
	if st.success != nil {
		s.LastSuccessfulRunTime = st.success.Status.CompletionTime
	}
	noun, plural := "scan", "scans"
	if kind == "PolicyProbe" {
		noun, plural = "probe", "probes"
	}
	meta.SetStatusCondition(&s.Conditions, st.readyCondition(owner.generation))
	meta.SetStatusCondition(&s.Conditions, st.scanningCondition(owner.generation, owner.suspend, noun))
	meta.SetStatusCondition(&s.Conditions, st.degradedCondition(owner.generation))
	setScopeCondition(&s.Conditions, kind, plural, namespace, owner.generation, st.narrowed)
}

func (st *scanState) readyCondition(generation int64) metav1.Condition {
	c := metav1.Condition{Type: securityv1alpha1.ConditionReady, ObservedGeneration: generation}
	switch {
	case st.schedErr != nil:
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, securityv1alpha1.ReasonInvalidSchedule, st.schedErr.Error()
	case st.finished == nil:
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, securityv1alpha1.ReasonPending, "The first run has not finished yet"
	case st.finished.Status.Phase == securityv1alpha1.ReportFailed:
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, securityv1alpha1.ReasonFailed, fmt.Sprintf("Run %s failed: %s", st.finished.Name, conditionMessage(st.finished))
	default:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, securityv1alpha1.ReasonSucceeded, fmt.Sprintf("Latest run %s is %s", st.finished.Name, st.finished.Status.Phase)
	}
	return c
}

// scanningCondition is the Scanning condition; noun names the object in
// its message ("scan", "probe").
func (st *scanState) scanningCondition(generation int64, suspend bool, noun string) metav1.Condition {
	c := metav1.Condition{Type: securityv1alpha1.ConditionScanning, ObservedGeneration: generation}
	switch {
	case st.active != nil:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, securityv1alpha1.ReasonRunning, "Run "+st.active.Name+" is in progress"
	case suspend:
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, securityv1alpha1.ReasonSuspended, "The "+noun+" is suspended: no new runs start"
	default:
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, securityv1alpha1.ReasonIdle, "No run in progress"
	}
	return c
}

func (st *scanState) degradedCondition(generation int64) metav1.Condition {
	c := metav1.Condition{Type: securityv1alpha1.ConditionDegraded, ObservedGeneration: generation,
		Status: metav1.ConditionFalse, Reason: securityv1alpha1.ReasonSucceeded, Message: "The latest run covered everything"}
	if st.finished == nil {
		c.Reason, c.Message = securityv1alpha1.ReasonPending, "No run has finished yet"
	} else if p := st.finished.Status.Phase; p != securityv1alpha1.ReportComplete {
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, phaseReason(p), conditionMessage(st.finished)
	}
	return c
}

// setScopeCondition records whether the multi-tenancy rule narrowed the
// scope of a kind (SecurityScan, PolicyProbe) in namespace; verb says what
// it does ("scans", "probes").
func setScopeCondition(conditions *[]metav1.Condition, kind, verb, namespace string, generation int64, restricted bool) {
	if !restricted {
		meta.RemoveStatusCondition(conditions, securityv1alpha1.ConditionScopeRestricted)
		return
	}
	meta.SetStatusCondition(conditions, metav1.Condition{
		Type: securityv1alpha1.ConditionScopeRestricted, Status: metav1.ConditionTrue, ObservedGeneration: generation,
		Reason:  securityv1alpha1.ReasonNamespaceScoped,
		Message: fmt.Sprintf("spec.namespaces asks for other namespaces; a %s outside the operator's namespace only %s its own namespace (%s)", kind, verb, namespace),
	})
}

func phaseReason(p securityv1alpha1.ReportPhase) string {
	if p == securityv1alpha1.ReportFailed {
		return securityv1alpha1.ReasonFailed
	}
	return securityv1alpha1.ReasonPartiallySucceeded
}

// setReportConditions sets a finished report's Complete condition: its
// message names the analyzers that failed, and those that succeeded only
// in part (the benchmark when some nodes failed).
func setReportConditions(rep *securityv1alpha1.ScanReport) {
	var failed, partly []string
	for _, a := range rep.Status.Analyzers {
		switch {
		case a.Phase == securityv1alpha1.AnalyzerFailed:
			failed = append(failed, fmt.Sprintf("%s: %s (%s)", a.Name, a.Reason, a.Message))
		case partial(a):
			partly = append(partly, fmt.Sprintf("%s: %s (%s)", a.Name, a.Reason, a.Message))
		}
	}
	c := metav1.Condition{Type: securityv1alpha1.ConditionComplete, Status: metav1.ConditionTrue, Reason: securityv1alpha1.ReasonSucceeded, Message: "Every analyzer succeeded"}
	if len(failed)+len(partly) > 0 {
		var parts []string
		if len(failed) > 0 {
			parts = append(parts, "Failed analyzers: "+strings.Join(failed, "; "))
		}
		if len(partly) > 0 {
			parts = append(parts, "Partly failed: "+strings.Join(partly, "; "))
		}
		c.Reason = phaseReason(rep.Status.Phase)
		c.Message = text.Cut(strings.Join(parts, ". "), text.MaxField)
		if rep.Status.Phase == securityv1alpha1.ReportFailed {
			c.Status = metav1.ConditionFalse
		}
	}
	meta.SetStatusCondition(&rep.Status.Conditions, c)
}

// conditionMessage is the message of a report's Complete condition.
func conditionMessage(rep *securityv1alpha1.ScanReport) string {
	if c := meta.FindStatusCondition(rep.Status.Conditions, securityv1alpha1.ConditionComplete); c != nil {
		return c.Message
	}
	return string(rep.Status.Phase)
}

func isInvalidSchedule(s *securityv1alpha1.SecurityScanStatus) bool {
	c := meta.FindStatusCondition(s.Conditions, securityv1alpha1.ConditionReady)
	return c != nil && c.Reason == securityv1alpha1.ReasonInvalidSchedule
}

func timePtr(t *time.Time) *metav1.Time {
	if t == nil {
		return nil
	}
	return &metav1.Time{Time: *t}
}

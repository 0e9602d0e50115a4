package controllers

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
)

// runOwner is what the run bookkeeping (scanState) needs of a SecurityScan
// or a PolicyProbe: both run on creation, on each spec change and on their
// schedule, with one report per run.
type runOwner struct {
	generation        int64
	created           time.Time
	suspend           bool
	lastRunGeneration int64
	lastScheduleTime  *metav1.Time
}

func scanOwner(sc *securityv1alpha1.SecurityScan) runOwner {
	return runOwner{generation: sc.Generation, created: sc.CreationTimestamp.Time, suspend: sc.Spec.Suspend,
		lastRunGeneration: sc.Status.LastRunGeneration, lastScheduleTime: sc.Status.LastScheduleTime}
}

func probeOwner(pp *securityv1alpha1.PolicyProbe) runOwner {
	return runOwner{generation: pp.Generation, created: pp.CreationTimestamp.Time, suspend: pp.Spec.Suspend,
		lastRunGeneration: pp.Status.LastRunGeneration, lastScheduleTime: pp.Status.LastScheduleTime}
}

// pruneReports deletes finished reports beyond limit, oldest first.
func pruneReports(ctx context.Context, c client.Writer, reports []securityv1alpha1.ScanReport, limit int) error {
	var finished []securityv1alpha1.ScanReport
	for _, rep := range reports {
		if rep.Status.Phase.Finished() && rep.DeletionTimestamp.IsZero() {
			finished = append(finished, rep)
		}
	}
	if len(finished) <= limit {
		return nil
	}
	sortNewestFirst(finished)
	for i := range finished[limit:] {
		rep := &finished[limit+i]
		if err := c.Delete(ctx, rep, client.Preconditions{UID: &rep.UID}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting old ScanReport %s: %w", rep.Name, err)
		}
		log.FromContext(ctx).V(1).Info("Deleted old report", "report", rep.Name)
	}
	return nil
}

// newRunReport is the report of a new run of owner, a SecurityScan or
// PolicyProbe (kind) of spec generation: named name, labelled with
// labelKey and the owner's name, so that the owner finds its reports.
func newRunReport(owner client.Object, kind string, generation int64, name, labelKey string, trigger securityv1alpha1.RunTrigger, slot *time.Time) *securityv1alpha1.ScanReport {
	rep := &securityv1alpha1.ScanReport{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: owner.GetNamespace(),
			Labels: map[string]string{
				securityv1alpha1.LabelManagedBy: securityv1alpha1.ManagedByValue,
				labelKey:                        labelValue(owner.GetName()),
			},
		},
		Spec: securityv1alpha1.ScanReportSpec{
			Source:  securityv1alpha1.ReportSource{Kind: kind, Name: owner.GetName(), Generation: generation},
			Trigger: trigger,
		},
	}
	if slot != nil {
		rep.Spec.ScheduledTime = &metav1.Time{Time: *slot}
	}
	return rep
}

// runReports creates the reports of new runs, for both controllers.
type runReports struct {
	client   client.Client
	reader   client.Reader
	scheme   *runtime.Scheme
	recorder events.EventRecorder
	clock    clock.PassiveClock
}

// start creates rep, the report of a new run of owner, controlled by it,
// marks it Running, and logs and records the start (action is the event's
// action, Scan or Probe). Report names are deterministic: when rep exists
// already, the run was started before (by an operator that restarted
// since), and rep is filled from the API reader instead, unless another
// object controls it.
func (rr runReports) start(ctx context.Context, owner client.Object, rep *securityv1alpha1.ScanReport, action string) (*securityv1alpha1.ScanReport, error) {
	if err := controllerutil.SetControllerReference(owner, rep, rr.scheme); err != nil {
		return nil, err
	}
	if err := rr.client.Create(ctx, rep); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("creating ScanReport %s: %w", rep.Name, err)
		}
		if err := rr.reader.Get(ctx, client.ObjectKeyFromObject(rep), rep); err != nil {
			return nil, fmt.Errorf("getting ScanReport %s: %w", rep.Name, err)
		}
		if !metav1.IsControlledBy(rep, owner) {
			return nil, fmt.Errorf("ScanReport %s exists and belongs to another object; waiting for it to be deleted", rep.Name)
		}
		return rep, nil
	}
	rep.Status = securityv1alpha1.ScanReportStatus{Phase: securityv1alpha1.ReportRunning, StartTime: &metav1.Time{Time: rr.clock.Now()}}
	if err := rr.client.Status().Update(ctx, rep); err != nil {
		return nil, fmt.Errorf("marking ScanReport %s running: %w", rep.Name, err)
	}
	log.FromContext(ctx).Info("Run started", "report", rep.Name, "trigger", rep.Spec.Trigger)
	rr.recorder.Eventf(owner, rep, "Normal", EventRunStarted, action, "Run started (%s), report %s", rep.Spec.Trigger, rep.Name)
	return rep, nil
}

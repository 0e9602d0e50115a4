package controllers

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
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

// createRunReport creates rep, the report of a new run of owner, controlled
// by it, and marks it Running at now; slot is the schedule slot of a
// scheduled run. Report names are deterministic: when rep exists already,
// the run was started before (by an operator that restarted since), and
// rep is filled from reader with created false, unless another object
// controls it.
func createRunReport(ctx context.Context, c client.Client, reader client.Reader, scheme *runtime.Scheme, owner client.Object, rep *securityv1alpha1.ScanReport, slot *time.Time, now time.Time) (created bool, err error) {
	if slot != nil {
		rep.Spec.ScheduledTime = &metav1.Time{Time: *slot}
	}
	if err := controllerutil.SetControllerReference(owner, rep, scheme); err != nil {
		return false, err
	}
	if err := c.Create(ctx, rep); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return false, fmt.Errorf("creating ScanReport %s: %w", rep.Name, err)
		}
		if err := reader.Get(ctx, client.ObjectKeyFromObject(rep), rep); err != nil {
			return false, fmt.Errorf("getting ScanReport %s: %w", rep.Name, err)
		}
		if !metav1.IsControlledBy(rep, owner) {
			return false, fmt.Errorf("ScanReport %s exists and belongs to another object; waiting for it to be deleted", rep.Name)
		}
		return false, nil
	}
	rep.Status = securityv1alpha1.ScanReportStatus{Phase: securityv1alpha1.ReportRunning, StartTime: &metav1.Time{Time: now}}
	if err := c.Status().Update(ctx, rep); err != nil {
		return false, fmt.Errorf("marking ScanReport %s running: %w", rep.Name, err)
	}
	return true, nil
}

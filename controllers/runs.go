package controllers

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
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

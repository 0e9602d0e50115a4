package controllers

import (
	"k8s.io/apimachinery/pkg/api/meta"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
)

// setProbeStatus writes everything a PolicyProbe's status says, from the
// state alone (its reports), and the policy change waiting for a run.
func (st *scanState) setProbeStatus(pp *securityv1alpha1.PolicyProbe, change *securityv1alpha1.PolicyChange) {
	s := &pp.Status
	s.ObservedGeneration = pp.Generation
	s.LastRunGeneration = st.ranGen
	s.LastScheduleTime = timePtr(st.lastSlot)
	s.NextRunTime = timePtr(st.nextRun(probeOwner(pp)))
	s.PolicyChange = change
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
	meta.SetStatusCondition(&s.Conditions, st.readyCondition(pp.Generation))
	meta.SetStatusCondition(&s.Conditions, st.scanningCondition(pp.Generation, pp.Spec.Suspend, "probe"))
	meta.SetStatusCondition(&s.Conditions, st.degradedCondition(pp.Generation))
	setScopeCondition(&s.Conditions, "PolicyProbe", "probes", pp.Namespace, pp.Generation, st.narrowed)
}

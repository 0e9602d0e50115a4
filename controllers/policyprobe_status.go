package controllers

import (
	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
)

// setProbeStatus writes everything a PolicyProbe's status says, from the
// state alone (its reports), and the policy change waiting for a run.
func (st *scanState) setProbeStatus(pp *securityv1alpha1.PolicyProbe, change *securityv1alpha1.PolicyChange) {
	st.setRunStatus(&pp.Status.RunStatus, probeOwner(pp), "PolicyProbe", pp.Namespace)
	pp.Status.PolicyChange = change
}

package probepods

import (
	"fmt"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/probe"
	"github.com/palisade-sec/palisade/internal/text"
)

// verdict is what an observation says about the connection.
type verdict int

const (
	unknown verdict = iota
	allowed
	blocked
)

// Judge records a client's outcome for a pending case: what was observed,
// whether that is what was expected, and why. Connected is allowed; a
// Timeout is blocked; Refused by a Palisade server, which listens on every
// port it is probed on, is blocked by a CNI that rejects what it denies.
// Against an address outside the cluster, where nobody is known to listen,
// Refused (a closed port, or a rejecting CNI) and a UDP Timeout (a dropped
// datagram, or nobody answering) prove nothing: Inconclusive. Errors are
// Inconclusive with the client's reason.
func Judge(c *securityv1alpha1.ProbeCase, o probe.Outcome) {
	if c.Result != securityv1alpha1.ProbePending {
		return
	}
	if c.Check == securityv1alpha1.CheckMTLS {
		judgeMTLS(c, o)
		return
	}
	external := c.Destination.Pod == ""
	var v verdict
	var saw string
	switch o.Code {
	case probe.Connected:
		c.Observed, v, saw = securityv1alpha1.ObservedConnected, allowed, "connected"
	case probe.Timeout:
		c.Observed, v, saw = securityv1alpha1.ObservedTimeout, blocked, "timed out"
		if external && c.Protocol == securityv1alpha1.ProtocolUDP {
			v, saw = unknown, "timed out, which proves nothing over UDP to an address no Palisade server answers on"
		} else if external {
			saw = "timed out (blocked, or the address does not answer)"
		}
	case probe.Refused:
		c.Observed, v, saw = securityv1alpha1.ObservedRefused, blocked, "refused although the probe server listens: a CNI that rejects denied connections"
		if external {
			v, saw = unknown, "refused by an address outside the cluster: a closed port and a CNI that rejects look the same"
		}
	default:
		c.Observed, v, saw = securityv1alpha1.ObservedError, unknown, fmt.Sprintf("failed (%s: %s)", o.Code, o.Reason)
	}
	why := c.Reason
	switch {
	case v == unknown:
		c.Result = securityv1alpha1.ProbeInconclusive
		c.Reason = fmt.Sprintf("The connection %s", saw)
	case (v == allowed) == (c.Expected == securityv1alpha1.ExpectAllow):
		c.Result = securityv1alpha1.ProbeMatch
		c.Reason = fmt.Sprintf("The connection %s in %s, as expected (%s)", saw, o.Elapsed, c.Expected)
	case v == allowed:
		c.Result = securityv1alpha1.ProbeMismatch
		c.Reason = fmt.Sprintf("Expected Deny, but the connection %s: the NetworkPolicies are not enforced", saw)
	default:
		c.Result = securityv1alpha1.ProbeMismatch
		c.Reason = fmt.Sprintf("Expected Allow, but the connection %s", saw)
	}
	if why != "" {
		c.Reason += "; " + why
	}
	c.Reason = text.Cut(c.Reason, maxReason)
}

// judgeMTLS records a plaintext probe's outcome. A plaintext reply proves
// plaintext is accepted: a match where the mode accepts it, a mismatch
// under STRICT. A rejection (reset, close, TLS) is what STRICT does; where
// the mode accepts plaintext it more likely means an application that
// closes on an unexpected request, so it proves nothing. Not reaching the
// workload at all (a NetworkPolicy, nothing listening) proves nothing
// either.
func judgeMTLS(c *securityv1alpha1.ProbeCase, o probe.Outcome) {
	why := c.Reason
	strict := c.Expected == securityv1alpha1.ExpectDeny
	switch o.Code {
	case probe.PlaintextAccepted:
		c.Observed = securityv1alpha1.ObservedPlaintextAccepted
		if strict {
			c.Result, c.Reason = securityv1alpha1.ProbeMismatch, fmt.Sprintf("A plaintext request from outside the mesh got a plaintext reply (%s) although the mode is STRICT", o.Reason)
		} else {
			c.Result, c.Reason = securityv1alpha1.ProbeMatch, fmt.Sprintf("A plaintext request from outside the mesh got a plaintext reply (%s), as the mode allows", o.Reason)
		}
	case probe.PlaintextRejected:
		c.Observed = securityv1alpha1.ObservedPlaintextRejected
		if strict && c.BypassesSidecar {
			c.Result, c.Reason = securityv1alpha1.ProbeInconclusive, fmt.Sprintf("The plaintext request was rejected (%s) by the application itself: the sidecar does not intercept the port", o.Reason)
		} else if strict {
			c.Result, c.Reason = securityv1alpha1.ProbeMatch, fmt.Sprintf("The plaintext request was rejected (%s): STRICT is enforced", o.Reason)
		} else {
			c.Result, c.Reason = securityv1alpha1.ProbeInconclusive, fmt.Sprintf("The plaintext request was rejected (%s) although the mode accepts plaintext: the application may close on an unexpected request", o.Reason)
		}
	default:
		c.Observed, c.Result = securityv1alpha1.ObservedError, securityv1alpha1.ProbeInconclusive
		if o.Code == probe.Refused || o.Code == probe.Timeout {
			c.Observed = securityv1alpha1.ProbeObservation(o.Code.String())
		}
		c.Reason = fmt.Sprintf("The workload could not be reached (%s %s): a NetworkPolicy may block the probe client, or nothing listens on the port", o.Code, o.Reason)
	}
	c.Reason = text.Cut(c.Reason+"; "+why, maxReason)
}

// Inconclusive records that a pending case could not be probed, and why.
func Inconclusive(c *securityv1alpha1.ProbeCase, reason string) {
	if c.Result != securityv1alpha1.ProbePending {
		return
	}
	c.Result, c.Reason = securityv1alpha1.ProbeInconclusive, text.Cut(reason, maxReason)
}

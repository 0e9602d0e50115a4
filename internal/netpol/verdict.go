package netpol

import (
	"fmt"
	"io"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Result is the answer for one connection.
type Result uint8

// Results. The zero Result is Deny.
const (
	Deny Result = iota
	Allow
	// Unspecified is never asserted: NetworkPolicy does not define the
	// answer, or CNIs disagree on it (a pod connecting to itself), or the
	// engine cannot tell (a cluster-wide rule it cannot evaluate, or
	// policies of one priority that disagree).
	Unspecified
)

var resultNames = [...]string{Deny: "Deny", Allow: "Allow", Unspecified: "Unspecified"}

// String returns "Allow", "Deny" or "Unspecified".
func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return fmt.Sprintf("Result(%d)", r)
}

// MarshalText renders the result as String does.
func (r Result) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses "Allow", "Deny" or "Unspecified".
func (r *Result) UnmarshalText(b []byte) error {
	for i, name := range resultNames {
		if string(b) == name {
			*r = Result(i)
			return nil
		}
	}
	return fmt.Errorf("unknown verdict %q", b)
}

// Verdict is the answer for one connection with its explanation.
type Verdict struct {
	Result Result `json:"verdict"`
	// Reason says why the result is Unspecified.
	Reason   string          `json:"reason,omitempty"`
	From     EndpointInfo    `json:"from"`
	To       EndpointInfo    `json:"to"`
	Port     int32           `json:"port"`
	Protocol corev1.Protocol `json:"protocol"`
	// Egress is the source's side, Ingress the destination's.
	Egress  DirectionVerdict `json:"egress"`
	Ingress DirectionVerdict `json:"ingress"`
}

// EndpointInfo is one end of the connection as resolved.
type EndpointInfo struct {
	// Pod is "namespace/name", empty for an address outside the cluster.
	Pod         string `json:"pod,omitempty"`
	IP          string `json:"ip"`
	HostNetwork bool   `json:"hostNetwork,omitempty"`
}

func (e EndpointInfo) String() string {
	if e.Pod == "" {
		return e.IP
	}
	return fmt.Sprintf("%s (%s)", e.Pod, e.IP)
}

// DirectionVerdict is what one side's policies say.
type DirectionVerdict struct {
	Direction Direction `json:"direction"`
	// Result is Allow or Deny, or Unspecified when the engine cannot tell
	// whether a cluster-wide rule applies (see Reason).
	Result Result `json:"verdict"`
	// Endpoint is the end whose policies apply: the source for egress, the
	// destination for ingress.
	Endpoint string `json:"endpoint"`
	// Isolated is true when some NetworkPolicy selects the endpoint for
	// this direction; then, unless an admin-tier rule decides, only its
	// rules can allow the connection.
	Isolated bool `json:"isolated"`
	// Reason says why the endpoint is not isolated or, when Result is
	// Unspecified, why the engine cannot tell.
	Reason string `json:"reason,omitempty"`
	// Policies are the NetworkPolicies selecting the endpoint for this
	// direction, when they were consulted (no admin-tier rule decided).
	Policies []PolicyResult `json:"policies,omitempty"`
	// Caveats are CNI-dependent conditions on the result.
	Caveats []string `json:"caveats,omitempty"`
	// Admin is the admin-tier rule (of an AdminNetworkPolicy, or of a
	// ClusterNetworkPolicy of tier Admin) that decided the direction, or
	// that passed it on to NetworkPolicies; when Result is Unspecified,
	// the rule the engine cannot judge, or one of two that conflict. Nil
	// when no admin-tier rule matched.
	Admin *TierDecision `json:"admin,omitempty"`
	// Baseline is the baseline-tier rule (of the
	// BaselineAdminNetworkPolicy, or of a ClusterNetworkPolicy of tier
	// Baseline) that decided the direction, consulted because no admin
	// rule decided and no NetworkPolicy isolates the endpoint; as Admin
	// when Result is Unspecified.
	Baseline *TierDecision `json:"baseline,omitempty"`
}

// TierDecision is how a rule of a cluster-wide policy judged the
// connection.
type TierDecision struct {
	// Policy is "kind/name", e.g. "AdminNetworkPolicy/deny-all".
	Policy string `json:"policy"`
	// Rule is the rule's index in spec.ingress or spec.egress, RuleName its
	// name (may be empty).
	Rule     int    `json:"rule"`
	RuleName string `json:"ruleName,omitempty"`
	// Action is the rule's action as written: Allow, Deny or Pass
	// (AdminNetworkPolicy, BaselineAdminNetworkPolicy), Accept, Deny or
	// Pass (ClusterNetworkPolicy).
	Action string `json:"action"`
	// Detail says which peer and port matched, or why the engine cannot
	// tell whether the rule matches.
	Detail string `json:"detail,omitempty"`
}

// PolicyResult is how one policy's rules judged the connection.
type PolicyResult struct {
	Policy string       `json:"policy"`
	Rules  []RuleResult `json:"rules"`
}

// RuleResult is how one rule judged the connection.
type RuleResult struct {
	// Rule is the rule's index in spec.ingress or spec.egress.
	Rule   int  `json:"rule"`
	Allows bool `json:"allows"`
	// Peer and Port index the peer and port entry that admitted the
	// connection, -1 when the rule lists none (so every one is admitted);
	// nil when the rule does not allow it.
	Peer *int `json:"peer,omitempty"`
	Port *int `json:"port,omitempty"`
	// Detail says, in words, what matched or what did not.
	Detail string `json:"detail"`
}

// WriteText renders the verdict for a terminal: the result in capitals on
// the first line, then the explanation.
func (v *Verdict) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", strings.ToUpper(v.Result.String()))
	fmt.Fprintf(&b, "%s -> %s, port %d/%s\n", v.From, v.To, v.Port, v.Protocol)
	if v.Reason != "" {
		fmt.Fprintf(&b, "%s\n", v.Reason)
	}
	v.Egress.writeText(&b)
	v.Ingress.writeText(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

func (v *DirectionVerdict) writeText(b *strings.Builder) {
	fmt.Fprintf(b, "%s %s: %s\n", v.Direction.word(), v.Endpoint, v.Result)
	v.tierText(b, "admin", v.Admin)
	switch {
	case v.Result == Unspecified:
		v.tierText(b, "baseline", v.Baseline)
		fmt.Fprintf(b, "  cannot tell: %s\n", v.Reason)
		return
	case v.Admin != nil && v.Admin.effect() != effectPass:
		fmt.Fprintf(b, "  the admin tier decides: NetworkPolicies are not consulted\n")
	case !v.Isolated:
		fmt.Fprintf(b, "  not isolated: %s\n", v.Reason)
		v.tierText(b, "baseline", v.Baseline)
	default:
		v.writePolicies(b)
	}
	for _, c := range v.Caveats {
		fmt.Fprintf(b, "  caveat: %s\n", c)
	}
}

// writePolicies renders the NetworkPolicies that isolate the endpoint.
func (v *DirectionVerdict) writePolicies(b *strings.Builder) {
	names := make([]string, len(v.Policies))
	for i, p := range v.Policies {
		names[i] = p.Policy
	}
	fmt.Fprintf(b, "  isolated by %s\n", strings.Join(names, ", "))
	for _, p := range v.Policies {
		if len(p.Rules) == 0 {
			fmt.Fprintf(b, "  %s: no %s rules, so it allows nothing\n", p.Policy, v.Direction.field())
		}
		for _, r := range p.Rules {
			fmt.Fprintf(b, "  %s %s[%d]: %s\n", p.Policy, v.Direction.field(), r.Rule, r.Detail)
		}
	}
	if v.Result == Deny {
		fmt.Fprintf(b, "  no rule allows the connection\n")
	}
}

// Brief sums the verdict up on one line, e.g. "Deny (egress: not isolated;
// ingress: isolated by x/deny-all, no rule admits it)".
func (v *Verdict) Brief() string {
	if v.Result == Unspecified {
		return "Unspecified: " + v.Reason
	}
	return fmt.Sprintf("%s (egress: %s; ingress: %s)", v.Result, v.Egress.brief(), v.Ingress.brief())
}

// brief says which policies decided one direction, e.g. "denied by admin
// rule AdminNetworkPolicy/deny-all ingress[0]", or "not isolated, so
// baseline rule BaselineAdminNetworkPolicy/default ingress[0] denies it".
func (dv *DirectionVerdict) brief() string {
	if dv.Result == Unspecified {
		return "cannot tell: " + dv.Reason
	}
	if a := dv.Admin; a != nil && a.effect() != effectPass {
		return fmt.Sprintf("%s by admin rule %s", byResult(dv.Result, "allowed", "denied"), dv.describeRule(a))
	}
	s := dv.networkPoliciesBrief()
	if b := dv.Baseline; b != nil {
		if b.effect() == effectPass {
			s = fmt.Sprintf("not isolated; baseline rule %s passes, so it is allowed", dv.describeRule(b))
		} else {
			s = fmt.Sprintf("not isolated, so baseline rule %s %s it", dv.describeRule(b), byResult(dv.Result, "allows", "denies"))
		}
	}
	if a := dv.Admin; a != nil {
		s = fmt.Sprintf("admin rule %s passes to NetworkPolicies; %s", dv.describeRule(a), s)
	}
	return s
}

// byResult returns allow for Allow, deny otherwise.
func byResult(r Result, allow, deny string) string {
	if r == Allow {
		return allow
	}
	return deny
}

// networkPoliciesBrief says which NetworkPolicies decided the direction.
func (dv *DirectionVerdict) networkPoliciesBrief() string {
	if !dv.Isolated {
		return "not isolated"
	}
	var all, allowing []string
	for _, p := range dv.Policies {
		all = append(all, p.Policy)
		if slices.ContainsFunc(p.Rules, func(r RuleResult) bool { return r.Allows }) {
			allowing = append(allowing, p.Policy)
		}
	}
	if dv.Result == Allow {
		return "allowed by " + strings.Join(allowing, ", ")
	}
	return "isolated by " + strings.Join(all, ", ") + ", no rule admits it"
}

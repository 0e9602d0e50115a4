package probepods

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/netpol/cases"
	"github.com/palisade-sec/palisade/internal/probe"
	"github.com/palisade-sec/palisade/internal/text"
)

// Limits of a run, so that its report stays small.
const (
	// MaxCases is the most cases a run probes, explicit ones first.
	MaxCases = 1000
	// MaxNotes is the most generation notes a report keeps.
	MaxNotes = 20
	// maxReason is the API's limit on a case's reason.
	maxReason = 512
)

// Reasons a case is Inconclusive before anything is probed.
const (
	ReasonNamespaceNotFound = "NamespaceNotFound"
	ReasonOutOfScope        = "OutOfScope"
	ReasonSCTP              = "SCTPNotProbed"
)

// ExplicitCase is a spec.cases entry with what the controller found out
// about it from the cluster.
type ExplicitCase struct {
	Spec securityv1alpha1.ProbeCaseSpec
	// NamedPorts are those the destination's server declares: copied from
	// a pod of the destination's namespace that carries its labels.
	NamedPorts []securityv1alpha1.ProbeNamedPort
	// EngineVerdict is the engine's verdict (Allow, Deny, Unspecified), ""
	// when it cannot judge the case (a DNS name).
	EngineVerdict string
	// Why explains the engine's verdict.
	Why string
	// Inconclusive says why the case cannot be probed ("Reason: message"),
	// empty when it can.
	Inconclusive string
}

// PlanInput is what a run probes.
type PlanInput struct {
	// Report is the name of the run's report; pod names derive from it.
	Report string
	// Generated are the cases generation produced, nil when it is off.
	Generated *cases.Plan
	// Explicit are spec.cases, in order.
	Explicit []ExplicitCase
	// MTLS are the plaintext probes of mesh workloads, nil without
	// spec.mtls.
	MTLS *MTLSPlan
	// TemporaryNamespaces are the namespaces the run creates for its
	// cases.
	TemporaryNamespaces []securityv1alpha1.ProbeTemporaryNamespace
	// Notes are the controller's own, first.
	Notes []string
}

// NewPlan lays out a run: its cases (explicit ones first, then MTLS ones,
// then generated ones, MaxCases in all), the server pod each NetworkPolicy
// case targets and the client pod that tries each case.
func NewPlan(in PlanInput) (*securityv1alpha1.ProbeResults, error) {
	p := &planner{report: in.Report, servers: map[string]int{}, res: &securityv1alpha1.ProbeResults{TemporaryNamespaces: in.TemporaryNamespaces}}
	p.note(in.Notes...)
	for _, e := range in.Explicit {
		p.addExplicit(e)
	}
	if m := in.MTLS; m != nil {
		p.res.CasesOmitted += int32(m.Omitted)
		for i, c := range m.Cases {
			if len(p.res.Cases) == MaxCases {
				p.res.CasesOmitted += int32(len(m.Cases) - i)
				break
			}
			p.add(c, nil)
		}
		p.note(m.Notes...)
	}
	if g := in.Generated; g != nil {
		p.res.CasesOmitted += int32(g.Dropped)
		for i := range g.Cases {
			if len(p.res.Cases) == MaxCases {
				p.res.CasesOmitted += int32(len(g.Cases) - i)
				break
			}
			p.addGenerated(&g.Cases[i])
		}
		p.note(g.Notes...)
	}
	if err := p.assignClients(); err != nil {
		return nil, err
	}
	p.res.Counts = Count(p.res.Cases)
	return p.res, nil
}

type planner struct {
	report  string
	res     *securityv1alpha1.ProbeResults
	servers map[string]int // identity key → index in res.Servers
}

// note keeps notes, MaxNotes in all.
func (p *planner) note(notes ...string) {
	for _, n := range notes {
		if len(p.res.Notes) == MaxNotes {
			return
		}
		p.res.Notes = append(p.res.Notes, text.Cut(n, maxReason))
	}
}

func (p *planner) addGenerated(c *cases.Case) {
	pc := securityv1alpha1.ProbeCase{
		Name: c.Name, Origin: securityv1alpha1.ProbeGenerated, Check: securityv1alpha1.CheckNetworkPolicy, Policy: c.Policy,
		Source: securityv1alpha1.ProbeEndpoint{Namespace: c.From.Namespace, PodLabels: c.From.Labels},
		Port:   c.Port, Protocol: securityv1alpha1.Protocol(c.Protocol),
		Expected: securityv1alpha1.Expectation(c.Expected.String()), EngineVerdict: c.Expected.String(),
		Result: securityv1alpha1.ProbePending, Reason: text.Cut(c.Why, maxReason),
	}
	var ports []securityv1alpha1.ProbeNamedPort
	if c.ToIP.IsValid() {
		pc.Destination.IP = c.ToIP.String()
	} else {
		pc.Destination = securityv1alpha1.ProbeEndpoint{Namespace: c.To.Namespace, PodLabels: c.To.Labels}
		for _, np := range c.To.NamedPorts {
			ports = append(ports, securityv1alpha1.ProbeNamedPort{Name: np.Name, Port: np.Port, Protocol: securityv1alpha1.Protocol(np.Protocol)})
		}
	}
	p.add(pc, ports)
}

func (p *planner) addExplicit(e ExplicitCase) {
	s := e.Spec
	pc := securityv1alpha1.ProbeCase{
		Name: s.Name, Origin: securityv1alpha1.ProbeExplicit, Check: securityv1alpha1.CheckNetworkPolicy,
		Source:      securityv1alpha1.ProbeEndpoint{Namespace: s.From.Namespace, PodLabels: s.From.PodLabels},
		Destination: securityv1alpha1.ProbeEndpoint{Namespace: s.To.Namespace, PodLabels: s.To.PodLabels, IP: s.To.IP, Host: s.To.Host},
		Port:        s.Port, Protocol: s.Protocol, Expected: s.Expect, EngineVerdict: e.EngineVerdict,
		Result: securityv1alpha1.ProbePending, Reason: text.Cut(e.Why, maxReason),
	}
	if pc.Protocol == "" {
		pc.Protocol = securityv1alpha1.ProtocolTCP
	}
	if e.Inconclusive != "" {
		pc.Result, pc.Reason = securityv1alpha1.ProbeInconclusive, text.Cut(e.Inconclusive, maxReason)
	}
	p.add(pc, e.NamedPorts)
}

// add appends a case and, for a NetworkPolicy case to a pod, gives it its
// server (an MTLS case targets the mesh workload itself).
func (p *planner) add(pc securityv1alpha1.ProbeCase, ports []securityv1alpha1.ProbeNamedPort) {
	if pc.Result == securityv1alpha1.ProbePending && pc.Protocol == securityv1alpha1.ProtocolSCTP {
		pc.Result, pc.Reason = securityv1alpha1.ProbeInconclusive, ReasonSCTP+": the probe programs have no SCTP sockets"
	}
	if pc.Result == securityv1alpha1.ProbePending && pc.Destination.Namespace != "" && pc.Check != securityv1alpha1.CheckMTLS {
		key := identityKey(pc.Destination.Namespace, pc.Destination.PodLabels, ports)
		i, ok := p.servers[key]
		if !ok {
			i = len(p.res.Servers)
			p.servers[key] = i
			p.res.Servers = append(p.res.Servers, securityv1alpha1.ProbeServer{
				Pod: serverName(p.report, key), Namespace: pc.Destination.Namespace, PodLabels: pc.Destination.PodLabels, NamedPorts: ports,
			})
		}
		pc.Destination.Pod = p.res.Servers[i].Pod
	}
	p.res.Cases = append(p.res.Cases, pc)
}

// assignClients groups the cases to probe by source identity and splits
// each group over as many client pods as its termination messages need.
func (p *planner) assignClients() error {
	var order []string
	targets := map[string][]probe.Target{}
	for i := range p.res.Cases {
		c := &p.res.Cases[i]
		if c.Result != securityv1alpha1.ProbePending {
			continue
		}
		key := identityKey(c.Source.Namespace, c.Source.PodLabels, nil)
		if _, ok := targets[key]; !ok {
			order = append(order, key)
		}
		targets[key] = append(targets[key], Target(c, i, ""))
	}
	for _, key := range order {
		groups, err := probe.Split(targets[key], probe.MaxMessageSize)
		if err != nil {
			return fmt.Errorf("splitting the targets of %s: %w", key, err)
		}
		for g, group := range groups {
			name := clientName(p.report, key, g)
			for _, t := range group {
				i, _ := CaseIndex(t.ID)
				p.res.Cases[i].Source.Pod = name
			}
		}
	}
	return nil
}

// TargetID is the ID of the i-th case in a client's target list and
// termination message: short, so that many fit in one message.
func TargetID(i int) string { return "c" + strconv.Itoa(i) }

// CaseIndex reads a TargetID back.
func CaseIndex(id string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "c"))
	return n, err == nil && strings.HasPrefix(id, "c") && n >= 0
}

// Target is what the client tries for the i-th case, c: host is the
// server's IP for a pod destination (when known; else its pod name stands
// in, as for planning).
func Target(c *securityv1alpha1.ProbeCase, i int, host string) probe.Target {
	t := probe.Target{ID: TargetID(i), Port: c.Port, Kind: probe.KindTCP}
	switch {
	case c.Check == securityv1alpha1.CheckMTLS:
		t.Kind = probe.KindHTTP
	case c.Protocol == securityv1alpha1.ProtocolUDP:
		t.Kind = probe.KindUDP
	}
	switch {
	case c.Destination.IP != "":
		t.Host = c.Destination.IP
	case c.Destination.Host != "":
		t.Host = c.Destination.Host
	case host != "":
		t.Host = host
	default:
		t.Host = c.Destination.Pod
	}
	return t
}

// Count counts cases by result.
func Count(cs []securityv1alpha1.ProbeCase) securityv1alpha1.ProbeCounts {
	out := securityv1alpha1.ProbeCounts{Total: int32(len(cs))}
	for _, c := range cs {
		switch c.Result {
		case securityv1alpha1.ProbeMatch:
			out.Match++
		case securityv1alpha1.ProbeMismatch:
			out.Mismatch++
		case securityv1alpha1.ProbeInconclusive:
			out.Inconclusive++
		default:
			out.Pending++
		}
	}
	return out
}

// serverPorts are the ports the server's cases probe, in case order.
func serverPorts(cs []securityv1alpha1.ProbeCase, server string) []probe.PortSpec {
	var out []probe.PortSpec
	seen := map[probe.PortSpec]bool{}
	for _, c := range cs {
		if c.Destination.Pod != server || c.Protocol == securityv1alpha1.ProtocolSCTP {
			continue
		}
		ps := probe.PortSpec{Port: c.Port, Protocol: probe.Protocol(c.Protocol)}
		if !seen[ps] {
			seen[ps] = true
			out = append(out, ps)
		}
	}
	return out
}

// protocol converts to the core API's protocol.
func protocol(p securityv1alpha1.Protocol) corev1.Protocol { return corev1.Protocol(p) }

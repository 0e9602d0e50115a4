package kubelet

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/clusterpolicy"
	"github.com/palisade-sec/palisade/internal/netpol"
	"github.com/palisade-sec/palisade/internal/probe"
	"github.com/palisade-sec/palisade/internal/probepods"
)

// probeNode is the node probe pods are bound to.
const probeNode = "probe-node"

// Peer is one end of a connection a probe client tries: a pod's namespace
// and labels, or an address outside the cluster (Host).
type Peer struct {
	Namespace string
	Labels    map[string]string
	Host      string
}

// Conn is a connection a probe client tries.
type Conn struct {
	From, To Peer
	Port     int32
	Protocol corev1.Protocol
}

// Override decides a connection's outcome instead of the simulated CNI;
// ok false leaves it to the CNI.
type Override func(Conn) (code probe.Code, ok bool)

// Plaintext decides how a pod that is no probe server answers a plaintext
// HTTP request on port: PlaintextAccepted or PlaintextRejected, as its
// sidecar would.
type Plaintext func(to *corev1.Pod, port int32) probe.Code

// ProbeNetwork plays, for PolicyProbe's probe pods in every namespace, the
// scheduler (binding), the kubelet (addresses, the servers' startup probe,
// the clients' termination messages) and a CNI that enforces
// NetworkPolicies (and AdminNetworkPolicies...) exactly as the netpol engine computes them: an allowed
// connection is Connected, a denied one times out. An Override scripts a
// CNI that does otherwise; NeverStart leaves the servers of a namespace
// waiting for their image.
//
// Tests drive it with Step, inside Eventually. Watch records every probe
// pod created, so that a test can check that none was created twice.
type ProbeNetwork struct {
	c client.Client

	mu        sync.Mutex
	override  Override
	plaintext Plaintext
	stuck     map[string]bool
	hold      bool
	nextIP    uint32
	created   map[string]map[types.UID]string // report label → pod UID → name
	attempts  int                             // connections tried
}

// NewProbeNetwork returns a simulator that reads and writes through c (a
// direct client, not a cache).
func NewProbeNetwork(c client.Client) *ProbeNetwork {
	return &ProbeNetwork{c: c, stuck: map[string]bool{}, created: map[string]map[types.UID]string{}}
}

// SetOverride scripts the network; nil goes back to enforcing the
// policies exactly.
func (n *ProbeNetwork) SetOverride(o Override) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.override = o
}

// SetPlaintext scripts how pods answer plaintext HTTP requests (mTLS
// probes); nil makes every such request an Error.
func (n *ProbeNetwork) SetPlaintext(p Plaintext) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.plaintext = p
}

// NeverStart keeps the probe servers of namespace from ever starting: their
// image cannot be pulled.
func (n *ProbeNetwork) NeverStart(namespace string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stuck[namespace] = true
}

// HoldClients keeps the probe clients running, without trying anything,
// until called with false.
func (n *ProbeNetwork) HoldClients(hold bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.hold = hold
}

// Created returns the names of the probe pods ever created for a report
// (by its label) and how many pods, by UID, that was.
func (n *ProbeNetwork) Created(report string) (names []string, pods int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	set := map[string]bool{}
	for _, name := range n.created[report] {
		set[name] = true
	}
	return slices.Sorted(maps.Keys(set)), len(n.created[report])
}

// Watch records, until ctx ends, every probe pod created. It returns once
// the first watch is established.
func (n *ProbeNetwork) Watch(ctx context.Context, w client.WithWatch) error {
	start := func() (watch.Interface, error) {
		return w.Watch(ctx, &corev1.PodList{}, client.MatchingLabels{securityv1alpha1.LabelManagedBy: securityv1alpha1.ManagedByValue})
	}
	wi, err := start()
	if err != nil {
		return fmt.Errorf("watching pods: %w", err)
	}
	go func() {
		for {
			for ev := range wi.ResultChan() {
				if p, ok := ev.Object.(*corev1.Pod); ok && p.Annotations[probepods.AnnotationRole] != "" {
					n.mu.Lock()
					report := p.Labels[securityv1alpha1.LabelReport]
					if n.created[report] == nil {
						n.created[report] = map[types.UID]string{}
					}
					n.created[report][p.UID] = p.Name
					n.mu.Unlock()
				}
			}
			wi.Stop()
			if ctx.Err() != nil {
				return
			}
			next, err := start()
			if err != nil {
				return
			}
			wi = next
		}
	}()
	return nil
}

// Step plays one round: deleted probe pods go away, new ones are bound and
// get an address, servers start (unless stuck), and clients try their
// targets and terminate with the outcomes in their termination message.
func (n *ProbeNetwork) Step(ctx context.Context) error {
	if err := n.serviceAccounts(ctx); err != nil {
		return err
	}
	all := &corev1.PodList{}
	if err := n.c.List(ctx, all); err != nil {
		return err
	}
	var servers, clients []*corev1.Pod
	for i := range all.Items {
		p := &all.Items[i]
		role := p.Annotations[probepods.AnnotationRole]
		switch {
		case role == "" || p.Labels[securityv1alpha1.LabelManagedBy] != securityv1alpha1.ManagedByValue:
		case !p.DeletionTimestamp.IsZero():
			// The kubelet confirms the deletion once the container stopped.
			if err := n.c.Delete(ctx, p, client.GracePeriodSeconds(0)); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("deleting pod %s: %w", p.Name, err)
			}
		case p.Spec.NodeName == "":
			if err := n.bind(ctx, p); err != nil {
				return err
			}
			fallthrough
		default:
			if role == probepods.RoleServer {
				servers = append(servers, p)
			} else if !terminated(p) {
				clients = append(clients, p)
			}
		}
	}
	for _, p := range servers {
		if err := n.runServer(ctx, p); err != nil {
			return err
		}
	}
	for _, p := range clients {
		if p.Status.PodIP == "" {
			p.Status.PodIP = n.allocate()
			p.Status.PodIPs = []corev1.PodIP{{IP: p.Status.PodIP}}
		}
	}
	n.mu.Lock()
	hold := n.hold
	n.mu.Unlock()
	if hold {
		for _, p := range clients {
			if err := n.holdClient(ctx, p); err != nil {
				return err
			}
		}
		return nil
	}
	if len(clients) == 0 {
		return nil
	}
	e, err := n.engine(ctx, all.Items)
	if err != nil {
		return err
	}
	for _, p := range clients {
		if err := n.runClient(ctx, e, p, all.Items); err != nil {
			return err
		}
	}
	return nil
}

// serviceAccounts plays the ServiceAccount controller for the namespaces
// PolicyProbes create: each gets its default ServiceAccount.
func (n *ProbeNetwork) serviceAccounts(ctx context.Context) error {
	nss := &corev1.NamespaceList{}
	if err := n.c.List(ctx, nss, client.MatchingLabels{securityv1alpha1.LabelManagedBy: securityv1alpha1.ManagedByValue}); err != nil {
		return err
	}
	for _, ns := range nss.Items {
		if !ns.DeletionTimestamp.IsZero() {
			continue
		}
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "default"}}
		if err := n.c.Create(ctx, sa); client.IgnoreAlreadyExists(err) != nil {
			return fmt.Errorf("creating the default ServiceAccount of %s: %w", ns.Name, err)
		}
	}
	return nil
}

func (n *ProbeNetwork) bind(ctx context.Context, p *corev1.Pod) error {
	b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}, Target: corev1.ObjectReference{Kind: "Node", Name: probeNode}}
	if err := n.c.SubResource("binding").Create(ctx, p, b); err != nil {
		return fmt.Errorf("binding pod %s: %w", p.Name, err)
	}
	return n.c.Get(ctx, client.ObjectKeyFromObject(p), p)
}

func (n *ProbeNetwork) allocate() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nextIP++
	return netip.AddrFrom4([4]byte{10, 250, byte(n.nextIP >> 8), byte(n.nextIP)}).String()
}

// runServer starts a server: it gets an address and its startup probe
// succeeds (started, never ready); a stuck one waits for its image.
func (n *ProbeNetwork) runServer(ctx context.Context, p *corev1.Pod) error {
	n.mu.Lock()
	stuck := n.stuck[p.Namespace]
	n.mu.Unlock()
	c := p.Spec.Containers[0]
	status := corev1.PodStatus{Phase: corev1.PodPending, PodIP: p.Status.PodIP, PodIPs: p.Status.PodIPs, StartTime: p.Status.StartTime}
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, Started: ptr.To(false)}
	if stuck {
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: fmt.Sprintf("Back-off pulling image %q", c.Image)}
	} else {
		if status.PodIP == "" {
			status.PodIP = n.allocate()
			status.PodIPs = []corev1.PodIP{{IP: status.PodIP}}
		}
		status.Phase = corev1.PodRunning
		cs.Started = ptr.To(true)
		cs.State.Running = &corev1.ContainerStateRunning{}
	}
	status.ContainerStatuses = []corev1.ContainerStatus{cs}
	status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady"}}
	if samePodStatus(p.Status, status) {
		return nil
	}
	p.Status = status
	if err := n.c.Status().Update(ctx, p); err != nil {
		return fmt.Errorf("updating server pod %s status: %w", p.Name, err)
	}
	return nil
}

// holdClient has a client run without finishing.
func (n *ProbeNetwork) holdClient(ctx context.Context, p *corev1.Pod) error {
	c := p.Spec.Containers[0]
	status := corev1.PodStatus{Phase: corev1.PodRunning, PodIP: p.Status.PodIP, PodIPs: p.Status.PodIPs,
		Conditions:        []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: c.Name, Image: c.Image, Started: ptr.To(true), State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}},
	}
	if samePodStatus(p.Status, status) {
		return nil
	}
	p.Status = status
	if err := n.c.Status().Update(ctx, p); err != nil {
		return fmt.Errorf("updating client pod %s status: %w", p.Name, err)
	}
	return nil
}

// engine judges connections with every namespace, pod and policy of the
// cluster, with the addresses given in this round.
func (n *ProbeNetwork) engine(ctx context.Context, pods []corev1.Pod) (*netpol.Engine, error) {
	nss := &corev1.NamespaceList{}
	if err := n.c.List(ctx, nss); err != nil {
		return nil, err
	}
	nps := &networkingv1.NetworkPolicyList{}
	if err := n.c.List(ctx, nps); err != nil {
		return nil, err
	}
	cluster, err := clusterpolicy.Read(ctx, n.c)
	if err != nil {
		return nil, err
	}
	return netpol.NewWithClusterPolicies(nss.Items, pods, nps.Items, cluster)
}

// runClient tries the client's targets and terminates it with the
// outcomes in its termination message, as `palisade probe connect` does.
func (n *ProbeNetwork) runClient(ctx context.Context, e *netpol.Engine, p *corev1.Pod, pods []corev1.Pod) error {
	targets, err := targetsOf(p)
	if err != nil {
		return fmt.Errorf("client pod %s: %w", p.Name, err)
	}
	byIP := map[string]*corev1.Pod{}
	for i := range pods {
		if ip := pods[i].Status.PodIP; ip != "" {
			byIP[ip] = &pods[i]
		}
	}
	var outcomes []probe.Outcome
	for _, t := range targets {
		outcomes = append(outcomes, n.try(e, p, t, byIP[t.Host]))
	}
	msg, err := probe.Encode(outcomes)
	if err != nil {
		return fmt.Errorf("client pod %s: %w", p.Name, err)
	}
	c := p.Spec.Containers[0]
	p.Status = corev1.PodStatus{
		Phase: corev1.PodSucceeded, PodIP: p.Status.PodIP, PodIPs: p.Status.PodIPs,
		Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: c.Name, Image: c.Image, Started: ptr.To(false), State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", Message: string(msg)},
		}}},
	}
	if err := n.c.Status().Update(ctx, p); err != nil {
		return fmt.Errorf("updating client pod %s status: %w", p.Name, err)
	}
	return nil
}

// try decides one attempt: the override, else the engine's verdict, and
// for a plaintext HTTP request that gets through, the Plaintext script.
func (n *ProbeNetwork) try(e *netpol.Engine, from *corev1.Pod, t probe.Target, to *corev1.Pod) probe.Outcome {
	proto := corev1.ProtocolTCP
	if t.Kind == probe.KindUDP {
		proto = corev1.ProtocolUDP
	}
	conn := Conn{From: Peer{Namespace: from.Namespace, Labels: identity(from.Labels)}, To: Peer{Host: t.Host}, Port: t.Port, Protocol: proto}
	q := netpol.Query{From: netpol.PodEndpoint(from.Namespace, from.Name), Port: t.Port, Protocol: proto}
	if to != nil {
		conn.To = Peer{Namespace: to.Namespace, Labels: identity(to.Labels)}
		q.To = netpol.PodEndpoint(to.Namespace, to.Name)
	} else if ip, err := netip.ParseAddr(t.Host); err == nil {
		q.To = netpol.IPEndpoint(ip)
	}
	n.mu.Lock()
	override, plaintext := n.override, n.plaintext
	n.attempts++
	n.mu.Unlock()
	if override != nil {
		if code, ok := override(conn); ok {
			return outcome(t.ID, code, "scripted")
		}
	}
	if !q.To.IP.IsValid() && q.To.Name == "" {
		return outcome(t.ID, probe.Error, "lookup "+t.Host+": no such host")
	}
	v, err := e.Check(q)
	switch {
	case err != nil:
		return outcome(t.ID, probe.Error, err.Error())
	case v.Result == netpol.Deny:
		return outcome(t.ID, probe.Timeout, "")
	case t.Kind == probe.KindHTTP && (plaintext == nil || to == nil):
		return outcome(t.ID, probe.Error, "no plaintext answer scripted")
	case t.Kind == probe.KindHTTP:
		code := plaintext(to, t.Port)
		reason := "reset"
		if code == probe.PlaintextAccepted {
			reason = "HTTP/1.1 200 OK"
		}
		return outcome(t.ID, code, reason)
	default:
		return outcome(t.ID, probe.Connected, "")
	}
}

func outcome(id string, code probe.Code, reason string) probe.Outcome {
	elapsed := time.Millisecond
	if code == probe.Timeout {
		elapsed = 3 * time.Second
	}
	return probe.Outcome{ID: id, Code: code, Elapsed: elapsed, Reason: reason}
}

// identity is a probe pod's labels without Palisade's own.
func identity(lbls map[string]string) map[string]string {
	out := maps.Clone(lbls)
	for _, k := range []string{securityv1alpha1.LabelManagedBy, securityv1alpha1.LabelProbe, securityv1alpha1.LabelReport, probepods.LabelProbeNamespace} {
		delete(out, k)
	}
	return out
}

// targetsOf reads a client's --targets argument.
func targetsOf(p *corev1.Pod) ([]probe.Target, error) {
	args := p.Spec.Containers[0].Args
	i := slices.Index(args, "--targets")
	if i < 0 || i+1 >= len(args) {
		return nil, fmt.Errorf("no --targets in %q", args)
	}
	return probe.ParseTargets(args[i+1])
}

func terminated(p *corev1.Pod) bool {
	return len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].State.Terminated != nil
}

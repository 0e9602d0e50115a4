package probepods

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/netpol"
	"github.com/palisade-sec/palisade/internal/netpol/cases"
	"github.com/palisade-sec/palisade/internal/probe"
)

func podCase(expect securityv1alpha1.Expectation, proto securityv1alpha1.Protocol) securityv1alpha1.ProbeCase {
	return securityv1alpha1.ProbeCase{Name: "c", Expected: expect, Protocol: proto, Port: 80, Result: securityv1alpha1.ProbePending,
		Source:      securityv1alpha1.ProbeEndpoint{Namespace: "a", Pod: "r-c-1-0"},
		Destination: securityv1alpha1.ProbeEndpoint{Namespace: "b", Pod: "r-s-1"}, Reason: "why"}
}

func externalCase(expect securityv1alpha1.Expectation, proto securityv1alpha1.Protocol) securityv1alpha1.ProbeCase {
	c := podCase(expect, proto)
	c.Destination = securityv1alpha1.ProbeEndpoint{IP: "192.0.2.1"}
	return c
}

func TestJudge(t *testing.T) {
	tcp, udp := securityv1alpha1.ProtocolTCP, securityv1alpha1.ProtocolUDP
	allow, deny := securityv1alpha1.ExpectAllow, securityv1alpha1.ExpectDeny
	tests := map[string]struct {
		c          securityv1alpha1.ProbeCase
		code       probe.Code
		want       securityv1alpha1.ProbeResult
		observed   securityv1alpha1.ProbeObservation
		wantReason string
	}{
		"connected, allowed":                {podCase(allow, tcp), probe.Connected, securityv1alpha1.ProbeMatch, securityv1alpha1.ObservedConnected, "as expected (Allow); why"},
		"timeout, denied":                   {podCase(deny, tcp), probe.Timeout, securityv1alpha1.ProbeMatch, securityv1alpha1.ObservedTimeout, "timed out"},
		"udp timeout to a server, denied":   {podCase(deny, udp), probe.Timeout, securityv1alpha1.ProbeMatch, securityv1alpha1.ObservedTimeout, "as expected"},
		"refused by a listening server":     {podCase(deny, tcp), probe.Refused, securityv1alpha1.ProbeMatch, securityv1alpha1.ObservedRefused, "rejects"},
		"denied but connected":              {podCase(deny, tcp), probe.Connected, securityv1alpha1.ProbeMismatch, securityv1alpha1.ObservedConnected, "not enforced"},
		"allowed but timed out":             {podCase(allow, tcp), probe.Timeout, securityv1alpha1.ProbeMismatch, securityv1alpha1.ObservedTimeout, "Expected Allow"},
		"error":                             {podCase(allow, tcp), probe.Error, securityv1alpha1.ProbeInconclusive, securityv1alpha1.ObservedError, "failed"},
		"plaintext outcome is no verdict":   {podCase(allow, tcp), probe.PlaintextAccepted, securityv1alpha1.ProbeInconclusive, securityv1alpha1.ObservedError, "failed"},
		"external refused proves nothing":   {externalCase(allow, tcp), probe.Refused, securityv1alpha1.ProbeInconclusive, securityv1alpha1.ObservedRefused, "look the same"},
		"external udp timeout":              {externalCase(deny, udp), probe.Timeout, securityv1alpha1.ProbeInconclusive, securityv1alpha1.ObservedTimeout, "proves nothing"},
		"external tcp timeout, denied":      {externalCase(deny, tcp), probe.Timeout, securityv1alpha1.ProbeMatch, securityv1alpha1.ObservedTimeout, "does not answer"},
		"external connected, expected deny": {externalCase(deny, tcp), probe.Connected, securityv1alpha1.ProbeMismatch, securityv1alpha1.ObservedConnected, "not enforced"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := tc.c
			Judge(&c, probe.Outcome{ID: "c0", Code: tc.code, Elapsed: time.Millisecond, Reason: "boom"})
			if c.Result != tc.want || c.Observed != tc.observed {
				t.Errorf("got %s/%s, want %s/%s (%s)", c.Result, c.Observed, tc.want, tc.observed, c.Reason)
			}
			if !strings.Contains(c.Reason, tc.wantReason) {
				t.Errorf("reason %q lacks %q", c.Reason, tc.wantReason)
			}
			// A result is final.
			before := c
			Judge(&c, probe.Outcome{ID: "c0", Code: probe.Connected})
			Inconclusive(&c, "late")
			if diff := cmp.Diff(before, c); diff != "" {
				t.Errorf("a judged case changed (-before +after):\n%s", diff)
			}
		})
	}
}

func genCase(name, from, to string, toLabels map[string]string, port int32, expected netpol.Result) cases.Case {
	return cases.Case{Name: name, Policy: to + "/p", From: cases.Identity{Namespace: from}, Port: port, Protocol: corev1.ProtocolTCP, Expected: expected, Why: "w",
		To: cases.Identity{Namespace: to, Labels: toLabels, NamedPorts: []cases.NamedPort{{Name: "http", Port: 8000, Protocol: corev1.ProtocolTCP}}}}
}

func TestNewPlan(t *testing.T) {
	web := map[string]string{"app": "web"}
	gen := &cases.Plan{Dropped: 2, Notes: []string{"a note"}, Cases: []cases.Case{
		genCase("np-1", "b", "a", web, 8000, netpol.Allow),
		genCase("np-2", "b", "a", web, 8001, netpol.Deny),
		genCase("np-3", "a", "a", nil, 80, netpol.Deny),
		{Name: "np-4", Policy: "a/egress", From: cases.Identity{Namespace: "a"}, ToIP: netip.MustParseAddr("192.0.2.10"), Port: 443, Protocol: corev1.ProtocolTCP, Expected: netpol.Allow},
	}}
	explicit := []ExplicitCase{
		{Spec: securityv1alpha1.ProbeCaseSpec{Name: "mine", From: securityv1alpha1.ProbePeer{Namespace: "b"}, To: securityv1alpha1.ProbePeer{Namespace: "a", PodLabels: web}, Port: 8000, Expect: "Deny"},
			NamedPorts: []securityv1alpha1.ProbeNamedPort{{Name: "http", Port: 8000, Protocol: "TCP"}}, EngineVerdict: "Allow"},
		{Spec: securityv1alpha1.ProbeCaseSpec{Name: "gone", From: securityv1alpha1.ProbePeer{Namespace: "x"}, To: securityv1alpha1.ProbePeer{Namespace: "a"}, Port: 80, Expect: "Allow"},
			Inconclusive: "NamespaceNotFound: namespace x does not exist"},
		{Spec: securityv1alpha1.ProbeCaseSpec{Name: "sctp", From: securityv1alpha1.ProbePeer{Namespace: "a"}, To: securityv1alpha1.ProbePeer{Namespace: "b"}, Port: 80, Protocol: "SCTP", Expect: "Allow"}},
	}
	res, err := NewPlan(PlanInput{Report: "probe-g1", Generated: gen, Explicit: explicit})
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ name, result, client, server string }
	var got []row
	for _, c := range res.Cases {
		got = append(got, row{c.Name, string(c.Result), c.Source.Pod, c.Destination.Pod})
	}
	webServer := serverName("probe-g1", "a/{app=web} http=8000/TCP")
	bClient := clientName("probe-g1", "b/{}", 0)
	aClient := clientName("probe-g1", "a/{}", 0)
	want := []row{
		{"mine", "Pending", bClient, webServer},
		{"gone", "Inconclusive", "", ""},
		{"sctp", "Inconclusive", "", ""},
		{"np-1", "Pending", bClient, webServer}, // the same server as the explicit case: same identity
		{"np-2", "Pending", bClient, webServer},
		{"np-3", "Pending", aClient, serverName("probe-g1", "a/{} http=8000/TCP")},
		{"np-4", "Pending", aClient, ""},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(row{})); diff != "" {
		t.Errorf("plan mismatch (-want +got):\n%s", diff)
	}
	if len(res.Servers) != 2 || res.CasesOmitted != 2 || len(res.Notes) != 1 {
		t.Errorf("servers %d, omitted %d, notes %q", len(res.Servers), res.CasesOmitted, res.Notes)
	}
	if want := (securityv1alpha1.ProbeCounts{Total: 7, Pending: 5, Inconclusive: 2}); res.Counts != want {
		t.Errorf("counts %+v, want %+v", res.Counts, want)
	}
	if e := res.Cases[0]; e.Expected != "Deny" || e.EngineVerdict != "Allow" || e.Origin != securityv1alpha1.ProbeExplicit {
		t.Errorf("explicit case %+v: the spec's expectation and the engine's verdict must both be kept", e)
	}
}

// TestNewPlanSplitsClients: one source with many targets gets as many
// client pods as its termination messages need, and the run is capped.
func TestNewPlanSplitsClients(t *testing.T) {
	long := strings.Repeat("r", 60)
	gen := &cases.Plan{}
	for i := range 1100 {
		gen.Cases = append(gen.Cases, genCase(fmt.Sprintf("np-%d", i), "b", "a", nil, int32(1000+i), netpol.Deny))
	}
	res, err := NewPlan(PlanInput{Report: long, Generated: gen})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cases) != MaxCases || res.CasesOmitted != 100 {
		t.Fatalf("%d cases, %d omitted; want %d and 100", len(res.Cases), res.CasesOmitted, MaxCases)
	}
	groups := map[string][]probe.Outcome{}
	for i, c := range res.Cases {
		if len(c.Source.Pod) > 63 || len(c.Destination.Pod) > 63 {
			t.Fatalf("pod names %q, %q exceed 63 characters", c.Source.Pod, c.Destination.Pod)
		}
		// The longest outcome a client can write for the case.
		groups[c.Source.Pod] = append(groups[c.Source.Pod], probe.Outcome{ID: TargetID(i), Code: probe.Error, Elapsed: 999 * time.Second, Reason: strings.Repeat("x", 100)})
	}
	if len(groups) < 2 {
		t.Fatalf("%d client pods for %d targets: one termination message cannot hold them", len(groups), len(res.Cases))
	}
	for name, outcomes := range groups {
		if _, err := probe.Encode(outcomes); err != nil {
			t.Errorf("client %s: %v", name, err)
		}
	}
	// The report stays far below etcd's limit.
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 512<<10 {
		t.Errorf("%d cases take %d bytes", len(res.Cases), len(data))
	}
}

func testRun(ns string) Run {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	rep := &securityv1alpha1.ScanReport{ObjectMeta: metav1.ObjectMeta{Name: "p-g1", Namespace: ns, UID: "uid-1"}}
	return Run{Report: rep, Probe: "p", ProbeLabel: "p", ReportLabel: "p-g1", Image: "img", AttemptTimeout: 2 * time.Second, Deadline: now.Add(90 * time.Second), Now: now,
		NamespaceUIDs: map[string]types.UID{"a": "ns-a", "b": "ns-b"}}
}

func TestServerPod(t *testing.T) {
	srv := securityv1alpha1.ProbeServer{Pod: "p-g1-s-1", Namespace: "a", PodLabels: map[string]string{"app": "web", securityv1alpha1.LabelManagedBy: "Helm"},
		NamedPorts: []securityv1alpha1.ProbeNamedPort{{Name: "http", Port: 8000, Protocol: "TCP"}}}
	cs := []securityv1alpha1.ProbeCase{
		{Port: 80, Protocol: "TCP", Destination: securityv1alpha1.ProbeEndpoint{Pod: "p-g1-s-1"}},
		{Port: 9999, Protocol: "TCP", Destination: securityv1alpha1.ProbeEndpoint{Pod: "p-g1-s-1"}},
		{Port: 53, Protocol: "UDP", Destination: securityv1alpha1.ProbeEndpoint{Pod: "p-g1-s-1"}},
		{Port: 80, Protocol: "TCP", Destination: securityv1alpha1.ProbeEndpoint{Pod: "p-g1-s-1"}},
		{Port: 81, Protocol: "TCP", Destination: securityv1alpha1.ProbeEndpoint{Pod: "other"}},
	}
	for name, tc := range map[string]struct {
		reportNS string
		owner    metav1.OwnerReference
	}{
		"same namespace as the report": {"a", metav1.OwnerReference{APIVersion: "security.palisade.dev/v1alpha1", Kind: "ScanReport", Name: "p-g1", UID: "uid-1", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
		"another namespace":            {"palisade-system", metav1.OwnerReference{APIVersion: "v1", Kind: "Namespace", Name: "a", UID: "ns-a", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(false)}},
	} {
		t.Run(name, func(t *testing.T) {
			pod := ServerPod(testRun(tc.reportNS), srv, cs)
			c := pod.Spec.Containers[0]
			if want := []string{"probe", "serve", "--ports", "80/TCP,9999/TCP,53/UDP", "--health-port", "9998"}; !cmp.Equal(c.Args, want) {
				t.Errorf("args %q, want %q", c.Args, want)
			}
			if c.StartupProbe.HTTPGet.Port != intstr.FromInt32(9998) || c.ReadinessProbe.HTTPGet.Path != probe.ReadyPath {
				t.Errorf("probes %+v %+v", c.StartupProbe, c.ReadinessProbe)
			}
			if want := []corev1.ContainerPort{{Name: "http", ContainerPort: 8000, Protocol: "TCP"}}; !cmp.Equal(c.Ports, want) {
				t.Errorf("ports %+v", c.Ports)
			}
			if got := pod.Spec.SecurityContext.Sysctls; len(got) != 1 || got[0].Value != "0" {
				t.Errorf("sysctls %+v: port 80 needs ip_unprivileged_port_start", got)
			}
			if pod.Labels["app"] != "web" || pod.Labels[securityv1alpha1.LabelManagedBy] != securityv1alpha1.ManagedByValue || pod.Labels[LabelProbeNamespace] != tc.reportNS {
				t.Errorf("labels %v", pod.Labels)
			}
			if diff := cmp.Diff([]metav1.OwnerReference{tc.owner}, pod.OwnerReferences); diff != "" {
				t.Errorf("owner references mismatch (-want +got):\n%s", diff)
			}
			checkHardened(t, pod)
		})
	}
}

func checkHardened(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	s, c := pod.Spec, pod.Spec.Containers[0]
	switch {
	case !ptr.Deref(s.SecurityContext.RunAsNonRoot, false), ptr.Deref(s.AutomountServiceAccountToken, true),
		!ptr.Deref(c.SecurityContext.ReadOnlyRootFilesystem, false), ptr.Deref(c.SecurityContext.AllowPrivilegeEscalation, true),
		len(c.SecurityContext.Capabilities.Drop) != 1, c.Resources.Limits.Memory().IsZero(),
		ptr.Deref(s.ActiveDeadlineSeconds, 0) != 90, s.RestartPolicy != corev1.RestartPolicyNever:
		t.Errorf("pod %s is not hardened: %+v", pod.Name, s)
	}
	// Out of any Istio mesh, sidecar or ambient: a proxy would answer
	// connections itself.
	if pod.Annotations["sidecar.istio.io/inject"] != "false" || pod.Labels["istio.io/dataplane-mode"] != "none" {
		t.Errorf("pod %s may join a mesh: labels %v, annotations %v", pod.Name, pod.Labels, pod.Annotations)
	}
}

func TestClientPod(t *testing.T) {
	targets := []probe.Target{{ID: "c0", Host: "10.0.0.1", Port: 80, Kind: probe.KindTCP}, {ID: "c3", Host: "192.0.2.1", Port: 53, Kind: probe.KindUDP}}
	pod := ClientPod(testRun("palisade-system"), "p-g1-c-1-0", "b", nil, targets)
	want := []string{"probe", "connect", "--targets", "c0=tcp://10.0.0.1:80,c3=udp://192.0.2.1:53", "--timeout", "2s"}
	if !cmp.Equal(pod.Spec.Containers[0].Args, want) {
		t.Errorf("args %q, want %q", pod.Spec.Containers[0].Args, want)
	}
	if pod.Annotations[AnnotationRole] != RoleClient || pod.Annotations[AnnotationReportUID] != "uid-1" {
		t.Errorf("annotations %v", pod.Annotations)
	}
	checkHardened(t, pod)
	parsed, err := probe.ParseTargets(want[3])
	if err != nil || !cmp.Equal(parsed, targets) {
		t.Errorf("the client cannot read its targets back: %v %v", parsed, err)
	}
}

func TestPodStates(t *testing.T) {
	msg, err := probe.Encode([]probe.Outcome{{ID: "c0", Code: probe.Connected}})
	if err != nil {
		t.Fatal(err)
	}
	status := func(phase corev1.PodPhase, ip string, started bool, state corev1.ContainerState) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "a"}, Spec: corev1.PodSpec{NodeName: "n"},
			Status: corev1.PodStatus{Phase: phase, PodIP: ip, ContainerStatuses: []corev1.ContainerStatus{{Name: Container, Started: &started, State: state}}}}
	}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	pulling := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}
	done := func(code int32, m string) corev1.ContainerState {
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Message: m}}
	}
	servers := map[string]struct {
		pod  *corev1.Pod
		want ServerState
	}{
		"listening":      {status(corev1.PodRunning, "10.0.0.1", true, running), ServerState{IP: "10.0.0.1"}},
		"running, no IP": {status(corev1.PodRunning, "", true, running), ServerState{Waiting: "server pod p listens but has no IP yet"}},
		"not started":    {status(corev1.PodRunning, "10.0.0.1", false, running), ServerState{Waiting: "pod a/p runs, but its startup probe has not succeeded yet"}},
		"image pull":     {status(corev1.PodPending, "", false, pulling), ServerState{Waiting: "pod a/p is waiting: ImagePullBackOff "}},
		"ended":          {status(corev1.PodFailed, "10.0.0.1", false, done(2, "bind: permission denied")), ServerState{Failed: "pod p ended (Failed): exit code 2  bind: permission denied"}},
	}
	for name, tc := range servers {
		if got := Server(tc.pod); got != tc.want {
			t.Errorf("server %s: got %+v, want %+v", name, got, tc.want)
		}
	}
	clients := map[string]struct {
		pod      *corev1.Pod
		done     bool
		failed   string
		outcomes int
	}{
		"finished":     {status(corev1.PodSucceeded, "10.0.0.2", false, done(0, string(msg))), true, "", 1},
		"garbled":      {status(corev1.PodSucceeded, "10.0.0.2", false, done(0, "hello")), false, "unreadable termination message", 0},
		"exited badly": {status(corev1.PodFailed, "10.0.0.2", false, done(1, "--targets: bad")), false, "exited with code 1", 0},
		"running":      {status(corev1.PodRunning, "10.0.0.2", true, running), false, "", 0},
	}
	for name, tc := range clients {
		got := Client(tc.pod)
		if got.Done != tc.done || len(got.Outcomes) != tc.outcomes || (tc.failed == "") != (got.Failed == "") || !strings.Contains(got.Failed, tc.failed) {
			t.Errorf("client %s: got %+v", name, got)
		}
	}
}

func TestExplicit(t *testing.T) {
	nss := []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, {ObjectMeta: metav1.ObjectMeta{Name: "b"}}}
	pods := []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "web-1", Labels: map[string]string{"app": "web", "pod-template-hash": "x"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {ContainerPort: 9090}}}}}}}
	policies := []networkingv1.NetworkPolicy{{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "web-http"}, Spec: networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Ingress:     []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromString("http"))}}}},
	}}}
	specs := []securityv1alpha1.ProbeCaseSpec{
		{Name: "named", From: securityv1alpha1.ProbePeer{Namespace: "b"}, To: securityv1alpha1.ProbePeer{Namespace: "a", PodLabels: map[string]string{"app": "web"}}, Port: 8080, Expect: "Deny"},
		{Name: "other-port", From: securityv1alpha1.ProbePeer{Namespace: "b"}, To: securityv1alpha1.ProbePeer{Namespace: "a", PodLabels: map[string]string{"app": "web"}}, Port: 9090, Expect: "Deny"},
		{Name: "out", From: securityv1alpha1.ProbePeer{Namespace: "c"}, To: securityv1alpha1.ProbePeer{Namespace: "a"}, Port: 80, Expect: "Allow"},
		{Name: "dns", From: securityv1alpha1.ProbePeer{Namespace: "a"}, To: securityv1alpha1.ProbePeer{Host: "example.com"}, Port: 443, Expect: "Allow"},
		{Name: "ip", From: securityv1alpha1.ProbePeer{Namespace: "a"}, To: securityv1alpha1.ProbePeer{IP: "192.0.2.1"}, Port: 443, Expect: "Allow"},
	}
	got, err := Explicit(specs, Cluster{Namespaces: nss, Pods: pods, Policies: policies}, map[string]string{"palisade": "probe"}, func(ns string) string { return "OutOfScope: " + ns })
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ verdict, inconclusive string }
	var rows []row
	for _, e := range got {
		rows = append(rows, row{e.EngineVerdict, e.Inconclusive})
	}
	want := []row{{"Allow", ""}, {"Deny", ""}, {"", "OutOfScope: c"}, {"", ""}, {"Allow", ""}}
	if diff := cmp.Diff(want, rows, cmp.AllowUnexported(row{})); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	if want := []securityv1alpha1.ProbeNamedPort{{Name: "http", Port: 8080, Protocol: "TCP"}}; !cmp.Equal(got[0].NamedPorts, want) {
		t.Errorf("named ports %+v, want the destination pod's %+v", got[0].NamedPorts, want)
	}
	if !strings.Contains(got[0].Why, "allowed by a/web-http") || !strings.Contains(got[3].Why, "DNS") {
		t.Errorf("explanations %q, %q", got[0].Why, got[3].Why)
	}
}

func TestPodName(t *testing.T) {
	short := podName("probe-g1", "s-0123abcd")
	if short != "probe-g1-s-0123abcd" {
		t.Errorf("got %q", short)
	}
	long1, long2 := podName(strings.Repeat("a", 70)+"1", "c-0123abcd-12"), podName(strings.Repeat("a", 70)+"2", "c-0123abcd-12")
	if len(long1) > 63 || long1 == long2 || !strings.HasSuffix(long1, "-c-0123abcd-12") {
		t.Errorf("long names %q, %q: want distinct names of at most 63 characters", long1, long2)
	}
}

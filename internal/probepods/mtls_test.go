package probepods

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/analyzers/mtls"
	"github.com/palisade-sec/palisade/internal/probe"
)

// meshPod is a running pod of a Deployment's ReplicaSet, with an
// istio-proxy sidecar unless sidecar is false.
func meshPod(ns, deploy, name, ip string, sidecar, isReady bool, ports ...int32) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": deploy, "pod-template-hash": "abc12"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: deploy + "-abc12", Controller: ptr.To(true)}}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}},
	}
	if isReady {
		p.Status.Conditions[0].Status = corev1.ConditionTrue
	}
	for _, port := range ports {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{ContainerPort: port})
	}
	if sidecar {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "istio-proxy", Ports: []corev1.ContainerPort{{ContainerPort: 15090}}})
	}
	return p
}

func peerAuth(ns, name string, mode mtls.Mode, selector map[string]string, ports map[uint32]mtls.Mode) mtls.PeerAuthentication {
	return mtls.PeerAuthentication{Namespace: ns, Name: name, Mode: mode, Selector: selector, PortLevel: ports,
		CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
}

func TestMTLSCases(t *testing.T) {
	cl := Cluster{
		Namespaces: []corev1.Namespace{
			{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"istio-injection": "enabled"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "plain"}},
		},
		Pods: []corev1.Pod{
			meshPod("shop", "web", "web-2", "10.0.0.2", true, true, 8080, 9090),
			meshPod("shop", "web", "web-1", "10.0.0.1", true, false, 8080, 9090), // not ready: web-2 stands for web
			meshPod("shop", "db", "db-1", "10.0.0.3", true, true, 5432),
			meshPod("shop", "legacy", "legacy-1", "10.0.0.4", false, true, 80), // no sidecar: not in the mesh
			meshPod("shop", "noports", "noports-1", "10.0.0.5", true, true),
			meshPod("plain", "api", "api-1", "10.0.1.1", true, true, 80),
		},
	}
	policies := []mtls.PeerAuthentication{
		peerAuth("istio-system", "mesh", mtls.ModeStrict, nil, nil),
		peerAuth("shop", "web-metrics", mtls.ModeUnset, map[string]string{"app": "web"}, map[uint32]mtls.Mode{9090: mtls.ModePermissive}),
	}
	plan := MTLSCases(MTLSInput{Namespaces: []string{"shop", "gone"}, Cluster: cl, Installed: true, Policies: policies, MaxWorkloads: 10,
		OutOfScope: func(ns string) string { return "NamespaceNotFound: namespace " + ns + " does not exist" }})

	type row struct {
		workload, ip, mode string
		port               int32
		expect             securityv1alpha1.Expectation
	}
	var got []row
	for _, c := range plan.Cases {
		if c.Check != securityv1alpha1.CheckMTLS || c.Result != securityv1alpha1.ProbePending || c.Source.Namespace != c.Destination.Namespace ||
			c.Source.PodLabels["sidecar.istio.io/inject"] != "false" || c.Source.PodLabels["istio.io/dataplane-mode"] != "none" || !strings.HasPrefix(c.Name, "mtls-") {
			t.Errorf("case %+v: want a pending MTLS case from a client outside the mesh in the workload's namespace", c)
		}
		got = append(got, row{c.Destination.Workload, c.Destination.IP, c.MTLSMode, c.Port, c.Expected})
	}
	want := []row{
		{"Deployment/db, pod db-1", "10.0.0.3", "STRICT", 5432, securityv1alpha1.ExpectDeny},
		{"Deployment/web, pod web-2", "10.0.0.2", "STRICT", 8080, securityv1alpha1.ExpectDeny},
		{"Deployment/web, pod web-2", "10.0.0.2", "PERMISSIVE", 9090, securityv1alpha1.ExpectAllow},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(row{})); diff != "" {
		t.Errorf("cases (-want +got):\n%s", diff)
	}
	for _, note := range []string{"namespace gone does not exist", "Deployment noports declares no TCP container port"} {
		if !strings.Contains(strings.Join(plan.Notes, "\n"), note) {
			t.Errorf("notes %q lack %q", plan.Notes, note)
		}
	}

	again := MTLSCases(MTLSInput{Namespaces: []string{"shop"}, Cluster: cl, Installed: true, Policies: policies, MaxWorkloads: 1})
	// db stays; web's two ports and noports' none are omitted.
	if len(again.Cases) != 1 || again.Omitted != 2 || again.Cases[0].Name != plan.Cases[0].Name {
		t.Errorf("maxWorkloads 1: %d cases, %d omitted, first %s; want 1 case (the same name as before), 2 omitted", len(again.Cases), again.Omitted, again.Cases[0].Name)
	}
	if none := MTLSCases(MTLSInput{Namespaces: []string{"shop"}, Cluster: cl, Installed: false, MaxWorkloads: 10}); len(none.Cases) != 0 || len(none.Notes) != 1 {
		t.Errorf("without Istio: %d cases, notes %q; want none and one note", len(none.Cases), none.Notes)
	}
}

func TestMTLSPlanAndPods(t *testing.T) {
	cl := Cluster{
		Namespaces: []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"istio-injection": "enabled"}}}},
		Pods:       []corev1.Pod{meshPod("shop", "web", "web-1", "10.0.0.1", true, true, 8080)},
	}
	m := MTLSCases(MTLSInput{Namespaces: []string{"shop"}, Cluster: cl, Installed: true, MaxWorkloads: 10})
	res, err := NewPlan(PlanInput{Report: "r", MTLS: &m})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Servers) != 0 || len(res.Cases) != 1 || res.Cases[0].Source.Pod == "" || res.Cases[0].Destination.Pod != "" {
		t.Fatalf("plan %+v: want one case with a client and no probe server", res)
	}
	c := &res.Cases[0]
	target := Target(c, 0, "")
	if want := (probe.Target{ID: "c0", Host: "10.0.0.1", Port: 8080, Kind: probe.KindHTTP}); target != want {
		t.Errorf("target %+v, want %+v", target, want)
	}
	pod := ClientPod(testRun("shop"), c.Source.Pod, "shop", c.Source.PodLabels, []probe.Target{target})
	checkHardened(t, pod)
	if pod.Labels["sidecar.istio.io/inject"] != "false" || pod.Labels["istio.io/dataplane-mode"] != "none" || pod.Annotations["sidecar.istio.io/inject"] != "false" {
		t.Errorf("client labels %v annotations %v: want it kept out of the mesh", pod.Labels, pod.Annotations)
	}
	if !strings.Contains(strings.Join(pod.Spec.Containers[0].Args, " "), "c0=http://10.0.0.1:8080") {
		t.Errorf("client args %q lack the http target", pod.Spec.Containers[0].Args)
	}
}

func TestJudgeMTLS(t *testing.T) {
	mtlsCase := func(mode string, expect securityv1alpha1.Expectation) securityv1alpha1.ProbeCase {
		return securityv1alpha1.ProbeCase{Name: "mtls-x", Check: securityv1alpha1.CheckMTLS, MTLSMode: mode, Expected: expect, Port: 8080,
			Protocol: securityv1alpha1.ProtocolTCP, Result: securityv1alpha1.ProbePending, Reason: "mode",
			Source:      securityv1alpha1.ProbeEndpoint{Namespace: "shop", Pod: "r-c"},
			Destination: securityv1alpha1.ProbeEndpoint{Namespace: "shop", IP: "10.0.0.1", Workload: "Deployment/web, pod web-1"}}
	}
	strict, permissive := mtlsCase("STRICT", securityv1alpha1.ExpectDeny), mtlsCase("PERMISSIVE", securityv1alpha1.ExpectAllow)
	bypassed := mtlsCase("STRICT", securityv1alpha1.ExpectDeny)
	bypassed.BypassesSidecar = true
	tests := map[string]struct {
		c        securityv1alpha1.ProbeCase
		code     probe.Code
		result   securityv1alpha1.ProbeResult
		observed securityv1alpha1.ProbeObservation
		finding  string
		severity securityv1alpha1.Severity
	}{
		"strict rejects":            {strict, probe.PlaintextRejected, securityv1alpha1.ProbeMatch, securityv1alpha1.ObservedPlaintextRejected, "", ""},
		"strict answers":            {strict, probe.PlaintextAccepted, securityv1alpha1.ProbeMismatch, securityv1alpha1.ObservedPlaintextAccepted, FindingMTLSNotEnforced, securityv1alpha1.SeverityHigh},
		"permissive answers":        {permissive, probe.PlaintextAccepted, securityv1alpha1.ProbeMatch, securityv1alpha1.ObservedPlaintextAccepted, FindingPlaintextAccepted, securityv1alpha1.SeverityMedium},
		"permissive rejects":        {permissive, probe.PlaintextRejected, securityv1alpha1.ProbeInconclusive, securityv1alpha1.ObservedPlaintextRejected, "", ""},
		"unreachable proves none":   {strict, probe.Timeout, securityv1alpha1.ProbeInconclusive, securityv1alpha1.ObservedTimeout, "", ""},
		"bypassed port, app closes": {bypassed, probe.PlaintextRejected, securityv1alpha1.ProbeInconclusive, securityv1alpha1.ObservedPlaintextRejected, "", ""},
		"bypassed port answers":     {bypassed, probe.PlaintextAccepted, securityv1alpha1.ProbeMismatch, securityv1alpha1.ObservedPlaintextAccepted, FindingMTLSNotEnforced, securityv1alpha1.SeverityHigh},
		"error":                     {strict, probe.Error, securityv1alpha1.ProbeInconclusive, securityv1alpha1.ObservedError, "", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := tc.c
			Judge(&c, probe.Outcome{ID: "c0", Code: tc.code, Reason: "HTTP/1.1 200 OK"})
			if c.Result != tc.result || c.Observed != tc.observed || !strings.HasSuffix(c.Reason, "; mode") {
				t.Errorf("judged %s/%s (%q), want %s/%s and the planning reason kept", c.Result, c.Observed, c.Reason, tc.result, tc.observed)
			}
			fs := Findings([]securityv1alpha1.ProbeCase{c}, securityv1alpha1.ResourceRef{Kind: "PolicyProbe", Name: "p"})
			switch {
			case tc.finding == "" && len(fs) != 0:
				t.Errorf("findings %+v, want none", fs)
			case tc.finding != "" && (len(fs) != 1 || fs[0].ID != tc.finding || fs[0].Severity != tc.severity ||
				fs[0].Resource != (securityv1alpha1.ResourceRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"})):
				t.Errorf("findings %+v, want one %s %s about Deployment shop/web", fs, tc.severity, tc.finding)
			}
		})
	}
}

// BenchmarkMTLSCases plans the mTLS cases of 10 mesh namespaces holding
// 5,000 pods of 1,000 Deployments, with a workload policy per Deployment.
func BenchmarkMTLSCases(b *testing.B) {
	var cl Cluster
	var policies []mtls.PeerAuthentication
	var names []string
	for n := range 10 {
		ns := fmt.Sprintf("mesh-%d", n)
		names = append(names, ns)
		cl.Namespaces = append(cl.Namespaces, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"istio-injection": "enabled"}}})
		policies = append(policies, peerAuth(ns, "default", mtls.ModeStrict, nil, nil))
		for d := range 100 {
			app := fmt.Sprintf("app-%d", d)
			policies = append(policies, peerAuth(ns, app, mtls.ModeUnset, map[string]string{"app": app}, map[uint32]mtls.Mode{9090: mtls.ModePermissive}))
			for p := range 5 {
				cl.Pods = append(cl.Pods, meshPod(ns, app, fmt.Sprintf("%s-%d", app, p), fmt.Sprintf("10.%d.%d.%d", n, d, p), true, p > 0, 8080, 9090))
			}
		}
	}
	b.ResetTimer()
	for b.Loop() {
		plan := MTLSCases(MTLSInput{Namespaces: names, Cluster: cl, Installed: true, Policies: policies, MaxWorkloads: 200})
		if len(plan.Cases) != 400 || plan.Omitted != 1600 {
			b.Fatalf("%d cases, %d omitted; want 400 and 1600", len(plan.Cases), plan.Omitted)
		}
	}
}

func TestIntercepted(t *testing.T) {
	tests := []struct {
		annotations map[string]string
		port        int32
		want        bool
	}{
		{nil, 8080, true},
		{map[string]string{annotationExcludeInbound: "9090, 8080"}, 8080, false},
		{map[string]string{annotationExcludeInbound: "9090"}, 8080, true},
		{map[string]string{annotationIncludeInbound: "9090"}, 8080, false},
		{map[string]string{annotationIncludeInbound: "*"}, 8080, true},
		{map[string]string{annotationIncludeInbound: ""}, 8080, false},
		{map[string]string{annotationIncludeInbound: "8080,9090", annotationExcludeInbound: "8080"}, 8080, false},
	}
	for _, tc := range tests {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: tc.annotations}}
		if got := intercepted(pod, tc.port); got != tc.want {
			t.Errorf("intercepted(%v, %d) = %v, want %v", tc.annotations, tc.port, got, tc.want)
		}
	}
	// Planned so: a sidecar pod excluding its port.
	p := meshPod("shop", "web", "web-1", "10.0.0.1", true, true, 8080)
	p.Annotations = map[string]string{annotationExcludeInbound: "8080"}
	cl := Cluster{Namespaces: []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"istio-injection": "enabled"}}}}, Pods: []corev1.Pod{p}}
	plan := MTLSCases(MTLSInput{Namespaces: []string{"shop"}, Cluster: cl, Installed: true, MaxWorkloads: 10})
	if len(plan.Cases) != 1 || !plan.Cases[0].BypassesSidecar || !strings.Contains(plan.Cases[0].Reason, "does not intercept") {
		t.Errorf("cases %+v: want one that bypasses the sidecar", plan.Cases)
	}
}

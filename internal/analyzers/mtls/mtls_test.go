package mtls

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/palisade-sec/palisade/api/v1alpha1"
)

// --- builders ---

type paOpt func(*PeerAuthentication)

// pa builds a PeerAuthentication created at minute 0 unless told otherwise.
func pa(ns, name string, mode Mode, opts ...paOpt) PeerAuthentication {
	p := PeerAuthentication{Namespace: ns, Name: name, Mode: mode, CreationTimestamp: at(0)}
	for _, o := range opts {
		o(&p)
	}
	return p
}

func at(minute int) metav1.Time {
	return metav1.NewTime(time.Date(2026, 1, 1, 0, minute, 0, 0, time.UTC))
}

func created(minute int) paOpt {
	return func(p *PeerAuthentication) { p.CreationTimestamp = at(minute) }
}

func selecting(kv ...string) paOpt {
	return func(p *PeerAuthentication) {
		p.Selector = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Selector[kv[i]] = kv[i+1]
		}
	}
}

func port(n uint32, m Mode) paOpt {
	return func(p *PeerAuthentication) {
		if p.PortLevel == nil {
			p.PortLevel = map[uint32]Mode{}
		}
		p.PortLevel[n] = m
	}
}

func nsObj(name string, kv ...string) corev1.Namespace {
	ns := corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	for i := 0; i+1 < len(kv); i += 2 {
		ns.Labels[kv[i]] = kv[i+1]
	}
	return ns
}

type podOpt func(*corev1.Pod)

// newPod builds an admitted pod with an istio-proxy sidecar.
func newPod(ns, name string, opts ...podOpt) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: "uid", Labels: map[string]string{}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}, {Name: proxyContainer}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, o := range opts {
		o(&p)
	}
	return p
}

func podLabels(kv ...string) podOpt {
	return func(p *corev1.Pod) {
		for i := 0; i+1 < len(kv); i += 2 {
			p.Labels[kv[i]] = kv[i+1]
		}
	}
}

func noSidecar(p *corev1.Pod) { p.Spec.Containers = p.Spec.Containers[:1] }

// unadmitted makes the pod one that never went through admission, without a
// sidecar.
func unadmitted(p *corev1.Pod) {
	noSidecar(p)
	p.UID, p.Status = "", corev1.PodStatus{}
}

func hostNet(p *corev1.Pod) { p.Spec.HostNetwork = true; noSidecar(p) }

// describe renders an effective mode: "MODE level policy [port:MODE ...]".
func describe(w WorkloadMTLS) string {
	s := fmt.Sprintf("%s %s %s", w.Mode, w.Level, policyName(w.Policy))
	for _, p := range slices.Sorted(maps.Keys(w.Ports)) {
		s += fmt.Sprintf(" %d:%s", p, w.Ports[p])
	}
	return strings.TrimSpace(s)
}

func TestInheritance(t *testing.T) {
	web := newPod("shop", "web", podLabels("app", "web"))
	tests := map[string]struct {
		policies []PeerAuthentication
		pod      corev1.Pod
		opts     Options
		want     string
	}{
		"no policy: PERMISSIVE": {
			pod: web, want: "PERMISSIVE default",
		},
		"mesh-wide STRICT": {
			policies: []PeerAuthentication{pa("istio-system", "default", ModeStrict)},
			pod:      web, want: "STRICT mesh istio-system/default",
		},
		"mesh-wide UNSET is PERMISSIVE": {
			policies: []PeerAuthentication{pa("istio-system", "default", ModeUnset)},
			pod:      web, want: "PERMISSIVE default",
		},
		"namespace-wide overrides mesh-wide": {
			policies: []PeerAuthentication{pa("istio-system", "default", ModeStrict), pa("shop", "default", ModePermissive)},
			pod:      web, want: "PERMISSIVE namespace shop/default",
		},
		"namespace-wide UNSET inherits mesh-wide": {
			policies: []PeerAuthentication{pa("istio-system", "default", ModeDisable), pa("shop", "default", ModeUnset)},
			pod:      web, want: "DISABLE mesh istio-system/default",
		},
		"workload policy overrides namespace-wide": {
			policies: []PeerAuthentication{pa("shop", "default", ModePermissive), pa("shop", "web", ModeStrict, selecting("app", "web"))},
			pod:      web, want: "STRICT workload shop/web",
		},
		"workload policy that does not select the pod": {
			policies: []PeerAuthentication{pa("shop", "default", ModePermissive), pa("shop", "db", ModeStrict, selecting("app", "db"))},
			pod:      web, want: "PERMISSIVE namespace shop/default",
		},
		"selector needs every label": {
			policies: []PeerAuthentication{pa("shop", "web", ModeStrict, selecting("app", "web", "tier", "front"))},
			pod:      web, want: "PERMISSIVE default",
		},
		"workload UNSET inherits, its ports still apply": {
			policies: []PeerAuthentication{pa("shop", "default", ModeStrict), pa("shop", "web", ModeUnset, selecting("app", "web"), port(8080, ModeDisable))},
			pod:      web, want: "STRICT namespace shop/default 8080:DISABLE",
		},
		"port UNSET inherits the workload mode": {
			policies: []PeerAuthentication{pa("shop", "web", ModeStrict, selecting("app", "web"), port(9090, ModeUnset), port(8080, ModePermissive))},
			pod:      web, want: "STRICT workload shop/web 8080:PERMISSIVE 9090:STRICT",
		},
		"portLevelMtls of a namespace-wide policy is ignored": {
			policies: []PeerAuthentication{pa("shop", "default", ModeStrict, port(8080, ModeDisable))},
			pod:      web, want: "STRICT namespace shop/default",
		},
		"oldest namespace-wide policy wins": {
			policies: []PeerAuthentication{pa("shop", "a-new", ModeStrict, created(5)), pa("shop", "z-old", ModeDisable, created(1))},
			pod:      web, want: "DISABLE namespace shop/z-old",
		},
		"equal ages: first by name": {
			policies: []PeerAuthentication{pa("shop", "b", ModeStrict), pa("shop", "a", ModeDisable)},
			pod:      web, want: "DISABLE namespace shop/a",
		},
		"oldest matching workload policy wins": {
			policies: []PeerAuthentication{
				pa("shop", "new", ModeStrict, selecting("app", "web"), created(9)),
				pa("shop", "old", ModePermissive, selecting("app", "web"), created(2)),
			},
			pod: web, want: "PERMISSIVE workload shop/old",
		},
		"oldest mesh-wide policy wins": {
			policies: []PeerAuthentication{pa("istio-system", "new", ModeDisable, created(3)), pa("istio-system", "old", ModeStrict, created(1))},
			pod:      web, want: "STRICT mesh istio-system/old",
		},
		"an empty selector is namespace-wide": {
			policies: []PeerAuthentication{pa("shop", "all", ModeStrict, selecting())},
			pod:      web, want: "STRICT namespace shop/all",
		},
		"selectors in the root namespace are ignored": {
			policies: []PeerAuthentication{pa("istio-system", "default", ModePermissive), pa("istio-system", "gw", ModeStrict, selecting("app", "web"))},
			pod:      newPod("istio-system", "gw", podLabels("app", "web")), want: "PERMISSIVE mesh istio-system/default",
		},
		"a configured root namespace": {
			policies: []PeerAuthentication{pa("istio-system", "default", ModeDisable), pa("mesh-root", "default", ModeStrict)},
			opts:     Options{RootNamespace: "mesh-root"},
			pod:      web, want: "STRICT mesh mesh-root/default",
		},
		"another namespace's policy does not apply": {
			policies: []PeerAuthentication{pa("other", "default", ModeStrict), pa("other", "web", ModeStrict, selecting("app", "web"))},
			pod:      web, want: "PERMISSIVE default",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := New(nil, tc.policies, tc.opts)
			a.Pod(&tc.pod) // brings the pod's namespace into the open scope
			if got := describe(a.Workload(&tc.pod)); got != tc.want {
				t.Errorf("effective = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMembership(t *testing.T) {
	tests := map[string]struct {
		ns   map[string]string
		pod  corev1.Pod
		want Membership
	}{
		"running sidecar":                          {nil, newPod("a", "p"), Sidecar},
		"native sidecar (init container)":          {nil, newPod("a", "p", noSidecar, func(p *corev1.Pod) { p.Spec.InitContainers = []corev1.Container{{Name: proxyContainer}} }), Sidecar},
		"admitted without sidecar":                 {map[string]string{labelInjection: "enabled"}, newPod("a", "p", noSidecar), NotInMesh},
		"hostNetwork":                              {map[string]string{labelInjection: "enabled"}, newPod("a", "p", hostNet), NotInMesh},
		"hostNetwork manifest, injected namespace": {map[string]string{labelInjection: "enabled"}, newPod("a", "p", unadmitted, hostNet), NotInMesh},
		"manifest, injected namespace":             {map[string]string{labelInjection: "enabled"}, newPod("a", "p", unadmitted), Sidecar},
		"manifest, revision label":                 {map[string]string{labelRevision: "1-24"}, newPod("a", "p", unadmitted), Sidecar},
		"manifest, pod opts out":                   {map[string]string{labelInjection: "enabled"}, newPod("a", "p", unadmitted, podLabels(labelInject, "false")), NotInMesh},
		"manifest, pod opts out by annotation": {map[string]string{labelInjection: "enabled"}, newPod("a", "p", unadmitted, func(p *corev1.Pod) {
			p.Annotations = map[string]string{labelInject: "false"}
		}), NotInMesh},
		"manifest, pod opts in":                  {nil, newPod("a", "p", unadmitted, podLabels(labelInject, "true")), Sidecar},
		"manifest, namespace disabled wins":      {map[string]string{labelInjection: "disabled"}, newPod("a", "p", unadmitted, podLabels(labelInject, "true")), NotInMesh},
		"manifest, no labels":                    {nil, newPod("a", "p", unadmitted), NotInMesh},
		"ambient namespace":                      {map[string]string{labelDataplaneMode: "ambient"}, newPod("a", "p", noSidecar), Ambient},
		"ambient namespace, pod opts out":        {map[string]string{labelDataplaneMode: "ambient"}, newPod("a", "p", noSidecar, podLabels(labelDataplaneMode, "none")), NotInMesh},
		"sidecar wins over ambient":              {map[string]string{labelDataplaneMode: "ambient"}, newPod("a", "p"), Sidecar},
		"ambient pod label in a plain namespace": {nil, newPod("a", "p", noSidecar, podLabels(labelDataplaneMode, "ambient")), Ambient},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := membership(&tc.pod, tc.ns); got != tc.want {
				t.Errorf("membership = %q, want %q", got, tc.want)
			}
		})
	}
}

// summarize renders findings as "id severity kind ns/name".
func summarize(fs []v1alpha1.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s %s %s/%s", f.ID, f.Severity, f.Resource.Kind, f.Resource.Namespace, f.Resource.Name))
	}
	return out
}

func TestFindings(t *testing.T) {
	meshStrict := pa("istio-system", "default", ModeStrict)
	injected := nsObj("shop", labelInjection, "enabled")
	tests := map[string]struct {
		namespaces []corev1.Namespace
		policies   []PeerAuthentication
		pods       []corev1.Pod
		want       []string
	}{
		"STRICT everywhere": {
			namespaces: []corev1.Namespace{injected},
			policies:   []PeerAuthentication{meshStrict},
			pods:       []corev1.Pod{newPod("shop", "web")},
			want:       []string{},
		},
		"no policy at all": {
			namespaces: []corev1.Namespace{injected},
			pods:       []corev1.Pod{newPod("shop", "web"), newPod("shop", "db")},
			want: []string{
				"mtls.no-mesh-policy Low Namespace /istio-system",
				"mtls.namespace-not-strict Medium Namespace /shop",
				"mtls.permissive Medium Namespace /shop",
			},
		},
		"namespace-wide DISABLE": {
			namespaces: []corev1.Namespace{injected},
			policies:   []PeerAuthentication{meshStrict, pa("shop", "default", ModeDisable)},
			pods:       []corev1.Pod{newPod("shop", "web")},
			want: []string{
				"mtls.namespace-not-strict High Namespace /shop",
				"mtls.disabled High PeerAuthentication shop/default",
			},
		},
		"a workload opts into PERMISSIVE in a STRICT mesh": {
			namespaces: []corev1.Namespace{injected},
			policies:   []PeerAuthentication{meshStrict, pa("shop", "legacy", ModePermissive, selecting("app", "legacy"))},
			pods:       []corev1.Pod{newPod("shop", "web"), newPod("shop", "legacy", podLabels("app", "legacy"))},
			want:       []string{"mtls.permissive Medium PeerAuthentication shop/legacy"},
		},
		"a STRICT workload with one plaintext port": {
			namespaces: []corev1.Namespace{injected},
			policies:   []PeerAuthentication{meshStrict, pa("shop", "web", ModeStrict, selecting("app", "web"), port(9090, ModeDisable), port(8080, ModeStrict))},
			pods:       []corev1.Pod{newPod("shop", "web", podLabels("app", "web"))},
			want:       []string{"mtls.disabled High PeerAuthentication shop/web"},
		},
		"a port in the workload's own mode adds nothing": {
			namespaces: []corev1.Namespace{injected},
			policies:   []PeerAuthentication{meshStrict, pa("shop", "web", ModePermissive, selecting("app", "web"), port(8080, ModePermissive))},
			pods:       []corev1.Pod{newPod("shop", "web", podLabels("app", "web"))},
			want:       []string{"mtls.permissive Medium PeerAuthentication shop/web"},
		},
		"pods without sidecar in an injected namespace": {
			namespaces: []corev1.Namespace{injected},
			policies:   []PeerAuthentication{meshStrict},
			pods:       []corev1.Pod{newPod("shop", "web", noSidecar), newPod("shop", "agent", hostNet)},
			want:       []string{"mtls.pods-without-sidecar Medium Namespace /shop"},
		},
		"namespaces outside the mesh are not judged": {
			namespaces: []corev1.Namespace{nsObj("tools")},
			policies:   []PeerAuthentication{meshStrict, pa("tools", "default", ModeDisable)},
			pods:       []corev1.Pod{newPod("tools", "job", noSidecar)},
			want:       []string{},
		},
		"sidecar pods are judged wherever they run": {
			namespaces: []corev1.Namespace{nsObj("tools")},
			pods:       []corev1.Pod{newPod("tools", "web")},
			want:       []string{"mtls.no-mesh-policy Low Namespace /istio-system", "mtls.permissive Medium Namespace /tools"},
		},
		"a selector policy in the root namespace is reported": {
			namespaces: []corev1.Namespace{injected},
			policies:   []PeerAuthentication{meshStrict, pa("istio-system", "ingress", ModeStrict, selecting("app", "gw"))},
			want:       []string{"mtls.root-selector-ignored Low PeerAuthentication istio-system/ingress"},
		},
		"completed pods are skipped": {
			namespaces: []corev1.Namespace{nsObj("tools")},
			policies:   []PeerAuthentication{meshStrict, pa("tools", "default", ModeDisable)},
			pods:       []corev1.Pod{newPod("tools", "job", func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded })},
			want:       []string{},
		},
		"ambient namespaces count as meshed": {
			namespaces: []corev1.Namespace{nsObj("amb", labelDataplaneMode, "ambient")},
			pods:       []corev1.Pod{newPod("amb", "web", noSidecar)},
			want: []string{
				"mtls.no-mesh-policy Low Namespace /istio-system",
				"mtls.namespace-not-strict Medium Namespace /amb",
				"mtls.permissive Medium Namespace /amb",
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := summarize(Analyze(tc.namespaces, tc.policies, tc.pods, Options{}))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFindingMessagesAndStats(t *testing.T) {
	policies := []PeerAuthentication{
		pa("istio-system", "default", ModePermissive),
		pa("shop", "web", ModeUnset, selecting("app", "web"), port(8080, ModeDisable)),
	}
	pods := []corev1.Pod{
		newPod("shop", "web-1", podLabels("app", "web")),
		newPod("shop", "web-2", podLabels("app", "web")),
		newPod("shop", "db-0"),
		newPod("shop", "legacy", noSidecar),
	}
	a := New([]corev1.Namespace{nsObj("shop", labelRevision, "stable")}, policies, Options{})
	for i := range pods {
		a.Pod(&pods[i])
	}
	mesh := &policies[0]
	wantStats := []NamespaceMTLS{{
		Namespace: "shop", Effective: Effective{Mode: ModePermissive, Level: LevelMesh, Policy: mesh},
		Meshed: true, Pods: 4, MeshedPods: 3, PlaintextPods: 3, PodsWithoutSidecar: 1,
	}}
	if diff := cmp.Diff(wantStats, a.Namespaces()); diff != "" {
		t.Errorf("Namespaces (-want +got):\n%s", diff)
	}
	want := []v1alpha1.Finding{
		{
			ID: IDNamespaceNotStrict, Category: v1alpha1.CategoryMTLS, Severity: v1alpha1.SeverityMedium, Resource: namespaceRef("shop"),
			Message: "Namespace shop is in the mesh but its namespace-level mTLS mode is PERMISSIVE (mesh-wide PeerAuthentication istio-system/default): " +
				"workloads without a STRICT policy of their own accept plaintext.",
			Remediation: "Set mtls.mode: STRICT on a namespace-wide PeerAuthentication in shop once every client of these workloads runs in the mesh (PERMISSIVE is for migration only).",
		},
		{
			ID: IDPodsWithoutSidecar, Category: v1alpha1.CategoryMTLS, Severity: v1alpha1.SeverityMedium, Resource: namespaceRef("shop"),
			Message:     "1 pod runs without an istio-proxy sidecar in mesh namespace shop (opted out, or created before injection was enabled): plaintext only, no mTLS.",
			Remediation: noSidecarRemediation,
		},
		{
			ID: IDPermissive, Category: v1alpha1.CategoryMTLS, Severity: v1alpha1.SeverityMedium, Resource: namespaceRef("shop"),
			Message:     "In namespace shop, 3 meshed pods accept plaintext: mode PERMISSIVE (mesh-wide PeerAuthentication istio-system/default).",
			Remediation: "Set mtls.mode: STRICT on a namespace-wide PeerAuthentication in shop once every client of these workloads runs in the mesh (PERMISSIVE is for migration only).",
		},
		{
			ID: IDDisabled, Category: v1alpha1.CategoryMTLS, Severity: v1alpha1.SeverityHigh, Resource: policies[1].Ref(),
			Message:     "In namespace shop, 2 meshed pods accept plaintext on port 8080 (portLevelMtls): mode DISABLE (workload PeerAuthentication shop/web).",
			Remediation: "Set mtls.mode: STRICT on PeerAuthentication shop/web once every client of these workloads runs in the mesh (PERMISSIVE is for migration only).",
		},
	}
	if diff := cmp.Diff(want, a.Findings()); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

func TestNotInstalled(t *testing.T) {
	f := NotInstalled()
	if f.ID != IDNotInstalled || f.Severity != v1alpha1.SeverityInfo || f.Category != v1alpha1.CategoryMTLS || f.Resource.Name != CRDName {
		t.Errorf("NotInstalled() = %+v", f)
	}
}

func TestFromUnstructured(t *testing.T) {
	tests := map[string]struct {
		yaml    string
		want    PeerAuthentication
		wantErr string
	}{
		"v1 with selector and ports": {
			yaml: `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: web, namespace: shop, creationTimestamp: "2026-01-01T00:03:00Z"}
spec:
  selector: {matchLabels: {app: web}}
  mtls: {mode: STRICT}
  portLevelMtls:
    "8080": {mode: DISABLE}
    9090: {}
`,
			want: PeerAuthentication{Namespace: "shop", Name: "web", CreationTimestamp: at(3), Selector: map[string]string{"app": "web"},
				Mode: ModeStrict, PortLevel: map[uint32]Mode{8080: ModeDisable, 9090: ModeUnset}},
		},
		"v1beta1 without spec": {
			yaml: "apiVersion: security.istio.io/v1beta1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: istio-system}\n",
			want: PeerAuthentication{Namespace: "istio-system", Name: "default", Mode: ModeUnset},
		},
		"no type meta": {
			yaml: "metadata: {name: default, namespace: a}\nspec: {mtls: {mode: PERMISSIVE}}\n",
			want: PeerAuthentication{Namespace: "a", Name: "default", Mode: ModePermissive},
		},
		"unknown mode": {
			yaml:    "metadata: {name: x, namespace: a}\nspec: {mtls: {mode: strict}}\n",
			wantErr: `spec.mtls.mode: unknown mode "strict"`,
		},
		"bad port": {
			yaml:    "metadata: {name: x, namespace: a}\nspec: {portLevelMtls: {http: {mode: STRICT}}}\n",
			wantErr: `invalid port "http"`,
		},
		"port out of range": {
			yaml:    "metadata: {name: x, namespace: a}\nspec: {portLevelMtls: {\"70000\": {mode: STRICT}}}\n",
			wantErr: `invalid port "70000"`,
		},
		"selector of the wrong type": {
			yaml:    "metadata: {name: x, namespace: a}\nspec: {selector: {matchLabels: [app]}}\n",
			wantErr: "spec.selector.matchLabels",
		},
		"another kind": {
			yaml:    "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: x, namespace: a}\n",
			wantErr: "not a security.istio.io PeerAuthentication",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(tc.yaml), &u.Object); err != nil {
				t.Fatal(err)
			}
			got, err := FromUnstructured(u)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("FromUnstructured (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFromUnstructuredList(t *testing.T) {
	good := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "ok", "namespace": "a"}}}
	bad := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "bad", "namespace": "a"},
		"spec":     map[string]any{"mtls": map[string]any{"mode": "SOMETIMES"}},
	}}
	ps, fs := FromUnstructuredList([]*unstructured.Unstructured{good, bad})
	if len(ps) != 1 || ps[0].Name != "ok" {
		t.Errorf("policies = %+v, want only a/ok", ps)
	}
	if got := summarize(fs); !cmp.Equal(got, []string{"mtls.invalid-policy Low PeerAuthentication a/bad"}) {
		t.Errorf("findings = %v", got)
	}
}

package workloads

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/palisade-sec/palisade/api/v1alpha1"
)

// kubesecFindings keeps the Workload findings of res.
func kubesecFindings(res Result) []v1alpha1.Finding {
	var out []v1alpha1.Finding
	for _, f := range res.Findings {
		if f.Category == v1alpha1.CategoryWorkload {
			out = append(out, f)
		}
	}
	return out
}

func TestKubesecFindings(t *testing.T) {
	deployment := v1alpha1.ResourceRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "team", Name: "web"}
	privileged := func(sc *corev1.SecurityContext) { sc.Privileged = ptr.To(true) }
	tests := map[string]struct {
		tmpl   corev1.PodTemplateSpec
		advice bool
		want   []v1alpha1.Finding
	}{
		"negative rules name every container, volume and mounting container": {
			tmpl: tmpl(initContainer("setup"), container("side"),
				containerSC("setup", privileged), appSC(privileged), containerSC("side", privileged),
				spec(func(s *corev1.PodSpec) { s.HostNetwork = true }),
				hostPathVolume("sock", "/var/run/docker.sock", "side"),
				// Every positive rule met, so that advice adds nothing.
				func(t *corev1.PodTemplateSpec) {
					h := hardened()
					t.Spec.SecurityContext, t.Spec.ServiceAccountName, t.Spec.AutomountServiceAccountToken =
						h.Spec.SecurityContext, h.Spec.ServiceAccountName, h.Spec.AutomountServiceAccountToken
					t.Spec.Containers[0].Resources = h.Spec.Containers[0].Resources
					t.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem = ptr.To(true)
					t.Spec.Containers[0].SecurityContext.Capabilities = &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}
				},
			),
			advice: true,
			want: []v1alpha1.Finding{
				{
					ID: "kubesec.Privileged", Category: "Workload", Severity: v1alpha1.SeverityCritical, Resource: deployment,
					Message: `init container "setup", container "app", container "side": securityContext.privileged is true. ` +
						"Privileged containers can allow almost completely unrestricted host access.",
				},
				{
					ID: "kubesec.HostNetwork", Category: "Workload", Severity: v1alpha1.SeverityHigh, Resource: deployment,
					Message: "pod spec: hostNetwork is true. Sharing the host's network namespace permits processes in the pod " +
						"to communicate with processes bound to the host's loopback adapter.",
				},
				{
					ID: "kubesec.DockerSock", Category: "Workload", Severity: v1alpha1.SeverityHigh, Resource: deployment,
					Message: `volume "sock" (hostPath /var/run/docker.sock) mounted by container "side": the Docker socket is mounted from the host. ` +
						"Mounting the docker.socket leaks information about other containers and can allow container breakout.",
				},
			},
		},
		"advice names the containers that miss a positive rule": {
			tmpl: tmpl(initContainer("init"), container("side"),
				func(t *corev1.PodTemplateSpec) {
					h := hardened()
					t.Spec.SecurityContext, t.Spec.ServiceAccountName, t.Spec.AutomountServiceAccountToken =
						h.Spec.SecurityContext, h.Spec.ServiceAccountName, h.Spec.AutomountServiceAccountToken
				},
				appSC(func(sc *corev1.SecurityContext) {
					sc.Capabilities = &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}
				}),
				resources("app", func(r *corev1.ResourceRequirements) {
					r.Limits, r.Requests = hardened().Spec.Containers[0].Resources.Limits, nil
				}),
				resources("side", func(r *corev1.ResourceRequirements) { r.Requests = hardened().Spec.Containers[0].Resources.Requests }),
			),
			advice: true,
			want: []v1alpha1.Finding{
				{
					ID: "kubesec.ReadOnlyRootFilesystem", Category: "Workload", Severity: v1alpha1.SeverityLow, Resource: deployment,
					Message: `init container "init", container "app", container "side": securityContext.readOnlyRootFilesystem is not true. ` +
						"An immutable root filesystem can prevent malicious binaries being added to PATH and increase attack cost.",
				},
			},
		},
		"resource advice names containers, not init containers": {
			tmpl: tmpl(initContainer("init"), container("side"),
				func(t *corev1.PodTemplateSpec) {
					h := hardened()
					t.Spec.SecurityContext, t.Spec.ServiceAccountName, t.Spec.AutomountServiceAccountToken =
						h.Spec.SecurityContext, h.Spec.ServiceAccountName, h.Spec.AutomountServiceAccountToken
					t.Spec.Containers[0].SecurityContext = h.Spec.Containers[0].SecurityContext
				},
				resources("app", func(r *corev1.ResourceRequirements) {
					r.Limits = corev1.ResourceList{corev1.ResourceMemory: quantity("1Gi")}
					r.Requests = hardened().Spec.Containers[0].Resources.Requests
				}),
			),
			advice: true,
			want: []v1alpha1.Finding{
				{
					ID: "kubesec.LimitsCPU", Category: "Workload", Severity: v1alpha1.SeverityInfo, Resource: deployment,
					Message: `container "app", container "side": resources.limits.cpu is not set. Enforcing CPU limits prevents DOS via resource exhaustion.`,
				},
			},
		},
		"without advice only negative rules are reported": {
			tmpl: tmpl(spec(func(s *corev1.PodSpec) { s.HostIPC = true })),
			want: []v1alpha1.Finding{
				{
					ID: "kubesec.HostIPC", Category: "Workload", Severity: v1alpha1.SeverityHigh, Resource: deployment,
					Message: "pod spec: hostIPC is true. Sharing the host's IPC namespace allows container processes to communicate with processes on the host.",
				},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := Analyze(asDeployment(tc.tmpl), Options{Advice: tc.advice})
			if err != nil {
				t.Fatal(err)
			}
			got := kubesecFindings(res)
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(v1alpha1.Finding{}, "Remediation")); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			for _, f := range got {
				if f.Remediation == "" {
					t.Errorf("%s has no remediation", f.ID)
				}
			}
		})
	}
}

func TestKubesecSeverities(t *testing.T) {
	everything := tmpl(initContainer("init"),
		spec(func(s *corev1.PodSpec) {
			s.HostIPC, s.HostNetwork, s.HostPID = true, true, true
			s.HostAliases = []corev1.HostAlias{{IP: "10.0.0.1", Hostnames: []string{"db"}}}
		}),
		annotate("seccomp.security.alpha.kubernetes.io/pod", "unconfined"),
		appSC(func(sc *corev1.SecurityContext) {
			sc.Privileged = ptr.To(true)
			sc.AllowPrivilegeEscalation = ptr.To(true)
		}),
		containerSC("init", func(sc *corev1.SecurityContext) {
			sc.Capabilities = &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}}
		}),
		hostPathVolume("sock", "/var/run/docker.sock", "app"),
		hostPathVolume("proc", "/proc", "init"),
	)
	tests := map[string]struct {
		obj    corev1.PodTemplateSpec
		advice bool
		want   map[string]v1alpha1.Severity
	}{
		"negative rules by points": {
			obj: everything,
			want: map[string]v1alpha1.Severity{
				"kubesec.Privileged":               v1alpha1.SeverityCritical,
				"kubesec.CapSysAdmin":              v1alpha1.SeverityCritical,
				"kubesec.HostIPC":                  v1alpha1.SeverityHigh,
				"kubesec.HostNetwork":              v1alpha1.SeverityHigh,
				"kubesec.HostPID":                  v1alpha1.SeverityHigh,
				"kubesec.DockerSock":               v1alpha1.SeverityHigh,
				"kubesec.ProcMount":                v1alpha1.SeverityHigh,
				"kubesec.AllowPrivilegeEscalation": v1alpha1.SeverityHigh,
				"kubesec.HostAliases":              v1alpha1.SeverityMedium,
				"kubesec.SeccompUnconfined":        v1alpha1.SeverityMedium,
			},
		},
		"advice: Low with an advise weight, Info without": {
			obj:    tmpl(),
			advice: true,
			want: map[string]v1alpha1.Severity{
				"kubesec.ReadOnlyRootFilesystem":       v1alpha1.SeverityLow,
				"kubesec.RunAsGroup":                   v1alpha1.SeverityLow,
				"kubesec.RunAsNonRoot":                 v1alpha1.SeverityLow,
				"kubesec.RunAsUser":                    v1alpha1.SeverityLow,
				"kubesec.ApparmorAny":                  v1alpha1.SeverityInfo,
				"kubesec.AutomountServiceAccountToken": v1alpha1.SeverityInfo,
				"kubesec.CapDropAll":                   v1alpha1.SeverityInfo,
				"kubesec.CapDropAny":                   v1alpha1.SeverityInfo,
				"kubesec.LimitsCPU":                    v1alpha1.SeverityInfo,
				"kubesec.LimitsMemory":                 v1alpha1.SeverityInfo,
				"kubesec.RequestsCPU":                  v1alpha1.SeverityInfo,
				"kubesec.RequestsMemory":               v1alpha1.SeverityInfo,
				"kubesec.SeccompAny":                   v1alpha1.SeverityInfo,
				"kubesec.ServiceAccountName":           v1alpha1.SeverityInfo,
			},
		},
		"no advice, nothing wrong": {obj: hardened(), want: map[string]v1alpha1.Severity{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := Analyze(asPod(tc.obj), Options{Advice: tc.advice})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]v1alpha1.Severity{}
			for _, f := range kubesecFindings(res) {
				got[f.ID] = f.Severity
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("severities (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLongMessagesAreTruncated(t *testing.T) {
	var opts []opt
	for i := range 60 {
		name := strings.Repeat("é", 20) + string(rune('a'+i%26)) + strings.Repeat("x", i)
		opts = append(opts, container(name), containerSC(name, func(sc *corev1.SecurityContext) { sc.Privileged = ptr.To(true) }))
	}
	res, err := Analyze(asPod(tmpl(opts...)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		if len(f.Message) > maxMessageLen || !utf8.ValidString(f.Message) {
			t.Errorf("%s: message of %d bytes (valid UTF-8: %v)", f.ID, len(f.Message), utf8.ValidString(f.Message))
		}
		if f.ID == "kubesec.Privileged" && !strings.HasSuffix(f.Message, "…") {
			t.Errorf("kubesec.Privileged message not marked as cut: %q", f.Message)
		}
	}
}

func TestRef(t *testing.T) {
	// Typed objects as read from the API server have no TypeMeta.
	for kind, wrap := range kinds {
		t.Run(kind, func(t *testing.T) {
			obj := wrap(tmpl())
			if !obj.GetObjectKind().GroupVersionKind().Empty() {
				t.Fatal("the builders should leave TypeMeta empty")
			}
			got := Ref(obj)
			if got.Kind != kind || got.APIVersion == "" || got.Name != "web" || got.Namespace != "team" {
				t.Errorf("Ref = %+v", got)
			}
		})
	}
}

package workloads

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-sec/palisade/api/v1alpha1"
)

func TestKubesecResult(t *testing.T) {
	insecure := tmpl(
		spec(func(s *corev1.PodSpec) { s.HostPID = true }),
		annotate("seccomp.security.alpha.kubernetes.io/pod", "unconfined"),
		podSC(func(sc *corev1.PodSecurityContext) { sc.RunAsNonRoot = ptr.To(true) }),
		appSC(func(sc *corev1.SecurityContext) {
			sc.Privileged = ptr.To(true)
			sc.Capabilities = &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}}
		}),
	)
	type want struct {
		Object                   string
		Valid                    bool
		Message                  string
		Score                    int
		Critical, Passed, Advise []string
	}
	tests := map[string]struct {
		obj  client.Object
		want want
	}{
		"insecure Deployment: criticals most negative first, then by selector": {
			obj: asDeployment(insecure),
			want: want{
				Object: "Deployment/web.team", Valid: true, Message: "Failed with a score of -69 points", Score: -69,
				Critical: []string{"CapSysAdmin", "Privileged", "HostPID", "SeccompUnconfined"},
				Passed:   []string{"RunAsNonRoot"},
				Advise: []string{
					"ApparmorAny", "ServiceAccountName", "SeccompAny", "AutomountServiceAccountToken",
					"RunAsGroup", "RunAsUser", "LimitsCPU", "LimitsMemory", "RequestsCPU", "RequestsMemory",
					"CapDropAny", "CapDropAll", "ReadOnlyRootFilesystem",
				},
			},
		},
		"hardened StatefulSet: everything passed, biggest points first": {
			obj: asStatefulSet(hardened(), claim("data", "1Gi", corev1.ReadWriteOnce)),
			want: want{
				Object: "StatefulSet/web.team", Valid: true, Message: "Passed with a score of 20 points", Score: 20,
				Passed: []string{
					"ApparmorAny", "ServiceAccountName", "SeccompAny", "AutomountServiceAccountToken",
					"VolumeClaimAccessModeReadWriteOnce", "VolumeClaimRequestsStorage",
					"RunAsGroup", "RunAsNonRoot", "RunAsUser", "LimitsCPU", "LimitsMemory", "RequestsCPU", "RequestsMemory",
					"CapDropAny", "CapDropAll", "ReadOnlyRootFilesystem",
				},
			},
		},
		"score 0 passes; no name or namespace": {
			obj: &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}},
			want: want{
				Object: "Pod/undefined.default", Valid: true, Message: "Passed with a score of 0 points", Score: 0,
				Advise: []string{
					"ApparmorAny", "ServiceAccountName", "SeccompAny", "AutomountServiceAccountToken",
					"RunAsGroup", "RunAsNonRoot", "RunAsUser", "LimitsCPU", "LimitsMemory", "RequestsCPU", "RequestsMemory",
					"CapDropAny", "CapDropAll", "ReadOnlyRootFilesystem",
				},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := Analyze(tc.obj, Options{})
			if err != nil {
				t.Fatal(err)
			}
			k := res.Kubesec
			got := want{k.Object, k.Valid, k.Message, k.Score, ids(k.Scoring.Critical), ids(k.Scoring.Passed), ids(k.Scoring.Advise)}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestKubesecJSON checks the field names and omissions kubesec's JSON has.
func TestKubesecJSON(t *testing.T) {
	tests := map[string]struct {
		res  KubesecResult
		want string
	}{
		"scored: empty lists are left out, fileName is not": {
			res: KubesecResult{Object: "Pod/a.default", Valid: true, Message: "Passed with a score of 1 points", Score: 1,
				Scoring: KubesecScoring{Passed: []KubesecRule{{ID: "CapDropAny", Selector: "s", Reason: "r", Points: 1}}}},
			want: `{"object":"Pod/a.default","valid":true,"fileName":"","message":"Passed with a score of 1 points","score":1,` +
				`"scoring":{"passed":[{"id":"CapDropAny","selector":"s","reason":"r","points":1}]}}`,
		},
		"unsupported kind": {
			res:  UnsupportedKubesecResult(v1alpha1.ResourceRef{APIVersion: "v1", Kind: "ConfigMap", Name: "cfg"}),
			want: `{"object":"ConfigMap/cfg.default","valid":true,"fileName":"","message":"This resource kind is not supported by kubesec","score":0,"scoring":{}}`,
		},
		"no kind": {
			res:  UnsupportedKubesecResult(v1alpha1.ResourceRef{Name: "x"}),
			want: `{"object":"Unknown","valid":true,"fileName":"","message":"This resource kind is not supported by kubesec","score":0,"scoring":{}}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := json.Marshal(tc.res)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(b)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnalyzeErrors(t *testing.T) {
	tests := map[string]struct {
		obj         client.Object
		opts        Options
		unsupported bool
	}{
		"Service":       {obj: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s"}}, unsupported: true},
		"ConfigMap":     {obj: &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, unsupported: true},
		"unknown level": {obj: asPod(tmpl()), opts: Options{Level: "strict"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Analyze(tc.obj, tc.opts)
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, ErrUnsupportedKind); got != tc.unsupported {
				t.Errorf("errors.Is(%v, ErrUnsupportedKind) = %v, want %v", err, got, tc.unsupported)
			}
		})
	}
}

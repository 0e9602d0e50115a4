package workloads

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-sec/palisade/api/v1alpha1"
)

func TestPodSecurity(t *testing.T) {
	privileged := appSC(func(sc *corev1.SecurityContext) { sc.Privileged = ptr.To(true) })
	unconfined := podSC(func(sc *corev1.PodSecurityContext) { sc.SeccompProfile = seccomp(corev1.SeccompProfileTypeUnconfined) })
	restrictedFailures := []string{
		"pss.restricted.allowPrivilegeEscalation",
		"pss.restricted.capabilities_restricted",
		"pss.restricted.runAsNonRoot",
		"pss.restricted.seccompProfile_restricted",
	}
	type finding struct {
		ID       string
		Severity v1alpha1.Severity
		Message  string
	}
	tests := map[string]struct {
		obj       client.Object
		level     v1alpha1.PodSecurityLevel
		wantLevel string
		wantIDs   []string
		// want, when set, is compared with the findings in full.
		want []finding
	}{
		"hardened meets restricted": {obj: asDeployment(hardened()), wantLevel: "restricted"},
		"hardened, checked at baseline": {
			obj: asDeployment(hardened()), level: v1alpha1.PodSecurityBaseline, wantLevel: "restricted",
		},
		"defaults meet baseline and fail restricted": {
			obj: asDeployment(tmpl()), wantLevel: "baseline", wantIDs: restrictedFailures,
		},
		"empty level means restricted": {
			obj: asDeployment(tmpl()), level: "", wantLevel: "baseline", wantIDs: restrictedFailures,
		},
		"defaults, checked at baseline": {
			obj: asDeployment(tmpl()), level: v1alpha1.PodSecurityBaseline, wantLevel: "baseline",
		},
		"privileged container at baseline: High, with the library's reason and detail": {
			obj: asPod(tmpl(privileged)), level: v1alpha1.PodSecurityBaseline, wantLevel: "privileged",
			want: []finding{{
				ID: "pss.baseline.privileged", Severity: v1alpha1.SeverityHigh,
				Message: `Pod Security Standards baseline: privileged (container "app" must not set securityContext.privileged=true)`,
			}},
		},
		"privileged container at restricted: baseline check first": {
			obj: asPod(tmpl(privileged)), level: v1alpha1.PodSecurityRestricted, wantLevel: "privileged",
			wantIDs: append([]string{"pss.baseline.privileged"}, restrictedFailures...),
		},
		"restricted checks are Medium": {
			obj: asPod(tmpl(initContainer("init"))), wantLevel: "baseline",
			want: []finding{
				{"pss.restricted.allowPrivilegeEscalation", v1alpha1.SeverityMedium,
					`Pod Security Standards restricted: allowPrivilegeEscalation != false (containers "init", "app" must set securityContext.allowPrivilegeEscalation=false)`},
				{"pss.restricted.capabilities_restricted", v1alpha1.SeverityMedium,
					`Pod Security Standards restricted: unrestricted capabilities (containers "init", "app" must set securityContext.capabilities.drop=["ALL"])`},
				{"pss.restricted.runAsNonRoot", v1alpha1.SeverityMedium,
					`Pod Security Standards restricted: runAsNonRoot != true (pod or containers "init", "app" must set securityContext.runAsNonRoot=true)`},
				{"pss.restricted.seccompProfile_restricted", v1alpha1.SeverityMedium,
					`Pod Security Standards restricted: seccompProfile (pod or containers "init", "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`},
			},
		},
		"unconfined seccomp at baseline": {
			obj: asPod(tmpl(unconfined)), level: v1alpha1.PodSecurityBaseline, wantLevel: "privileged",
			wantIDs: []string{"pss.baseline.seccompProfile_baseline"},
		},
		"unconfined seccomp at restricted: the baseline failure stays High beside the restricted check": {
			obj: asPod(tmpl(unconfined)), wantLevel: "privileged",
			wantIDs: append([]string{"pss.baseline.seccompProfile_baseline"}, restrictedFailures...),
		},
		"hostPath at baseline": {
			obj: asDaemonSet(tmpl(hostPathVolume("logs", "/var/log", "app"))), level: v1alpha1.PodSecurityBaseline, wantLevel: "privileged",
			wantIDs: []string{"pss.baseline.hostPathVolumes"},
		},
		"hostPath at restricted: restrictedVolumes overrides hostPathVolumes": {
			obj: asDaemonSet(hardened(hostPathVolume("logs", "/var/log", "app"))), wantLevel: "privileged",
			// The baseline violation stays High beside the restricted check.
			wantIDs: []string{"pss.baseline.hostPathVolumes", "pss.restricted.restrictedVolumes"},
		},
		"host namespaces and AppArmor annotation on the template": {
			obj: asCronJob(tmpl(
				spec(func(s *corev1.PodSpec) { s.HostPID = true }),
				annotate("container.apparmor.security.beta.kubernetes.io/app", "unconfined"),
			)),
			level: v1alpha1.PodSecurityBaseline, wantLevel: "privileged",
			wantIDs: []string{"pss.baseline.appArmorProfile", "pss.baseline.hostNamespaces"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := Analyze(tc.obj, Options{Level: tc.level})
			if err != nil {
				t.Fatal(err)
			}
			if res.PodSecurityLevel != tc.wantLevel {
				t.Errorf("PodSecurityLevel = %q, want %q", res.PodSecurityLevel, tc.wantLevel)
			}
			var got []finding
			var gotIDs []string
			for _, f := range res.Findings {
				if f.Category != v1alpha1.CategoryPodSecurity {
					continue
				}
				if f.Resource != res.Resource || f.Remediation == "" {
					t.Errorf("%s: resource %+v, remediation %q", f.ID, f.Resource, f.Remediation)
				}
				got = append(got, finding{f.ID, f.Severity, f.Message})
				gotIDs = append(gotIDs, f.ID)
			}
			if tc.want != nil {
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("findings (-want +got):\n%s", diff)
				}
				return
			}
			if diff := cmp.Diff(tc.wantIDs, gotIDs); diff != "" {
				t.Errorf("finding IDs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPSSChecksMatchEvaluator holds Analyze's use of the checks to the
// library's own evaluator: same level met, same failures at baseline, and at
// restricted the evaluator's failures plus the baseline failures that a
// restricted check stands in for (reported too, so that they stay High).
func TestPSSChecksMatchEvaluator(t *testing.T) {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	levels := map[v1alpha1.PodSecurityLevel]api.Level{
		v1alpha1.PodSecurityBaseline:   api.LevelBaseline,
		v1alpha1.PodSecurityRestricted: api.LevelRestricted,
	}
	seenLevels := map[string]bool{}
	for _, obj := range generateWorkloads(500) {
		p, _ := templateOf(obj)
		for level, apiLevel := range levels {
			res, err := Analyze(obj, Options{Level: level})
			if err != nil {
				t.Fatal(err)
			}
			seenLevels[res.PodSecurityLevel] = true
			agg := policy.AggregateCheckResults(evaluator.EvaluatePod(api.LevelVersion{Level: apiLevel, Version: api.LatestVersion()}, p.meta, p.spec))
			var got []string
			for _, f := range res.Findings {
				if f.Category == v1alpha1.CategoryPodSecurity {
					got = append(got, f.Message)
				}
			}
			want := messages(agg)
			if level == v1alpha1.PodSecurityRestricted {
				base := messages(policy.AggregateCheckResults(evaluator.EvaluatePod(api.LevelVersion{Level: api.LevelBaseline, Version: api.LatestVersion()}, p.meta, p.spec)))
				want = unionInOrder(base, want)
			}
			if diff := cmp.Diff(want, stripLevel(got), cmpopts.EquateEmpty(), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Fatalf("%s at %s (-evaluator +Analyze):\n%s", Ref(obj).Kind, level, diff)
			}
		}
		res, _ := Analyze(obj, Options{})
		if want := evaluatorLevel(evaluator, p); res.PodSecurityLevel != want {
			t.Fatalf("%s: level %s, evaluator says %s", Ref(obj).Kind, res.PodSecurityLevel, want)
		}
	}
	if len(seenLevels) != 3 {
		t.Errorf("the generated workloads reach only levels %v", seenLevels)
	}
}

func evaluatorLevel(e policy.Evaluator, p *podTemplate) string {
	for _, l := range []api.Level{api.LevelRestricted, api.LevelBaseline} {
		if policy.AggregateCheckResults(e.EvaluatePod(api.LevelVersion{Level: l, Version: api.LatestVersion()}, p.meta, p.spec)).Allowed {
			return string(l)
		}
	}
	return string(api.LevelPrivileged)
}

// stripLevel removes the "Pod Security Standards <level>: " prefix.
func stripLevel(msgs []string) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		m = strings.TrimPrefix(m, "Pod Security Standards baseline: ")
		out[i] = strings.TrimPrefix(m, "Pod Security Standards restricted: ")
	}
	return out
}

func TestPSSRemediations(t *testing.T) {
	var ids []string
	for _, c := range policy.DefaultChecks() {
		ids = append(ids, string(c.ID))
		if _, ok := pssRemediations[string(c.ID)]; !ok {
			t.Errorf("check %s has no remediation", c.ID)
		}
	}
	for id := range pssRemediations {
		if !slices.Contains(ids, id) {
			t.Errorf("remediation for unknown check %s", id)
		}
	}
}

// messages renders the evaluator's failures as Analyze's messages do.
func messages(agg policy.AggregateCheckResult) []string {
	var out []string
	for i, reason := range agg.ForbiddenReasons {
		msg := reason
		if agg.ForbiddenDetails[i] != "" {
			msg += " (" + agg.ForbiddenDetails[i] + ")"
		}
		out = append(out, msg)
	}
	return out
}

// unionInOrder is a followed by the elements of b that a lacks.
func unionInOrder(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

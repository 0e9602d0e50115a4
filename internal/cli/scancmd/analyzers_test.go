package scancmd

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/analyzers/workloads"
)

const dump = "testdata/cluster/dump.yaml"

func ref(r *v1alpha1.ResourceRef) string {
	if r == nil {
		return ""
	}
	return fmt.Sprintf("%s %s/%s", r.Kind, r.Namespace, r.Name)
}

// isWorkloadFinding tells the workloads analyzer's findings from the others'.
func isWorkloadFinding(f v1alpha1.Finding) bool {
	return f.Category == v1alpha1.CategoryWorkload || f.Category == v1alpha1.CategoryPodSecurity
}

// TestDump scans a `kubectl get -A -o yaml` dump: every analyzer runs, and
// each pod template is scored once, through its top-level owner.
func TestDump(t *testing.T) {
	rep := scanJSON(t, "", "-f", dump)

	var analyzers []string
	for _, a := range rep.Analyzers {
		analyzers = append(analyzers, fmt.Sprintf("%s %d", a.Name, a.Resources))
	}
	wantAnalyzers := []string{"workloads 3", "rbac 3", "networkPolicies 3", "mtls 2"}
	if diff := cmp.Diff(wantAnalyzers, analyzers); diff != "" {
		t.Errorf("analyzers and resources (-want +got):\n%s", diff)
	}

	var objects []string
	for _, o := range rep.Objects {
		objects = append(objects, strings.TrimSpace(fmt.Sprintf("%s %s %s", ref(o.Resource), o.Status, ref(o.Owner))))
	}
	wantObjects := []string{
		"Namespace /istio-system analyzed",
		"Namespace /shop analyzed",
		"Deployment shop/web scored",
		"ReplicaSet shop/web-5d8f7c owned Deployment shop/web",
		"Pod shop/web-5d8f7c-abcde owned ReplicaSet shop/web-5d8f7c",
		"Pod shop/web-5d8f7c-fghij owned ReplicaSet shop/web-5d8f7c",
		"Pod shop/nightly-29031-x7k2p scored", // its Job is not in the dump
		"Pod shop/ci-runner-0 scored",
		"ServiceAccount shop/ci analyzed",
		"Role shop/pod-debugger analyzed",
		"RoleBinding shop/ci-debug analyzed",
		"Role shop/config-reader analyzed",
		"NetworkPolicy shop/default-deny-ingress analyzed",
		"PeerAuthentication istio-system/default analyzed",
		"PeerAuthentication shop/web-migration analyzed",
	}
	if diff := cmp.Diff(wantObjects, objects); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}

	var others []string
	scoredOnce := map[string]int{}
	for _, f := range rep.Findings {
		if isWorkloadFinding(f) {
			scoredOnce[ref(&f.Resource)+" "+f.ID]++
			continue
		}
		others = append(others, fmt.Sprintf("%s %s %s", f.ID, f.Severity, ref(&f.Resource)))
	}
	wantOthers := []string{ // in the report's order: severity, category, resource, ID
		"rbac.risky-pod High Pod shop/ci-runner-0",
		"rbac.exec-pods High Role shop/pod-debugger",
		"rbac.exec-pods High RoleBinding shop/ci-debug",
		"mtls.permissive Medium PeerAuthentication shop/web-migration",
		"netpol.no-default-deny-ingress Medium Namespace /istio-system",
		"netpol.no-default-deny-egress Low Namespace /istio-system",
		"netpol.no-default-deny-egress Low Namespace /shop",
		"netpol.pods-not-isolated-egress Low Namespace /shop",
	}
	if diff := cmp.Diff(wantOthers, others); diff != "" {
		t.Errorf("rbac, networkPolicies and mtls findings (-want +got):\n%s", diff)
	}
	for key, n := range scoredOnce {
		if n != 1 {
			t.Errorf("%d findings %s", n, key)
		}
		if !strings.HasPrefix(key, "Deployment shop/web ") && !strings.HasPrefix(key, "Pod shop/nightly-29031-x7k2p ") && !strings.HasPrefix(key, "Pod shop/ci-runner-0 ") {
			t.Errorf("workload finding on an object scored through its owner: %s", key)
		}
	}
	if scoredOnce["Deployment shop/web kubesec.Privileged"] != 1 {
		t.Errorf("no kubesec.Privileged finding on the Deployment")
	}
}

// TestDumpKubesec checks that -o kubesec has one entry per pod template.
func TestDumpKubesec(t *testing.T) {
	code, stdout, stderr := run(t, "", "-f", dump, "-o", "kubesec")
	if code != 0 || stderr != "" {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	var entries []workloads.KubesecResult
	if err := json.Unmarshal([]byte(stdout), &entries); err != nil {
		t.Fatal(err)
	}
	scores := map[string]int{}
	for _, e := range entries {
		if e.Message != "This resource kind is not supported by kubesec" {
			scores[e.Object] = e.Score
		}
	}
	want := map[string]int{"Deployment/web.shop": -30, "Pod/nightly-29031-x7k2p.shop": 0, "Pod/ci-runner-0.shop": 3}
	if diff := cmp.Diff(want, scores); diff != "" {
		t.Errorf("scored entries (-want +got):\n%s", diff)
	}
	if len(entries) != 12 {
		t.Errorf("%d entries, want 12: 15 objects but 3 owned", len(entries))
	}
}

// workloadDoc is a YAML document for a shop object of kind with a pod template
// (or a Rollout, whose template Palisade does not read), controlled by
// owner ("Kind/name", "" for none).
func workloadDoc(kind, name, owner string) string {
	apiVersions := map[string]string{
		"Pod": "v1", "ReplicaSet": "apps/v1", "Deployment": "apps/v1", "StatefulSet": "apps/v1",
		"Job": "batch/v1", "CronJob": "batch/v1", "Rollout": "argoproj.io/v1alpha1",
	}
	pod := `{containers: [{name: app, image: "app:1"}]}`
	spec := fmt.Sprintf("{template: {spec: %s}}", pod)
	switch kind {
	case "Pod":
		spec = pod
	case "CronJob":
		spec = fmt.Sprintf(`{schedule: "0 * * * *", jobTemplate: {spec: %s}}`, spec)
	}
	refs := ""
	if owner != "" {
		ownerKind, ownerName, _ := strings.Cut(owner, "/")
		refs = fmt.Sprintf(", ownerReferences: [{apiVersion: %s, kind: %s, name: %s, uid: u, controller: true}]", apiVersions[ownerKind], ownerKind, ownerName)
	}
	return fmt.Sprintf("apiVersion: %s\nkind: %s\nmetadata: {name: %s, namespace: shop%s}\nspec: %s\n---\n", apiVersions[kind], kind, name, refs, spec)
}

func TestOwnedTemplates(t *testing.T) {
	tests := map[string]struct {
		objects []string
		want    []string
	}{
		"Deployment, ReplicaSet and Pod: through the Deployment": {
			objects: []string{workloadDoc("Pod", "web-1-a", "ReplicaSet/web-1"), workloadDoc("ReplicaSet", "web-1", "Deployment/web"), workloadDoc("Deployment", "web", "")},
			want:    []string{"Pod shop/web-1-a owned ReplicaSet shop/web-1", "ReplicaSet shop/web-1 owned Deployment shop/web", "Deployment shop/web scored"},
		},
		"ReplicaSet and Pod without their Deployment: through the ReplicaSet": {
			objects: []string{workloadDoc("ReplicaSet", "web-1", "Deployment/web"), workloadDoc("Pod", "web-1-a", "ReplicaSet/web-1")},
			want:    []string{"ReplicaSet shop/web-1 scored", "Pod shop/web-1-a owned ReplicaSet shop/web-1"},
		},
		"Pod without its ReplicaSet: as given": {
			objects: []string{workloadDoc("Pod", "web-1-a", "ReplicaSet/web-1"), workloadDoc("ReplicaSet", "web-2", "Deployment/web")},
			want:    []string{"Pod shop/web-1-a scored", "ReplicaSet shop/web-2 scored"},
		},
		"CronJob, Job and Pod: through the CronJob": {
			objects: []string{workloadDoc("CronJob", "nightly", ""), workloadDoc("Job", "nightly-1", "CronJob/nightly"), workloadDoc("Pod", "nightly-1-a", "Job/nightly-1")},
			want:    []string{"CronJob shop/nightly scored", "Job shop/nightly-1 owned CronJob shop/nightly", "Pod shop/nightly-1-a owned Job shop/nightly-1"},
		},
		"StatefulSet and Pod": {
			objects: []string{workloadDoc("StatefulSet", "db", ""), workloadDoc("Pod", "db-0", "StatefulSet/db")},
			want:    []string{"StatefulSet shop/db scored", "Pod shop/db-0 owned StatefulSet shop/db"},
		},
		"a Pod is never scored through a Deployment": {
			objects: []string{workloadDoc("Deployment", "web", ""), workloadDoc("Pod", "web", "Deployment/web")},
			want:    []string{"Deployment shop/web scored", "Pod shop/web scored"},
		},
		"Pod of a custom resource in the input: as given": {
			objects: []string{workloadDoc("Rollout", "web", ""), workloadDoc("Pod", "web-a", "Rollout/web")},
			want:    []string{"Rollout shop/web unsupported", "Pod shop/web-a scored"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rep := scanJSON(t, strings.Join(tc.objects, ""), "-f", "-")
			var got []string
			scored := map[string]bool{}
			for _, o := range rep.Objects {
				got = append(got, strings.TrimSpace(fmt.Sprintf("%s %s %s", ref(o.Resource), o.Status, ref(o.Owner))))
				scored[ref(o.Resource)] = o.Status == "scored"
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			for _, f := range rep.Findings {
				if !scored[ref(&f.Resource)] {
					t.Errorf("finding %s on %s, which is not scored", f.ID, ref(&f.Resource))
				}
			}
		})
	}
}

func TestAnalyzerSelection(t *testing.T) {
	role := "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, namespace: shop}\nrules: [{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]\n"
	tests := map[string]struct {
		stdin    string
		args     []string
		want     []string
		mustHave []string // finding IDs
	}{
		"auto: workloads":          {args: []string{"-f", "testdata/manifests/hardened.yaml"}, want: []string{"workloads"}},
		"auto: nothing applies":    {args: []string{"-f", "testdata/kubesec/other.yaml"}, want: nil},
		"auto: RBAC alone":         {stdin: role, args: []string{"-f", "-"}, want: []string{"rbac"}, mustHave: []string{"rbac.wildcard-all"}},
		"auto: every analyzer":     {args: []string{"-f", dump, "--analyzers", "auto"}, want: []string{"workloads", "rbac", "networkPolicies", "mtls"}},
		"named, in the run order":  {args: []string{"-f", "testdata/manifests/hardened.yaml", "--analyzers", "mtls,rbac"}, want: []string{"rbac", "mtls"}, mustHave: []string{"mtls.istio-not-installed"}},
		"named, repeated flag":     {args: []string{"-f", dump, "--analyzers", "networkPolicies", "--analyzers", "workloads"}, want: []string{"workloads", "networkPolicies"}},
		"named, fewer than apply":  {args: []string{"-f", dump, "--analyzers", "rbac"}, want: []string{"rbac"}, mustHave: []string{"rbac.risky-pod"}},
		"named, though none apply": {args: []string{"-f", "testdata/kubesec/other.yaml", "--analyzers", "workloads"}, want: []string{"workloads"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rep := scanJSON(t, tc.stdin, tc.args...)
			var got []string
			for _, a := range rep.Analyzers {
				got = append(got, a.Name)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("analyzers (-want +got):\n%s", diff)
			}
			ids := map[string]bool{}
			for _, f := range rep.Findings {
				ids[f.ID] = true
			}
			for _, id := range tc.mustHave {
				if !ids[id] {
					t.Errorf("no finding %s", id)
				}
			}
		})
	}
}

// TestFailedAnalyzer: an analyzer that fails is reported, and the command
// exits 2 after writing the report.
func TestFailedAnalyzer(t *testing.T) {
	// A Role of a version client-go does not know, whose rules do not
	// convert to rbac/v1.
	role := "apiVersion: rbac.authorization.k8s.io/v2\nkind: Role\nmetadata: {name: r, namespace: shop}\nrules: not-a-list\n---\n" +
		workloadDoc("Pod", "web", "")
	code, stdout, stderr := run(t, role, "-f", "-", "-o", "json")
	if code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if !strings.Contains(stderr, "analyzer failed: rbac: ") {
		t.Errorf("stderr %q does not name the analyzer", stderr)
	}
	var rep jsonReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("no report: %v\n%s", err, stdout)
	}
	var phases []string
	for _, a := range rep.Analyzers {
		phases = append(phases, a.Name+" "+string(a.Phase))
	}
	if diff := cmp.Diff([]string{"workloads Succeeded", "rbac Failed"}, phases); diff != "" {
		t.Errorf("analyzers (-want +got):\n%s", diff)
	}
}

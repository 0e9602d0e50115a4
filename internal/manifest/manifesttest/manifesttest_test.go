package manifesttest_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-sec/palisade/internal/manifest/manifesttest"
)

// describe says "namespace/name" for each object, followed by its apiVersion
// and kind when its TypeMeta is set.
func describe[T any, P interface {
	*T
	client.Object
}](objs []T) []string {
	var out []string
	for i := range objs {
		out = append(out, describeOne(P(&objs[i])))
	}
	return out
}

func describeOne(o client.Object) string {
	s := o.GetNamespace() + "/" + o.GetName()
	if gvk := o.GetObjectKind().GroupVersionKind(); !gvk.Empty() {
		s += fmt.Sprintf(" (%s %s)", gvk.GroupVersion(), gvk.Kind)
	}
	return s
}

// TestReadDump reads a List and a document after it, with an object of
// every kind Dump has a field for.
func TestReadDump(t *testing.T) {
	d := manifesttest.ReadDump(t, "testdata/dump.yaml")
	got := map[string][]string{
		"Namespaces":          describe(d.Namespaces),
		"Pods":                describe(d.Pods),
		"ServiceAccounts":     describe(d.ServiceAccounts),
		"NetworkPolicies":     describe(d.NetworkPolicies),
		"Roles":               describe(d.Roles),
		"ClusterRoles":        describe(d.ClusterRoles),
		"RoleBindings":        describe(d.RoleBindings),
		"ClusterRoleBindings": describe(d.ClusterRoleBindings),
	}
	for _, u := range d.Unstructured {
		got["Unstructured"] = append(got["Unstructured"], describeOne(u))
	}
	want := map[string][]string{
		"Namespaces":          {"/shop"},
		"Pods":                {"shop/web-0", "shop/web-1"},
		"ServiceAccounts":     {"shop/ci"},
		"NetworkPolicies":     {"shop/deny-all"},
		"Roles":               {"shop/reader"},
		"ClusterRoles":        {"/ops"},
		"RoleBindings":        {"shop/ci-reader"},
		"ClusterRoleBindings": {"/ops"},
		"Unstructured": {
			"istio-system/default (security.istio.io/v1 PeerAuthentication)",
			"shop/metrics (security.istio.io/v1 PeerAuthentication)",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if d.RoleBindings[0].RoleRef.Name != "reader" || d.Pods[0].Spec.Containers[0].Image != "web:1" {
		t.Errorf("objects not fully decoded: %+v %+v", d.RoleBindings[0], d.Pods[0])
	}
	d.RequireKinds(t, "Pod", "Namespace", "ServiceAccount", "NetworkPolicy", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "PeerAuthentication")
}

// fatalRecorder is a testing.TB whose Fatal and Fatalf record the message
// and end the goroutine, as testing's do.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatal(args ...any) {
	r.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fatal runs f on a goroutine of its own with a fatalRecorder, and returns
// what f failed with.
func fatal(f func(testing.TB)) string {
	r := &fatalRecorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
		r.msg = "no failure"
	}()
	<-done
	return r.msg
}

func TestReadDumpFails(t *testing.T) {
	tests := map[string]struct {
		path string
		want string
	}{
		"missing file":   {"testdata/missing.yaml", "no such file"},
		"bad document":   {"testdata/bad.yaml", "reading testdata/bad.yaml: <nil> [bad.yaml#2: Pod has no apiVersion]"},
		"unhandled kind": {"testdata/unexpected.yaml", "unexpected.yaml#2: unexpected *v1.Deployment"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := fatal(func(t testing.TB) { manifesttest.ReadDump(t, tc.path) })
			if !strings.Contains(got, tc.want) {
				t.Errorf("failed with %q, want %q in it", got, tc.want)
			}
		})
	}
}

func TestRequireKinds(t *testing.T) {
	d := manifesttest.ReadDump(t, "testdata/kinds.yaml") // two Pods
	tests := map[string]struct {
		kinds []string
		want  string
	}{
		"exactly, in any order": {[]string{"PeerAuthentication", "Pod", "Namespace"}, "no failure"},
		"one more":              {[]string{"PeerAuthentication", "Pod", "Namespace", "Role"}, `the dump holds ["Namespace" "PeerAuthentication" "Pod"], want ["Namespace" "PeerAuthentication" "Pod" "Role"]`},
		"one fewer":             {[]string{"Pod", "Namespace"}, `the dump holds ["Namespace" "PeerAuthentication" "Pod"], want ["Namespace" "Pod"]`},
		"a kind twice":          {[]string{"PeerAuthentication", "Pod", "Namespace", "Pod"}, `the dump holds ["Namespace" "PeerAuthentication" "Pod"], want ["Namespace" "PeerAuthentication" "Pod" "Pod"]`},
		"none":                  {nil, `the dump holds ["Namespace" "PeerAuthentication" "Pod"], want []`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := fatal(func(t testing.TB) { d.RequireKinds(t, tc.kinds...) })
			if got != tc.want {
				t.Errorf("failed with %q, want %q", got, tc.want)
			}
		})
	}
}

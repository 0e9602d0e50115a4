package kube

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func pod(ns, name string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}
}

func object(apiVersion, kind, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

func unstructuredList(apiVersion, kind string) *unstructured.UnstructuredList {
	l := &unstructured.UnstructuredList{}
	l.SetAPIVersion(apiVersion)
	l.SetKind(kind)
	return l
}

// names lists the namespace/name of list's items, or the error.
func names(t *testing.T, list client.ObjectList) []string {
	t.Helper()
	out := []string{}
	err := meta.EachListItem(list, func(o runtime.Object) error {
		obj := o.(client.Object)
		out = append(out, obj.GetNamespace()+"/"+obj.GetName())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func newReader(t *testing.T, objs ...client.Object) *MemoryReader {
	t.Helper()
	m, err := NewMemoryReader(objs)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkError fails the test unless err is as wanted: nil when want is nil,
// else one want accepts. It reports whether the call succeeded.
func checkError(t *testing.T, err error, want func(error) bool) bool {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatal(err)
	case want != nil && !want(err):
		t.Fatalf("error %v is not the one expected", err)
	}
	return err == nil
}

func TestMemoryReaderList(t *testing.T) {
	role := object("rbac.authorization.k8s.io/v1", "Role", "b", "reader")
	role.Object["rules"] = []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"pods"}, "verbs": []any{"get"}}}
	m := newReader(t,
		pod("b", "web-1", map[string]string{"app": "web"}),
		pod("a", "db-0", map[string]string{"app": "db"}),
		pod("b", "db-1", map[string]string{"app": "db"}),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}},
		object("security.istio.io/v1beta1", "PeerAuthentication", "istio-system", "default"),
		role,
		// The later object replaces the earlier one of the same name.
		pod("a", "web-0", nil),
		pod("a", "web-0", map[string]string{"app": "web"}),
	)
	tests := map[string]struct {
		list    client.ObjectList
		opts    []client.ListOption
		want    []string
		wantErr func(error) bool
	}{
		"typed, every namespace, by namespace and name": {list: &corev1.PodList{}, want: []string{"a/db-0", "a/web-0", "b/db-1", "b/web-1"}},
		"in a namespace":                        {list: &corev1.PodList{}, opts: []client.ListOption{client.InNamespace("b")}, want: []string{"b/db-1", "b/web-1"}},
		"label selector":                        {list: &corev1.PodList{}, opts: []client.ListOption{client.MatchingLabels{"app": "web"}}, want: []string{"a/web-0", "b/web-1"}},
		"field selector on the name":            {list: &corev1.PodList{}, opts: []client.ListOption{client.MatchingFields{"metadata.name": "db-1"}}, want: []string{"b/db-1"}},
		"field selector on another field":       {list: &corev1.PodList{}, opts: []client.ListOption{client.MatchingFields{"spec.nodeName": "n1"}}, wantErr: apierrors.IsBadRequest},
		"cluster-scoped":                        {list: &corev1.NamespaceList{}, want: []string{"/a"}},
		"a known kind without objects is empty": {list: &rbacv1.ClusterRoleList{}, want: []string{}},
		"typed from unstructured":               {list: &rbacv1.RoleList{}, want: []string{"b/reader"}},
		"unstructured from typed":               {list: unstructuredList("v1", "PodList"), opts: []client.ListOption{client.InNamespace("a")}, want: []string{"a/db-0", "a/web-0"}},
		"unknown kind, any version":             {list: unstructuredList("security.istio.io/v1", "PeerAuthenticationList"), want: []string{"istio-system/default"}},
		"unknown kind without objects":          {list: unstructuredList("networking.istio.io/v1", "SidecarList"), wantErr: meta.IsNoMatchError},
		"not a list kind":                       {list: unstructuredList("v1", "Pod"), wantErr: func(err error) bool { return err != nil }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if !checkError(t, m.List(context.Background(), tc.list, tc.opts...), tc.wantErr) {
				return
			}
			if diff := cmp.Diff(tc.want, names(t, tc.list)); diff != "" {
				t.Errorf("items (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMemoryReaderConverts(t *testing.T) {
	role := object("rbac.authorization.k8s.io/v1", "Role", "b", "reader")
	role.Object["rules"] = []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"pods"}, "verbs": []any{"get"}}}
	m := newReader(t, role, pod("a", "web-0", map[string]string{"app": "web"}))

	roles := &rbacv1.RoleList{}
	if err := m.List(context.Background(), roles); err != nil {
		t.Fatal(err)
	}
	want := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}}
	if diff := cmp.Diff(want, roles.Items[0].Rules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}

	pods := unstructuredList("v1", "PodList")
	if err := m.List(context.Background(), pods); err != nil {
		t.Fatal(err)
	}
	got := pods.Items[0]
	if got.GetAPIVersion() != "v1" || got.GetKind() != "Pod" || got.GetLabels()["app"] != "web" {
		t.Errorf("unstructured pod = %v", got.Object)
	}
}

func TestMemoryReaderHandsOutCopies(t *testing.T) {
	stored := pod("a", "web-0", map[string]string{"app": "web"})
	m := newReader(t, stored)
	list := &corev1.PodList{}
	if err := m.List(context.Background(), list); err != nil {
		t.Fatal(err)
	}
	list.Items[0].Labels["app"] = "changed"
	got := &corev1.Pod{}
	if err := m.Get(context.Background(), client.ObjectKey{Namespace: "a", Name: "web-0"}, got); err != nil {
		t.Fatal(err)
	}
	got.Labels["app"] = "changed too"
	if stored.Labels["app"] != "web" {
		t.Errorf("stored object modified: %v", stored.Labels)
	}
}

func TestMemoryReaderPages(t *testing.T) {
	var objs []client.Object
	var want []string
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		objs = append(objs, pod("ns", name, nil))
		want = append(want, "ns/"+name)
	}
	m := newReader(t, objs...)
	for _, limit := range []int64{0, 1, 2, 5, 6} {
		var got []string
		pages, cont := 0, ""
		for {
			list := &corev1.PodList{}
			if err := m.List(context.Background(), list, client.Limit(limit), client.Continue(cont)); err != nil {
				t.Fatal(err)
			}
			pages++
			got = append(got, names(t, list)...)
			if cont = list.Continue; cont == "" {
				break
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("limit %d: items (-want +got):\n%s", limit, diff)
		}
		wantPages := 1
		if limit > 0 {
			wantPages = (len(want) + int(limit) - 1) / int(limit)
		}
		if pages != wantPages {
			t.Errorf("limit %d: %d pages, want %d", limit, pages, wantPages)
		}
	}
	if err := m.List(context.Background(), &corev1.PodList{}, client.Continue("x")); !apierrors.IsBadRequest(err) {
		t.Errorf("bad continue token: error %v", err)
	}
}

func TestMemoryReaderGet(t *testing.T) {
	m := newReader(t,
		pod("a", "web-0", map[string]string{"app": "web"}),
		object("rbac.authorization.k8s.io/v1", "Role", "a", "reader"),
	)
	tests := map[string]struct {
		key     client.ObjectKey
		obj     client.Object
		want    string
		wantErr func(error) bool
	}{
		"typed":                    {key: client.ObjectKey{Namespace: "a", Name: "web-0"}, obj: &corev1.Pod{}, want: "a/web-0"},
		"typed from unstructured":  {key: client.ObjectKey{Namespace: "a", Name: "reader"}, obj: &rbacv1.Role{}, want: "a/reader"},
		"unstructured from typed":  {key: client.ObjectKey{Namespace: "a", Name: "web-0"}, obj: object("v1", "Pod", "", ""), want: "a/web-0"},
		"other namespace":          {key: client.ObjectKey{Namespace: "b", Name: "web-0"}, obj: &corev1.Pod{}, wantErr: apierrors.IsNotFound},
		"known kind, no objects":   {key: client.ObjectKey{Name: "x"}, obj: &corev1.Namespace{}, wantErr: apierrors.IsNotFound},
		"unknown kind, no objects": {key: client.ObjectKey{Name: "x"}, obj: object("example.com/v1", "Widget", "", ""), wantErr: meta.IsNoMatchError},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if !checkError(t, m.Get(context.Background(), tc.key, tc.obj), tc.wantErr) {
				return
			}
			if got := tc.obj.GetNamespace() + "/" + tc.obj.GetName(); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestMemoryReaderContext(t *testing.T) {
	m := newReader(t, pod("a", "web-0", nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.List(ctx, &corev1.PodList{}); !errors.Is(err, context.Canceled) {
		t.Errorf("List: error %v, want context.Canceled", err)
	}
	if err := m.Get(ctx, client.ObjectKey{Namespace: "a", Name: "web-0"}, &corev1.Pod{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Get: error %v, want context.Canceled", err)
	}
}

func TestNewMemoryReaderNeedsKinds(t *testing.T) {
	if _, err := NewMemoryReader([]client.Object{&unstructured.Unstructured{Object: map[string]any{}}}); err == nil {
		t.Error("an unstructured object without a kind was accepted")
	}
	typed, err := NewMemoryReader([]client.Object{pod("a", "web-0", nil)}) // no TypeMeta
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := typed.objects[schema.GroupKind{Kind: "Pod"}]; !ok {
		t.Errorf("typed pod without TypeMeta not stored as a Pod: %v", typed.objects)
	}
}

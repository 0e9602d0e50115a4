package manifest

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestRead(t *testing.T) {
	tests := map[string]struct {
		in        string
		wantKinds []string
		wantBad   []string // substrings of the errors, in order
	}{
		"multi-document": {
			in:        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n# comment only\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\n",
			wantKinds: []string{"Pod", "Deployment"},
		},
		"kind List as kubectl writes it": {
			in:        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: x}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a, namespace: x}\n",
			wantKinds: []string{"Namespace", "Pod"},
		},
		"json": {
			in:        `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"}}`,
			wantKinds: []string{"Pod"},
		},
		"unknown kind stays unstructured": {
			in:        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
			wantKinds: []string{"Widget"},
		},
		"bad documents are reported, good ones kept": {
			in:        "kind: Pod\nmetadata: {name: a}\n---\n: : :\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: Pod\nspec: {containers: 3}\n",
			wantKinds: []string{"Pod"},
			wantBad:   []string{"#1: Pod has no apiVersion", "#2: not valid YAML", "#4: Pod"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			objs, bad, err := Read(strings.NewReader(tc.in), "f.yaml")
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, o := range objs {
				kinds = append(kinds, o.Obj.GetObjectKind().GroupVersionKind().Kind)
			}
			if strings.Join(kinds, ",") != strings.Join(tc.wantKinds, ",") {
				t.Errorf("kinds = %v, want %v", kinds, tc.wantKinds)
			}
			if len(bad) != len(tc.wantBad) {
				t.Fatalf("bad = %v, want %d errors", bad, len(tc.wantBad))
			}
			for i, want := range tc.wantBad {
				if !strings.Contains(bad[i].Error(), want) {
					t.Errorf("error %d = %q, want it to contain %q", i, bad[i].Error(), want)
				}
			}
		})
	}
}

func TestReadTypes(t *testing.T) {
	objs, _, err := Read(strings.NewReader("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: ns1}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: i}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\n---\napiVersion: x/v1\nkind: Widget\nmetadata: {name: w}\n"), "f")
	if err != nil {
		t.Fatal(err)
	}
	d, ok := objs[0].Obj.(*appsv1.Deployment)
	if !ok || d.Spec.Template.Spec.Containers[0].Name != "c" || d.Namespace != "ns1" {
		t.Errorf("deployment not decoded typed: %#v", objs[0].Obj)
	}
	if _, ok := objs[1].Obj.(*corev1.Pod); !ok {
		t.Errorf("pod not typed: %T", objs[1].Obj)
	}
	if _, ok := objs[2].Obj.(*unstructured.Unstructured); !ok {
		t.Errorf("unknown kind: %T", objs[2].Obj)
	}
	if objs[0].Source != "f#1" {
		t.Errorf("source = %q", objs[0].Source)
	}
}

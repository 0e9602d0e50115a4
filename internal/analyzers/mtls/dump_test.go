package mtls

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/palisade-sec/palisade/internal/manifest"
)

// TestDump analyzes a `kubectl get -A -o yaml` dump decoded by the CLI's
// reader: Istio objects arrive unstructured.
func TestDump(t *testing.T) {
	f, err := os.Open("testdata/dump.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objs, bad, err := manifest.Read(f, "dump.yaml")
	if err != nil || len(bad) > 0 {
		t.Fatalf("reading dump: %v %v", err, bad)
	}
	var nss []corev1.Namespace
	var us []*unstructured.Unstructured
	var pods []corev1.Pod
	for _, o := range objs {
		switch x := o.Obj.(type) {
		case *corev1.Namespace:
			nss = append(nss, *x)
		case *unstructured.Unstructured:
			us = append(us, x)
		case *corev1.Pod:
			pods = append(pods, *x)
		default:
			t.Fatalf("unexpected %T", o.Obj)
		}
	}
	policies, invalid := FromUnstructuredList(us)
	if len(invalid) > 0 {
		t.Fatalf("invalid policies: %v", invalid)
	}
	want := []string{"mtls.permissive Medium PeerAuthentication shop/metrics"}
	if diff := cmp.Diff(want, summarize(Analyze(nss, policies, pods, Options{}))); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

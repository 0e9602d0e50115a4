package coverage

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/palisade-sec/palisade/internal/manifest"
)

// TestDump analyzes a `kubectl get -A -o yaml` dump decoded by the CLI's
// reader, with TypeMeta cleared as typed list calls leave it.
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
	var nps []networkingv1.NetworkPolicy
	var pods []corev1.Pod
	for _, o := range objs {
		o.Obj.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
		switch x := o.Obj.(type) {
		case *corev1.Namespace:
			nss = append(nss, *x)
		case *networkingv1.NetworkPolicy:
			nps = append(nps, *x)
		case *corev1.Pod:
			pods = append(pods, *x)
		default:
			t.Fatalf("unexpected %T", o.Obj)
		}
	}
	want := []string{
		"netpol.no-default-deny-egress Low Namespace /shop",
		"netpol.pods-not-isolated-egress Low Namespace /shop",
		"netpol.host-network-pods Info Namespace /shop",
		"netpol.broad-ingress Medium NetworkPolicy shop/web-from-anywhere",
	}
	if diff := cmp.Diff(want, summarize(Analyze(nss, nps, pods, Options{}))); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

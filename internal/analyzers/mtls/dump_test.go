package mtls

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-sec/palisade/internal/manifest/manifesttest"
)

// TestDump analyzes a `kubectl get -A -o yaml` dump decoded by the CLI's
// reader: Istio objects arrive unstructured.
func TestDump(t *testing.T) {
	d := manifesttest.ReadDump(t, "testdata/dump.yaml")
	d.RequireKinds(t, "Namespace", "PeerAuthentication", "Pod")
	policies, invalid := FromUnstructuredList(d.Unstructured)
	if len(invalid) > 0 {
		t.Fatalf("invalid policies: %v", invalid)
	}
	want := []string{"mtls.permissive Medium PeerAuthentication shop/metrics"}
	if diff := cmp.Diff(want, summarize(Analyze(d.Namespaces, policies, d.Pods, Options{}))); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

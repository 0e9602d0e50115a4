package coverage

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-sec/palisade/internal/manifest/manifesttest"
)

// TestDump analyzes a `kubectl get -A -o yaml` dump decoded by the CLI's
// reader, with TypeMeta cleared as typed list calls leave it.
func TestDump(t *testing.T) {
	d := manifesttest.ReadDump(t, "testdata/dump.yaml")
	d.RequireKinds(t, "Namespace", "NetworkPolicy", "Pod")
	want := []string{
		"netpol.no-default-deny-egress Low Namespace /shop",
		"netpol.pods-not-isolated-egress Low Namespace /shop",
		"netpol.host-network-pods Info Namespace /shop",
		"netpol.broad-ingress Medium NetworkPolicy shop/web-from-anywhere",
	}
	if diff := cmp.Diff(want, summarize(Analyze(d.Namespaces, d.NetworkPolicies, d.Pods, Options{}))); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

package cases_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/palisade-sec/palisade/internal/netpol"
	"github.com/palisade-sec/palisade/internal/netpol/cases"
)

// The standard cluster, as in the upstream e2e suite: namespaces x, y, z
// (label ns=<name>), each with pods a, b, c (label pod=<name>, plus an
// app label no policy looks at), serving 80 and 81 on TCP and UDP through
// ports named serve-<n>-<protocol>. Pod IPs are in 10.244.0.0/16.
var (
	stdNamespaces   = []string{"x", "y", "z"}
	stdPodNames     = []string{"a", "b", "c"}
	clusterNetworks = []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")}
)

func stdCluster() ([]corev1.Namespace, []corev1.Pod) {
	var nss []corev1.Namespace
	var pods []corev1.Pod
	for i, ns := range stdNamespaces {
		nss = append(nss, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"ns": ns}}})
		for j, name := range stdPodNames {
			lbls := map[string]string{"pod": name, "app": "demo-" + name}
			pods = append(pods, pod(ns, name, fmt.Sprintf("10.244.%d.%d", i+1, j+1), lbls, stdPorts()))
		}
	}
	return nss, pods
}

func stdPorts() []corev1.ContainerPort {
	var ports []corev1.ContainerPort
	for _, n := range []int32{80, 81} {
		for _, proto := range []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP} {
			ports = append(ports, corev1.ContainerPort{
				Name:          fmt.Sprintf("serve-%d-%s", n, strings.ToLower(string(proto))),
				ContainerPort: n,
				Protocol:      proto,
			})
		}
	}
	return ports
}

func pod(ns, name, ip string, lbls map[string]string, ports []corev1.ContainerPort) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Ports: ports}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}},
	}
}

// decodePolicies reads YAML documents separated by "---", strictly.
func decodePolicies(t *testing.T, docs string) []networkingv1.NetworkPolicy {
	t.Helper()
	var out []networkingv1.NetworkPolicy
	for _, doc := range strings.Split(docs, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var np networkingv1.NetworkPolicy
		if err := yaml.UnmarshalStrict([]byte(doc), &np); err != nil {
			t.Fatalf("decoding %q: %v", doc, err)
		}
		out = append(out, np)
	}
	return out
}

// scenario is a cluster and its policies.
type scenario struct {
	namespaces []corev1.Namespace
	pods       []corev1.Pod
	policies   []networkingv1.NetworkPolicy
	cluster    netpol.ClusterPolicies
}

func stdScenario(t *testing.T, policies string) scenario {
	nss, pods := stdCluster()
	return scenario{namespaces: nss, pods: pods, policies: decodePolicies(t, policies)}
}

func (s scenario) engine(t *testing.T) *netpol.Engine {
	t.Helper()
	e, err := netpol.NewWithClusterPolicies(s.namespaces, s.pods, s.policies, s.cluster)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (s scenario) generate(t *testing.T, opts cases.Options) *cases.Plan {
	t.Helper()
	if opts.Namespaces == nil {
		opts.Namespaces = s.namespaces
	}
	plan, err := cases.Generate(s.engine(t), opts)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return plan
}

// line renders a case compactly for comparisons:
// "Ingress Positive y/{pod=b} -> x/{pod=a} 80/TCP: Allow".
func line(c cases.Case) string {
	to := c.To.String()
	if c.ToIP.IsValid() {
		to = c.ToIP.String()
	}
	return fmt.Sprintf("%s %s %s -> %s %d/%s: %s", c.Direction, c.Kind, c.From, to, c.Port, c.Protocol, c.Expected)
}

func lines(cs []cases.Case) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = line(c)
	}
	return out
}

package netpol

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// The standard cluster, as in the upstream e2e suite: namespaces x, y, z
// (label ns=<name>), each with pods a, b, c (label pod=<name>), serving
// 80 and 81 on TCP, UDP and SCTP through ports named serve-<n>-<protocol>.
// Pod <ns>/<pod> has IP 10.0.<1|2|3>.<1|2|3>; pods a run on node 192.168.0.1,
// pods b and c on 192.168.0.2.
var (
	stdNamespaces = []string{"x", "y", "z"}
	stdPodNames   = []string{"a", "b", "c"}
)

func stdCluster() ([]corev1.Namespace, []corev1.Pod) {
	var nss []corev1.Namespace
	var pods []corev1.Pod
	for i, ns := range stdNamespaces {
		nss = append(nss, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"ns": ns}}})
		for j, name := range stdPodNames {
			node := "192.168.0.2"
			if name == "a" {
				node = "192.168.0.1"
			}
			pods = append(pods, testPod(ns, name, fmt.Sprintf("10.0.%d.%d", i+1, j+1), node, map[string]string{"pod": name}))
		}
	}
	return nss, pods
}

func testPod(ns, name, ip, node string, lbls map[string]string) corev1.Pod {
	var ports []corev1.ContainerPort
	for _, n := range []int32{80, 81} {
		for _, proto := range []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP} {
			ports = append(ports, corev1.ContainerPort{
				Name:          fmt.Sprintf("serve-%d-%s", n, strings.ToLower(string(proto))),
				ContainerPort: n,
				Protocol:      proto,
			})
		}
	}
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Ports: ports}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if ip != "" {
		p.Status.PodIP, p.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	}
	if node != "" {
		p.Status.HostIP, p.Status.HostIPs = node, []corev1.HostIP{{IP: node}}
	}
	return p
}

// decode reads YAML documents separated by "---" into objects of type T,
// strictly, so that a typo in a test fails it.
func decode[T any](t testing.TB, docs string) []T {
	t.Helper()
	var out []T
	for _, doc := range strings.Split(docs, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var v T
		if err := yaml.UnmarshalStrict([]byte(doc), &v); err != nil {
			t.Fatalf("decoding %q: %v", doc, err)
		}
		out = append(out, v)
	}
	return out
}

func newStdEngine(t testing.TB, policies string, extraPods ...corev1.Pod) *Engine {
	t.Helper()
	nss, pods := stdCluster()
	e, err := New(nss, append(pods, extraPods...), decode[networkingv1.NetworkPolicy](t, policies))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// reachability is an expected truth table, built like the upstream e2e
// suite's: everything allowed, then edits in order.
type reachability struct {
	pods  []string
	allow map[[2]string]bool
}

// expect builds a table from edits of the form "FROM -> TO: allow|deny",
// where FROM and TO are "ns/pod", "ns/*", "*/pod" or "*".
func expect(t testing.TB, pods []string, edits ...string) *reachability {
	t.Helper()
	r := &reachability{pods: pods, allow: map[[2]string]bool{}}
	for _, from := range pods {
		for _, to := range pods {
			r.allow[[2]string{from, to}] = true
		}
	}
	for _, edit := range edits {
		pair, verdict, ok := strings.Cut(edit, ": ")
		from, to, ok2 := strings.Cut(pair, " -> ")
		if !ok || !ok2 || (verdict != "allow" && verdict != "deny") {
			t.Fatalf("bad edit %q", edit)
		}
		for _, f := range pods {
			for _, d := range pods {
				if matchPattern(from, f) && matchPattern(to, d) {
					r.allow[[2]string{f, d}] = verdict == "allow"
				}
			}
		}
	}
	return r
}

func matchPattern(pattern, pod string) bool {
	if pattern == "*" {
		return true
	}
	pns, pname, _ := strings.Cut(pattern, "/")
	ns, name, _ := strings.Cut(pod, "/")
	return (pns == "*" || pns == ns) && (pname == "*" || pname == name)
}

// String renders the table as Matrix.WriteText does, loopback as "-".
func (r *reachability) String() string {
	var b strings.Builder
	for _, from := range r.pods {
		b.WriteString(from)
		for _, to := range r.pods {
			mark := map[bool]string{true: " .", false: " X"}[r.allow[[2]string{from, to}]]
			if from == to {
				mark = " -"
			}
			b.WriteString(mark)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// render draws one matrix table in the same form.
func render(m *Matrix, t *Table) string {
	var b strings.Builder
	for i, from := range m.Pods {
		b.WriteString(from)
		for _, r := range t.Verdicts[i] {
			b.WriteString(" " + marks[r])
		}
		b.WriteString("\n")
	}
	return b.String()
}

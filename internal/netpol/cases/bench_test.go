package cases_test

import (
	"fmt"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/palisade-sec/palisade/internal/netpol"
	"github.com/palisade-sec/palisade/internal/netpol/cases"
)

// BenchmarkGenerate generates cases for 20 namespaces of 20 apps of 5
// replicas (2000 pods), each namespace with a default deny and one policy
// per app admitting its namespace's frontend and the monitoring namespace.
func BenchmarkGenerate(b *testing.B) {
	var nss []corev1.Namespace
	var pods []corev1.Pod
	var policies []networkingv1.NetworkPolicy
	port := intstr.FromString("http")
	for n := range 20 {
		ns := fmt.Sprintf("team-%d", n)
		nss = append(nss, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"team": ns}}})
		policies = append(policies, networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deny-all"}})
		for a := range 20 {
			app := fmt.Sprintf("app-%d", a)
			for r := range 5 {
				ip := netip.AddrFrom4([4]byte{10, 244, byte(n), byte(a*5 + r + 1)})
				pods = append(pods, pod(ns, fmt.Sprintf("%s-%d", app, r), ip.String(),
					map[string]string{"app": app, "pod-template-hash": fmt.Sprint(r)},
					[]corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}))
			}
			policies = append(policies, networkingv1.NetworkPolicy{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "allow-" + app},
				Spec: networkingv1.NetworkPolicySpec{
					PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
					Ingress: []networkingv1.NetworkPolicyIngressRule{{
						From: []networkingv1.NetworkPolicyPeer{
							{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "app-0"}}},
							{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "team-0"}}},
						},
						Ports: []networkingv1.NetworkPolicyPort{{Port: &port}},
					}},
				},
			})
		}
	}
	e, err := netpol.New(nss, pods, policies)
	if err != nil {
		b.Fatal(err)
	}
	opts := cases.Options{Namespaces: nss, ClusterNetworks: clusterNetworks}
	for b.Loop() {
		plan, err := cases.Generate(e, opts)
		if err != nil {
			b.Fatal(err)
		}
		if len(plan.Cases) != cases.DefaultMaxCases {
			b.Fatalf("%d cases, want %d", len(plan.Cases), cases.DefaultMaxCases)
		}
	}
}

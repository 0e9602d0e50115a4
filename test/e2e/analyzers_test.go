package e2e

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
)

// The RBAC, NetworkPolicy coverage and mTLS analyzers against objects the
// API server really admitted: the pod's token volume comes from the
// ServiceAccount admission plugin, not from a manifest.
var _ = Describe("A SecurityScan with the RBAC, coverage and mTLS analyzers", Ordered, func() {
	const (
		openNS   = "e2e-rbac-open"
		lockedNS = "e2e-rbac-locked"
	)
	scan := &securityv1alpha1.SecurityScan{
		ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: "e2e-analyzers"},
		Spec: securityv1alpha1.SecurityScanSpec{
			Namespaces:      securityv1alpha1.NamespaceScope{Names: []string{openNS, lockedNS}},
			Workloads:       &securityv1alpha1.WorkloadsAnalyzer{PodSecurityLevel: securityv1alpha1.PodSecurityBaseline, KubesecAdvice: ptr.To(false)},
			RBAC:            &securityv1alpha1.RBACAnalyzer{},
			NetworkPolicies: &securityv1alpha1.NetworkPoliciesAnalyzer{},
			MTLS:            &securityv1alpha1.MTLSAnalyzer{},
		},
	}

	BeforeAll(func() {
		applyTestdata("analyzers.yaml")
		DeferCleanup(deleteNamespace, openNS)
		DeferCleanup(deleteNamespace, lockedNS)

		By("waiting for the pods to run")
		for _, key := range []client.ObjectKey{{Namespace: openNS, Name: "operator-shell"}, {Namespace: lockedNS, Name: "web"}} {
			Eventually(func(g Gomega) {
				pod := &corev1.Pod{}
				g.Expect(k8s.Get(ctx, key, pod)).To(Succeed())
				g.Expect(pod.Status.Phase).To(Equal(corev1.PodRunning), "pod %s", key)
			}).WithTimeout(2 * time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
		}
	})

	It("reports the risky role, its binding, the pod with its token, the open namespace and Istio's absence", func() {
		By("checking that the API server mounted the service account token into the pod")
		pod := &corev1.Pod{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: openNS, Name: "operator-shell"}, pod)).To(Succeed())
		tokenVolume := ""
		for _, v := range pod.Spec.Volumes {
			if v.Projected != nil && strings.HasPrefix(v.Name, "kube-api-access-") {
				tokenVolume = v.Name
			}
		}
		Expect(tokenVolume).NotTo(BeEmpty(), "the ServiceAccount admission plugin added no token volume: %+v", pod.Spec.Volumes)

		start := time.Now()
		Expect(k8s.Create(ctx, scan)).To(Succeed())
		DeferCleanup(deleteScan, scan)
		report := waitForReport(scan.Name+"-g1", 2*time.Minute)
		figures.add("SecurityScan (workloads, rbac, networkPolicies, mtls) creation to Complete report", time.Since(start))

		for _, name := range []string{"workloads", "rbac", "networkPolicies", "mtls"} {
			Expect(report.Status.Analyzers).To(ContainElement(And(
				HaveField("Name", name), HaveField("Phase", securityv1alpha1.AnalyzerSucceeded))), "analyzer %s", name)
		}
		Expect(report.Status.FindingsOmitted).To(BeZero())

		By("RBAC: the Role, the RoleBinding and the pod that carries the token")
		Expect(report.Status.Findings).To(ContainElements(
			namespacedFinding("rbac.exec-pods", securityv1alpha1.SeverityHigh, "Role", openNS, "pod-exec"),
			namespacedFinding("rbac.exec-pods", securityv1alpha1.SeverityHigh, "RoleBinding", openNS, "pod-exec"),
			And(namespacedFinding("rbac.risky-pod", securityv1alpha1.SeverityHigh, "Pod", openNS, "operator-shell"),
				HaveField("Message", And(ContainSubstring("ServiceAccount "+openNS+"/pod-operator"), ContainSubstring("projected volume "+tokenVolume)))),
		))
		Expect(report.Status.Findings).NotTo(ContainElement(
			And(HaveField("ID", "rbac.risky-pod"), HaveField("Resource.Namespace", lockedNS))),
			"the locked namespace's pod mounts no token")

		By("coverage: no default-deny ingress in the open namespace only")
		Expect(report.Status.Findings).To(ContainElement(
			finding("netpol.no-default-deny-ingress", securityv1alpha1.SeverityMedium, "Namespace", openNS)))
		Expect(report.Status.Findings).NotTo(ContainElement(
			And(HaveField("ID", "netpol.no-default-deny-ingress"), HaveField("Resource.Name", lockedNS))))
		Expect(report.Status.Findings).NotTo(ContainElement(
			And(HaveField("ID", "netpol.pods-not-isolated-ingress"), HaveField("Resource.Name", lockedNS))))

		By("mTLS: Istio is not installed")
		Expect(report.Status.Findings).To(ContainElement(
			finding("mtls.istio-not-installed", securityv1alpha1.SeverityInfo, "CustomResourceDefinition", "peerauthentications.security.istio.io")))
		Expect(report.Status.Analyzers).To(ContainElement(And(HaveField("Name", "mtls"), HaveField("Findings", int32(1)))))

		for _, f := range report.Status.Findings {
			if f.Resource.Namespace != "" {
				Expect(f.Resource.Namespace).To(BeElementOf(openNS, lockedNS), "the scan is limited to its namespaces: %+v", f)
			}
		}
	})
})

func namespacedFinding(id string, severity securityv1alpha1.Severity, kind, namespace, name string) OmegaMatcher {
	return And(finding(id, severity, kind, name), HaveField("Resource.Namespace", namespace))
}

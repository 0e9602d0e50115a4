package e2e

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
)

// A PolicyProbe's mTLS plaintext probes and temporary namespaces on the
// real cluster (testdata/policyprobe-mesh.yaml says what stands in for
// Istio): the probe client really sends plaintext HTTP to the workloads'
// pod IPs, and the manager really creates and deletes namespaces, under
// the shipped RBAC and namespace guard.
var _ = Describe("A PolicyProbe with mTLS probes and temporary namespaces", Ordered, func() {
	const (
		meshNS    = "e2e-pp-mesh"
		payNS     = "e2e-pp-pay"
		probeName = "e2e-mesh"
	)
	pp := &securityv1alpha1.PolicyProbe{
		ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: probeName},
		Spec: securityv1alpha1.PolicyProbeSpec{
			Namespaces:               securityv1alpha1.NamespaceScope{Names: []string{meshNS, payNS}},
			MTLS:                     &securityv1alpha1.MTLSProbe{Namespaces: []string{meshNS}},
			AllowTemporaryNamespaces: true,
			Timeouts:                 securityv1alpha1.ProbeTimeouts{Run: &metav1.Duration{Duration: 2 * time.Minute}},
		},
	}

	BeforeAll(func() {
		applyTestdata("policyprobe-mesh.yaml")
		DeferCleanup(func() {
			// Other specs expect Istio absent.
			crd := &unstructured.Unstructured{}
			crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
			crd.SetName("peerauthentications.security.istio.io")
			Expect(client.IgnoreNotFound(k8s.Delete(ctx, crd))).To(Succeed())
			deleteNamespace(meshNS)
			deleteNamespace(payNS)
			Eventually(func() bool { return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(crd), crd)) }).
				WithTimeout(time.Minute).Should(BeTrue())
		})
		Eventually(func(g Gomega) {
			list := &corev1.PodList{}
			g.Expect(k8s.List(ctx, list, client.InNamespace(meshNS))).To(Succeed())
			g.Expect(list.Items).To(HaveLen(3))
			for _, p := range list.Items {
				g.Expect(podReady(&p)).To(BeTrue(), "pod %s ready", p.Name)
			}
		}).WithTimeout(2 * time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
	})

	It("finds the workload that answers plaintext under STRICT (High), the PERMISSIVE one (Medium), and probes from namespaces it creates and deletes", func() {
		start := time.Now()
		Expect(k8s.Create(ctx, pp)).To(Succeed())
		DeferCleanup(deletePolicyProbe, pp)
		rep := waitForFinishedReport(probeName+"-probe-g1", 3*time.Minute)
		elapsed := time.Since(start)
		res := rep.Status.Probes
		Expect(res).NotTo(BeNil())
		logCases(res)
		fmt.Fprintf(GinkgoWriter, "policyprobe (mesh): %d cases, notes %q, temporary namespaces %+v\n", res.Counts.Total, res.Notes, res.TemporaryNamespaces)
		Expect(rep.Status.Phase).To(Equal(securityv1alpha1.ReportComplete), "report %s: %+v\n%s", rep.Name, rep.Status.Analyzers, inconclusive(res))

		By("the mTLS cases: one per mesh workload port, judged against the PeerAuthentication in force")
		mtls := map[string]string{}
		for _, c := range res.Cases {
			if c.Check == securityv1alpha1.CheckMTLS {
				Expect(c.Source.Namespace).To(Equal(meshNS))
				mtls[c.Destination.Workload] = fmt.Sprintf("%s %s %s", c.MTLSMode, c.Observed, c.Result)
			}
		}
		Expect(mtls).To(Equal(map[string]string{
			"Pod/strict, pod strict": "STRICT PlaintextRejected Match",
			"Pod/leaky, pod leaky":   "STRICT PlaintextAccepted Mismatch",
			"Pod/legacy, pod legacy": "PERMISSIVE PlaintextAccepted Match",
		}))
		Expect(rep.Status.Findings).To(ContainElements(
			And(HaveField("ID", "probe.mtls-strict-not-enforced"), HaveField("Severity", securityv1alpha1.SeverityHigh), HaveField("Resource.Name", "leaky")),
			And(HaveField("ID", "probe.mtls-plaintext-accepted"), HaveField("Severity", securityv1alpha1.SeverityMedium), HaveField("Resource.Name", "legacy")),
		))

		By("the temporary namespace, with the labels the policy's namespaceSelector asks for")
		var made string
		names := []string{}
		for _, t := range res.TemporaryNamespaces {
			names = append(names, t.Name)
			if strings.HasPrefix(t.Name, "palisade-tmp-") {
				made = t.Name
				Expect(t.Labels).To(Equal(map[string]string{"team": "e2e-payments"}))
			}
		}
		Expect(names).To(ConsistOf(made))
		Expect(res.Cases).To(ContainElement(And(HaveField("Source.Namespace", made), HaveField("Policy", payNS+"/api-from-payments"),
			HaveField("Expected", securityv1alpha1.ExpectAllow), HaveField("Observed", securityv1alpha1.ObservedConnected), HaveField("Result", securityv1alpha1.ProbeMatch))))

		finished := time.Now()
		for _, name := range names {
			expectNamespaceGone(name)
		}
		figures.add(fmt.Sprintf("PolicyProbe with mTLS probes and temporary namespaces (%d cases): creation to Complete report", res.Counts.Total), elapsed)
		figures.add("PolicyProbe report finished to its temporary namespaces gone", time.Since(finished))
	})

	It("finishes a run across a manager restart without creating any probe pod twice", func() {
		old := readyManager("")
		restarted := pp.DeepCopy()
		restarted.ObjectMeta = metav1.ObjectMeta{Namespace: operatorNamespace, Name: probeName + "-restart"}
		pods := watchProbePods(restarted.Name)
		start := time.Now()
		Expect(k8s.Create(ctx, restarted)).To(Succeed())
		DeferCleanup(deletePolicyProbe, restarted)

		By("deleting the manager pod as soon as the run's first probe pod exists")
		Eventually(pods.count).WithTimeout(time.Minute).WithPolling(50 * time.Millisecond).Should(BeNumerically(">=", 1))
		oldLogs, err := podLogs(operatorNamespace, old.Name, "manager", false)
		Expect(err).NotTo(HaveOccurred())
		Expect(k8s.Delete(ctx, &old)).To(Succeed())
		deleted := time.Now()
		fmt.Fprintf(GinkgoWriter, "restart: manager pod %s deleted %s after the PolicyProbe's creation, %d probe pods seen\n",
			old.Name, deleted.Sub(start).Round(10*time.Millisecond), pods.count())

		rep := waitForFinishedReport(restarted.Name+"-probe-g1", 4*time.Minute)
		figures.add("PolicyProbe run with a manager restart: manager pod deleted to finished report", time.Since(deleted))
		res := rep.Status.Probes
		Expect(res).NotTo(BeNil())
		Expect(rep.Status.Phase).To(Equal(securityv1alpha1.ReportComplete), "report %s: %+v\n%s", rep.Name, rep.Status.Analyzers, inconclusive(res))
		Expect(reportNamesOfProbe(restarted.Name)).To(Equal([]string{rep.Name}))
		expectNoProbePods(restarted.Name)
		Expect(pods.duplicates()).To(BeEmpty(), "no probe pod name was created twice")
		for _, t := range res.TemporaryNamespaces {
			expectNamespaceGone(t.Name)
		}
		figures.addText("PolicyProbe run with a manager restart: cases, probe pods created", fmt.Sprintf("%d, %d", res.Counts.Total, pods.count()))
		expectNoRBACDenial(old.Name, oldLogs)
	})
})

// expectNamespaceGone waits until the namespace controller has deleted a
// temporary namespace.
func expectNamespaceGone(name string) {
	GinkgoHelper()
	Eventually(func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Name: name}, &corev1.Namespace{}))
	}).
		WithTimeout(2*time.Minute).WithPolling(500*time.Millisecond).Should(BeTrue(), "temporary namespace %s deleted", name)
}

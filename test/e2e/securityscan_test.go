package e2e

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/test/testenv"
)

// A SecurityScan run by the operator in the cluster, against workloads that
// really run: the report, a manager restart, and the cleanup.
var _ = Describe("A SecurityScan in the operator's namespace", Ordered, func() {
	const workloadsNS = "e2e-workloads"
	scan := &securityv1alpha1.SecurityScan{
		ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: "e2e-workloads"},
		Spec: securityv1alpha1.SecurityScanSpec{
			Namespaces: securityv1alpha1.NamespaceScope{Names: []string{workloadsNS}},
			Workloads: &securityv1alpha1.WorkloadsAnalyzer{
				PodSecurityLevel: securityv1alpha1.PodSecurityRestricted,
				KubesecAdvice:    ptr.To(false),
			},
		},
	}

	BeforeAll(func() {
		data, err := os.ReadFile(filepath.Join(testenv.Root(), "test", "e2e", "testdata", "workloads.yaml"))
		Expect(err).NotTo(HaveOccurred())
		objs, err := decodeObjects([]byte(strings.ReplaceAll(string(data), "localhost/palisade-e2e-tools:dev", env.toolsImage)))
		Expect(err).NotTo(HaveOccurred())
		apply(objs)
		DeferCleanup(deleteNamespace, workloadsNS)

		By("waiting for the workloads to run")
		Eventually(func(g Gomega) {
			pods := &corev1.PodList{}
			g.Expect(k8s.List(ctx, pods, client.InNamespace(workloadsNS))).To(Succeed())
			g.Expect(pods.Items).To(HaveLen(3))
			for _, p := range pods.Items {
				g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning), "pod %s", p.Name)
			}
		}).WithTimeout(2 * time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
	})

	It("writes a complete report with the expected findings", func() {
		start := time.Now()
		Expect(k8s.Create(ctx, scan)).To(Succeed())
		report := waitForReport(scan.Name+"-g1", 2*time.Minute)
		figures.add("SecurityScan (workloads) creation to Complete report", time.Since(start))

		Expect(report.Spec.Source.Generation).To(Equal(int64(1)))
		Expect(report.Status.Analyzers).To(ContainElement(And(
			HaveField("Name", "workloads"), HaveField("Phase", securityv1alpha1.AnalyzerSucceeded))))
		Expect(report.Status.Findings).To(ContainElements(
			finding("kubesec.Privileged", securityv1alpha1.SeverityCritical, "Pod", "privileged-shell"),
			finding("kubesec.HostPID", securityv1alpha1.SeverityHigh, "Pod", "privileged-shell"),
			finding("pss.baseline.privileged", securityv1alpha1.SeverityHigh, "Pod", "privileged-shell"),
			finding("kubesec.CapSysAdmin", securityv1alpha1.SeverityCritical, "Deployment", "sysadmin-tool"),
			finding("kubesec.AllowPrivilegeEscalation", securityv1alpha1.SeverityHigh, "Deployment", "sysadmin-tool"),
			finding("pss.restricted.runAsNonRoot", securityv1alpha1.SeverityMedium, "Deployment", "sysadmin-tool"),
		))
		for _, f := range report.Status.Findings {
			Expect(f.Resource.Namespace).To(Equal(workloadsNS), "the scan is limited to %s", workloadsNS)
			Expect(f.Resource.Name).NotTo(HavePrefix("hardened"), "the hardened Deployment has no finding: %+v", f)
			Expect(f.Resource.Kind).NotTo(BeElementOf("ReplicaSet"), "pod templates are evaluated once, on their Deployment: %+v", f)
			if f.Resource.Kind == "Pod" {
				Expect(f.Resource.Name).To(Equal("privileged-shell"), "pods of a Deployment are not evaluated again: %+v", f)
			}
		}
		Expect(report.Status.Summary.Critical).To(Equal(int32(2)))
		Expect(report.Status.Summary.PodSecurity).To(Equal(&securityv1alpha1.PodSecurityCounts{Restricted: 1, Baseline: 0, Privileged: 2}))
	})

	It("runs a new spec generation to completion across a manager restart, with no duplicate report", func() {
		pods := managerPods()
		Expect(pods).To(HaveLen(1))
		old := pods[0]
		oldLogs, err := podLogs(operatorNamespace, old.Name, "manager", false)
		Expect(err).NotTo(HaveOccurred())

		By("changing the spec and deleting the manager pod at once")
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(scan), scan)).To(Succeed())
		scan.Spec.Workloads.PodSecurityLevel = securityv1alpha1.PodSecurityBaseline
		start := time.Now()
		Expect(k8s.Update(ctx, scan)).To(Succeed())
		Expect(scan.Generation).To(Equal(int64(2)))
		Expect(k8s.Delete(ctx, &old)).To(Succeed())

		readyManager(old.UID)
		figures.add("manager pod deleted to replacement Ready", time.Since(start))

		report := waitForReport(scan.Name+"-g2", 2*time.Minute)
		figures.add("spec change + manager restart to Complete report", time.Since(start))
		Expect(report.Spec.Source.Generation).To(Equal(int64(2)))
		// The new generation scans at the baseline level.
		for _, f := range report.Status.Findings {
			Expect(f.ID).NotTo(HavePrefix("pss.restricted."), "%+v", f)
		}
		Expect(report.Status.Findings).To(ContainElement(
			finding("kubesec.Privileged", securityv1alpha1.SeverityCritical, "Pod", "privileged-shell")))

		By("checking that there is one report per generation")
		Expect(reportNames(scan.Name)).To(Equal([]string{scan.Name + "-g1", scan.Name + "-g2"}))
		Consistently(func() []string { return reportNames(scan.Name) }).
			WithTimeout(5 * time.Second).WithPolling(time.Second).Should(Equal([]string{scan.Name + "-g1", scan.Name + "-g2"}))

		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(scan), scan)).To(Succeed())
			g.Expect(scan.Status.ObservedGeneration).To(Equal(int64(2)))
			g.Expect(scan.Status.LatestReport).To(Equal(scan.Name + "-g2"))
			g.Expect(meta.IsStatusConditionTrue(scan.Status.Conditions, securityv1alpha1.ConditionReady)).To(BeTrue())
		}).WithTimeout(30 * time.Second).Should(Succeed())

		expectNoRBACDenial(old.Name, oldLogs)
	})

	It("leaves nothing behind once the scan is deleted", func() {
		Expect(k8s.Delete(ctx, scan)).To(Succeed())
		// The reports carry the scan as owner: the cluster's garbage
		// collector removes them.
		Eventually(func() []string { return reportNames(scan.Name) }).
			WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(BeEmpty())
		reports := &securityv1alpha1.ScanReportList{}
		Expect(k8s.List(ctx, reports, client.InNamespace(operatorNamespace))).To(Succeed())
		Expect(reports.Items).To(BeEmpty())
	})
})

func finding(id string, severity securityv1alpha1.Severity, kind, name string) OmegaMatcher {
	return And(
		HaveField("ID", id),
		HaveField("Severity", severity),
		HaveField("Resource.Kind", kind),
		HaveField("Resource.Name", name),
	)
}

// waitForReport waits for the named report in the operator's namespace to
// finish, and expects it Complete.
func waitForReport(name string, timeout time.Duration) *securityv1alpha1.ScanReport {
	report := &securityv1alpha1.ScanReport{}
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: name}, report)).To(Succeed())
		g.Expect(report.Status.Phase.Finished()).To(BeTrue(), "report %s is %q", name, report.Status.Phase)
	}).WithTimeout(timeout).WithPolling(200 * time.Millisecond).Should(Succeed())
	Expect(report.Status.Phase).To(Equal(securityv1alpha1.ReportComplete), "report %s: %+v", name, report.Status.Conditions)
	return report
}

// reportNames lists the names of the scan's reports, sorted.
func reportNames(scan string) []string {
	list := &securityv1alpha1.ScanReportList{}
	Expect(k8s.List(ctx, list, client.InNamespace(operatorNamespace),
		client.MatchingLabels{securityv1alpha1.LabelScan: scan})).To(Succeed())
	names := []string{}
	for _, r := range list.Items {
		names = append(names, r.Name)
	}
	sort.Strings(names)
	return names
}

package controllers_test

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/controllers"
)

var nsCounter int

// newNamespace creates a namespace with a unique name (envtest has no
// namespace controller, so namespaces are never really deleted).
func newNamespace(prefix string, labels map[string]string) string {
	nsCounter++
	name := fmt.Sprintf("%s-%d", prefix, nsCounter)
	Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})).To(Succeed())
	return name
}

func container(name string, sc *corev1.SecurityContext) corev1.Container {
	return corev1.Container{Name: name, Image: "registry.example/app:1", SecurityContext: sc}
}

func hardenedSpec() corev1.PodSpec {
	return corev1.PodSpec{
		AutomountServiceAccountToken: ptr.To(false),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](20000), RunAsGroup: ptr.To[int64](20000),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{container("app", &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		})},
	}
}

func insecurePod(ns, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{
			HostNetwork: true,
			Containers:  []corev1.Container{container("shell", &corev1.SecurityContext{Privileged: ptr.To(true)})},
		},
	}
}

// deploymentChain creates a Deployment with the ReplicaSet and Pod its
// controllers would create, so that the test can check each template is
// evaluated once, through the Deployment.
func deploymentChain(ns, name string, spec corev1.PodSpec) {
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		},
	}
	Expect(k8sClient.Create(ctx, d)).To(Succeed())
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-5d4f8", OwnerReferences: []metav1.OwnerReference{
			{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: ptr.To(true)}}},
		Spec: appsv1.ReplicaSetSpec{Selector: d.Spec.Selector, Template: d.Spec.Template},
	}
	Expect(k8sClient.Create(ctx, rs)).To(Succeed())
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: rs.Name + "-x7k2p", Labels: labels, OwnerReferences: []metav1.OwnerReference{
			{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: ptr.To(true)}}},
		Spec: spec,
	}
	Expect(k8sClient.Create(ctx, pod)).To(Succeed())
}

func newScan(ns, name string, mutate func(*securityv1alpha1.SecurityScan)) *securityv1alpha1.SecurityScan {
	sc := &securityv1alpha1.SecurityScan{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       securityv1alpha1.SecurityScanSpec{Workloads: &securityv1alpha1.WorkloadsAnalyzer{}},
	}
	if mutate != nil {
		mutate(sc)
	}
	return sc
}

func getScan(sc *securityv1alpha1.SecurityScan) func(Gomega) *securityv1alpha1.SecurityScan {
	return func(g Gomega) *securityv1alpha1.SecurityScan {
		out := &securityv1alpha1.SecurityScan{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(sc), out)).To(Succeed())
		return out
	}
}

// finishedReport waits for the named report to finish and returns it.
func finishedReport(ns, name string) *securityv1alpha1.ScanReport {
	rep := &securityv1alpha1.ScanReport{}
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, rep)).To(Succeed())
		g.Expect(rep.Status.Phase.Finished()).To(BeTrue(), "phase %q", rep.Status.Phase)
	}).Should(Succeed())
	return rep
}

func reportsOf(sc *securityv1alpha1.SecurityScan) func(Gomega) []string {
	return func(g Gomega) []string {
		list := &securityv1alpha1.ScanReportList{}
		g.Expect(k8sClient.List(ctx, list, client.InNamespace(sc.Namespace), client.MatchingLabels{securityv1alpha1.LabelScan: sc.Name})).To(Succeed())
		var names []string
		for _, r := range list.Items {
			names = append(names, r.Name)
		}
		return names
	}
}

// poke changes an annotation, which triggers a reconcile without changing
// the spec's generation, after the fake clock moved.
func poke(sc *securityv1alpha1.SecurityScan) {
	cur := &securityv1alpha1.SecurityScan{}
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(sc), cur)).To(Succeed())
	patch := client.MergeFrom(cur.DeepCopy())
	if cur.Annotations == nil {
		cur.Annotations = map[string]string{}
	}
	cur.Annotations["test/poke"] = fakeClock.Now().Format(time.RFC3339Nano)
	Expect(k8sClient.Patch(ctx, cur, patch)).To(Succeed())
}

func updateSpec(sc *securityv1alpha1.SecurityScan, mutate func(*securityv1alpha1.SecurityScan)) {
	Eventually(func() error {
		cur := &securityv1alpha1.SecurityScan{}
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(sc), cur); err != nil {
			return err
		}
		mutate(cur)
		return k8sClient.Update(ctx, cur)
	}).Should(Succeed())
}

func findingKeys(rep *securityv1alpha1.ScanReport) []string {
	var out []string
	for _, f := range rep.Status.Findings {
		out = append(out, fmt.Sprintf("%s %s/%s %s", f.Severity, f.Resource.Kind, f.Resource.Name, f.ID))
	}
	return out
}

var _ = Describe("SecurityScan", func() {
	It("scores the workloads in scope into an owned ScanReport, each template once", func() {
		ns := newNamespace("workloads", nil)
		Expect(k8sClient.Create(ctx, insecurePod(ns, "debug-shell"))).To(Succeed())
		deploymentChain(ns, "web", hardenedSpec())
		sc := newScan(ns, "nightly", nil)
		Expect(k8sClient.Create(ctx, sc)).To(Succeed())

		Eventually(getScan(sc)).Should(WithTransform(func(s *securityv1alpha1.SecurityScan) string {
			return s.Status.LatestReport
		}, Equal("nightly-g1")))
		rep := finishedReport(ns, "nightly-g1")

		Expect(rep.Status.Phase).To(Equal(securityv1alpha1.ReportComplete))
		Expect(rep.Spec.Trigger).To(Equal(securityv1alpha1.TriggerCreated))
		Expect(rep.Labels).To(HaveKeyWithValue(securityv1alpha1.LabelScan, "nightly"))
		Expect(metav1.IsControlledBy(rep, getScan(sc)(Default))).To(BeTrue())
		Expect(rep.Status.Summary.Resources).To(Equal(int32(2)), "the Deployment and the bare Pod, not the ReplicaSet or its Pod")
		keys := findingKeys(rep)
		Expect(keys).To(ContainElements(
			"Critical Pod/debug-shell kubesec.Privileged",
			"High Pod/debug-shell kubesec.HostNetwork",
			"High Pod/debug-shell pss.baseline.privileged",
		))
		for _, f := range rep.Status.Findings {
			Expect(f.Resource.Name).NotTo(HavePrefix("web-"), "a ReplicaSet or Pod owned by the Deployment was evaluated: %v", f)
			if f.Resource.Name == "web" {
				Expect(f.Severity).NotTo(BeElementOf(securityv1alpha1.SeverityCritical, securityv1alpha1.SeverityHigh, securityv1alpha1.SeverityMedium), "hardened deployment: %v", f)
			}
		}
		Expect(rep.Status.Summary.PodSecurity).To(Equal(&securityv1alpha1.PodSecurityCounts{Restricted: 1, Privileged: 1}))
		Expect(rep.Status.Summary.Total).To(Equal(int32(len(rep.Status.Findings))))
		Expect(rep.Status.Findings[0].Severity).To(Equal(securityv1alpha1.SeverityCritical), "most severe first")

		Eventually(func(g Gomega) {
			s := getScan(sc)(g)
			ready := meta.FindStatusCondition(s.Status.Conditions, securityv1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(s.Status.ObservedGeneration).To(Equal(s.Generation))
			g.Expect(meta.IsStatusConditionFalse(s.Status.Conditions, securityv1alpha1.ConditionScanning)).To(BeTrue())
			g.Expect(s.Status.LastSuccessfulRunTime).NotTo(BeNil())
		}).Should(Succeed())
		Expect(testutil.ToFloat64(controllers.DefaultMetrics.RunsCounter().WithLabelValues(ns, "nightly", "Complete"))).To(Equal(1.0))
	})

	It("runs again when the spec changes, not when only metadata changes", func() {
		ns := newNamespace("respec", nil)
		Expect(k8sClient.Create(ctx, insecurePod(ns, "p"))).To(Succeed())
		sc := newScan(ns, "s", nil)
		Expect(k8sClient.Create(ctx, sc)).To(Succeed())
		finishedReport(ns, "s-g1")

		poke(sc)
		Consistently(reportsOf(sc), "2s").Should(ConsistOf("s-g1"))

		updateSpec(sc, func(s *securityv1alpha1.SecurityScan) {
			s.Spec.Workloads.PodSecurityLevel = securityv1alpha1.PodSecurityBaseline
		})
		rep := finishedReport(ns, "s-g2")
		Expect(rep.Spec.Trigger).To(Equal(securityv1alpha1.TriggerSpecChanged))
		Expect(rep.Spec.Source.Generation).To(Equal(int64(2)))
		for _, f := range rep.Status.Findings {
			Expect(f.ID).NotTo(HavePrefix("pss.restricted."), "held to baseline only")
		}
	})

	It("runs on its schedule, in its time zone, and not while suspended", func() {
		ns := newNamespace("cron", nil)
		// Yearly, at midnight in Tokyo: far from the test's real and fake
		// clocks, so no slot falls between the scan's creation and now.
		sc := newScan(ns, "newyear", func(s *securityv1alpha1.SecurityScan) {
			s.Spec.Schedule = "0 0 1 1 *"
			s.Spec.TimeZone = ptr.To("Asia/Tokyo")
		})
		Expect(k8sClient.Create(ctx, sc)).To(Succeed())
		finishedReport(ns, "newyear-g1")

		tokyo, err := time.LoadLocation("Asia/Tokyo")
		Expect(err).NotTo(HaveOccurred())
		next := time.Date(fakeClock.Now().In(tokyo).Year()+1, 1, 1, 0, 0, 0, 0, tokyo)
		Eventually(func(g Gomega) {
			t := getScan(sc)(g).Status.NextRunTime
			g.Expect(t).NotTo(BeNil())
			g.Expect(t.Time).To(BeTemporally("==", next))
		}).Should(Succeed())

		fakeClock.SetTime(next.Add(30 * time.Second))
		poke(sc)
		slotName := "newyear-" + next.UTC().Format("20060102-1504")
		Expect(slotName).To(HaveSuffix("1231-1500"), "midnight in Tokyo is 15:00 UTC the day before")
		rep := finishedReport(ns, slotName)
		Expect(rep.Spec.Trigger).To(Equal(securityv1alpha1.TriggerSchedule))
		Expect(rep.Spec.ScheduledTime.Time).To(BeTemporally("==", next))
		Eventually(reportsOf(sc)).Should(ConsistOf("newyear-g1", slotName))

		updateSpec(sc, func(s *securityv1alpha1.SecurityScan) { s.Spec.Suspend = true })
		Eventually(func(g Gomega) {
			c := meta.FindStatusCondition(getScan(sc)(g).Status.Conditions, securityv1alpha1.ConditionScanning)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(securityv1alpha1.ReasonSuspended))
		}).Should(Succeed())
		fakeClock.SetTime(next.AddDate(1, 0, 1))
		poke(sc)
		Consistently(reportsOf(sc), "2s").Should(ConsistOf("newyear-g1", slotName))
	})

	It("keeps historyLimit reports and deletes older ones", func() {
		ns := newNamespace("history", nil)
		sc := newScan(ns, "h", func(s *securityv1alpha1.SecurityScan) { s.Spec.HistoryLimit = ptr.To[int32](2) })
		Expect(k8sClient.Create(ctx, sc)).To(Succeed())
		finishedReport(ns, "h-g1")
		for _, level := range []securityv1alpha1.PodSecurityLevel{"baseline", "restricted", "baseline"} {
			updateSpec(sc, func(s *securityv1alpha1.SecurityScan) { s.Spec.Workloads.PodSecurityLevel = level })
		}
		finishedReport(ns, "h-g4")
		Eventually(reportsOf(sc)).Should(HaveLen(2))
		Expect(reportsOf(sc)(Default)).To(ContainElement("h-g4"))
	})

	It("caps the findings list but counts every finding", func() {
		ns := newNamespace("cap", nil)
		for i := range 3 {
			Expect(k8sClient.Create(ctx, insecurePod(ns, fmt.Sprintf("p%d", i)))).To(Succeed())
		}
		sc := newScan(ns, "c", func(s *securityv1alpha1.SecurityScan) { s.Spec.MaxFindings = ptr.To[int32](2) })
		Expect(k8sClient.Create(ctx, sc)).To(Succeed())
		rep := finishedReport(ns, "c-g1")
		Expect(rep.Status.Findings).To(HaveLen(2))
		Expect(rep.Status.Findings[0].ID).To(Equal("kubesec.Privileged"))
		Expect(rep.Status.Summary.Critical).To(BeNumerically(">=", 3))
		Expect(rep.Status.FindingsOmitted).To(Equal(rep.Status.Summary.Total - 2))
	})

	It("lets a scan in the operator's namespace choose namespaces, and keeps any other scan to its own", func() {
		teamA := newNamespace("team-a", map[string]string{"tier": "prod"})
		teamB := newNamespace("team-b", map[string]string{"tier": "prod"})
		teamC := newNamespace("team-c", map[string]string{"tier": "dev"})
		for _, ns := range []string{teamA, teamB, teamC} {
			Expect(k8sClient.Create(ctx, insecurePod(ns, "pod-in-"+ns))).To(Succeed())
		}

		tenant := newScan(teamA, "greedy", func(s *securityv1alpha1.SecurityScan) {
			s.Spec.Namespaces.Names = []string{teamA, teamB, teamC}
		})
		Expect(k8sClient.Create(ctx, tenant)).To(Succeed())
		rep := finishedReport(teamA, "greedy-g1")
		for _, f := range rep.Status.Findings {
			Expect(f.Resource.Namespace).To(Equal(teamA))
		}
		Expect(rep.Status.Namespaces).To(Equal(int32(1)))
		Eventually(func(g Gomega) {
			c := meta.FindStatusCondition(getScan(tenant)(g).Status.Conditions, securityv1alpha1.ConditionScopeRestricted)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Message).To(ContainSubstring("only scans its own namespace"))
		}).Should(Succeed())

		admin := newScan(operatorNamespace, "prod-only", func(s *securityv1alpha1.SecurityScan) {
			s.Spec.Namespaces.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "prod"}}
			s.Spec.Namespaces.Exclude = []string{teamA}
		})
		Expect(k8sClient.Create(ctx, admin)).To(Succeed())
		rep = finishedReport(operatorNamespace, "prod-only-g1")
		seen := map[string]bool{}
		for _, f := range rep.Status.Findings {
			seen[f.Resource.Namespace] = true
		}
		Expect(seen).To(HaveKey(teamB))
		Expect(seen).NotTo(HaveKey(teamA))
		Expect(seen).NotTo(HaveKey(teamC))
		Expect(meta.FindStatusCondition(getScan(admin)(Default).Status.Conditions, securityv1alpha1.ConditionScopeRestricted)).To(BeNil())
	})

	It("reports a schedule that CEL lets through but cron cannot read as Ready=False InvalidSchedule, and does not run", func() {
		ns := newNamespace("badcron", nil)
		sc := newScan(ns, "b", func(s *securityv1alpha1.SecurityScan) { s.Spec.Schedule = "61 * * * *" })
		Expect(k8sClient.Create(ctx, sc)).To(Succeed())
		Eventually(func(g Gomega) {
			c := meta.FindStatusCondition(getScan(sc)(g).Status.Conditions, securityv1alpha1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(securityv1alpha1.ReasonInvalidSchedule))
			g.Expect(c.Message).To(ContainSubstring("above maximum"))
		}).Should(Succeed())
		Expect(reportsOf(sc)(Default)).To(BeEmpty())
	})

	DescribeTable("rejects invalid objects at the API server with a clear message",
		func(mutate func(*securityv1alpha1.SecurityScan), want string) {
			sc := newScan(operatorNamespace, "invalid", mutate)
			err := k8sClient.Create(ctx, sc)
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(want))
		},
		Entry("schedule that is not cron", func(s *securityv1alpha1.SecurityScan) { s.Spec.Schedule = "every day" }, "schedule must be five cron fields"),
		Entry("six-field schedule", func(s *securityv1alpha1.SecurityScan) { s.Spec.Schedule = "0 0 * * * *" }, "schedule must be five cron fields"),
		Entry("time zone without schedule", func(s *securityv1alpha1.SecurityScan) { s.Spec.TimeZone = ptr.To("UTC") }, "timeZone needs a schedule"),
		Entry("no analyzer", func(s *securityv1alpha1.SecurityScan) { s.Spec.Workloads = nil }, "enable at least one analyzer"),
		Entry("history limit 0", func(s *securityv1alpha1.SecurityScan) { s.Spec.HistoryLimit = ptr.To[int32](0) }, "spec.historyLimit: Invalid value: 0"),
		Entry("unknown PSS level", func(s *securityv1alpha1.SecurityScan) { s.Spec.Workloads.PodSecurityLevel = "privileged" }, `supported values: "baseline", "restricted"`),
		Entry("names and selector together", func(s *securityv1alpha1.SecurityScan) {
			s.Spec.Namespaces = securityv1alpha1.NamespaceScope{Names: []string{"a"}, Selector: &metav1.LabelSelector{}}
		}, "set either names or selector, not both"),
	)

	It("accepts the schedule forms the README documents", func() {
		for i, s := range []string{"@daily", "*/15 2-4 * * 1-5", "0 3 * * SUN"} {
			sc := newScan(operatorNamespace, fmt.Sprintf("forms-%d", i), func(x *securityv1alpha1.SecurityScan) {
				x.Spec.Schedule = s
				x.Spec.Suspend = true
			})
			Expect(k8sClient.Create(ctx, sc)).To(Succeed(), s)
		}
	})

	It("rejects changes to a report's spec", func() {
		ns := newNamespace("immutable", nil)
		sc := newScan(ns, "i", nil)
		Expect(k8sClient.Create(ctx, sc)).To(Succeed())
		rep := finishedReport(ns, "i-g1")
		rep.Spec.Trigger = securityv1alpha1.TriggerSchedule
		err := k8sClient.Update(ctx, rep)
		Expect(err).To(HaveOccurred())
		Expect(strings.ToLower(err.Error())).To(ContainSubstring("spec is immutable"))
	})
})

package e2e

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
)

// Names a PolicyProbe's probe pods carry (README, "The probe pods"), as an
// outsider reads them.
const (
	annotationProbeRole = "security.palisade.dev/probe-role"
	findingNotEnforced  = "probe.policy-not-enforced"
	findingBlocked      = "probe.allowed-traffic-blocked"
)

// A PolicyProbe against pods that really run and NetworkPolicies that
// kube-router really enforces (testdata/policyprobe.yaml): a default deny,
// an allow from a namespace selector, an allow from a pod selector on a
// named port and an egress rule. While the enforcer runs, every case
// observes what the policies say; once the enforcer is stopped and its
// rules removed, the same PolicyProbe reports every denied connection as
// getting through. The probes observe the network, not the engine.
var _ = Describe("A PolicyProbe against real workloads and NetworkPolicies", Ordered, func() {
	const (
		shopNS     = "e2e-pp-shop"
		frontendNS = "e2e-pp-frontend"
		toolsNS    = "e2e-pp-tools"
		probeName  = "e2e-policies"
	)
	policies := []string{
		shopNS + "/default-deny-ingress",
		shopNS + "/web-from-frontend",
		shopNS + "/db-from-web",
		frontendNS + "/frontend-egress",
	}
	pp := &securityv1alpha1.PolicyProbe{
		ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: probeName},
		Spec: securityv1alpha1.PolicyProbeSpec{
			Namespaces: securityv1alpha1.NamespaceScope{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"e2e-policyprobe": "true"}},
			},
			Generate: securityv1alpha1.CaseGeneration{Enabled: ptr.To(true)},
			Cases: []securityv1alpha1.ProbeCaseSpec{{
				Name: "frontend-to-web",
				From: securityv1alpha1.ProbePeer{Namespace: frontendNS, PodLabels: map[string]string{"app": "frontend"}},
				To:   securityv1alpha1.ProbePeer{Namespace: shopNS, PodLabels: map[string]string{"app": "web"}},
				Port: 8080, Expect: securityv1alpha1.ExpectAllow,
			}, {
				Name: "toolbox-to-db",
				From: securityv1alpha1.ProbePeer{Namespace: toolsNS, PodLabels: map[string]string{"app": "toolbox"}},
				To:   securityv1alpha1.ProbePeer{Namespace: shopNS, PodLabels: map[string]string{"app": "db"}},
				Port: 5432, Expect: securityv1alpha1.ExpectDeny,
			}},
			// A run that hangs ends with Inconclusive cases well before
			// the waits below give up.
			Timeouts: securityv1alpha1.ProbeTimeouts{Run: &metav1.Duration{Duration: 2 * time.Minute}},
		},
	}
	var (
		managerImage string
		pods         *probePodWatcher
		enforced     *securityv1alpha1.ScanReport // the first run's report
	)

	BeforeAll(func() {
		// The namespaces and their default service accounts first: the
		// pods' admission needs them.
		for _, ns := range []string{shopNS, frontendNS, toolsNS} {
			createNamespace(ns)
			DeferCleanup(deleteNamespace, ns)
		}
		applyTestdata("policyprobe.yaml")

		By("waiting for the workloads to run")
		Eventually(func(g Gomega) {
			for _, ns := range []string{shopNS, frontendNS, toolsNS} {
				list := &corev1.PodList{}
				g.Expect(k8s.List(ctx, list, client.InNamespace(ns))).To(Succeed())
				g.Expect(list.Items).NotTo(BeEmpty(), "pods in %s", ns)
				for _, p := range list.Items {
					g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning), "pod %s/%s", ns, p.Name)
					g.Expect(podReady(&p)).To(BeTrue(), "pod %s/%s ready", ns, p.Name)
				}
			}
		}).WithTimeout(2 * time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())

		dep := &appsv1.Deployment{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: managerName}, dep)).To(Succeed())
		managerImage = dep.Spec.Template.Spec.Containers[0].Image
		// The probe pods' image is read from the manager's own pod, not a
		// built-in default that happens to be the same here.
		manager := readyManager("").Name
		logs, err := podLogs(operatorNamespace, manager, "manager", false)
		Expect(err).NotTo(HaveOccurred())
		Expect(logs).To(MatchRegexp(`Probe pods' default image.*"from": ?"pod %s/%s"`, operatorNamespace, manager))
		pods = watchProbePods(probeName)
		// After the last spec, before the namespaces go: a no-op when the
		// last spec got to its end.
		DeferCleanup(deletePolicyProbe, pp)
	})

	It("observes every case as the policies say while the enforcer runs", func() {
		start := time.Now()
		Expect(k8s.Create(ctx, pp)).To(Succeed())

		rep := waitForFinishedReport(probeName+"-probe-g1", 3*time.Minute)
		elapsed := time.Since(start)
		res := expectProbeReport(rep)
		c := res.Counts
		fmt.Fprintf(GinkgoWriter, "policyprobe (enforced): %d cases (%d servers), creation to %s report in %s; notes %q\n",
			c.Total, len(res.Servers), rep.Status.Phase, elapsed.Round(10*time.Millisecond), res.Notes)
		logCases(res)

		Expect(rep.Status.Phase).To(Equal(securityv1alpha1.ReportComplete), "report %s: %+v", rep.Name, rep.Status.Analyzers)
		Expect(c).To(Equal(securityv1alpha1.ProbeCounts{Total: c.Total, Match: c.Total}), "every case matches")
		for _, pc := range res.Cases {
			Expect(pc.Result).To(Equal(securityv1alpha1.ProbeMatch), "case %+v", pc)
			if pc.Expected == securityv1alpha1.ExpectAllow {
				Expect(pc.Observed).To(Equal(securityv1alpha1.ObservedConnected), "case %+v", pc)
			} else {
				// kube-router REJECTs most of what it denies (refused at
				// once) but some denied egress times out: both are blocked.
				Expect(pc.Observed).To(BeElementOf(securityv1alpha1.ObservedRefused, securityv1alpha1.ObservedTimeout), "case %+v", pc)
			}
		}
		for _, f := range rep.Status.Findings {
			Expect(f.Severity).NotTo(BeElementOf(securityv1alpha1.SeverityHigh, securityv1alpha1.SeverityMedium), "finding %+v", f)
			Expect(f.Category).NotTo(Equal(securityv1alpha1.CategoryProbe), "finding %+v", f)
		}

		By("checking that every policy and both verdicts were probed, the named port and the egress rule included")
		for _, p := range policies {
			Expect(res.Cases).To(ContainElement(And(HaveField("Origin", securityv1alpha1.ProbeGenerated), HaveField("Policy", p))),
				"a generated case for %s", p)
		}
		Expect(res.Cases).To(ContainElement(And(HaveField("Expected", securityv1alpha1.ExpectAllow), HaveField("Origin", securityv1alpha1.ProbeGenerated))))
		Expect(res.Cases).To(ContainElement(And(HaveField("Expected", securityv1alpha1.ExpectDeny), HaveField("Origin", securityv1alpha1.ProbeGenerated))))
		// db-from-web admits web on the named port pg: 5432 on db's probe
		// server, which declares it.
		Expect(res.Cases).To(ContainElement(And(
			HaveField("Policy", shopNS+"/db-from-web"), HaveField("Expected", securityv1alpha1.ExpectAllow),
			HaveField("Source.Namespace", shopNS), HaveField("Source.PodLabels", HaveKeyWithValue("app", "web")),
			HaveField("Destination.PodLabels", HaveKeyWithValue("app", "db")), HaveField("Port", int32(5432)))))
		Expect(res.Servers).To(ContainElement(And(
			HaveField("Namespace", shopNS), HaveField("PodLabels", HaveKeyWithValue("app", "db")),
			HaveField("NamedPorts", ContainElement(securityv1alpha1.ProbeNamedPort{Name: "pg", Port: 5432, Protocol: securityv1alpha1.ProtocolTCP})))))
		// web-from-frontend admits the tier=frontend namespaces (the
		// generator derives that connection once, from frontend-egress,
		// which admits it too), and no one else.
		Expect(res.Cases).To(ContainElement(And(
			HaveField("Origin", securityv1alpha1.ProbeGenerated), HaveField("Expected", securityv1alpha1.ExpectAllow),
			HaveField("Source.Namespace", frontendNS), HaveField("Destination.PodLabels", HaveKeyWithValue("app", "web")), HaveField("Port", int32(8080)))))
		Expect(res.Cases).To(ContainElement(And(
			HaveField("Policy", shopNS+"/web-from-frontend"), HaveField("Expected", securityv1alpha1.ExpectDeny),
			HaveField("Source.Namespace", toolsNS), HaveField("Port", int32(8080)))))
		// frontend-egress: frontend may reach web on 8080, nothing else.
		Expect(res.Cases).To(ContainElement(And(
			HaveField("Policy", frontendNS+"/frontend-egress"), HaveField("Expected", securityv1alpha1.ExpectDeny),
			HaveField("Source.Namespace", frontendNS))))
		Expect(res.Cases).To(ContainElements(
			And(HaveField("Name", "frontend-to-web"), HaveField("Origin", securityv1alpha1.ProbeExplicit), HaveField("EngineVerdict", "Allow")),
			And(HaveField("Name", "toolbox-to-db"), HaveField("Origin", securityv1alpha1.ProbeExplicit), HaveField("EngineVerdict", "Deny")),
		))

		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(pp), pp)).To(Succeed())
			g.Expect(pp.Status.LatestReport).To(Equal(rep.Name))
			g.Expect(pp.Status.ActiveReport).To(BeEmpty())
			g.Expect(meta.IsStatusConditionTrue(pp.Status.Conditions, securityv1alpha1.ConditionReady)).To(BeTrue(), "%+v", pp.Status.Conditions)
		}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())

		By("checking that the run's probe pods are gone")
		finished := time.Now()
		expectNoProbePods(probeName)
		figures.add("PolicyProbe report finished to no probe pod left (polled every 200ms)", time.Since(finished))

		By("checking the probe pods the run made")
		pods.expectProbePods(managerImage, rep)
		Expect(res.Servers).To(ContainElement(And(HaveField("Namespace", shopNS), HaveField("PodLabels", HaveKeyWithValue("app", "web")))))
		web := &appsv1.Deployment{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: shopNS, Name: "web"}, web)).To(Succeed())
		Expect(web.Status.Replicas).To(Equal(int32(1)), "the web ReplicaSet adopted no probe server")
		Expect(web.Status.ReadyReplicas).To(Equal(int32(1)))

		figures.add(fmt.Sprintf("PolicyProbe run, enforcer running (%d cases, %d probe pods): creation to Complete report", c.Total, pods.count()), elapsed)
		figures.add("PolicyProbe run, enforcer running: report start to completion", reportDuration(rep))
		enforced = rep
	})

	It("reports every denied connection as policy-not-enforced once the enforcer is stopped and its rules removed", func() {
		Expect(enforced).NotTo(BeNil(), "the enforced run")

		By("stopping the enforcer and removing its rules")
		clusterScript("enforcer", "stop")
		DeferCleanup(clusterScript, "enforcer", "start") // a no-op when it runs

		By("changing the PolicyProbe's spec for a new run")
		start := bumpPolicyProbe(pp)
		Expect(pp.Generation).To(Equal(int64(2)))
		rep := waitForFinishedReport(probeName+"-probe-g2", 3*time.Minute)
		elapsed := time.Since(start)
		res := expectProbeReport(rep)
		c := res.Counts
		fmt.Fprintf(GinkgoWriter, "policyprobe (not enforced): %d cases, spec change to %s report in %s\n",
			c.Total, rep.Status.Phase, elapsed.Round(10*time.Millisecond))
		logCases(res)

		By("comparing with the enforced run: the same cases, every Deny one connected")
		Expect(caseNames(res)).To(Equal(caseNames(enforced.Status.Probes)), "the same cases as the enforced run")
		var deny []securityv1alpha1.ProbeCase
		for _, pc := range res.Cases {
			Expect(pc.Observed).To(Equal(securityv1alpha1.ObservedConnected), "nothing blocks anything: case %+v", pc)
			if pc.Expected == securityv1alpha1.ExpectAllow {
				Expect(pc.Result).To(Equal(securityv1alpha1.ProbeMatch), "case %+v", pc)
				continue
			}
			Expect(pc.Result).To(Equal(securityv1alpha1.ProbeMismatch), "case %+v", pc)
			Expect(pc.Reason).To(ContainSubstring("not enforced"), "case %+v", pc)
			deny = append(deny, pc)
		}
		Expect(deny).NotTo(BeEmpty())
		Expect(c).To(Equal(securityv1alpha1.ProbeCounts{Total: c.Total, Match: c.Total - int32(len(deny)), Mismatch: int32(len(deny))}))

		By("checking the findings: one policy-not-enforced High per Deny case, about its policy or the PolicyProbe")
		Expect(rep.Status.Phase).To(Equal(securityv1alpha1.ReportComplete), "report %s: %+v", rep.Name, rep.Status.Analyzers)
		Expect(rep.Status.FindingsOmitted).To(BeZero())
		var probeFindings []securityv1alpha1.Finding
		for _, f := range rep.Status.Findings {
			if f.Category == securityv1alpha1.CategoryProbe {
				Expect(f.ID).NotTo(Equal(findingBlocked), "no allowed traffic was blocked: %+v", f)
				probeFindings = append(probeFindings, f)
			}
		}
		Expect(probeFindings).To(HaveLen(len(deny)))
		for _, pc := range deny {
			resource := And(HaveField("Resource.Kind", "PolicyProbe"), HaveField("Resource.Namespace", operatorNamespace), HaveField("Resource.Name", probeName))
			if pc.Origin == securityv1alpha1.ProbeGenerated {
				ns, name, _ := strings.Cut(pc.Policy, "/")
				resource = And(HaveField("Resource.Kind", "NetworkPolicy"), HaveField("Resource.Namespace", ns), HaveField("Resource.Name", name))
			}
			Expect(probeFindings).To(ContainElement(And(
				HaveField("ID", findingNotEnforced), HaveField("Severity", securityv1alpha1.SeverityHigh),
				HaveField("Message", HavePrefix("Case "+pc.Name+":")), resource)), "the finding of case %s", pc.Name)
		}
		Expect(probeFindings).To(ContainElement(And(HaveField("ID", findingNotEnforced), HaveField("Message", HavePrefix("Case toolbox-to-db:")))))
		Expect(rep.Status.Summary.High).To(BeNumerically(">=", int32(len(deny))))
		expectNoProbePods(probeName)

		figures.add(fmt.Sprintf("PolicyProbe run, enforcer stopped (%d cases, %d policy-not-enforced): spec change to Complete report", c.Total, len(deny)), elapsed)
		figures.add("PolicyProbe run, enforcer stopped: report start to completion", reportDuration(rep))

		By("starting the enforcer again: the policies are enforced again")
		clusterScript("enforcer", "start")
		expectEnforced(toolsNS, shopNS)
	})

	It("matches every case again once the enforcer is back, and leaves nothing behind once deleted", func() {
		start := bumpPolicyProbe(pp)
		Expect(pp.Generation).To(Equal(int64(3)))
		rep := waitForFinishedReport(probeName+"-probe-g3", 3*time.Minute)
		res := expectProbeReport(rep)
		fmt.Fprintf(GinkgoWriter, "policyprobe (enforced again): %d cases, spec change to %s report in %s\n",
			res.Counts.Total, rep.Status.Phase, time.Since(start).Round(10*time.Millisecond))
		Expect(rep.Status.Phase).To(Equal(securityv1alpha1.ReportComplete))
		Expect(res.Counts).To(Equal(securityv1alpha1.ProbeCounts{Total: res.Counts.Total, Match: res.Counts.Total}), "every case matches: %s", mismatches(res))
		Expect(caseNames(res)).To(Equal(caseNames(enforced.Status.Probes)))
		expectNoProbePods(probeName)

		By("deleting the PolicyProbe: its reports go, no probe pod is left")
		Expect(reportNamesOfProbe(probeName)).To(ConsistOf(probeName+"-probe-g1", probeName+"-probe-g2", probeName+"-probe-g3"))
		t := time.Now()
		deletePolicyProbe(pp)
		figures.add("PolicyProbe deleted to no report or probe pod left", time.Since(t))
		Expect(pods.live()).To(BeEmpty())
	})
})

// expectProbeReport checks what every finished PolicyProbe report holds:
// the probe analyzer, planned cases that all have a result, and counts
// that add up.
func expectProbeReport(rep *securityv1alpha1.ScanReport) *securityv1alpha1.ProbeResults {
	GinkgoHelper()
	Expect(rep.Spec.Source.Kind).To(Equal("PolicyProbe"))
	res := rep.Status.Probes
	Expect(res).NotTo(BeNil(), "report %s has no probe results: %+v", rep.Name, rep.Status.Analyzers)
	Expect(rep.Status.Analyzers).To(ContainElement(And(
		HaveField("Name", "probe"), HaveField("Phase", securityv1alpha1.AnalyzerSucceeded), HaveField("Reason", BeEmpty()))),
		"report %s: %s", rep.Name, inconclusive(res))
	Expect(res.CasesOmitted).To(BeZero())
	Expect(res.Cases).To(HaveLen(int(res.Counts.Total)))
	Expect(res.Counts.Total).To(BeNumerically(">", 0))
	Expect(res.Counts.Pending).To(BeZero())
	Expect(res.Counts.Inconclusive).To(BeZero(), "%s", inconclusive(res))
	for _, pc := range res.Cases {
		Expect(pc.Source.Pod).NotTo(BeEmpty(), "case %+v", pc)
		Expect(pc.Destination.Pod).NotTo(BeEmpty(), "every destination is a probe server: case %+v", pc)
		Expect(pc.Observed).NotTo(BeEmpty(), "case %+v", pc)
	}
	return res
}

func inconclusive(res *securityv1alpha1.ProbeResults) string {
	if res == nil {
		return ""
	}
	var out []string
	for _, pc := range res.Cases {
		if pc.Result == securityv1alpha1.ProbeInconclusive || pc.Result == securityv1alpha1.ProbePending {
			out = append(out, pc.Name+": "+pc.Reason)
		}
	}
	return strings.Join(out, "\n")
}

func mismatches(res *securityv1alpha1.ProbeResults) string {
	var out []string
	for _, pc := range res.Cases {
		if pc.Result != securityv1alpha1.ProbeMatch {
			out = append(out, fmt.Sprintf("%s (%s %s): %s", pc.Name, pc.Result, pc.Observed, pc.Reason))
		}
	}
	return strings.Join(out, "\n")
}

// logCases writes the run's cases, one line each.
func logCases(res *securityv1alpha1.ProbeResults) {
	for _, pc := range res.Cases {
		fmt.Fprintf(GinkgoWriter, "  %-16s %-9s %-42s %s/%v -> %s/%v %d/%s expected %s observed %s: %s\n",
			pc.Name, pc.Origin, pc.Policy, pc.Source.Namespace, pc.Source.PodLabels, pc.Destination.Namespace, pc.Destination.PodLabels,
			pc.Port, pc.Protocol, pc.Expected, pc.Observed, pc.Result)
	}
}

func caseNames(res *securityv1alpha1.ProbeResults) []string {
	names := []string{}
	for _, pc := range res.Cases {
		names = append(names, pc.Name)
	}
	sort.Strings(names)
	return names
}

func reportDuration(rep *securityv1alpha1.ScanReport) time.Duration {
	if rep.Status.StartTime == nil || rep.Status.CompletionTime == nil {
		return 0
	}
	return rep.Status.CompletionTime.Sub(rep.Status.StartTime.Time)
}

// bumpPolicyProbe changes the PolicyProbe's spec harmlessly (one more
// report kept) for a new run, and returns when it did.
func bumpPolicyProbe(pp *securityv1alpha1.PolicyProbe) time.Time {
	GinkgoHelper()
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(pp), pp); err != nil {
			return err
		}
		pp.Spec.HistoryLimit = ptr.To(ptr.Deref(pp.Spec.HistoryLimit, 3) + 1)
		return k8s.Update(ctx, pp)
	})).To(Succeed())
	return time.Now()
}

// deletePolicyProbe deletes a PolicyProbe and waits until nothing of it is
// left: its reports (the garbage collector deletes them through their
// owner reference) and its probe pods, in whatever namespace.
func deletePolicyProbe(pp *securityv1alpha1.PolicyProbe) {
	Expect(client.IgnoreNotFound(k8s.Delete(ctx, pp))).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(pp), &securityv1alpha1.PolicyProbe{}))).To(BeTrue(), "the PolicyProbe is still there")
		g.Expect(reportNamesOfProbe(pp.Name)).To(BeEmpty(), "reports")
		g.Expect(probePodNames(pp.Name)).To(BeEmpty(), "probe pods")
	}).WithTimeout(2*time.Minute).WithPolling(500*time.Millisecond).Should(Succeed(), "what is left of PolicyProbe %s", pp.Name)
}

func reportNamesOfProbe(probe string) []string {
	list := &securityv1alpha1.ScanReportList{}
	Expect(k8s.List(ctx, list, client.InNamespace(operatorNamespace),
		client.MatchingLabels{securityv1alpha1.LabelProbe: probe})).To(Succeed())
	names := []string{}
	for _, r := range list.Items {
		names = append(names, r.Name)
	}
	sort.Strings(names)
	return names
}

// probePodNames lists the probe's pods in every namespace.
func probePodNames(probe string) []string {
	list := &corev1.PodList{}
	Expect(k8s.List(ctx, list, client.MatchingLabels{securityv1alpha1.LabelProbe: probe})).To(Succeed())
	names := []string{}
	for _, p := range list.Items {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	sort.Strings(names)
	return names
}

func expectNoProbePods(probe string) {
	GinkgoHelper()
	Eventually(func() []string { return probePodNames(probe) }).
		WithTimeout(time.Minute).WithPolling(200 * time.Millisecond).Should(BeEmpty())
}

// expectEnforced waits until a connection from a pod of FROM to shop's web
// pod on 8080, which no policy admits, is refused.
func expectEnforced(from, shop string) {
	GinkgoHelper()
	list := &corev1.PodList{}
	Expect(k8s.List(ctx, list, client.InNamespace(shop), client.MatchingLabels{"app": "web"})).To(Succeed())
	Expect(list.Items).To(HaveLen(1))
	ip := list.Items[0].Status.PodIP
	Expect(ip).NotTo(BeEmpty())
	attempt := 0
	Eventually(func() string {
		attempt++
		ok, out := runPod(from, fmt.Sprintf("enforced-%d", attempt),
			fmt.Sprintf(`printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 %s 8080`, ip))
		switch {
		case ok && strings.Contains(out, "palisade"):
			return "connected"
		case strings.Contains(out, "refused"):
			return "refused"
		default:
			return "other: " + out
		}
	}).WithTimeout(45 * time.Second).WithPolling(100 * time.Millisecond).Should(Equal("refused"))
}

// ---------------------------------------------------------------- watching probe pods

// probePodWatcher follows a PolicyProbe's probe pods in every namespace
// through a watch, from before the PolicyProbe exists: every pod as last
// seen, and those that exist now.
type probePodWatcher struct {
	mu    sync.Mutex
	seen  map[types.UID]*corev1.Pod
	alive map[types.UID]bool
	stop  chan struct{}
}

func watchProbePods(probe string) *probePodWatcher {
	w := &probePodWatcher{seen: map[types.UID]*corev1.Pod{}, alive: map[types.UID]bool{}, stop: make(chan struct{})}
	factory := informers.NewSharedInformerFactoryWithOptions(clientset, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = labels.Set{securityv1alpha1.LabelProbe: probe}.String()
		}))
	inf := factory.Core().V1().Pods().Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { w.update(o, true) },
		UpdateFunc: func(_, o any) { w.update(o, true) },
		DeleteFunc: func(o any) {
			if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = d.Obj
			}
			w.update(o, false)
		},
	})
	Expect(err).NotTo(HaveOccurred())
	factory.Start(w.stop)
	DeferCleanup(func() {
		close(w.stop)
		factory.Shutdown()
	})
	Expect(cache.WaitForCacheSync(ctx.Done(), inf.HasSynced)).To(BeTrue())
	return w
}

func (w *probePodWatcher) update(o any, alive bool) {
	p, ok := o.(*corev1.Pod)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen[p.UID] = p.DeepCopy()
	if alive {
		w.alive[p.UID] = true
	} else {
		delete(w.alive, p.UID)
	}
}

func (w *probePodWatcher) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.seen)
}

// duplicates lists the pod names that more than one pod had.
func (w *probePodWatcher) duplicates() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	uids := map[string]int{}
	for _, p := range w.seen {
		uids[p.Namespace+"/"+p.Name]++
	}
	out := []string{}
	for name, n := range uids {
		if n > 1 {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func (w *probePodWatcher) live() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := []string{}
	for uid := range w.alive {
		out = append(out, w.seen[uid].Namespace+"/"+w.seen[uid].Name)
	}
	sort.Strings(out)
	return out
}

// expectProbePods checks the report's probe pods as last seen: the
// manager's image, hardened, controlled by the report or their namespace
// (never adopted), one server per server of the plan, every one of them
// deleted.
func (w *probePodWatcher) expectProbePods(image string, rep *securityv1alpha1.ScanReport) {
	GinkgoHelper()
	w.mu.Lock()
	defer w.mu.Unlock()
	servers := map[string]bool{}
	clients := 0
	for uid, p := range w.seen {
		if p.Labels[securityv1alpha1.LabelReport] != rep.Name {
			continue
		}
		Expect(w.alive[uid]).To(BeFalse(), "pod %s/%s is deleted", p.Namespace, p.Name)
		switch p.Annotations[annotationProbeRole] {
		case "server":
			servers[p.Namespace+"/"+p.Name] = true
		case "client":
			clients++
		default:
			Fail(fmt.Sprintf("pod %s/%s has no role: %v", p.Namespace, p.Name, p.Annotations))
		}
		Expect(p.Spec.Containers).To(HaveLen(1))
		c := p.Spec.Containers[0]
		Expect(c.Image).To(Equal(image), "pod %s/%s runs the manager's image", p.Namespace, p.Name)
		Expect(p.Spec.AutomountServiceAccountToken).To(HaveValue(BeFalse()))
		Expect(p.Spec.SecurityContext.RunAsNonRoot).To(HaveValue(BeTrue()))
		Expect(c.SecurityContext.ReadOnlyRootFilesystem).To(HaveValue(BeTrue()))
		Expect(c.SecurityContext.AllowPrivilegeEscalation).To(HaveValue(BeFalse()))
		Expect(c.SecurityContext.Capabilities.Drop).To(ContainElement(corev1.Capability("ALL")))
		ref := metav1.GetControllerOf(p)
		Expect(ref).NotTo(BeNil(), "pod %s/%s has a controller", p.Namespace, p.Name)
		if p.Namespace == rep.Namespace {
			Expect(ref.UID).To(Equal(rep.UID))
		} else {
			Expect(*ref).To(And(HaveField("Kind", "Namespace"), HaveField("Name", p.Namespace)), "pod %s/%s", p.Namespace, p.Name)
		}
		for _, cs := range p.Status.ContainerStatuses {
			Expect(cs.RestartCount).To(BeZero(), "pod %s/%s", p.Namespace, p.Name)
		}
	}
	want := map[string]bool{}
	for _, s := range rep.Status.Probes.Servers {
		want[s.Namespace+"/"+s.Pod] = true
	}
	Expect(servers).To(Equal(want), "one server pod per server of the plan")
	Expect(clients).To(BeNumerically(">", 0))
	fmt.Fprintf(GinkgoWriter, "policyprobe: report %s made %d server and %d client pods\n", rep.Name, len(servers), clients)
}

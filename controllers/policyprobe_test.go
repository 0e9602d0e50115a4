package controllers_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/controllers"
	"github.com/palisade-sec/palisade/internal/probe"
	"github.com/palisade-sec/palisade/internal/probepods"
	"github.com/palisade-sec/palisade/test/kubelet"
	"github.com/palisade-sec/palisade/test/testenv"
)

// PolicyProbe tests drive the simulated kubelet and CNI (probeNet) with
// Step inside Eventually: probe pods only progress when a test lets them.

var (
	probeNetOnce sync.Once
	probeNet     *kubelet.ProbeNetwork
)

// probeNetwork starts the simulator once, with its watch of probe pods.
func probeNetwork() *kubelet.ProbeNetwork {
	probeNetOnce.Do(func() {
		probeNet = kubelet.NewProbeNetwork(k8sClient)
		w, err := client.NewWithWatch(cfg, client.Options{Scheme: k8sClient.Scheme()})
		Expect(err).NotTo(HaveOccurred())
		Expect(probeNet.Watch(ctx, w)).To(Succeed())
	})
	return probeNet
}

// probeScenario creates namespaces a and b and, in a, a default-deny
// ingress policy and one that lets pods of b reach app=web on 8080.
func probeScenario(prefix string) (a, b string) {
	a = newNamespace(prefix+"-a", nil)
	b = newNamespace(prefix+"-b", nil)
	createPolicy(a, "deny-all", networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}})
	createPolicy(a, "web-from-b", webFrom(b, 8080))
	return a, b
}

func webFrom(ns string, port int32) networkingv1.NetworkPolicySpec {
	return networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Ingress: []networkingv1.NetworkPolicyIngressRule{{
			From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: ns}}}},
			Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromInt32(port))}},
		}},
	}
}

func createPolicy(ns, name string, spec networkingv1.NetworkPolicySpec) {
	Expect(k8sClient.Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec})).To(Succeed())
}

// newProbe creates a PolicyProbe; deleting it at the end must leave no
// probe pod behind.
func newProbe(ns, name string, namespaces []string, mutate func(*securityv1alpha1.PolicyProbe)) *securityv1alpha1.PolicyProbe {
	probeNetwork()
	pp := &securityv1alpha1.PolicyProbe{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       securityv1alpha1.PolicyProbeSpec{Namespaces: securityv1alpha1.NamespaceScope{Names: namespaces}, Image: "registry.example/palisade:test"},
	}
	if mutate != nil {
		mutate(pp)
	}
	Expect(k8sClient.Create(ctx, pp)).To(Succeed())
	DeferCleanup(func() {
		Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, pp))).To(Succeed())
		probeUntil(func(g Gomega) { g.Expect(probePodsOf(g, pp)).To(BeEmpty()) })
	})
	return pp
}

// probeUntil plays the simulated kubelet and CNI until cond holds.
func probeUntil(cond func(g Gomega)) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		g.Expect(probeNet.Step(ctx)).To(Succeed())
		cond(g)
	}).WithTimeout(benchTimeout).WithPolling(50 * time.Millisecond).Should(Succeed())
}

// probePodsOf lists the probe's pods, in every namespace, by name.
func probePodsOf(g Gomega, pp *securityv1alpha1.PolicyProbe) []string {
	list := &corev1.PodList{}
	g.Expect(k8sClient.List(ctx, list, client.MatchingLabels{probepods.LabelProbeNamespace: pp.Namespace, securityv1alpha1.LabelProbe: pp.Name})).To(Succeed())
	var names []string
	for _, p := range list.Items {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	return names
}

func probeReport(g Gomega, ns, name string) *securityv1alpha1.ScanReport {
	rep := &securityv1alpha1.ScanReport{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, rep)).To(Succeed())
	return rep
}

// runProbeToEnd plays the cluster until the report has finished and its
// pods are gone, and returns it.
func runProbeToEnd(pp *securityv1alpha1.PolicyProbe, report string) *securityv1alpha1.ScanReport {
	GinkgoHelper()
	var rep *securityv1alpha1.ScanReport
	probeUntil(func(g Gomega) {
		rep = probeReport(g, pp.Namespace, report)
		g.Expect(rep.Status.Phase.Finished()).To(BeTrue(), "phase %q, probes %+v", rep.Status.Phase, rep.Status.Probes)
		g.Expect(probePodsOf(g, pp)).To(BeEmpty(), "probe pods left after the run")
	})
	return rep
}

// caseLine renders a case: "Generated b/{} -> a/{app=web} 8080/TCP Allow: Match".
func caseLine(c securityv1alpha1.ProbeCase) string {
	return fmt.Sprintf("%s %s -> %s %d/%s %s: %s", c.Origin, probepods.IdentityString(c.Source), probepods.IdentityString(c.Destination), c.Port, c.Protocol, c.Expected, c.Result)
}

func caseLines(rep *securityv1alpha1.ScanReport) []string {
	var out []string
	for _, c := range rep.Status.Probes.Cases {
		out = append(out, caseLine(c))
	}
	return out
}

func caseNamed(rep *securityv1alpha1.ScanReport, name string) securityv1alpha1.ProbeCase {
	GinkgoHelper()
	i := slices.IndexFunc(rep.Status.Probes.Cases, func(c securityv1alpha1.ProbeCase) bool { return c.Name == name })
	Expect(i).To(BeNumerically(">=", 0), "no case %s in %q", name, caseLines(rep))
	return rep.Status.Probes.Cases[i]
}

// stepClock moves the operator's clock forward until the test ends: other
// tests (the benchmark's) expect it where the suite left it.
func stepClock(d time.Duration) {
	before := fakeClock.Now()
	fakeClock.Step(d)
	DeferCleanup(func() { fakeClock.SetTime(before) })
}

func pokeProbe(pp *securityv1alpha1.PolicyProbe) {
	cur := &securityv1alpha1.PolicyProbe{}
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pp), cur)).To(Succeed())
	patch := client.MergeFrom(cur.DeepCopy())
	if cur.Annotations == nil {
		cur.Annotations = map[string]string{}
	}
	cur.Annotations["test/poke"] = fakeClock.Now().Format(time.RFC3339Nano)
	Expect(k8sClient.Patch(ctx, cur, patch)).To(Succeed())
}

var _ = Describe("PolicyProbe", func() {
	AfterEach(func() {
		probeNetwork().SetOverride(nil)
		probeNetwork().HoldClients(false)
	})

	It("probes the cases generated from the policies and finds them all as expected when the CNI enforces them", func() {
		a, b := probeScenario("pp-all")
		pp := newProbe(operatorNamespace, "all-match", []string{a, b}, nil)

		// The servers are hardened, never ready, and start before any
		// client.
		probeUntil(func(g Gomega) {
			rep := probeReport(g, operatorNamespace, "all-match-probe-g1")
			g.Expect(rep.Status.Probes).NotTo(BeNil())
			g.Expect(rep.Status.Probes.Servers).NotTo(BeEmpty())
			pod := &corev1.Pod{}
			s := rep.Status.Probes.Servers[0]
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: s.Pod}, pod)).To(Succeed())
			g.Expect(pod.Spec.AutomountServiceAccountToken).To(HaveValue(BeFalse()))
			g.Expect(pod.Spec.SecurityContext.RunAsNonRoot).To(HaveValue(BeTrue()))
			c := pod.Spec.Containers[0]
			g.Expect(c.Image).To(Equal("registry.example/palisade:test"))
			g.Expect(c.SecurityContext.ReadOnlyRootFilesystem).To(HaveValue(BeTrue()))
			g.Expect(c.SecurityContext.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))
			g.Expect(c.Resources.Limits).To(HaveKey(corev1.ResourceMemory))
			g.Expect(c.ReadinessProbe.HTTPGet.Path).To(Equal(probe.ReadyPath))
			g.Expect(c.StartupProbe.HTTPGet.Path).To(Equal(probe.StartedPath))
			g.Expect(pod.Labels).To(HaveKeyWithValue(securityv1alpha1.LabelManagedBy, securityv1alpha1.ManagedByValue))
			// Outside the report's namespace, its namespace controls it: no
			// ReplicaSet adopts it, and no garbage collector deletes it.
			g.Expect(metav1.GetControllerOf(pod)).To(HaveField("Kind", "Namespace"))
		})

		rep := runProbeToEnd(pp, "all-match-probe-g1")
		Expect(rep.Status.Phase).To(Equal(securityv1alpha1.ReportComplete), "%+v", rep.Status.Analyzers)
		lines := caseLines(rep)
		Expect(lines).To(ContainElements(
			fmt.Sprintf("Generated %s/{} -> %s/{app=web} 8080/TCP Allow: Match", b, a),
			fmt.Sprintf("Generated %s/{} -> %s/{app=web} 8080/TCP Deny: Match", a, a),
			fmt.Sprintf("Generated %s/{} -> %s/{} 80/TCP Deny: Match", b, a),
		), strings.Join(lines, "\n"))
		for _, c := range rep.Status.Probes.Cases {
			Expect(c.Result).To(Equal(securityv1alpha1.ProbeMatch), caseLine(c))
			Expect(c.EngineVerdict).To(BeEquivalentTo(c.Expected))
			Expect(c.Policy).To(HavePrefix(a + "/"))
			Expect(c.Reason).To(ContainSubstring("as expected"))
		}
		counts := rep.Status.Probes.Counts
		Expect(counts.Match).To(Equal(counts.Total))
		Expect(rep.Status.Findings).To(BeEmpty())
		Expect(rep.Spec.Source).To(Equal(securityv1alpha1.ReportSource{Kind: "PolicyProbe", Name: "all-match", Generation: 1}))

		Eventually(func(g Gomega) {
			cur := &securityv1alpha1.PolicyProbe{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pp), cur)).To(Succeed())
			g.Expect(cur.Status.LatestReport).To(Equal("all-match-probe-g1"))
			g.Expect(meta.IsStatusConditionTrue(cur.Status.Conditions, securityv1alpha1.ConditionReady)).To(BeTrue())
			g.Expect(meta.IsStatusConditionFalse(cur.Status.Conditions, securityv1alpha1.ConditionScanning)).To(BeTrue())
		}).Should(Succeed())
	})

	It("reports traffic the policies deny that got through as High: policy not enforced", func() {
		a, b := probeScenario("pp-leak")
		probeNetwork().SetOverride(func(c kubelet.Conn) (probe.Code, bool) {
			return probe.Connected, c.From.Namespace == a && c.To.Labels["app"] == "web"
		})
		pp := newProbe(operatorNamespace, "leak", []string{a, b}, nil)
		rep := runProbeToEnd(pp, "leak-probe-g1")

		Expect(rep.Status.Phase).To(Equal(securityv1alpha1.ReportComplete))
		Expect(rep.Status.Probes.Counts.Mismatch).To(BeNumerically(">=", 1))
		var leaked *securityv1alpha1.ProbeCase
		for i, c := range rep.Status.Probes.Cases {
			if c.Result == securityv1alpha1.ProbeMismatch {
				Expect(c.Source.Namespace).To(Equal(a), caseLine(c))
				Expect(c.Expected).To(Equal(securityv1alpha1.ExpectDeny))
				Expect(c.Observed).To(Equal(securityv1alpha1.ObservedConnected))
				leaked = &rep.Status.Probes.Cases[i]
			} else {
				Expect(c.Result).To(Equal(securityv1alpha1.ProbeMatch), caseLine(c))
			}
		}
		Expect(leaked).NotTo(BeNil())
		Expect(leaked.Reason).To(ContainSubstring("not enforced"))
		Expect(rep.Status.Findings).NotTo(BeEmpty())
		f := rep.Status.Findings[0]
		Expect(f.ID).To(Equal(probepods.FindingNotEnforced))
		Expect(f.Severity).To(Equal(securityv1alpha1.SeverityHigh))
		Expect(f.Category).To(Equal(securityv1alpha1.CategoryProbe))
		Expect(f.Resource.Kind).To(Equal("NetworkPolicy"))
		Expect(f.Resource.Namespace).To(Equal(a))
		Expect(f.Message).To(ContainSubstring("expected Deny, observed Connected"))
		Expect(rep.Status.Summary.High).To(BeEquivalentTo(rep.Status.Probes.Counts.Mismatch))
	})

	It("reports traffic the policies allow that was blocked as Medium", func() {
		a, b := probeScenario("pp-block")
		probeNetwork().SetOverride(func(c kubelet.Conn) (probe.Code, bool) {
			return probe.Refused, c.From.Namespace == b && c.To.Labels["app"] == "web" && c.Port == 8080
		})
		pp := newProbe(operatorNamespace, "blocked", []string{a, b}, nil)
		rep := runProbeToEnd(pp, "blocked-probe-g1")

		c := rep.Status.Probes.Cases[slices.IndexFunc(rep.Status.Probes.Cases, func(c securityv1alpha1.ProbeCase) bool {
			return c.Result == securityv1alpha1.ProbeMismatch
		})]
		Expect(caseLine(c)).To(Equal(fmt.Sprintf("Generated %s/{} -> %s/{app=web} 8080/TCP Allow: Mismatch", b, a)))
		Expect(c.Observed).To(Equal(securityv1alpha1.ObservedRefused))
		Expect(rep.Status.Probes.Counts.Mismatch).To(BeEquivalentTo(1))
		Expect(rep.Status.Findings).To(HaveLen(1))
		Expect(rep.Status.Findings[0].ID).To(Equal(probepods.FindingAllowedBlocked))
		Expect(rep.Status.Findings[0].Severity).To(Equal(securityv1alpha1.SeverityMedium))
		Expect(rep.Status.Findings[0].Resource.Name).To(Equal("web-from-b"))
	})

	It("makes the cases of a server that never starts Inconclusive with the reason, and never starts their clients", func() {
		a, b := probeScenario("pp-stuck")
		probeNetwork().NeverStart(a)
		pp := newProbe(operatorNamespace, "stuck", []string{a, b}, func(pp *securityv1alpha1.PolicyProbe) {
			pp.Spec.Timeouts.Run = &metav1.Duration{Duration: time.Minute}
			// A case whose pods are all in b, which starts.
			pp.Spec.Cases = []securityv1alpha1.ProbeCaseSpec{{Name: "within-b",
				From: securityv1alpha1.ProbePeer{Namespace: b, PodLabels: map[string]string{"role": "client"}},
				To:   securityv1alpha1.ProbePeer{Namespace: b, PodLabels: map[string]string{"role": "db"}}, Port: 5432, Expect: securityv1alpha1.ExpectAllow}}
		})
		probeUntil(func(g Gomega) {
			rep := probeReport(g, operatorNamespace, "stuck-probe-g1")
			g.Expect(rep.Status.Probes).NotTo(BeNil())
			g.Expect(caseNamed(rep, "within-b").Result).To(Equal(securityv1alpha1.ProbeMatch))
			pods := probePodsOf(g, pp)
			g.Expect(pods).NotTo(BeEmpty())
			for _, p := range pods {
				// Only a's servers are left: no client waits for them.
				g.Expect(p).To(HavePrefix(a+"/"), "%q", pods)
				g.Expect(p).To(ContainSubstring("-s-"), "%q", pods)
			}
		})
		stepClock(2 * time.Minute)
		pokeProbe(pp)
		rep := runProbeToEnd(pp, "stuck-probe-g1")

		Expect(rep.Status.Phase).To(Equal(securityv1alpha1.ReportPartiallyComplete))
		counts := rep.Status.Probes.Counts
		Expect(counts.Match).To(BeEquivalentTo(1))
		Expect(counts.Inconclusive).To(Equal(counts.Total - 1))
		for _, c := range rep.Status.Probes.Cases {
			if c.Name != "within-b" {
				Expect(c.Result).To(Equal(securityv1alpha1.ProbeInconclusive), caseLine(c))
				Expect(c.Reason).To(ContainSubstring("RunTimeout"))
				Expect(c.Reason).To(ContainSubstring("ImagePullBackOff"))
			}
		}
		probeAnalyzer := analyzerOf(rep, "probe")
		Expect(probeAnalyzer.Reason).To(Equal("CasesInconclusive"))
		Expect(rep.Status.Findings).To(BeEmpty(), "an Inconclusive case is never a finding, nor a pass")
	})

	It("deletes its probe pods, wherever they are, when the PolicyProbe is deleted mid-run", func() {
		a, b := probeScenario("pp-del")
		probeNetwork().NeverStart(a)
		pp := newProbe(operatorNamespace, "deleted", []string{a, b}, nil)
		probeUntil(func(g Gomega) {
			rep := probeReport(g, operatorNamespace, "deleted-probe-g1")
			g.Expect(rep.Status.Probes).NotTo(BeNil())
			g.Expect(probePodsOf(g, pp)).To(HaveLen(len(rep.Status.Probes.Servers)))
		})
		Expect(k8sClient.Delete(ctx, pp)).To(Succeed())
		probeUntil(func(g Gomega) { g.Expect(probePodsOf(g, pp)).To(BeEmpty()) })
	})

	It("finishes a run after an operator restart without creating any pod twice", func() {
		a, b := probeScenario("pp-restart")
		probeNetwork().HoldClients(true)
		pp := newProbe(operatorNamespace, "pp-restart", []string{a, b}, nil)
		var clients int
		probeUntil(func(g Gomega) {
			rep := probeReport(g, operatorNamespace, "pp-restart-probe-g1")
			g.Expect(rep.Status.Probes).NotTo(BeNil())
			set := map[string]bool{}
			for _, c := range rep.Status.Probes.Cases {
				if c.Source.Pod != "" {
					set[c.Source.Pod] = true
				}
			}
			clients = len(set)
			g.Expect(probePodsOf(g, pp)).To(HaveLen(len(rep.Status.Probes.Servers) + clients))
		})

		stopManager()
		// While the operator is down, the clients finish.
		probeNetwork().HoldClients(false)
		for range 3 {
			Expect(probeNet.Step(ctx)).To(Succeed())
		}
		startManager()

		rep := runProbeToEnd(pp, "pp-restart-probe-g1")
		Expect(rep.Status.Phase).To(Equal(securityv1alpha1.ReportComplete))
		Expect(rep.Status.Probes.Counts.Match).To(Equal(rep.Status.Probes.Counts.Total))
		names, pods := probeNetwork().Created("pp-restart-probe-g1")
		Expect(names).To(HaveLen(len(rep.Status.Probes.Servers) + clients))
		Expect(pods).To(Equal(len(names)), "a pod was created twice: %q", names)
	})

	It("probes again, debounced, when a NetworkPolicy in scope changes", func() {
		a, b := probeScenario("pp-rerun")
		pp := newProbe(operatorNamespace, "rerun", []string{a, b}, func(pp *securityv1alpha1.PolicyProbe) { pp.Spec.RerunOnChange = true })
		first := runProbeToEnd(pp, "rerun-probe-g1")
		Expect(first.Status.Probes.PolicyFingerprint).NotTo(BeEmpty())
		Expect(caseLines(first)).To(ContainElement(fmt.Sprintf("Generated %s/{} -> %s/{app=web} 8080/TCP Allow: Match", b, a)))

		np := &networkingv1.NetworkPolicy{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: a, Name: "web-from-b"}, np)).To(Succeed())
		np.Spec = webFrom(b, 9090)
		Expect(k8sClient.Update(ctx, np)).To(Succeed())

		cur := &securityv1alpha1.PolicyProbe{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pp), cur)).To(Succeed())
			g.Expect(cur.Status.PolicyChange).NotTo(BeNil())
		}).Should(Succeed())
		Consistently(reportsOfProbe(pp)).WithTimeout(time.Second).Should(ConsistOf("rerun-probe-g1"), "the debounce has not passed")

		stepClock(11 * time.Second)
		pokeProbe(pp)
		second := "rerun-probe-c" + cur.Status.PolicyChange.SeenTime.UTC().Format("20060102-150405")
		Eventually(reportsOfProbe(pp)).Should(ConsistOf("rerun-probe-g1", second))
		rep := runProbeToEnd(pp, second)
		Expect(rep.Spec.Trigger).To(Equal(securityv1alpha1.TriggerPolicyChanged))
		Expect(caseLines(rep)).To(ContainElement(fmt.Sprintf("Generated %s/{} -> %s/{app=web} 9090/TCP Allow: Match", b, a)))
		Expect(rep.Status.Probes.PolicyFingerprint).NotTo(Equal(first.Status.Probes.PolicyFingerprint))
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pp), cur)).To(Succeed())
			g.Expect(cur.Status.PolicyChange).To(BeNil())
		}).Should(Succeed())
	})

	It("asserts an explicit case's own expectation, reports the engine's verdict beside it, and cannot probe a missing namespace", func() {
		a, b := probeScenario("pp-explicit")
		pp := newProbe(operatorNamespace, "explicit", []string{a, b}, func(pp *securityv1alpha1.PolicyProbe) {
			pp.Spec.Generate.Enabled = ptr.To(false)
			pp.Spec.Cases = []securityv1alpha1.ProbeCaseSpec{
				{Name: "web-from-b", Expect: securityv1alpha1.ExpectDeny, Port: 8080,
					From: securityv1alpha1.ProbePeer{Namespace: b, PodLabels: map[string]string{"role": "client"}},
					To:   securityv1alpha1.ProbePeer{Namespace: a, PodLabels: map[string]string{"app": "web"}}},
				{Name: "to-the-internet", Expect: securityv1alpha1.ExpectAllow, Port: 443,
					From: securityv1alpha1.ProbePeer{Namespace: a}, To: securityv1alpha1.ProbePeer{IP: "192.0.2.10"}},
				{Name: "from-nowhere", Expect: securityv1alpha1.ExpectAllow, Port: 80,
					From: securityv1alpha1.ProbePeer{Namespace: "pp-missing"}, To: securityv1alpha1.ProbePeer{Namespace: a}},
			}
		})
		rep := runProbeToEnd(pp, "explicit-probe-g1")

		web := caseNamed(rep, "web-from-b")
		Expect(web.Origin).To(Equal(securityv1alpha1.ProbeExplicit))
		Expect(web.Expected).To(Equal(securityv1alpha1.ExpectDeny))
		Expect(web.EngineVerdict).To(Equal("Allow"))
		Expect(web.Observed).To(Equal(securityv1alpha1.ObservedConnected))
		Expect(web.Result).To(Equal(securityv1alpha1.ProbeMismatch))
		Expect(web.Reason).To(ContainSubstring("allowed by " + a + "/web-from-b"))

		ext := caseNamed(rep, "to-the-internet")
		Expect(ext.Result).To(Equal(securityv1alpha1.ProbeMatch), ext.Reason)
		Expect(ext.Destination.Pod).To(BeEmpty())

		missing := caseNamed(rep, "from-nowhere")
		Expect(missing.Result).To(Equal(securityv1alpha1.ProbeInconclusive))
		Expect(missing.Reason).To(HavePrefix("NamespaceNotFound"))

		Expect(rep.Status.Findings).To(HaveLen(1))
		Expect(rep.Status.Findings[0].Resource).To(Equal(securityv1alpha1.ResourceRef{APIVersion: "security.palisade.dev/v1alpha1", Kind: "PolicyProbe", Namespace: operatorNamespace, Name: "explicit"}))
		Expect(rep.Status.Phase).To(Equal(securityv1alpha1.ReportPartiallyComplete))
	})

	It("keeps a PolicyProbe outside the operator's namespace to its own namespace", func() {
		a, b := probeScenario("pp-tenant")
		pp := newProbe(a, "tenant", []string{a, b}, func(pp *securityv1alpha1.PolicyProbe) {
			pp.Spec.Cases = []securityv1alpha1.ProbeCaseSpec{{Name: "to-b", Expect: securityv1alpha1.ExpectAllow, Port: 80,
				From: securityv1alpha1.ProbePeer{Namespace: a}, To: securityv1alpha1.ProbePeer{Namespace: b}}}
		})
		rep := runProbeToEnd(pp, "tenant-probe-g1")
		for _, c := range rep.Status.Probes.Cases {
			if c.Name == "to-b" {
				Expect(c.Result).To(Equal(securityv1alpha1.ProbeInconclusive))
				Expect(c.Reason).To(HavePrefix("OutOfScope"))
				continue
			}
			Expect(c.Source.Namespace).To(Equal(a), caseLine(c))
			Expect(c.Destination.Namespace).To(Equal(a), caseLine(c))
			Expect(c.Result).To(Equal(securityv1alpha1.ProbeMatch), caseLine(c))
		}
		Eventually(func(g Gomega) {
			cur := &securityv1alpha1.PolicyProbe{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pp), cur)).To(Succeed())
			g.Expect(meta.IsStatusConditionTrue(cur.Status.Conditions, securityv1alpha1.ConditionScopeRestricted)).To(BeTrue())
		}).Should(Succeed())
	})
})

var _ = Describe("PolicyProbe runs", func() {
	It("does not run while suspended, runs for the new generation once resumed, and says when there is nothing to probe", func() {
		ns := newNamespace("pp-empty", nil)
		pp := newProbe(operatorNamespace, "suspended", []string{ns}, func(pp *securityv1alpha1.PolicyProbe) { pp.Spec.Suspend = true })
		Eventually(func(g Gomega) {
			cur := &securityv1alpha1.PolicyProbe{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pp), cur)).To(Succeed())
			c := meta.FindStatusCondition(cur.Status.Conditions, securityv1alpha1.ConditionScanning)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(securityv1alpha1.ReasonSuspended))
		}).Should(Succeed())
		Expect(reportsOfProbe(pp)(Default)).To(BeEmpty())

		cur := &securityv1alpha1.PolicyProbe{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pp), cur)).To(Succeed())
		cur.Spec.Suspend = false
		Expect(k8sClient.Update(ctx, cur)).To(Succeed())
		rep := runProbeToEnd(pp, "suspended-probe-g2")
		Expect(rep.Status.Phase).To(Equal(securityv1alpha1.ReportPartiallyComplete))
		Expect(analyzerOf(rep, "probe").Reason).To(Equal("NoCases"))
		Expect(rep.Status.Probes.Counts.Total).To(BeZero())
	})

	It("accepts the sample PolicyProbe", func() {
		data, err := os.ReadFile(filepath.Join(testenv.Root(), "config", "samples", "security_v1alpha1_policyprobe.yaml"))
		Expect(err).NotTo(HaveOccurred())
		pp := &securityv1alpha1.PolicyProbe{}
		Expect(yaml.UnmarshalStrict(data, pp)).To(Succeed())
		Expect(k8sClient.Create(ctx, pp, client.DryRunAll)).To(Succeed())
	})
})

func reportsOfProbe(pp *securityv1alpha1.PolicyProbe) func(Gomega) []string {
	return func(g Gomega) []string {
		list := &securityv1alpha1.ScanReportList{}
		g.Expect(k8sClient.List(ctx, list, client.InNamespace(pp.Namespace), client.MatchingLabels{securityv1alpha1.LabelProbe: pp.Name})).To(Succeed())
		var names []string
		for _, r := range list.Items {
			names = append(names, r.Name)
		}
		return names
	}
}

// installPeerAuthentications installs the PeerAuthentication CRD for the
// test, and removes it afterwards (other tests expect Istio absent).
func installPeerAuthentications() {
	crd := peerAuthenticationCRD()
	Expect(k8sClient.Create(ctx, crd)).To(Succeed())
	DeferCleanup(func() {
		Expect(k8sClient.Delete(ctx, crd)).To(Succeed())
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKeyFromObject(crd), crd)
		}).WithTimeout(benchTimeout).Should(Satisfy(apierrors.IsNotFound))
	})
}

// meshWorkload creates a running pod with an Istio sidecar, declaring
// port, at ip.
func meshWorkload(ns, app, ip string, port int32) {
	GinkgoHelper()
	pod := podAs(ns, app, "")
	pod.Labels = map[string]string{"app": app}
	pod.Annotations = map[string]string{"sidecar.istio.io/status": `{"containers":["istio-proxy"]}`}
	pod.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: port}}
	pod.Spec.Containers = append(pod.Spec.Containers, container("istio-proxy", nil))
	Expect(k8sClient.Create(ctx, pod)).To(Succeed())
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
}

var _ = Describe("PolicyProbe mTLS", func() {
	AfterEach(func() { probeNetwork().SetPlaintext(nil) })

	It("sends plaintext to mesh workloads from outside the mesh: High where STRICT is not enforced, Medium where PERMISSIVE accepts it", func() {
		installPeerAuthentications()
		ns := newNamespace("pp-mesh", map[string]string{"istio-injection": "enabled"})
		strict := peerAuthentication(ns, "default", "STRICT")
		Eventually(func() error { return k8sClient.Create(ctx, strict) }).Should(Succeed())
		legacy := peerAuthentication(ns, "legacy", "PERMISSIVE")
		legacy.Object["spec"].(map[string]any)["selector"] = map[string]any{"matchLabels": map[string]any{"app": "legacy"}}
		Expect(k8sClient.Create(ctx, legacy)).To(Succeed())
		meshWorkload(ns, "web", "10.251.0.1", 8080)    // STRICT, enforced
		meshWorkload(ns, "cache", "10.251.0.2", 6379)  // STRICT, but answers plaintext
		meshWorkload(ns, "legacy", "10.251.0.3", 8000) // PERMISSIVE
		plain := podAs(ns, "no-sidecar", "")           // not in the mesh: not probed
		Expect(k8sClient.Create(ctx, plain)).To(Succeed())

		probeNetwork().SetPlaintext(func(to *corev1.Pod, _ int32) probe.Code {
			if to.Name == "web" {
				return probe.PlaintextRejected
			}
			return probe.PlaintextAccepted
		})
		pp := newProbe(operatorNamespace, "mesh", []string{ns}, func(pp *securityv1alpha1.PolicyProbe) {
			pp.Spec.Generate.Enabled = ptr.To(false)
			pp.Spec.MTLS = &securityv1alpha1.MTLSProbe{Namespaces: []string{ns}}
		})
		rep := runProbeToEnd(pp, "mesh-probe-g1")

		got := map[string]string{}
		for _, c := range rep.Status.Probes.Cases {
			Expect(c.Check).To(Equal(securityv1alpha1.CheckMTLS))
			Expect(c.Source.Namespace).To(Equal(ns))
			Expect(c.Source.PodLabels).To(HaveKeyWithValue("sidecar.istio.io/inject", "false"))
			got[c.Destination.Workload] = fmt.Sprintf("%d %s expect %s observed %s: %s", c.Port, c.MTLSMode, c.Expected, c.Observed, c.Result)
		}
		Expect(got).To(Equal(map[string]string{
			"Pod/web, pod web":       "8080 STRICT expect Deny observed PlaintextRejected: Match",
			"Pod/cache, pod cache":   "6379 STRICT expect Deny observed PlaintextAccepted: Mismatch",
			"Pod/legacy, pod legacy": "8000 PERMISSIVE expect Allow observed PlaintextAccepted: Match",
		}))
		Expect(rep.Status.Probes.Servers).To(BeEmpty(), "mTLS probes target the workloads themselves")
		Expect(rep.Status.Phase).To(Equal(securityv1alpha1.ReportComplete))

		Expect(findingsOf(rep)).To(ConsistOf(
			"probe.mtls-strict-not-enforced "+ns+"/Pod/cache",
			"probe.mtls-plaintext-accepted "+ns+"/Pod/legacy",
		))
		for _, f := range rep.Status.Findings {
			want := map[string]securityv1alpha1.Severity{"cache": securityv1alpha1.SeverityHigh, "legacy": securityv1alpha1.SeverityMedium}[f.Resource.Name]
			Expect(f.Severity).To(Equal(want), f.Message)
		}
		cases := controllers.DefaultMetrics.ProbeCases()
		Eventually(func(g Gomega) {
			g.Expect(testutil.ToFloat64(controllers.DefaultMetrics.ProbeRuns().WithLabelValues(operatorNamespace, "mesh", "Complete"))).To(Equal(1.0))
			g.Expect(testutil.ToFloat64(cases.WithLabelValues(operatorNamespace, "mesh", "MTLS", "Match"))).To(Equal(2.0))
			g.Expect(testutil.ToFloat64(cases.WithLabelValues(operatorNamespace, "mesh", "MTLS", "Mismatch"))).To(Equal(1.0))
			g.Expect(testutil.ToFloat64(cases.WithLabelValues(operatorNamespace, "mesh", "NetworkPolicy", "Match"))).To(Equal(0.0))
		}).Should(Succeed())
	})

	It("notes, and probes nothing, when Istio is not installed", func() {
		ns := newNamespace("pp-nomesh", map[string]string{"istio-injection": "enabled"})
		pp := newProbe(operatorNamespace, "nomesh", []string{ns}, func(pp *securityv1alpha1.PolicyProbe) {
			pp.Spec.Generate.Enabled = ptr.To(false)
			pp.Spec.MTLS = &securityv1alpha1.MTLSProbe{Namespaces: []string{ns}}
		})
		rep := runProbeToEnd(pp, "nomesh-probe-g1")
		Expect(rep.Status.Probes.Counts.Total).To(BeZero())
		Expect(rep.Status.Probes.Notes).To(ContainElement(ContainSubstring("PeerAuthentication API is not served")))
		Expect(analyzerOf(rep, "probe").Reason).To(Equal("NoCases"))
	})
})

var _ = Describe("PolicyProbe temporary namespaces", func() {
	// paymentsPolicies makes namespace a, whose web pods admit on 8080 the
	// namespaces labelled team=<team>, of which there is none.
	paymentsPolicies := func(prefix, team string) string {
		a := newNamespace(prefix, nil)
		createPolicy(a, "deny-all", networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}})
		createPolicy(a, "web-from-"+team, networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": team}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromInt32(8080))}},
			}},
		})
		return a
	}

	It("creates the namespace a selector needs, probes from it and deletes it after the run; never one an explicit case names", func() {
		a := paymentsPolicies("pp-tmp-a", "payments")
		missing := fmt.Sprintf("pp-tmp-missing-%d", GinkgoRandomSeed()%100000)
		pp := newProbe(operatorNamespace, "tmp", []string{a}, func(pp *securityv1alpha1.PolicyProbe) {
			pp.Spec.AllowTemporaryNamespaces = true
			pp.Spec.Cases = []securityv1alpha1.ProbeCaseSpec{{Name: "from-missing", Expect: securityv1alpha1.ExpectDeny, Port: 8080,
				From: securityv1alpha1.ProbePeer{Namespace: missing}, To: securityv1alpha1.ProbePeer{Namespace: a, PodLabels: map[string]string{"app": "web"}}}}
		})
		rep := runProbeToEnd(pp, "tmp-probe-g1")

		tmps := rep.Status.Probes.TemporaryNamespaces
		Expect(tmps).To(HaveLen(1))
		generated := tmps[0].Name
		Expect(generated).To(HavePrefix("palisade-tmp-"))
		Expect(tmps[0].Labels).To(Equal(map[string]string{"team": "payments"}))
		Expect(caseLines(rep)).To(ContainElement(fmt.Sprintf("Generated %s/{} -> %s/{app=web} 8080/TCP Allow: Match", generated, a)))
		Expect(caseNamed(rep, "from-missing").Result).To(Equal(securityv1alpha1.ProbeInconclusive))
		Expect(caseNamed(rep, "from-missing").Reason).To(HavePrefix("NamespaceNotFound"))
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Name: missing}, &corev1.Namespace{}))).To(BeTrue(), "no namespace under a name a user chose")

		// Created with Palisade's labels, and deleted once the run ended
		// (envtest has no namespace controller to finish the deletion).
		ns := &corev1.Namespace{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: generated}, ns)).To(Succeed())
		Expect(ns.Labels).To(HaveKeyWithValue(securityv1alpha1.LabelManagedBy, securityv1alpha1.ManagedByValue))
		Expect(ns.Labels).To(HaveKeyWithValue(securityv1alpha1.LabelProbe, "tmp"))
		Expect(ns.Annotations).To(HaveKeyWithValue(probepods.AnnotationReportUID, string(rep.UID)))
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: generated}, ns)).To(Succeed())
			g.Expect(ns.DeletionTimestamp).NotTo(BeNil(), "namespace %s is deleted after the run", generated)
		}).Should(Succeed())
	})

	It("does not trust a temporary namespace that changed, and never deletes one that holds other pods", func() {
		a := paymentsPolicies("pp-tmp-changed", "billing")
		probeNetwork().HoldClients(true)
		pp := newProbe(operatorNamespace, "tmp-changed", []string{a}, func(pp *securityv1alpha1.PolicyProbe) { pp.Spec.AllowTemporaryNamespaces = true })
		var tmp string
		probeUntil(func(g Gomega) {
			rep := probeReport(g, operatorNamespace, "tmp-changed-probe-g1")
			g.Expect(rep.Status.Probes).NotTo(BeNil())
			g.Expect(rep.Status.Probes.TemporaryNamespaces).To(HaveLen(1))
			tmp = rep.Status.Probes.TemporaryNamespaces[0].Name
			g.Expect(probePodsOf(g, pp)).To(ContainElement(HavePrefix(tmp + "/")))
		})
		// A policy engine generating a default deny in every new
		// namespace, and someone's pod moving in.
		createPolicy(tmp, "generated-default-deny", networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}})
		Expect(k8sClient.Create(ctx, podAs(tmp, "squatter", ""))).To(Succeed())
		pokeProbe(pp)
		probeUntil(func(g Gomega) {
			rep := probeReport(g, operatorNamespace, "tmp-changed-probe-g1")
			for _, c := range rep.Status.Probes.Cases {
				if c.Source.Namespace == tmp {
					g.Expect(c.Result).To(Equal(securityv1alpha1.ProbeInconclusive), caseLine(c))
					g.Expect(c.Reason).To(HavePrefix("TemporaryNamespaceChanged: namespace " + tmp + " got NetworkPolicy generated-default-deny"))
				}
			}
		})
		probeNetwork().HoldClients(false)
		rep := runProbeToEnd(pp, "tmp-changed-probe-g1")
		Expect(rep.Status.Phase.Finished()).To(BeTrue())
		Consistently(func(g Gomega) {
			ns := &corev1.Namespace{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: tmp}, ns)).To(Succeed())
			g.Expect(ns.DeletionTimestamp).To(BeNil(), "namespace %s holds a pod that is not Palisade's", tmp)
		}).WithTimeout(2 * time.Second).Should(Succeed())
		Expect(k8sClient.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tmp}})).To(Succeed())
	})

	It("never creates a namespace for a PolicyProbe outside the operator's namespace", func() {
		a := newNamespace("pp-tmp-tenant", nil)
		missing := fmt.Sprintf("pp-tmp-tenant-missing-%d", GinkgoRandomSeed()%100000)
		pp := newProbe(a, "tmp-tenant", []string{a}, func(pp *securityv1alpha1.PolicyProbe) {
			pp.Spec.AllowTemporaryNamespaces = true
			pp.Spec.Cases = []securityv1alpha1.ProbeCaseSpec{{Name: "from-missing", Expect: securityv1alpha1.ExpectDeny, Port: 80,
				From: securityv1alpha1.ProbePeer{Namespace: missing}, To: securityv1alpha1.ProbePeer{Namespace: a}}}
		})
		rep := runProbeToEnd(pp, "tmp-tenant-probe-g1")
		Expect(rep.Status.Probes.TemporaryNamespaces).To(BeEmpty())
		Expect(rep.Status.Probes.Notes).To(ContainElement(ContainSubstring("allowTemporaryNamespaces is ignored")))
		Expect(caseNamed(rep, "from-missing").Reason).To(HavePrefix("OutOfScope"))
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Name: missing}, &corev1.Namespace{}))).To(BeTrue())
	})
})

var _ = Describe("PolicyProbe and AdminNetworkPolicies", func() {
	It("expects what an AdminNetworkPolicy decides over the NetworkPolicies", func() {
		schema := &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptr.To(true)}}
		crd := &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: "adminnetworkpolicies.policy.networking.k8s.io",
				// As network-policy-api's own CRDs carry it (a k8s.io group).
				Annotations: map[string]string{"api-approved.kubernetes.io": "https://github.com/kubernetes-sigs/network-policy-api/pull/30"}},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: "policy.networking.k8s.io", Scope: apiextensionsv1.ClusterScoped,
				Names:    apiextensionsv1.CustomResourceDefinitionNames{Plural: "adminnetworkpolicies", Singular: "adminnetworkpolicy", Kind: "AdminNetworkPolicy", ListKind: "AdminNetworkPolicyList"},
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1alpha1", Served: true, Storage: true, Schema: schema}},
			},
		}
		Expect(k8sClient.Create(ctx, crd)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, crd))).To(Succeed()) })
		a, b := probeScenario("pp-anp")
		// An admin Deny of everything into a's web pods on 8080, over
		// the NetworkPolicy web-from-b that allows b there.
		anp := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
			"metadata": map[string]any{"name": "deny-web-" + a},
			"spec": map[string]any{"priority": int64(10),
				"subject": map[string]any{"pods": map[string]any{
					"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": a}},
					"podSelector":       map[string]any{"matchLabels": map[string]any{"app": "web"}}}},
				"ingress": []any{map[string]any{"name": "no-web", "action": "Deny",
					"from":  []any{map[string]any{"namespaces": map[string]any{}}},
					"ports": []any{map[string]any{"portNumber": map[string]any{"protocol": "TCP", "port": int64(8080)}}}}},
			},
		}}
		Eventually(func() error { return k8sClient.Create(ctx, anp) }).Should(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, anp))).To(Succeed()) })

		pp := newProbe(operatorNamespace, "anp", []string{a, b}, nil)
		rep := runProbeToEnd(pp, "anp-probe-g1")
		Expect(rep.Status.Probes.Notes).To(ContainElement(HavePrefix("Expectations account for 1 AdminNetworkPolicy")))
		// The connection web-from-b allows is expected Deny, and the CNI
		// (which enforces what the engine says) blocks it: a match.
		Expect(caseLines(rep)).To(ContainElement(fmt.Sprintf("Generated %s/{} -> %s/{app=web} 8080/TCP Deny: Match", b, a)), strings.Join(caseLines(rep), "\n"))
		Expect(rep.Status.Probes.Counts.Match).To(Equal(rep.Status.Probes.Counts.Total))

		By("an AdminNetworkPolicy with a field Palisade does not know fails the run, rather than being half read")
		odd := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
			"metadata": map[string]any{"name": "from-the-future-" + a},
			"spec": map[string]any{"priority": int64(20), "subject": map[string]any{"namespaces": map[string]any{}},
				"ingress": []any{map[string]any{"action": "Deny", "from": []any{map[string]any{"namespaces": map[string]any{}, "serviceAccounts": map[string]any{}}}}}},
		}}
		Expect(k8sClient.Create(ctx, odd)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, odd))).To(Succeed()) })
		pokeSpec := &securityv1alpha1.PolicyProbe{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pp), pokeSpec)).To(Succeed())
		pokeSpec.Spec.HistoryLimit = ptr.To[int32](5)
		Expect(k8sClient.Update(ctx, pokeSpec)).To(Succeed())
		failed := runProbeToEnd(pp, "anp-probe-g2")
		Expect(failed.Status.Phase).To(Equal(securityv1alpha1.ReportFailed))
		Expect(analyzerOf(failed, "probe").Reason).To(Equal("InvalidPolicies"))
		Expect(analyzerOf(failed, "probe").Message).To(ContainSubstring("AdminNetworkPolicy from-the-future-" + a))
	})
})

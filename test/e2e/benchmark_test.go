package e2e

import (
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
)

// Labels and annotations of the operator's benchmark Jobs (README, "The
// benchmark's Jobs"), as an outsider reads them.
const (
	labelComponent = "app.kubernetes.io/component"
	annotationNode = "security.palisade.dev/node"
	annotationRole = "security.palisade.dev/role"
	labelNodeRole  = "node-role.kubernetes.io/control-plane"
)

// The CIS benchmark as the operator runs it: a real kube-bench Job on the
// node, under the RBAC and Pod Security that config/default ship, with the
// kube-bench image that `make image` loads (the Job's pull policy is
// IfNotPresent, so the local tag is used and never pulled).
var _ = Describe("The CIS benchmark of a SecurityScan", Ordered, func() {
	var node string

	BeforeAll(func() {
		nodes, err := readyNodes()
		Expect(err).NotTo(HaveOccurred())
		Expect(nodes).To(HaveLen(1))
		node = nodes[0]
		n := &corev1.Node{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: node}, n)).To(Succeed())
		Expect(n.Labels).To(HaveKey(labelNodeRole), "the harness labels its node as a control-plane node")
	})

	It("runs kube-bench on the node, stores its real CIS results in the report and deletes the Job", func() {
		scan := benchmarkScan("e2e-benchmark")
		report := scan.Name + "-g1"
		jobs := watchBenchmarkJobs(scan.Name)
		managerRSS := startRSSSampler(ctx, "/palisade", "manager")
		var clusterRSS string

		start := time.Now()
		Expect(k8s.Create(ctx, scan)).To(Succeed())
		DeferCleanup(deleteScan, scan)

		By("waiting for the report, measuring the cluster's memory while kube-bench runs")
		rep := &securityv1alpha1.ScanReport{}
		Eventually(func(g Gomega) {
			if clusterRSS == "" && benchmarkPodRunning(report) {
				clusterRSS = clusterScriptOutput("rss")
			}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: report}, rep)).To(Succeed())
			g.Expect(rep.Status.Phase.Finished()).To(BeTrue(), "report %s is %q", report, rep.Status.Phase)
		}).WithTimeout(4 * time.Minute).WithPolling(200 * time.Millisecond).Should(Succeed())
		elapsed := time.Since(start)
		figures.add("SecurityScan (benchmark) creation to finished report", elapsed)
		fmt.Fprintf(GinkgoWriter, "benchmark: SecurityScan creation to %s report %s: %s\n", rep.Status.Phase, report, elapsed.Round(10*time.Millisecond))

		expectBenchmarkReport(rep, node)

		By("checking the Job the operator made for the node")
		Expect(jobs.first()).NotTo(BeNil())
		j := jobs.first()
		Expect(j.Annotations).To(HaveKeyWithValue(annotationNode, node))
		Expect(j.Annotations).To(HaveKeyWithValue(annotationRole, "control-plane"))
		Expect(j.Labels).To(HaveKeyWithValue(securityv1alpha1.LabelReport, report))
		Expect(metav1.IsControlledBy(j, rep)).To(BeTrue(), "the report owns the Job")
		c := j.Spec.Template.Spec.Containers[0]
		Expect(c.Image).To(Equal(env.kubeBenchImage))
		Expect(c.ImagePullPolicy).To(Equal(corev1.PullIfNotPresent))
		Expect(strings.Join(c.Args, " ")).To(ContainSubstring("--version 1.37"))

		By("checking that the Job is deleted once the node's result is in the report")
		finished := time.Now()
		Eventually(func() []string { return reportJobNames(report) }).
			WithTimeout(time.Minute).WithPolling(200 * time.Millisecond).Should(BeEmpty())
		figures.add("benchmark report finished to its Job deleted (polled every 200ms)", time.Since(finished))
		Eventually(func() []string { return reportPodNames(report) }).
			WithTimeout(time.Minute).WithPolling(200 * time.Millisecond).Should(BeEmpty())
		maxKiB, _, samples := managerRSS.stop()
		jobs.expectOneJobPerNode(1)

		if samples > 0 {
			figures.addText("manager RSS during the benchmark run (max, sampled every 500ms from /proc)", formatKiB(maxKiB))
			fmt.Fprintf(GinkgoWriter, "benchmark: manager RSS max %s over %d samples\n", formatKiB(maxKiB), samples)
		}
		if clusterRSS != "" {
			figures.addText("cluster RSS while the kube-bench pod runs (cluster.sh rss)", clusterRSS)
		}
		n := rep.Status.Benchmark.Nodes[0]
		figures.addText("benchmark on the local node (control-plane targets): pass/fail/warn/info, checks in the report",
			fmt.Sprintf("%d/%d/%d/%d, %d", n.Pass, n.Fail, n.Warn, n.Info, len(rep.Status.Benchmark.Checks)))
	})

	It("completes a run across a manager restart with never more than one Job per node, and leaves nothing behind", func() {
		old := readyManager("")

		scan := benchmarkScan("e2e-benchmark-restart")
		report := scan.Name + "-g1"
		jobs := watchBenchmarkJobs(scan.Name)
		start := time.Now()
		Expect(k8s.Create(ctx, scan)).To(Succeed())
		DeferCleanup(deleteScan, scan) // a no-op when the spec got to its end

		By("deleting the manager pod as soon as the node's Job exists")
		Eventually(jobs.count).WithTimeout(time.Minute).WithPolling(50 * time.Millisecond).Should(BeNumerically(">=", 1))
		oldLogs, err := podLogs(operatorNamespace, old.Name, "manager", false)
		Expect(err).NotTo(HaveOccurred())
		Expect(k8s.Delete(ctx, &old)).To(Succeed())
		deleted := time.Now()
		jobState := "unfinished"
		if j := jobs.first(); j != nil && (j.Status.Succeeded > 0 || j.Status.Failed > 0) {
			jobState = "finished"
		}
		fmt.Fprintf(GinkgoWriter, "restart: manager pod %s deleted %s after the scan's creation; the Job was %s by the last event seen\n",
			old.Name, deleted.Sub(start).Round(10*time.Millisecond), jobState)

		readyManager(old.UID)

		rep := waitForFinishedReport(report, 4*time.Minute)
		figures.add("benchmark run with a manager restart: manager pod deleted to finished report", time.Since(deleted))
		expectBenchmarkReport(rep, node)
		Expect(reportNames(scan.Name)).To(Equal([]string{report}))

		By("checking that the node had one Job, and that it is gone")
		Eventually(func() []string { return reportJobNames(report) }).
			WithTimeout(time.Minute).WithPolling(200 * time.Millisecond).Should(BeEmpty())
		maxLive, names := jobs.expectOneJobPerNode(1)
		figures.addText("benchmark run with a manager restart: most Jobs at once, Jobs created",
			fmt.Sprintf("%d, %s", maxLive, strings.Join(names, " ")))
		expectNoRBACDenial(old.Name, oldLogs)

		By("deleting the scan: the garbage collector deletes the report, no Job or pod is left")
		t := time.Now()
		deleteScan(scan)
		figures.add("benchmark scan deleted to no report, Job or pod left", time.Since(t))
		Expect(jobs.count()).To(BeZero())
	})
})

func benchmarkScan(name string) *securityv1alpha1.SecurityScan {
	return &securityv1alpha1.SecurityScan{
		ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: name},
		Spec: securityv1alpha1.SecurityScanSpec{
			// benchmark: auto (the default) from the API server's version.
			Benchmark: &securityv1alpha1.BenchmarkAnalyzer{Image: env.kubeBenchImage},
		},
	}
}

// expectBenchmarkReport checks a finished benchmark report of the
// single-node cluster: the node's real kube-bench results, aggregated into
// checks and findings.
func expectBenchmarkReport(rep *securityv1alpha1.ScanReport, node string) {
	GinkgoHelper()
	// One node that succeeded makes the run Complete; PartiallyComplete
	// would have to say why.
	Expect(rep.Status.Phase).To(BeElementOf(securityv1alpha1.ReportComplete, securityv1alpha1.ReportPartiallyComplete),
		"report %s: %+v; benchmark %+v", rep.Name, rep.Status.Conditions, rep.Status.Benchmark)
	if rep.Status.Phase == securityv1alpha1.ReportPartiallyComplete {
		Expect(rep.Status.Conditions).To(ContainElement(And(
			HaveField("Type", securityv1alpha1.ConditionComplete), HaveField("Reason", Not(BeEmpty())))))
	}
	Expect(rep.Status.Analyzers).To(ContainElement(And(
		HaveField("Name", "benchmark"), HaveField("Phase", securityv1alpha1.AnalyzerSucceeded), HaveField("Resources", int32(1)))))

	b := rep.Status.Benchmark
	Expect(b).NotTo(BeNil())
	Expect(b.Benchmark).To(Equal("cis-1.12"))
	Expect(b.BenchmarkReason).To(ContainSubstring("--version 1.37"))
	Expect(b.LastNodeStarted).To(BeEmpty(), "the run has finished")
	Expect(b.NodeCounts).To(Equal(&securityv1alpha1.BenchmarkProgress{Total: 1, Succeeded: 1}))
	Expect(b.Nodes).To(HaveLen(1), "one entry for the one node: %+v", b.Nodes)
	n := b.Nodes[0]
	Expect(n.Name).To(Equal(node))
	Expect(n.Role).To(Equal("control-plane"))
	Expect(n.Phase).To(Equal(securityv1alpha1.BenchmarkNodeSucceeded), "node %+v", n)
	Expect(n.Benchmark).To(Equal("cis-1.12"))
	Expect(n.Pass).To(BeNumerically(">", 0))
	Expect(n.Fail).To(BeNumerically(">", 0))
	Expect(n.Warn).To(BeNumerically(">", 0))

	// kube-bench saw the node's own processes (hostPID): the example
	// values of the API server's and the kubelet's flag checks are their
	// command lines, as ps shows them.
	Expect(b.Checks).To(ContainElement(And(HaveField("Number", HavePrefix("1.2.")), HaveField("ActualValue", ContainSubstring("kube-apiserver --")))))
	Expect(b.Checks).To(ContainElement(And(HaveField("Number", HavePrefix("4.2.")), HaveField("ActualValue", ContainSubstring("kubelet --")))))

	// Every check that failed or warned on the node is in checks once, and
	// is a finding about the node.
	Expect(b.ChecksOmitted).To(BeZero())
	Expect(rep.Status.FindingsOmitted).To(BeZero())
	var fails, warns int32
	seen := map[string]bool{}
	for _, c := range b.Checks {
		Expect(c.Benchmark).To(Equal("cis-1.12"), "check %+v", c)
		Expect(seen[c.Number]).To(BeFalse(), "check %s listed twice", c.Number)
		seen[c.Number] = true
		Expect(c.ExampleNodes).To(Equal([]string{node}), "check %+v", c)
		severity := securityv1alpha1.SeverityLow
		switch c.Status {
		case "FAIL":
			fails++
			Expect([]int32{c.FailedNodes, c.WarnedNodes}).To(Equal([]int32{1, 0}), "check %+v", c)
			severity = securityv1alpha1.SeverityMedium
			if c.Scored {
				severity = securityv1alpha1.SeverityHigh
			}
		case "WARN":
			warns++
			Expect([]int32{c.FailedNodes, c.WarnedNodes}).To(Equal([]int32{0, 1}), "check %+v", c)
		}
		Expect(rep.Status.Findings).To(ContainElement(And(
			finding("cis.cis-1.12."+c.Number, severity, "Node", node), HaveField("Category", securityv1alpha1.CategoryBenchmark))),
			"check %s", c.Number)
	}
	Expect(fails).To(Equal(n.Fail), "FAIL checks against the node's FAIL count")
	Expect(warns).To(Equal(n.Warn), "WARN checks against the node's WARN count")
	cis := 0
	for _, f := range rep.Status.Findings {
		if strings.HasPrefix(f.ID, "cis.") {
			Expect(f.ID).To(HavePrefix("cis.cis-1.12."))
			cis++
		}
	}
	Expect(cis).To(Equal(len(b.Checks)))
	Expect(rep.Status.Summary.Total).To(Equal(int32(len(rep.Status.Findings))))
}

func reportJobNames(report string) []string {
	list := &batchv1.JobList{}
	Expect(k8s.List(ctx, list, client.InNamespace(operatorNamespace), client.MatchingLabels{securityv1alpha1.LabelReport: report})).To(Succeed())
	names := []string{}
	for _, j := range list.Items {
		names = append(names, j.Name)
	}
	return names
}

func reportPodNames(report string) []string {
	list := &corev1.PodList{}
	Expect(k8s.List(ctx, list, client.InNamespace(operatorNamespace), client.MatchingLabels{securityv1alpha1.LabelReport: report})).To(Succeed())
	names := []string{}
	for _, p := range list.Items {
		names = append(names, p.Name)
	}
	return names
}

func benchmarkPodRunning(report string) bool {
	list := &corev1.PodList{}
	if err := k8s.List(ctx, list, client.InNamespace(operatorNamespace), client.MatchingLabels{securityv1alpha1.LabelReport: report}); err != nil {
		return false
	}
	for _, p := range list.Items {
		if p.Status.Phase == corev1.PodRunning {
			return true
		}
	}
	return false
}

// clusterScriptOutput runs hack/local-cluster/cluster.sh with ARGS and
// returns its trimmed output ("" when it fails: a figure, not a check).
func clusterScriptOutput(args ...string) string {
	out, err := exec.Command(env.clusterScript, args...).Output()
	if err != nil {
		fmt.Fprintf(GinkgoWriter, "%s %s: %v\n", env.clusterScript, strings.Join(args, " "), err)
		return ""
	}
	return strings.TrimSpace(string(out))
}

// ---------------------------------------------------------------- watching Jobs

// jobWatcher follows a scan's benchmark Jobs through a watch (an informer)
// from before the scan exists: every Job created, and how many exist at
// once, in total and per report and node.
type jobWatcher struct {
	mu         sync.Mutex
	live       map[types.UID]*batchv1.Job
	created    map[string]map[types.UID]string // report/node: the Jobs ever seen
	names      []string                        // in the order they appeared
	firstJob   *batchv1.Job
	maxLive    int
	maxPerNode int
	stop       chan struct{}
}

// watchBenchmarkJobs starts watching the scan's Jobs; the watch ends with
// the spec.
func watchBenchmarkJobs(scan string) *jobWatcher {
	w := &jobWatcher{live: map[types.UID]*batchv1.Job{}, created: map[string]map[types.UID]string{}, stop: make(chan struct{})}
	factory := informers.NewSharedInformerFactoryWithOptions(clientset, 0,
		informers.WithNamespace(operatorNamespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = labels.Set{securityv1alpha1.LabelScan: scan, labelComponent: "benchmark"}.String()
		}))
	inf := factory.Batch().V1().Jobs().Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { w.added(o) },
		UpdateFunc: func(_, o any) { w.updated(o) },
		DeleteFunc: func(o any) { w.deleted(o) },
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

func nodeKey(j *batchv1.Job) string {
	return j.Labels[securityv1alpha1.LabelReport] + "/" + j.Annotations[annotationNode]
}

func (w *jobWatcher) added(o any) {
	j, ok := o.(*batchv1.Job)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.live[j.UID] = j
	key := nodeKey(j)
	if w.created[key] == nil {
		w.created[key] = map[types.UID]string{}
	}
	if _, ok := w.created[key][j.UID]; !ok {
		w.created[key][j.UID] = j.Name
		w.names = append(w.names, j.Name)
	}
	if w.firstJob == nil {
		w.firstJob = j
	}
	w.maxLive = max(w.maxLive, len(w.live))
	perNode := map[string]int{}
	for _, l := range w.live {
		perNode[nodeKey(l)]++
	}
	for _, n := range perNode {
		w.maxPerNode = max(w.maxPerNode, n)
	}
}

func (w *jobWatcher) updated(o any) {
	j, ok := o.(*batchv1.Job)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.live[j.UID]; ok {
		w.live[j.UID] = j
	}
	if w.firstJob != nil && w.firstJob.UID == j.UID {
		w.firstJob = j
	}
}

func (w *jobWatcher) deleted(o any) {
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	j, ok := o.(*batchv1.Job)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.live, j.UID)
}

// count is how many of the scan's Jobs exist now.
func (w *jobWatcher) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.live)
}

// first is the first Job seen, as last seen.
func (w *jobWatcher) first() *batchv1.Job {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.firstJob == nil {
		return nil
	}
	return w.firstJob.DeepCopy()
}

// expectOneJobPerNode checks that each of the nodes got exactly one Job
// (one object: never deleted and made again) and that no node ever had two
// at once, and returns the most Jobs seen at once and the Jobs' names.
func (w *jobWatcher) expectOneJobPerNode(nodes int) (int, []string) {
	GinkgoHelper()
	w.mu.Lock()
	defer w.mu.Unlock()
	keys := make([]string, 0, len(w.created))
	for k := range w.created {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(GinkgoWriter, "benchmark Jobs: %d at most at once, %d per node at most; created: %v\n", w.maxLive, w.maxPerNode, w.names)
	Expect(keys).To(HaveLen(nodes), "report/node pairs with Jobs: %v", keys)
	for _, k := range keys {
		Expect(w.created[k]).To(HaveLen(1), "Jobs created for %s: %v", k, w.created[k])
	}
	Expect(w.maxPerNode).To(Equal(1))
	Expect(w.maxLive).To(BeNumerically("<=", nodes))
	return w.maxLive, append([]string(nil), w.names...)
}

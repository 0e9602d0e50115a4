package controllers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/benchmark/job"
	"github.com/palisade-sec/palisade/internal/benchmark/kubebench"
	"github.com/palisade-sec/palisade/internal/benchmark/results"
	"github.com/palisade-sec/palisade/internal/kube"

	"github.com/palisade-sec/palisade/internal/text"
)

// Nodes are read cluster-wide; Jobs and Pods are watched through the
// label-selected cache (cluster-wide, as the cache is). Creating and
// deleting Jobs and reading pod logs is allowed in the operator's namespace
// only.
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list
// +kubebuilder:rbac:groups="",resources=pods,verbs=list;watch
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=list;watch
// +kubebuilder:rbac:groups=security.palisade.dev,resources=scanreports/finalizers,verbs=update
// +kubebuilder:rbac:groups=batch,namespace=palisade-system,resources=jobs,verbs=get;create;delete
// +kubebuilder:rbac:groups="",namespace=palisade-system,resources=pods/log,verbs=get

// AnalyzerBenchmark is the benchmark's name in a report's analyzers.
const AnalyzerBenchmark = "benchmark"

// Benchmark analyzer reasons.
const (
	ReasonNotPermitted       = "NotPermitted"
	ReasonNodesFailed        = "NodesFailed"
	ReasonAllNodesFailed     = "AllNodesFailed"
	ReasonNoNodesBenchmarked = "NoNodesBenchmarked"
	ReasonCancelled          = "Cancelled"
)

const (
	// maxLogBytes is the longest kube-bench log read: a report of every
	// target is about 140 KiB.
	maxLogBytes = 2 << 20
	// nodeCheckInterval is how often the nodes being benchmarked are
	// checked (deleted, NotReady, cordoned before their pod was placed).
	nodeCheckInterval = 30 * time.Second
	// logRetryInterval is when a log that could not be read is tried again.
	logRetryInterval = 10 * time.Second
	// failedNodesListed is how many failed nodes an analyzer message names.
	failedNodesListed = 5
)

// LogReader reads a container's log, at most limitBytes of it.
type LogReader interface {
	ReadLog(ctx context.Context, namespace, pod, container string, limitBytes int64) (io.ReadCloser, error)
}

// PodLogs reads logs through the API server (pods/log).
type PodLogs struct {
	Client kubernetes.Interface
}

// ReadLog implements LogReader.
func (p PodLogs) ReadLog(ctx context.Context, namespace, pod, container string, limitBytes int64) (io.ReadCloser, error) {
	return p.Client.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container, LimitBytes: &limitBytes}).Stream(ctx)
}

// BenchmarkRunner is what the CIS benchmark needs besides the reconciler's
// clients.
type BenchmarkRunner struct {
	// Logs reads the kube-bench pods' logs.
	Logs LogReader
	// Versions tells the API server's version, for benchmark: auto.
	Versions discovery.ServerVersionInterface

	plans planCache
}

// plan is what the operator keeps in memory for a run's benchmark: the
// nodes to benchmark, in name order, and how kube-bench is told its
// benchmark. Everything else is in the report's status; after a restart the
// plan is made again, with one paginated List of the nodes.
type plan struct {
	report    types.UID
	nodes     []string
	selection job.Selection
	// checked is when the nodes being benchmarked were last checked.
	checked time.Time
}

// planCache holds the plan of each scan's run in progress.
type planCache struct {
	mu sync.Mutex
	m  map[types.NamespacedName]*plan
}

func (c *planCache) get(key types.NamespacedName, report types.UID) *plan {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.m[key]; p != nil && p.report == report {
		return p
	}
	return nil
}

func (c *planCache) put(key types.NamespacedName, p *plan) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[types.NamespacedName]*plan{}
	}
	c.m[key] = p
}

func (c *planCache) drop(key types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

// benchmarkStep is one pass over a run's benchmark.
type benchmarkStep struct {
	r       *SecurityScanReconciler
	rep     *securityv1alpha1.ScanReport
	run     job.Run
	plan    *plan
	results *securityv1alpha1.BenchmarkResults
	now     time.Time
	requeue time.Duration
}

// stepBenchmark advances the run's benchmark: it records the outcome of
// the nodes whose Jobs finished, deletes the Jobs of nodes already
// recorded, and starts Jobs on the next nodes, in name order, up to
// maxConcurrentNodes. It changes the report's status only; the caller
// writes it, before Jobs of newly recorded nodes are deleted (on the next
// pass), so that a restart never loses an outcome. done is true when every
// node has an outcome: the benchmark's analyzer result and findings are
// then in the report.
func (r *SecurityScanReconciler) stepBenchmark(ctx context.Context, sc *securityv1alpha1.SecurityScan, rep *securityv1alpha1.ScanReport) (done bool, requeueAfter time.Duration, err error) {
	spec := sc.Spec.Benchmark
	switch {
	case spec == nil:
		if rep.Status.Benchmark != nil {
			cancelBenchmark(rep, int(ptrOr(sc.Spec.MaxFindings, 500)))
		}
		return true, 0, nil
	case sc.Namespace != r.OperatorNamespace:
		setAnalyzerResult(rep, securityv1alpha1.AnalyzerResult{Name: AnalyzerBenchmark, Phase: securityv1alpha1.AnalyzerSkipped, Reason: ReasonNotPermitted,
			Message: fmt.Sprintf("Nodes are cluster-wide: only a SecurityScan in the operator's namespace (%s) may run the benchmark", r.OperatorNamespace)})
		return true, 0, nil
	}
	s, err := r.newBenchmarkStep(ctx, sc, rep, job.Spec(spec))
	if err != nil {
		return false, 0, err
	}
	if err := s.observeJobs(ctx); err != nil {
		return false, 0, err
	}
	if err := s.startNodes(ctx, int(*s.run.Spec.MaxConcurrentNodes)); err != nil {
		return false, 0, err
	}
	pending := s.pending()
	results.SetPending(s.results, pending)
	if pending > 0 || len(results.RunningNodes(s.results)) > 0 {
		return false, s.requeue, nil
	}
	finishBenchmark(rep, int(ptrOr(sc.Spec.MaxFindings, 500)))
	r.Benchmark.plans.drop(client.ObjectKeyFromObject(sc))
	log.FromContext(ctx).Info("Benchmark finished", "report", rep.Name, "nodes", rep.Status.Benchmark.NodeCounts)
	return true, 0, nil
}

// newBenchmarkStep gets the run's plan, making it if needed, and the
// report's benchmark results, starting them if needed.
func (r *SecurityScanReconciler) newBenchmarkStep(ctx context.Context, sc *securityv1alpha1.SecurityScan, rep *securityv1alpha1.ScanReport, spec securityv1alpha1.BenchmarkAnalyzer) (*benchmarkStep, error) {
	key := client.ObjectKeyFromObject(sc)
	p := r.Benchmark.plans.get(key, rep.UID)
	if p == nil {
		var err error
		if p, err = r.newPlan(ctx, rep, spec); err != nil {
			return nil, err
		}
		r.Benchmark.plans.put(key, p)
	}
	if rep.Status.Benchmark == nil {
		rep.Status.Benchmark = results.New(p.selection.Benchmark, p.selection.Reason)
	}
	return &benchmarkStep{
		r: r, rep: rep, plan: p, results: rep.Status.Benchmark, now: r.Clock.Now(), requeue: nodeCheckInterval,
		run: job.Run{
			Namespace: r.OperatorNamespace, Report: rep, Scan: sc.Name, ScanLabel: labelValue(sc.Name), ReportLabel: labelValue(rep.Name),
			Spec: spec, Selection: p.selection,
		},
	}, nil
}

// newPlan lists the Linux nodes the node selector matches, page by page,
// and chooses the benchmark.
func (r *SecurityScanReconciler) newPlan(ctx context.Context, rep *securityv1alpha1.ScanReport, spec securityv1alpha1.BenchmarkAnalyzer) (*plan, error) {
	p := &plan{report: rep.UID}
	aks := false
	list := &corev1.NodeList{}
	err := kube.ListPages(ctx, r.APIReader, list, func() error {
		for i := range list.Items {
			n := &list.Items[i]
			if job.Linux(n) {
				p.nodes = append(p.nodes, n.Name)
			}
			_, onAKS := n.Labels["kubernetes.azure.com/cluster"]
			aks = aks || onAKS
		}
		return nil
	}, client.MatchingLabels(spec.NodeSelector))
	if err != nil {
		return nil, fmt.Errorf("listing nodes to benchmark: %w", err)
	}
	sort.Strings(p.nodes)
	if p.selection, err = r.selectBenchmark(spec.Benchmark, aks); err != nil {
		return nil, err
	}
	log.FromContext(ctx).V(1).Info("Planned the benchmark", "report", rep.Name, "nodes", len(p.nodes), "benchmark", p.selection.Benchmark, "args", p.selection.Args)
	return p, nil
}

// selectBenchmark chooses the benchmark, from the API server's version
// when the spec says auto.
func (r *SecurityScanReconciler) selectBenchmark(benchmark string, aks bool) (job.Selection, error) {
	if benchmark != job.Auto {
		return job.Select(benchmark, nil, false)
	}
	if r.Benchmark.Versions == nil {
		return job.Selection{}, errors.New("choosing the benchmark: no discovery client to read the API server's version")
	}
	v, err := r.Benchmark.Versions.ServerVersion()
	if err != nil {
		return job.Selection{}, fmt.Errorf("reading the API server's version to choose the benchmark: %w", err)
	}
	sel, err := job.Select(benchmark, v, aks)
	if err != nil {
		return job.Selection{}, fmt.Errorf("choosing the benchmark: %w", err)
	}
	return sel, nil
}

// observeJobs looks at the report's Jobs: it records the outcome of the
// nodes whose Jobs finished, deletes the Jobs of nodes recorded earlier,
// and takes over Jobs created before a restart that the status does not
// know of yet.
func (s *benchmarkStep) observeJobs(ctx context.Context) error {
	jobs, err := s.r.benchmarkJobs(ctx, s.rep)
	if err != nil {
		return err
	}
	for _, node := range slices.Sorted(maps.Keys(jobs)) {
		j := jobs[node]
		if results.Running(s.results, node) != nil {
			continue
		}
		if node > s.results.LastNodeStarted {
			// Created before a restart, after the last status write.
			results.Started(s.results, node, j.Annotations[job.AnnotationRole])
			continue
		}
		if err := s.r.deleteJob(ctx, j); err != nil {
			return err
		}
	}
	checkNodes := !s.now.Before(s.plan.checked.Add(nodeCheckInterval))
	for _, entry := range slices.Clone(results.RunningNodes(s.results)) {
		if err := s.observeNode(ctx, entry, jobs[entry.Name], checkNodes); err != nil {
			return err
		}
	}
	if checkNodes {
		s.plan.checked = s.now
	}
	return nil
}

// observeNode carries one node being benchmarked forward.
func (s *benchmarkStep) observeNode(ctx context.Context, entry securityv1alpha1.BenchmarkNode, j *batchv1.Job, checkNode bool) error {
	if j == nil {
		var err error
		if j, err = s.r.liveJob(ctx, s.rep, entry.Name); err != nil {
			return err
		}
		if j == nil {
			s.record(ctx, entry, results.Outcome{Phase: securityv1alpha1.BenchmarkNodeFailed, Reason: job.ReasonJobDeleted, Message: "The Job was deleted before the node's benchmark finished"})
			return nil
		}
	}
	pods, err := s.r.jobPods(ctx, j)
	if err != nil {
		return err
	}
	st := job.Observe(j, pods, job.Waiting{Reason: entry.Reason, Message: entry.Message}, s.now)
	switch {
	case st.Done && st.Phase == securityv1alpha1.BenchmarkNodeSucceeded:
		s.readResult(ctx, entry, st)
	case st.Done:
		s.record(ctx, entry, results.Outcome{Phase: st.Phase, Reason: st.Reason, Message: st.Message})
	default:
		return s.progress(ctx, entry, st, checkNode)
	}
	return nil
}

// progress handles a node whose Job has not finished: the node may have
// gone away meanwhile; otherwise its entry says what the pod waits for.
func (s *benchmarkStep) progress(ctx context.Context, entry securityv1alpha1.BenchmarkNode, st job.State, checkNode bool) error {
	if checkNode || st.Waiting.Reason == job.ReasonUnschedulable {
		node, err := s.r.getNode(ctx, entry.Name)
		if err != nil {
			return err
		}
		if p := job.RunningProblem(node, st.Bound); p != nil {
			s.record(ctx, entry, results.Outcome{Phase: p.Phase, Reason: p.Reason, Message: p.Message})
			return nil
		}
	}
	if e := results.Running(s.results, entry.Name); e != nil {
		e.Reason, e.Message = st.Waiting.Reason, st.Waiting.Message
	}
	s.requeueIn(st.Deadline.Sub(s.now))
	return nil
}

// readResult reads and parses the log of a node whose kube-bench
// succeeded. A log that cannot be read is tried again until the node's
// deadline.
func (s *benchmarkStep) readResult(ctx context.Context, entry securityv1alpha1.BenchmarkNode, st job.State) {
	report, err := s.r.readReport(ctx, st.LogsFrom)
	var parseErr *parseError
	switch {
	case err == nil:
		s.record(ctx, entry, results.Outcome{Phase: securityv1alpha1.BenchmarkNodeSucceeded, Report: report})
	case errors.As(err, &parseErr):
		s.record(ctx, entry, results.Outcome{Phase: securityv1alpha1.BenchmarkNodeFailed, Reason: job.ReasonParseError, Message: text.Cut(parseErr.Error(), 512)})
	case !s.now.Before(st.Deadline):
		s.record(ctx, entry, results.Outcome{Phase: securityv1alpha1.BenchmarkNodeFailed, Reason: job.ReasonLogsUnavailable, Message: text.Cut(err.Error(), 512)})
	default:
		log.FromContext(ctx).Info("Could not read the kube-bench log; trying again", "node", entry.Name, "pod", klog.KObj(st.LogsFrom), "error", err.Error())
		s.requeueIn(logRetryInterval)
	}
}

// record records a node's outcome in the status.
func (s *benchmarkStep) record(ctx context.Context, entry securityv1alpha1.BenchmarkNode, o results.Outcome) {
	o.Name, o.Role = entry.Name, entry.Role
	results.Record(s.results, o)
	if o.Phase == securityv1alpha1.BenchmarkNodeSucceeded {
		log.FromContext(ctx).V(1).Info("Node benchmarked", "node", o.Name)
		return
	}
	log.FromContext(ctx).Info("Node not benchmarked", "node", o.Name, "phase", o.Phase, "reason", o.Reason, "message", o.Message)
}

// startNodes takes the next nodes in name order: each gets a Job, up to
// limit Jobs at once, or an outcome when it cannot be benchmarked now
// (NotReady, cordoned, a taint not tolerated, deleted).
func (s *benchmarkStep) startNodes(ctx context.Context, limit int) error {
	slots := limit - len(results.RunningNodes(s.results))
	for _, name := range s.remaining() {
		if slots <= 0 {
			return nil
		}
		if results.Running(s.results, name) != nil {
			s.results.LastNodeStarted = name
			continue
		}
		node, err := s.r.getNode(ctx, name)
		if err != nil {
			return err
		}
		role := job.RoleWorker
		if node != nil {
			role = job.Role(node)
		}
		if p := job.Check(node, s.run.Spec.Tolerations); p != nil {
			s.record(ctx, securityv1alpha1.BenchmarkNode{Name: name, Role: role}, results.Outcome{Phase: p.Phase, Reason: p.Reason, Message: p.Message})
			s.results.LastNodeStarted = name
			continue
		}
		if err := s.createJob(ctx, job.NodeOf(node)); err != nil {
			return err
		}
		results.Started(s.results, name, role)
		s.results.LastNodeStarted = name
		slots--
	}
	return nil
}

// createJob creates the node's Job. A Job of the same name that the report
// owns is the one an earlier pass created: it is kept.
func (s *benchmarkStep) createJob(ctx context.Context, node job.Node) error {
	j := s.run.Build(node, s.now)
	err := s.r.Create(ctx, j)
	if err == nil {
		log.FromContext(ctx).V(1).Info("Created benchmark Job", "job", klog.KObj(j), "node", node.Name, "role", node.Role)
		s.requeueIn(s.run.Spec.Timeout.Duration)
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating benchmark Job %s for node %s: %w", j.Name, node.Name, err)
	}
	existing := &batchv1.Job{}
	if err := s.r.APIReader.Get(ctx, client.ObjectKeyFromObject(j), existing); err != nil {
		return fmt.Errorf("getting benchmark Job %s: %w", j.Name, err)
	}
	if !metav1.IsControlledBy(existing, s.rep) {
		return fmt.Errorf("benchmark Job %s exists and belongs to another report; waiting for it to be deleted", j.Name)
	}
	return nil
}

// remaining are the planned nodes after the last one started.
func (s *benchmarkStep) remaining() []string {
	i := sort.SearchStrings(s.plan.nodes, s.results.LastNodeStarted)
	if i < len(s.plan.nodes) && s.plan.nodes[i] == s.results.LastNodeStarted {
		i++
	}
	return s.plan.nodes[i:]
}

// pending counts the planned nodes not started yet.
func (s *benchmarkStep) pending() int {
	n := 0
	for _, name := range s.remaining() {
		if results.Running(s.results, name) == nil {
			n++
		}
	}
	return n
}

func (s *benchmarkStep) requeueIn(d time.Duration) {
	if d < time.Second {
		d = time.Second
	}
	if d < s.requeue {
		s.requeue = d
	}
}

// benchmarkJobs are the report's Jobs, from the cache, by node.
func (r *SecurityScanReconciler) benchmarkJobs(ctx context.Context, rep *securityv1alpha1.ScanReport) (map[string]*batchv1.Job, error) {
	list := &batchv1.JobList{}
	if err := r.List(ctx, list, client.InNamespace(r.OperatorNamespace), client.MatchingLabels{securityv1alpha1.LabelReport: labelValue(rep.Name)}); err != nil {
		return nil, fmt.Errorf("listing benchmark Jobs: %w", err)
	}
	out := map[string]*batchv1.Job{}
	for i := range list.Items {
		j := &list.Items[i]
		if node := j.Annotations[job.AnnotationNode]; node != "" && metav1.IsControlledBy(j, rep) {
			out[node] = j
		}
	}
	return out, nil
}

// liveJob gets a node's Job from the API server, for when the cache does
// not have it (yet): nil when there is none.
func (r *SecurityScanReconciler) liveJob(ctx context.Context, rep *securityv1alpha1.ScanReport, node string) (*batchv1.Job, error) {
	j := &batchv1.Job{}
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: r.OperatorNamespace, Name: job.Name(rep.Name, node)}, j)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("getting the benchmark Job of node %s: %w", node, err)
	case !metav1.IsControlledBy(j, rep):
		return nil, nil
	}
	return j, nil
}

// jobPods are the pods the Job controller made for j, from the cache.
func (r *SecurityScanReconciler) jobPods(ctx context.Context, j *batchv1.Job) ([]corev1.Pod, error) {
	list := &corev1.PodList{}
	if err := r.List(ctx, list, client.InNamespace(j.Namespace), client.MatchingLabels{job.LabelControllerUID: string(j.UID)}); err != nil {
		return nil, fmt.Errorf("listing the pods of Job %s: %w", j.Name, err)
	}
	return list.Items, nil
}

// getNode reads a node from the API server; nil when it does not exist.
func (r *SecurityScanReconciler) getNode(ctx context.Context, name string) (*corev1.Node, error) {
	n := &corev1.Node{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Name: name}, n); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("getting node %s: %w", name, err)
	}
	return n, nil
}

// deleteJob deletes a benchmark Job and, through the garbage collector, its
// pods.
func (r *SecurityScanReconciler) deleteJob(ctx context.Context, j *batchv1.Job) error {
	if !j.DeletionTimestamp.IsZero() {
		return nil
	}
	err := r.Delete(ctx, j, client.PropagationPolicy(metav1.DeletePropagationBackground), client.Preconditions{UID: &j.UID})
	if client.IgnoreNotFound(err) != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting benchmark Job %s: %w", j.Name, err)
	}
	log.FromContext(ctx).V(1).Info("Deleted benchmark Job", "job", klog.KObj(j))
	return nil
}

// parseError is a kube-bench log that is not a report.
type parseError struct{ err error }

func (e *parseError) Error() string { return e.err.Error() }
func (e *parseError) Unwrap() error { return e.err }

// readReport reads and parses the kube-bench log of pod, at most
// maxLogBytes of it. A log that is not a report (or is too long) is a
// *parseError; other errors are failures to read it.
func (r *SecurityScanReconciler) readReport(ctx context.Context, pod *corev1.Pod) (*kubebench.Report, error) {
	if r.Benchmark.Logs == nil {
		return nil, errors.New("no log reader")
	}
	rc, err := r.Benchmark.Logs.ReadLog(ctx, pod.Namespace, pod.Name, job.Container, maxLogBytes+1)
	if err != nil {
		return nil, fmt.Errorf("reading the log of pod %s: %w", pod.Name, err)
	}
	defer rc.Close() //nolint:errcheck // read-only stream
	report, err := kubebench.Parse(rc, maxLogBytes)
	if errors.Is(err, kubebench.ErrTooLarge) || errors.Is(err, kubebench.ErrNoJSON) || errors.Is(err, kubebench.ErrMalformed) {
		return nil, &parseError{err}
	}
	return report, err
}

// finishBenchmark closes the benchmark's results and adds its analyzer
// result and findings to the report.
func finishBenchmark(rep *securityv1alpha1.ScanReport, maxFindings int) {
	b := rep.Status.Benchmark
	results.Finish(b)
	findings := results.Findings(b)
	setAnalyzerResult(rep, benchmarkOutcome(b, len(findings)))
	addFindings(rep, findings, maxFindings)
}

// cancelBenchmark ends a benchmark that was removed from the spec during
// the run: the nodes being benchmarked are Skipped.
func cancelBenchmark(rep *securityv1alpha1.ScanReport, maxFindings int) {
	b := rep.Status.Benchmark
	for _, n := range slices.Clone(results.RunningNodes(b)) {
		results.Record(b, results.Outcome{Name: n.Name, Role: n.Role, Phase: securityv1alpha1.BenchmarkNodeSkipped, Reason: ReasonCancelled,
			Message: "spec.benchmark was removed during the run"})
	}
	finishBenchmark(rep, maxFindings)
}

// benchmarkOutcome is the benchmark's analyzer result: Failed when no node
// could be benchmarked, Succeeded with the reason NodesFailed (which makes
// the run PartiallyComplete) when some nodes failed.
func benchmarkOutcome(b *securityv1alpha1.BenchmarkResults, findings int) securityv1alpha1.AnalyzerResult {
	c := b.NodeCounts
	out := securityv1alpha1.AnalyzerResult{Name: AnalyzerBenchmark, Phase: securityv1alpha1.AnalyzerSucceeded,
		Resources: c.Succeeded, Findings: int32(findings), Invalid: c.Failed}
	switch {
	case c.Succeeded == 0 && c.Failed > 0:
		out.Phase, out.Reason = securityv1alpha1.AnalyzerFailed, ReasonAllNodesFailed
		out.Message = fmt.Sprintf("Every node failed: %s", listNodes(b, securityv1alpha1.BenchmarkNodeFailed, c.Failed))
	case c.Succeeded == 0 && c.Skipped > 0:
		out.Phase, out.Reason = securityv1alpha1.AnalyzerFailed, ReasonNoNodesBenchmarked
		out.Message = fmt.Sprintf("Every node was skipped: %s", listNodes(b, securityv1alpha1.BenchmarkNodeSkipped, c.Skipped))
	case c.Succeeded == 0:
		out.Phase, out.Reason = securityv1alpha1.AnalyzerFailed, ReasonNoNodesBenchmarked
		out.Message = "No Linux node matches spec.benchmark.nodeSelector"
	case c.Failed > 0:
		out.Reason = ReasonNodesFailed
		out.Message = fmt.Sprintf("%d of %d nodes failed: %s", c.Failed, c.Total, listNodes(b, securityv1alpha1.BenchmarkNodeFailed, c.Failed))
	}
	out.Message = text.Cut(out.Message, text.MaxField)
	return out
}

// listNodes names the first few listed nodes of the phase with their
// reasons, e.g. "a (ImagePullBackOff), b (ParseError) and 3 more".
func listNodes(b *securityv1alpha1.BenchmarkResults, phase securityv1alpha1.BenchmarkNodePhase, total int32) string {
	var names []string
	for _, n := range b.Nodes {
		if n.Phase == phase && len(names) < failedNodesListed {
			names = append(names, fmt.Sprintf("%s (%s)", n.Name, n.Reason))
		}
	}
	out := strings.Join(names, ", ")
	if more := int(total) - len(names); more > 0 {
		out += fmt.Sprintf(" and %d more", more)
	}
	return out
}

// cleanupBenchmarkJobs deletes the benchmark Jobs of the scan that do not
// belong to its run in progress (active, nil when there is none): those of
// finished or deleted reports, and all of them once the scan is deleted.
// The garbage collector would delete them too, through their owner
// references; this does not depend on it, and runs on every reconcile.
func (r *SecurityScanReconciler) cleanupBenchmarkJobs(ctx context.Context, namespace, scan string, active *securityv1alpha1.ScanReport) error {
	if namespace != r.OperatorNamespace {
		return nil
	}
	if active == nil {
		r.Benchmark.plans.drop(types.NamespacedName{Namespace: namespace, Name: scan})
	}
	list := &batchv1.JobList{}
	if err := r.List(ctx, list, client.InNamespace(namespace), client.MatchingLabels{
		securityv1alpha1.LabelScan: labelValue(scan), job.LabelComponent: "benchmark",
	}); err != nil {
		return fmt.Errorf("listing benchmark Jobs: %w", err)
	}
	for i := range list.Items {
		j := &list.Items[i]
		if j.Annotations[job.AnnotationScan] != scan || (active != nil && metav1.IsControlledBy(j, active)) {
			continue
		}
		if err := r.deleteJob(ctx, j); err != nil {
			return err
		}
	}
	return nil
}

// scanOfBenchmarkObject maps a benchmark Job, or its pod, to the
// SecurityScan whose run made it.
func scanOfBenchmarkObject(_ context.Context, obj client.Object) []reconcile.Request {
	scan := obj.GetAnnotations()[job.AnnotationScan]
	if scan == "" || obj.GetLabels()[job.LabelComponent] != "benchmark" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: scan}}}
}

// benchmarkProgress counts the benchmark's nodes by phase in the report,
// nil when it has no benchmark.
func benchmarkProgress(rep *securityv1alpha1.ScanReport) *securityv1alpha1.BenchmarkProgress {
	if rep == nil || rep.Status.Benchmark == nil || rep.Status.Benchmark.NodeCounts == nil {
		return nil
	}
	return rep.Status.Benchmark.NodeCounts.DeepCopy()
}

// Package kubelet plays, in an envtest cluster (a kube-apiserver and etcd,
// nothing else), the parts of Kubernetes that Palisade's kube-bench Jobs
// rely on: the Job controller (a pod for each Job, the Job's status), the
// scheduler (binding the pod to its node, or saying it cannot), the kubelet
// (the pod's status and log) and the garbage collector (the pods of deleted
// Jobs). What happens on each node follows a script.
//
// Tests drive it with Step, inside Eventually, so that nothing moves unless
// the test lets it; it serves logs through the same LogReader interface as
// the operator's API client. Watch records every Job created, so that a
// test can check that no node ever had two Jobs and that no more than
// maxConcurrentNodes ran at once.
package kubelet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	schedulingcorev1 "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
)

// Outcome is what a node does with a kube-bench pod.
type Outcome int

// Outcomes.
const (
	// Succeed runs kube-bench to the end: the pod succeeds and its log is
	// the script's Log.
	Succeed Outcome = iota
	// Fail makes kube-bench exit with the script's ExitCode and Message.
	Fail
	// Hang keeps the pod running forever.
	Hang
	// PullError leaves the container waiting: ImagePullBackOff.
	PullError
	// Unschedulable leaves the pod unbound: the scheduler cannot place it.
	Unschedulable
	// JobDeadline has the Job controller fail the Job on its
	// activeDeadlineSeconds (DeadlineExceeded) and delete the pod.
	JobDeadline
)

// Script says what happens on a node.
type Script struct {
	Outcome Outcome
	// Log is kube-bench's log (Succeed, and the log of Fail).
	Log []byte
	// ExitCode and Message are the container's on Fail.
	ExitCode int32
	Message  string
	// Held keeps the pod running until Release.
	Held bool
}

// Simulator is a fake Job controller, scheduler, kubelet and garbage
// collector for the Jobs Palisade creates in one namespace.
type Simulator struct {
	c         client.Client
	namespace string

	mu        sync.Mutex
	scripts   map[string]*Script
	created   map[string]map[types.UID]bool // target node → Jobs ever created
	active    map[string]map[types.UID]bool // report → Jobs neither finished nor deleted
	maxActive map[string]int                // report → most Jobs active at once
}

// New returns a simulator for Palisade's Jobs in namespace, which reads
// and writes through c (a direct client, not a cache).
func New(c client.Client, namespace string) *Simulator {
	return &Simulator{c: c, namespace: namespace, scripts: map[string]*Script{},
		created: map[string]map[types.UID]bool{}, active: map[string]map[types.UID]bool{}, maxActive: map[string]int{}}
}

// SetScript sets what happens on node. A node without a script hangs.
func (s *Simulator) SetScript(node string, sc Script) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[node] = &sc
}

// Release lets the held pods of the nodes finish at the next Step.
func (s *Simulator) Release(nodes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range nodes {
		if sc := s.scripts[n]; sc != nil {
			sc.Held = false
		}
	}
}

func (s *Simulator) script(node string) Script {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc := s.scripts[node]; sc != nil {
		return *sc
	}
	return Script{Outcome: Hang}
}

// JobsCreated is how many distinct Jobs were ever created for node (since
// Watch started).
func (s *Simulator) JobsCreated(node string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.created[node])
}

// MaxActive is the largest number of the report's Jobs (by their report
// label) that existed at once without having finished.
func (s *Simulator) MaxActive(report string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxActive[report]
}

// Watch records, until ctx ends, every Job created in the namespace and how
// many are active at once. It returns once the first watch is established.
func (s *Simulator) Watch(ctx context.Context, w client.WithWatch) error {
	start := func() (watch.Interface, error) {
		return w.Watch(ctx, &batchv1.JobList{}, client.InNamespace(s.namespace),
			client.MatchingLabels{securityv1alpha1.LabelManagedBy: securityv1alpha1.ManagedByValue})
	}
	wi, err := start()
	if err != nil {
		return fmt.Errorf("watching Jobs: %w", err)
	}
	go func() {
		for {
			for ev := range wi.ResultChan() {
				if j, ok := ev.Object.(*batchv1.Job); ok {
					s.observe(ev.Type, j)
				}
			}
			wi.Stop()
			if ctx.Err() != nil {
				return
			}
			// The server closed the watch: start again; Jobs seen again
			// are recognised by UID.
			next, err := start()
			if err != nil {
				return
			}
			wi = next
		}
	}()
	return nil
}

func (s *Simulator) observe(t watch.EventType, j *batchv1.Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	node := targetNode(&j.Spec.Template.Spec)
	if s.created[node] == nil {
		s.created[node] = map[types.UID]bool{}
	}
	s.created[node][j.UID] = true
	report := j.Labels[securityv1alpha1.LabelReport]
	if t == watch.Deleted || finished(j) || !j.DeletionTimestamp.IsZero() {
		delete(s.active[report], j.UID)
		return
	}
	if s.active[report] == nil {
		s.active[report] = map[types.UID]bool{}
	}
	s.active[report][j.UID] = true
	s.maxActive[report] = max(s.maxActive[report], len(s.active[report]))
}

// Step plays one round: every unfinished Job gets its pod, which goes as
// far as its node's script lets it, and the Job's status follows; pods of
// deleted Jobs are deleted.
func (s *Simulator) Step(ctx context.Context) error {
	jobs := &batchv1.JobList{}
	if err := s.c.List(ctx, jobs, client.InNamespace(s.namespace), client.MatchingLabels{securityv1alpha1.LabelManagedBy: securityv1alpha1.ManagedByValue}); err != nil {
		return err
	}
	pods := &corev1.PodList{}
	if err := s.c.List(ctx, pods, client.InNamespace(s.namespace), client.MatchingLabels{securityv1alpha1.LabelManagedBy: securityv1alpha1.ManagedByValue}); err != nil {
		return err
	}
	podOf := map[types.UID]*corev1.Pod{}
	for i := range pods.Items {
		if ref := metav1.GetControllerOf(&pods.Items[i]); ref != nil {
			podOf[ref.UID] = &pods.Items[i]
		}
	}
	live := map[types.UID]bool{}
	for i := range jobs.Items {
		j := &jobs.Items[i]
		live[j.UID] = true
		if finished(j) || !j.DeletionTimestamp.IsZero() {
			continue
		}
		if err := s.run(ctx, j, podOf[j.UID]); err != nil {
			return fmt.Errorf("job %s: %w", j.Name, err)
		}
	}
	return s.collectGarbage(ctx, pods.Items, live)
}

// run plays the Job controller, scheduler and kubelet for one Job.
func (s *Simulator) run(ctx context.Context, j *batchv1.Job, pod *corev1.Pod) error {
	if pod == nil {
		var err error
		if pod, err = s.createPod(ctx, j); err != nil {
			return err
		}
	}
	node := targetNode(&pod.Spec)
	sc := s.script(node)
	if pod.Spec.NodeName == "" {
		if msg := s.unschedulable(ctx, pod, sc); msg != "" {
			return s.pending(ctx, j, pod, msg)
		}
		if err := s.bind(ctx, pod, node); err != nil {
			return err
		}
	}
	switch {
	case sc.Held || sc.Outcome == Hang:
		return s.running(ctx, j, pod, runningState())
	case sc.Outcome == PullError:
		return s.running(ctx, j, pod, corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
			Reason: "ImagePullBackOff", Message: fmt.Sprintf("Back-off pulling image %q", pod.Spec.Containers[0].Image)}})
	case sc.Outcome == JobDeadline:
		return s.deadline(ctx, j, pod)
	case sc.Outcome == Fail:
		return s.finish(ctx, j, pod, sc.ExitCode, sc.Message)
	default:
		return s.finish(ctx, j, pod, 0, "")
	}
}

// createPod creates the Job's pod as the Job controller does: from the
// template, whose labels the API server completed with the Job's
// controller-uid and job-name.
func (s *Simulator) createPod(ctx context.Context, j *batchv1.Job) (*corev1.Pod, error) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: j.Name + "-sim", Namespace: j.Namespace,
			Labels: j.Spec.Template.Labels, Annotations: j.Spec.Template.Annotations,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: j.Name, UID: j.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
		},
		Spec: *j.Spec.Template.Spec.DeepCopy(),
	}
	if err := s.c.Create(ctx, pod); err != nil {
		return nil, fmt.Errorf("creating pod: %w", err)
	}
	return pod, nil
}

// unschedulable plays the scheduler's verdict: a message when the pod
// cannot be placed on its node (the script says so, the node is missing,
// cordoned, or has a taint the pod does not tolerate).
func (s *Simulator) unschedulable(ctx context.Context, pod *corev1.Pod, sc Script) string {
	if sc.Outcome == Unschedulable {
		return "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
	}
	node := &corev1.Node{}
	if err := s.c.Get(ctx, client.ObjectKey{Name: targetNode(&pod.Spec)}, node); err != nil {
		return "0/0 nodes are available: the pod's node does not exist."
	}
	if node.Spec.Unschedulable {
		return "0/1 nodes are available: 1 node(s) were unschedulable."
	}
	if t, ok := schedulingcorev1.FindMatchingUntoleratedTaint(klog.Background(), node.Spec.Taints, pod.Spec.Tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	}, false); ok {
		return fmt.Sprintf("0/1 nodes are available: 1 node(s) had untolerated taint {%s: %s}.", t.Key, t.Value)
	}
	return ""
}

// bind binds the pod to the node, as the scheduler does.
func (s *Simulator) bind(ctx context.Context, pod *corev1.Pod, node string) error {
	b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}
	if err := s.c.SubResource("binding").Create(ctx, pod, b); err != nil {
		return fmt.Errorf("binding pod %s to %s: %w", pod.Name, node, err)
	}
	return s.c.Get(ctx, client.ObjectKeyFromObject(pod), pod)
}

// pending leaves the pod unscheduled and the Job active.
func (s *Simulator) pending(ctx context.Context, j *batchv1.Job, pod *corev1.Pod, msg string) error {
	status := corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: msg,
		LastTransitionTime: metav1.Now(),
	}}}
	if err := s.setPodStatus(ctx, pod, status); err != nil {
		return err
	}
	return s.setJobStatus(ctx, j, activeStatus(j, false))
}

func runningState() corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}
}

// running has the kubelet report the container's state (running, or
// waiting for its image) and the Job controller count the pod active.
func (s *Simulator) running(ctx context.Context, j *batchv1.Job, pod *corev1.Pod, state corev1.ContainerState) error {
	phase, ready := corev1.PodRunning, state.Running != nil
	if !ready {
		phase = corev1.PodPending
	}
	status := podStatus(phase, corev1.ContainerStatus{Name: pod.Spec.Containers[0].Name, Image: pod.Spec.Containers[0].Image, State: state, Ready: ready, Started: ptr.To(ready)})
	if err := s.setPodStatus(ctx, pod, status); err != nil {
		return err
	}
	return s.setJobStatus(ctx, j, activeStatus(j, ready))
}

// finish has kube-bench exit with code and the Job end accordingly.
func (s *Simulator) finish(ctx context.Context, j *batchv1.Job, pod *corev1.Pod, code int32, msg string) error {
	phase, reason := corev1.PodSucceeded, "Completed"
	if code != 0 {
		phase, reason = corev1.PodFailed, "Error"
	}
	c := pod.Spec.Containers[0]
	status := podStatus(phase, corev1.ContainerStatus{Name: c.Name, Image: c.Image, Started: ptr.To(false), State: corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, Message: msg, StartedAt: metav1.Now(), FinishedAt: metav1.Now()},
	}})
	if err := s.setPodStatus(ctx, pod, status); err != nil {
		return err
	}
	if code != 0 {
		return s.setJobStatus(ctx, j, failedStatus(j, batchv1.JobReasonBackoffLimitExceeded, "Job has reached the specified backoff limit"))
	}
	return s.setJobStatus(ctx, j, succeededStatus(j))
}

// deadline fails the Job on its active deadline and deletes its pod, as
// the Job controller does.
func (s *Simulator) deadline(ctx context.Context, j *batchv1.Job, pod *corev1.Pod) error {
	if err := s.c.Delete(ctx, pod, client.GracePeriodSeconds(0)); client.IgnoreNotFound(err) != nil {
		return err
	}
	return s.setJobStatus(ctx, j, failedStatus(j, batchv1.JobReasonDeadlineExceeded, "Job was active longer than specified deadline"))
}

func podStatus(phase corev1.PodPhase, cs corev1.ContainerStatus) corev1.PodStatus {
	scheduled := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}
	return corev1.PodStatus{Phase: phase, Conditions: []corev1.PodCondition{scheduled}, ContainerStatuses: []corev1.ContainerStatus{cs}, StartTime: ptr.To(metav1.Now())}
}

// setPodStatus writes the pod's status unless it says the same already.
func (s *Simulator) setPodStatus(ctx context.Context, pod *corev1.Pod, status corev1.PodStatus) error {
	if samePodStatus(pod.Status, status) {
		return nil
	}
	pod.Status = status
	if err := s.c.Status().Update(ctx, pod); err != nil {
		return fmt.Errorf("updating pod %s status: %w", pod.Name, err)
	}
	return nil
}

// samePodStatus compares what matters, not timestamps.
func samePodStatus(a, b corev1.PodStatus) bool {
	strip := func(s corev1.PodStatus) corev1.PodStatus {
		s = *s.DeepCopy()
		s.StartTime = nil
		for i := range s.Conditions {
			s.Conditions[i].LastTransitionTime = metav1.Time{}
		}
		for i := range s.ContainerStatuses {
			st := &s.ContainerStatuses[i].State
			if st.Running != nil {
				st.Running.StartedAt = metav1.Time{}
			}
			if st.Terminated != nil {
				st.Terminated.StartedAt, st.Terminated.FinishedAt = metav1.Time{}, metav1.Time{}
			}
		}
		return s
	}
	return equality.Semantic.DeepEqual(strip(a), strip(b))
}

// activeStatus counts the Job's pod active.
func activeStatus(j *batchv1.Job, ready bool) batchv1.JobStatus {
	st := batchv1.JobStatus{StartTime: startTime(j), Active: 1, Ready: ptr.To[int32](0), Terminating: ptr.To[int32](0),
		UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{}}
	if ready {
		st.Ready = ptr.To[int32](1)
	}
	return st
}

// succeededStatus is a complete Job's status, with the conditions the Job
// controller sets in turn.
func succeededStatus(j *batchv1.Job) batchv1.JobStatus {
	now := metav1.Now()
	return batchv1.JobStatus{
		StartTime: startTime(j), CompletionTime: &now, Succeeded: 1, Ready: ptr.To[int32](0), Terminating: ptr.To[int32](0),
		UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{},
		Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonCompletionsReached, Message: "Reached expected number of succeeded pods", LastProbeTime: now, LastTransitionTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonCompletionsReached, Message: "Reached expected number of succeeded pods", LastProbeTime: now, LastTransitionTime: now},
		},
	}
}

// failedStatus is a failed Job's status.
func failedStatus(j *batchv1.Job, reason, msg string) batchv1.JobStatus {
	now := metav1.Now()
	st := batchv1.JobStatus{
		StartTime: startTime(j), Ready: ptr.To[int32](0), Terminating: ptr.To[int32](0),
		UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{},
		Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastProbeTime: now, LastTransitionTime: now},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastProbeTime: now, LastTransitionTime: now},
		},
	}
	if reason == batchv1.JobReasonBackoffLimitExceeded {
		st.Failed = 1
	}
	return st
}

func startTime(j *batchv1.Job) *metav1.Time {
	if j.Status.StartTime != nil {
		return j.Status.StartTime
	}
	// A second earlier than now, so that a completion time in the same
	// second is never before it.
	return &metav1.Time{Time: time.Now().Add(-time.Second).Truncate(time.Second)}
}

// setJobStatus writes the Job's status unless its counts and conditions
// are those already.
func (s *Simulator) setJobStatus(ctx context.Context, j *batchv1.Job, st batchv1.JobStatus) error {
	if j.Status.Active == st.Active && ptr.Deref(j.Status.Ready, 0) == ptr.Deref(st.Ready, 0) && len(j.Status.Conditions) == len(st.Conditions) && j.Status.StartTime != nil {
		return nil
	}
	j.Status = st
	if err := s.c.Status().Update(ctx, j); err != nil {
		return fmt.Errorf("updating Job %s status: %w", j.Name, err)
	}
	return nil
}

// collectGarbage deletes the pods whose Job is gone, at once: the kubelet
// would confirm the deletion of a pod bound to its node.
func (s *Simulator) collectGarbage(ctx context.Context, pods []corev1.Pod, live map[types.UID]bool) error {
	for i := range pods {
		ref := metav1.GetControllerOf(&pods[i])
		if ref == nil || ref.Kind != "Job" || live[ref.UID] {
			continue
		}
		if err := s.c.Delete(ctx, &pods[i], client.GracePeriodSeconds(0)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting orphaned pod %s: %w", pods[i].Name, err)
		}
	}
	return nil
}

// ReadLog serves a pod's log from its node's script, as the kubelet would
// through the API server: NotFound for a pod that does not exist, nothing
// before the pod runs.
func (s *Simulator) ReadLog(ctx context.Context, namespace, pod, container string, limitBytes int64) (io.ReadCloser, error) {
	p := &corev1.Pod{}
	if err := s.c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: pod}, p); err != nil {
		return nil, err
	}
	if p.Spec.NodeName == "" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("pod %s is not scheduled yet", pod))
	}
	log := s.script(p.Spec.NodeName).Log
	if limitBytes > 0 && int64(len(log)) > limitBytes {
		log = log[:limitBytes]
	}
	return io.NopCloser(bytes.NewReader(log)), nil
}

// targetNode is the node a kube-bench pod is pinned to: by its hostname
// node selector (the tests' nodes are named after their hostnames) or by
// name.
func targetNode(spec *corev1.PodSpec) string {
	if h := spec.NodeSelector[corev1.LabelHostname]; h != "" {
		return h
	}
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, f := range t.MatchFields {
				if f.Key == "metadata.name" && len(f.Values) == 1 {
					return f.Values[0]
				}
			}
		}
	}
	return ""
}

func finished(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

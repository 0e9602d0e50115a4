package job

import (
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/palisade-sec/palisade/api/v1alpha1"

	"github.com/palisade-sec/palisade/internal/text"
)

// maxMessageLen is BenchmarkNode.Message's limit in the API.
const maxMessageLen = 512

// Waiting is what a node's pod waits for: a reason such as Unschedulable
// or ErrImagePull and its message. The zero value means nothing notable.
type Waiting struct {
	Reason, Message string
}

// State is what a Job's state means for its node.
type State struct {
	// Done is true when the node has an outcome. A Succeeded node's outcome
	// is its pod's log, which the caller reads from LogsFrom.
	Done bool
	// Phase is Succeeded or Failed when Done.
	Phase v1alpha1.BenchmarkNodePhase
	// Reason and Message explain a Failed node.
	Reason, Message string
	// LogsFrom is the pod whose log holds the report.
	LogsFrom *corev1.Pod
	// Waiting is what the pod waits for, when not Done.
	Waiting Waiting
	// Bound tells whether the pod was scheduled to its node.
	Bound bool
	// Deadline is when the node times out.
	Deadline time.Time
}

// Observe says what the Job and its pods (those the Job controller made for
// it) mean for the node at time now of the operator's clock. prev is what
// the pod was last seen waiting for: when the Job fails on its deadline
// (the Job controller then deletes the pod), it names the real cause.
//
// A succeeded pod is read even past the deadline. A failed pod is Failed,
// with its exit code and termination message; an image that cannot be
// pulled fails the node at once; a pod that the scheduler cannot place
// waits for the deadline (room may free up) and is then Unschedulable.
func Observe(j *batchv1.Job, pods []corev1.Pod, prev Waiting, now time.Time) State {
	st := State{Deadline: Started(j).Add(Timeout(j))}
	pod := newestPod(pods)
	if pod != nil {
		st.Bound = pod.Spec.NodeName != ""
	}
	switch {
	case pod != nil && pod.Status.Phase == corev1.PodSucceeded:
		st.Done, st.Phase, st.LogsFrom = true, v1alpha1.BenchmarkNodeSucceeded, pod
		return st
	case pod != nil && pod.Status.Phase == corev1.PodFailed:
		st.fail(podFailure(pod))
		return st
	}
	if c := jobCondition(j, batchv1.JobFailed); c != nil {
		st.fail(jobFailure(j, c, prev))
		return st
	}
	w := waiting(pod)
	if w.Reason == ReasonImagePullBackOff {
		st.fail(w.Reason, w.Message)
		return st
	}
	if now.Before(st.Deadline) {
		st.Waiting = w
		return st
	}
	if w.Reason == "" {
		w = prev
	}
	if jobCondition(j, batchv1.JobComplete) != nil {
		w = Waiting{Reason: ReasonLogsUnavailable, Message: "The Job completed but its pod is gone: its log cannot be read"}
	}
	st.fail(deadline(j, pod, w))
	return st
}

func (st *State) fail(reason, message string) {
	st.Done, st.Phase, st.Reason, st.Message = true, v1alpha1.BenchmarkNodeFailed, reason, text.Cut(message, maxMessageLen)
}

// newestPod is the most recently created pod, the one that tells how the
// Job ended (with backoffLimit 0 there is only one, unless it was
// replaced).
func newestPod(pods []corev1.Pod) *corev1.Pod {
	var newest *corev1.Pod
	for i := range pods {
		p := &pods[i]
		if newest == nil || newest.CreationTimestamp.Before(&p.CreationTimestamp) {
			newest = p
		}
	}
	return newest
}

// podFailure explains a failed pod: OOMKilled, DeadlineExceeded, or
// Failed with kube-bench's exit code and termination message.
func podFailure(p *corev1.Pod) (string, string) {
	if p.Status.Reason == "DeadlineExceeded" {
		return ReasonDeadlineExceeded, p.Status.Message
	}
	t := terminated(p)
	if t == nil {
		msg := "The pod failed"
		if p.Status.Reason != "" {
			msg = fmt.Sprintf("The pod failed (%s): %s", p.Status.Reason, p.Status.Message)
		}
		return ReasonFailed, msg
	}
	reason := ReasonFailed
	if t.Reason == "OOMKilled" {
		reason = ReasonOOMKilled
	}
	msg := fmt.Sprintf("kube-bench exited with code %d", t.ExitCode)
	if t.Reason != "" && t.Reason != "Error" {
		msg += " (" + t.Reason + ")"
	}
	if m := strings.TrimSpace(t.Message); m != "" {
		msg += ": " + m
	}
	return reason, msg
}

func terminated(p *corev1.Pod) *corev1.ContainerStateTerminated {
	for _, s := range p.Status.ContainerStatuses {
		if s.Name == Container && s.State.Terminated != nil {
			return s.State.Terminated
		}
	}
	return nil
}

// jobFailure explains a Job the Job controller failed without a failed pod:
// on its deadline (refined by what the pod was waiting for), or otherwise.
func jobFailure(j *batchv1.Job, c *batchv1.JobCondition, prev Waiting) (string, string) {
	if c.Reason != batchv1.JobReasonDeadlineExceeded {
		return ReasonFailed, fmt.Sprintf("The Job failed (%s): %s", c.Reason, c.Message)
	}
	if prev.Reason != "" {
		return prev.Reason, prev.Message
	}
	return ReasonDeadlineExceeded, fmt.Sprintf("kube-bench did not finish within %s", Timeout(j))
}

// deadline explains a node that timed out by the operator's clock.
func deadline(j *batchv1.Job, pod *corev1.Pod, w Waiting) (string, string) {
	switch {
	case w.Reason != "":
		return w.Reason, w.Message
	case pod == nil:
		return ReasonDeadlineExceeded, fmt.Sprintf("No pod was created for Job %s within %s: see its events (the namespace's Pod Security admission must allow privileged pods)", j.Name, Timeout(j))
	default:
		return ReasonDeadlineExceeded, fmt.Sprintf("kube-bench did not finish within %s", Timeout(j))
	}
}

// waiting says what a pending pod waits for: the scheduler (Unschedulable),
// its image (ImagePullBackOff, for every image pull error), or another
// reason of the kubelet's. Creating the container is not worth reporting.
func waiting(p *corev1.Pod) Waiting {
	if p == nil {
		return Waiting{}
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return Waiting{Reason: ReasonUnschedulable, Message: text.Cut(c.Message, maxMessageLen)}
		}
	}
	for _, s := range p.Status.ContainerStatuses {
		w := s.State.Waiting
		if w == nil {
			continue
		}
		switch w.Reason {
		case "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull":
			return Waiting{Reason: ReasonImagePullBackOff, Message: text.Cut(fmt.Sprintf("%s: %s", w.Reason, w.Message), maxMessageLen)}
		case "", "ContainerCreating", "PodInitializing":
		default:
			return Waiting{Reason: w.Reason, Message: text.Cut(w.Message, maxMessageLen)}
		}
	}
	return Waiting{}
}

func jobCondition(j *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		if c := &j.Status.Conditions[i]; c.Type == t && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

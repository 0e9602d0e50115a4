package job

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/palisade-sec/palisade/api/v1alpha1"
)

var started = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func testJob(conditions ...batchv1.JobCondition) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "r-n1-12345678", Annotations: map[string]string{AnnotationStarted: started.Format(time.RFC3339)}},
		Spec:       batchv1.JobSpec{ActiveDeadlineSeconds: ptr.To[int64](300)},
		Status:     batchv1.JobStatus{Conditions: conditions},
	}
}

func jobCond(t batchv1.JobConditionType, reason string) batchv1.JobCondition {
	return batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: "Job was active longer than specified deadline"}
}

func testPod(phase corev1.PodPhase, mutate func(*corev1.Pod)) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "r-n1-12345678-abcde"}, Spec: corev1.PodSpec{NodeName: "n1"}, Status: corev1.PodStatus{Phase: phase}}
	if mutate != nil {
		mutate(&p)
	}
	return p
}

func exited(code int32, reason, msg string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: Container, State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, Message: msg}}}}
	}
}

func waitingFor(reason, msg string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: Container, State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}}
	}
}

func unschedulable(p *corev1.Pod) {
	p.Spec.NodeName = ""
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: "0/3 nodes are available: 1 Too many pods."}}
}

func TestObserve(t *testing.T) {
	before, after := started.Add(time.Minute), started.Add(5*time.Minute)
	type want struct {
		done    bool
		phase   v1alpha1.BenchmarkNodePhase
		reason  string
		message string
		logs    bool
		waiting Waiting
	}
	tests := map[string]struct {
		job  *batchv1.Job
		pods []corev1.Pod
		prev Waiting
		now  time.Time
		want want
	}{
		"no pod yet": {job: testJob(), now: before},
		"running":    {job: testJob(), pods: []corev1.Pod{testPod(corev1.PodRunning, nil)}, now: before},
		"succeeded": {
			job: testJob(jobCond(batchv1.JobComplete, "CompletionsReached")), pods: []corev1.Pod{testPod(corev1.PodSucceeded, exited(0, "Completed", ""))}, now: before,
			want: want{done: true, phase: v1alpha1.BenchmarkNodeSucceeded, logs: true},
		},
		"succeeded, read past the deadline": {
			job: testJob(), pods: []corev1.Pod{testPod(corev1.PodSucceeded, nil)}, now: after,
			want: want{done: true, phase: v1alpha1.BenchmarkNodeSucceeded, logs: true},
		},
		"complete, pod not seen yet": {job: testJob(jobCond(batchv1.JobComplete, "CompletionsReached")), now: before},
		"complete, pod gone past the deadline": {
			job: testJob(jobCond(batchv1.JobComplete, "CompletionsReached")), now: after,
			want: want{done: true, phase: v1alpha1.BenchmarkNodeFailed, reason: ReasonLogsUnavailable, message: "The Job completed but its pod is gone: its log cannot be read"},
		},
		"kube-bench failed": {
			job:  testJob(jobCond(batchv1.JobFailed, "BackoffLimitExceeded")),
			pods: []corev1.Pod{testPod(corev1.PodFailed, exited(1, "Error", "unable to get benchmark version\n"))}, now: before,
			want: want{done: true, phase: v1alpha1.BenchmarkNodeFailed, reason: ReasonFailed, message: "kube-bench exited with code 1: unable to get benchmark version"},
		},
		"out of memory": {
			job: testJob(), pods: []corev1.Pod{testPod(corev1.PodFailed, exited(137, "OOMKilled", ""))}, now: before,
			want: want{done: true, phase: v1alpha1.BenchmarkNodeFailed, reason: ReasonOOMKilled, message: "kube-bench exited with code 137 (OOMKilled)"},
		},
		"image pull back-off fails at once": {
			job: testJob(), pods: []corev1.Pod{testPod(corev1.PodPending, waitingFor("ImagePullBackOff", `Back-off pulling image "registry.invalid/kb"`))}, now: before,
			want: want{done: true, phase: v1alpha1.BenchmarkNodeFailed, reason: ReasonImagePullBackOff, message: `ImagePullBackOff: Back-off pulling image "registry.invalid/kb"`},
		},
		"image pull error fails at once": {
			job: testJob(), pods: []corev1.Pod{testPod(corev1.PodPending, waitingFor("ErrImagePull", "not found"))}, now: before,
			want: want{done: true, phase: v1alpha1.BenchmarkNodeFailed, reason: ReasonImagePullBackOff, message: "ErrImagePull: not found"},
		},
		"creating the container is no news": {
			job: testJob(), pods: []corev1.Pod{testPod(corev1.PodPending, waitingFor("ContainerCreating", ""))}, now: before,
		},
		"unschedulable waits for the deadline": {
			job: testJob(), pods: []corev1.Pod{testPod(corev1.PodPending, unschedulable)}, now: before,
			want: want{waiting: Waiting{Reason: ReasonUnschedulable, Message: "0/3 nodes are available: 1 Too many pods."}},
		},
		"unschedulable at the deadline": {
			job: testJob(), pods: []corev1.Pod{testPod(corev1.PodPending, unschedulable)}, now: after,
			want: want{done: true, phase: v1alpha1.BenchmarkNodeFailed, reason: ReasonUnschedulable, message: "0/3 nodes are available: 1 Too many pods."},
		},
		"running at the deadline": {
			job: testJob(), pods: []corev1.Pod{testPod(corev1.PodRunning, nil)}, now: after,
			want: want{done: true, phase: v1alpha1.BenchmarkNodeFailed, reason: ReasonDeadlineExceeded, message: "kube-bench did not finish within 5m0s"},
		},
		"no pod at the deadline": {
			job: testJob(), now: after,
			want: want{done: true, phase: v1alpha1.BenchmarkNodeFailed, reason: ReasonDeadlineExceeded,
				message: "No pod was created for Job r-n1-12345678 within 5m0s: see its events (the namespace's Pod Security admission must allow privileged pods)"},
		},
		"Job deadline, pod deleted: what it waited for": {
			job: testJob(jobCond(batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded)), now: before,
			prev: Waiting{Reason: ReasonUnschedulable, Message: "0/3 nodes are available"},
			want: want{done: true, phase: v1alpha1.BenchmarkNodeFailed, reason: ReasonUnschedulable, message: "0/3 nodes are available"},
		},
		"Job deadline": {
			job: testJob(jobCond(batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded)), now: before,
			want: want{done: true, phase: v1alpha1.BenchmarkNodeFailed, reason: ReasonDeadlineExceeded, message: "kube-bench did not finish within 5m0s"},
		},
		"pod deadline": {
			job: testJob(), pods: []corev1.Pod{testPod(corev1.PodFailed, func(p *corev1.Pod) {
				p.Status.Reason, p.Status.Message = "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"
			})}, now: before,
			want: want{done: true, phase: v1alpha1.BenchmarkNodeFailed, reason: ReasonDeadlineExceeded, message: "Pod was active on the node longer than the specified deadline"},
		},
		"the newest pod tells": {
			job: testJob(),
			pods: []corev1.Pod{
				testPod(corev1.PodFailed, func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(started) }),
				testPod(corev1.PodSucceeded, func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(started.Add(time.Second)) }),
			},
			now:  before,
			want: want{done: true, phase: v1alpha1.BenchmarkNodeSucceeded, logs: true},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st := Observe(tc.job, tc.pods, tc.prev, tc.now)
			got := want{done: st.Done, phase: st.Phase, reason: st.Reason, message: st.Message, logs: st.LogsFrom != nil, waiting: st.Waiting}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("Observe (-want +got):\n%s", diff)
			}
			if !st.Deadline.Equal(started.Add(5 * time.Minute)) {
				t.Errorf("deadline = %v", st.Deadline)
			}
		})
	}
}

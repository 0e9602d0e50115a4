package probepods

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/palisade-sec/palisade/internal/probe"
	"github.com/palisade-sec/palisade/internal/text"
)

// ServerState is where a server pod stands.
type ServerState struct {
	// IP is the pod's address once it listens (started, with an IP).
	IP string
	// Failed says why the pod will never listen; empty when it may.
	Failed string
	// Waiting says what the pod waits for while it does not listen yet.
	Waiting string
}

// Server reads a server pod's status.
func Server(pod *corev1.Pod) ServerState {
	if msg := ended(pod); msg != "" {
		return ServerState{Failed: msg}
	}
	cs := containerStatus(pod)
	if cs != nil && cs.Started != nil && *cs.Started && pod.Status.PodIP != "" {
		return ServerState{IP: pod.Status.PodIP}
	}
	if cs != nil && cs.Started != nil && *cs.Started {
		return ServerState{Waiting: fmt.Sprintf("server pod %s listens but has no IP yet", pod.Name)}
	}
	return ServerState{Waiting: waiting(pod, "its startup probe has not succeeded yet")}
}

// ClientState is where a client pod stands.
type ClientState struct {
	// Done is true once the client finished and its outcomes are read.
	Done     bool
	Outcomes []probe.Outcome
	// Failed says why the client produced no outcomes.
	Failed string
	// Waiting says what the client waits for.
	Waiting string
}

// Client reads a client pod's status: its outcomes from the termination
// message once its container terminated.
func Client(pod *corev1.Pod) ClientState {
	cs := containerStatus(pod)
	if cs != nil && cs.State.Terminated != nil {
		t := cs.State.Terminated
		if t.ExitCode != 0 {
			return ClientState{Failed: fmt.Sprintf("client pod %s exited with code %d (%s): %s", pod.Name, t.ExitCode, t.Reason, text.Cut(t.Message, 200))}
		}
		outcomes, err := probe.Decode([]byte(t.Message))
		if err != nil {
			return ClientState{Failed: fmt.Sprintf("client pod %s: unreadable termination message: %v", pod.Name, err)}
		}
		return ClientState{Done: true, Outcomes: outcomes}
	}
	if msg := ended(pod); msg != "" {
		return ClientState{Failed: msg}
	}
	return ClientState{Waiting: waiting(pod, "it is running")}
}

// ended says why a pod stopped without a result its container wrote
// (evicted, past its deadline, its container killed); "" when it did not.
func ended(pod *corev1.Pod) string {
	if pod.Status.Phase != corev1.PodFailed && pod.Status.Phase != corev1.PodSucceeded {
		if cs := containerStatus(pod); cs == nil || cs.State.Terminated == nil {
			return ""
		}
	}
	msg := fmt.Sprintf("pod %s ended (%s)", pod.Name, pod.Status.Phase)
	if pod.Status.Reason != "" {
		msg += ": " + pod.Status.Reason + " " + pod.Status.Message
	}
	if cs := containerStatus(pod); cs != nil && cs.State.Terminated != nil {
		t := cs.State.Terminated
		msg += fmt.Sprintf(": exit code %d %s %s", t.ExitCode, t.Reason, text.Cut(t.Message, 200))
	}
	return strings.TrimSpace(msg)
}

// waiting says what a pod that has not started waits for.
func waiting(pod *corev1.Pod, running string) string {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return fmt.Sprintf("pod %s/%s is not scheduled: %s %s", pod.Namespace, pod.Name, c.Reason, text.Cut(c.Message, 200))
		}
	}
	if cs := containerStatus(pod); cs != nil {
		if w := cs.State.Waiting; w != nil {
			return fmt.Sprintf("pod %s/%s is waiting: %s %s", pod.Namespace, pod.Name, w.Reason, text.Cut(w.Message, 200))
		}
		if cs.State.Running != nil {
			return fmt.Sprintf("pod %s/%s runs, but %s", pod.Namespace, pod.Name, running)
		}
	}
	if pod.Spec.NodeName == "" {
		return fmt.Sprintf("pod %s/%s is not scheduled yet", pod.Namespace, pod.Name)
	}
	if pod.Status.PodIP == "" {
		return fmt.Sprintf("pod %s/%s has no IP yet", pod.Namespace, pod.Name)
	}
	return fmt.Sprintf("pod %s/%s is starting", pod.Namespace, pod.Name)
}

func containerStatus(pod *corev1.Pod) *corev1.ContainerStatus {
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == Container {
			return &pod.Status.ContainerStatuses[i]
		}
	}
	return nil
}

package probepods

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/probe"
)

// Container is the name of the probe pods' container.
const Container = "probe"

// defaultHealthPort serves the server's /started and /ready, unless a case
// probes it.
const defaultHealthPort = 9999

// probeUser runs the probe programs: any non-root user will do.
const probeUser = 65532

// Run is what every pod of a run shares.
type Run struct {
	// Report is the run's report.
	Report *securityv1alpha1.ScanReport
	// Probe is the PolicyProbe's name.
	Probe string
	// ProbeLabel and ReportLabel are the values of the probe and report
	// labels (names shortened when they are no valid label values).
	ProbeLabel, ReportLabel string
	// Image of the probe programs.
	Image string
	// AttemptTimeout bounds one connection attempt.
	AttemptTimeout time.Duration
	// Deadline is when the run times out; pods are stopped by then.
	Deadline time.Time
	// Now is the controller's clock.
	Now time.Time
	// NamespaceUIDs are the UIDs of the namespaces the pods go into,
	// besides the report's (see pod).
	NamespaceUIDs map[string]types.UID
}

// Labels are those every probe pod of the run carries besides its
// identity's: the manager's cache selects on them, and case generation
// accounts for them. istio.io/dataplane-mode=none keeps a probe pod out of
// an ambient mesh: ztunnel would otherwise complete every TCP handshake
// itself and hide what the NetworkPolicies do.
func (r Run) Labels() map[string]string {
	return map[string]string{
		securityv1alpha1.LabelManagedBy: securityv1alpha1.ManagedByValue,
		securityv1alpha1.LabelProbe:     r.ProbeLabel,
		securityv1alpha1.LabelReport:    r.ReportLabel,
		LabelProbeNamespace:             r.Report.Namespace,
		labelDataplane:                  "none",
	}
}

// ServerPod is the probe server of a destination identity: it listens on
// every port the run's cases probe it on, declares the identity's named
// ports, says through its startup probe that it listens, and is never
// ready, so that a Service whose selector it matches never routes to it.
func ServerPod(r Run, s securityv1alpha1.ProbeServer, cs []securityv1alpha1.ProbeCase) *corev1.Pod {
	ports := serverPorts(cs, s.Pod)
	health := healthPort(ports)
	var list []string
	low := false
	for _, p := range ports {
		list = append(list, p.String())
		low = low || p.Port < 1024
	}
	pod := r.pod(s.Pod, s.Namespace, s.PodLabels, RoleServer)
	c := &pod.Spec.Containers[0]
	c.Args = []string{"probe", "serve", "--ports", strings.Join(list, ","), "--health-port", strconv.Itoa(int(health))}
	for _, np := range s.NamedPorts {
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: np.Name, ContainerPort: np.Port, Protocol: protocol(np.Protocol)})
	}
	c.StartupProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: probe.StartedPath, Port: intstr.FromInt32(health)}},
		PeriodSeconds: 1, TimeoutSeconds: 1, FailureThreshold: 300,
	}
	c.ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: probe.ReadyPath, Port: intstr.FromInt32(health)}},
		PeriodSeconds: 60, TimeoutSeconds: 1, FailureThreshold: 1,
	}
	if low {
		// A non-root process may bind ports below 1024 in the pod's own
		// network namespace: a namespaced sysctl that Pod Security
		// admits at every level.
		pod.Spec.SecurityContext.Sysctls = []corev1.Sysctl{{Name: "net.ipv4.ip_unprivileged_port_start", Value: "0"}}
	}
	return pod
}

// healthPort is the default health port, or the first free one below it.
func healthPort(ports []probe.PortSpec) int32 {
	n := int32(defaultHealthPort)
	for slices.Contains(ports, probe.PortSpec{Port: n, Protocol: probe.TCP}) {
		n--
	}
	return n
}

// ClientPod is a probe client: it tries targets concurrently and writes
// the outcomes to its termination message.
func ClientPod(r Run, name, namespace string, labels map[string]string, targets []probe.Target) *corev1.Pod {
	pod := r.pod(name, namespace, labels, RoleClient)
	var list []string
	for _, t := range targets {
		list = append(list, t.String())
	}
	pod.Spec.Containers[0].Args = []string{"probe", "connect", "--targets", strings.Join(list, ","), "--timeout", r.AttemptTimeout.String()}
	return pod
}

// pod is what servers and clients share: labels, ownership, hardening.
func (r Run) pod(name, namespace string, identity map[string]string, role string) *corev1.Pod {
	labels := maps.Clone(identity)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, r.Labels())
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: namespace, Labels: labels,
			Annotations: map[string]string{
				AnnotationProbe: r.Probe, AnnotationReport: r.Report.Name, AnnotationReportUID: string(r.Report.UID), AnnotationRole: role,
				// No Istio sidecar: a sidecar accepts every outbound
				// connection itself, so a client would see Connected
				// whatever the NetworkPolicies say. An annotation, not a
				// label, so that the pod's identity stays what cases
				// were planned with.
				labelInject: "false",
			},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			AutomountServiceAccountToken:  ptr.To(false),
			EnableServiceLinks:            ptr.To(false),
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			ActiveDeadlineSeconds:         ptr.To(deadlineSeconds(r.Deadline.Sub(r.Now))),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](probeUser), RunAsGroup: ptr.To[int64](probeUser),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name: Container, Image: r.Image, ImagePullPolicy: corev1.PullIfNotPresent,
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true), RunAsNonRoot: ptr.To(true),
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
	// Every probe pod has a controller: a pod without one whose labels a
	// ReplicaSet's or DaemonSet's selector matches would be adopted by it
	// (which, having a pod too many, would delete one). Owner references
	// cannot cross namespaces (the garbage collector would take the
	// report for absent and delete the pod at once), so a pod outside the
	// report's namespace is controlled by its Namespace, an owner that
	// exists as long as the pod does. The controller deletes every probe
	// pod itself, wherever it is.
	switch uid := r.NamespaceUIDs[namespace]; {
	case namespace == r.Report.Namespace:
		pod.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(r.Report, securityv1alpha1.GroupVersion.WithKind("ScanReport"))}
	case uid != "":
		pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Namespace", Name: namespace, UID: uid,
			Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(false)}}
	}
	return pod
}

// deadlineSeconds rounds d up to whole seconds, at least 1.
func deadlineSeconds(d time.Duration) int64 {
	return max(int64(math.Ceil(d.Seconds())), 1)
}

// Package job builds the kube-bench Jobs of a SecurityScan run and reads
// them back: which nodes are eligible and with which role, which benchmark
// and targets kube-bench runs, what the Job and its pod look like, and what
// a Job's state means for its node.
//
// The pod follows kube-bench's own job-master.yaml and job-node.yaml
// (v0.15.6): hostPID and the same hostPath mounts, all read-only. kube-bench
// runs as root because the files it checks (kubelet and control-plane
// configuration, certificates, etcd's data directory) are root-owned and
// often mode 600; it needs no capability for that, so every capability is
// dropped. It has no service-account token (it never calls the API server:
// the operator tells it the Kubernetes version), a read-only root
// filesystem, no privilege escalation and the runtime's default seccomp
// profile. hostPID and hostPath make it privileged in Pod Security terms, so
// the operator's namespace must admit privileged pods.
package job

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/palisade-sec/palisade/api/v1alpha1"
)

// Labels and annotations of benchmark Jobs and their pods, besides
// v1alpha1.LabelManagedBy, LabelScan and LabelReport.
const (
	// LabelComponent is app.kubernetes.io/component=benchmark.
	LabelComponent = "app.kubernetes.io/component"
	// LabelName is app.kubernetes.io/name=kube-bench.
	LabelName = "app.kubernetes.io/name"
	// AnnotationNode is the name of the node the Job benchmarks.
	AnnotationNode = "security.palisade.dev/node"
	// AnnotationScan is the full name of the SecurityScan (its label may
	// be shortened).
	AnnotationScan = "security.palisade.dev/scan"
	// AnnotationRole is the node's role: control-plane or worker.
	AnnotationRole = "security.palisade.dev/role"
	// AnnotationStarted is when the operator created the Job, by its clock,
	// in RFC 3339: the node's timeout counts from it.
	AnnotationStarted = "security.palisade.dev/started"
	// LabelControllerUID is the label the Job controller puts on a Job's
	// pods.
	LabelControllerUID = batchv1.ControllerUidLabel
)

// Container is the name of the kube-bench container.
const Container = "kube-bench"

// TTLAfterFinished is how long a finished Job stays when the operator does
// not delete it itself (it does as soon as it has read the result).
const TTLAfterFinished = time.Hour

// Defaults of the BenchmarkAnalyzer spec.
const (
	DefaultTimeout            = 5 * time.Minute
	DefaultMaxConcurrentNodes = 5
)

// Spec is a BenchmarkAnalyzer with its defaults applied.
func Spec(b *v1alpha1.BenchmarkAnalyzer) v1alpha1.BenchmarkAnalyzer {
	out := *b.DeepCopy()
	if out.Image == "" {
		out.Image = v1alpha1.DefaultBenchmarkImage
	}
	if out.Benchmark == "" {
		out.Benchmark = "auto"
	}
	if out.Timeout == nil || out.Timeout.Duration <= 0 {
		out.Timeout = &metav1.Duration{Duration: DefaultTimeout}
	}
	if out.MaxConcurrentNodes == nil || *out.MaxConcurrentNodes < 1 {
		out.MaxConcurrentNodes = ptr.To[int32](DefaultMaxConcurrentNodes)
	}
	return out
}

// Name is the Job's name for a node in a run: the report's and the node's
// names and a hash of both, at most 63 characters (the Job controller puts
// it in a label of the pods), so that the same run never has two Jobs for a
// node, even across operator restarts.
func Name(report, node string) string {
	sum := sha256.Sum256([]byte(report + "/" + node))
	hash := hex.EncodeToString(sum[:])[:8]
	base := sanitize(report + "-" + node)
	if max := validation.LabelValueMaxLength - len(hash) - 1; len(base) > max {
		base = strings.TrimRight(base[:max], "-")
	}
	return base + "-" + hash
}

// sanitize makes s a valid DNS label: lower case letters, digits and '-'.
func sanitize(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			b[i] = '-'
		}
	}
	return strings.Trim(string(b), "-")
}

// Run is what every Job of a run shares.
type Run struct {
	// Namespace of the Jobs: the operator's.
	Namespace string
	// Report owns the Jobs.
	Report *v1alpha1.ScanReport
	// Scan is the SecurityScan's name; ScanLabel its label value.
	Scan, ScanLabel string
	// ReportLabel is the report's label value.
	ReportLabel string
	// Spec is the scan's benchmark spec with defaults (see Spec).
	Spec v1alpha1.BenchmarkAnalyzer
	// Selection says which benchmark kube-bench runs.
	Selection Selection
}

// Build makes the Job that benchmarks node, started at the given time of
// the operator's clock.
func (r Run) Build(node Node, started time.Time) *batchv1.Job {
	labels := map[string]string{
		v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue,
		v1alpha1.LabelScan:      r.ScanLabel,
		v1alpha1.LabelReport:    r.ReportLabel,
		LabelName:               "kube-bench",
		LabelComponent:          "benchmark",
	}
	annotations := map[string]string{
		AnnotationNode: node.Name,
		AnnotationScan: r.Scan,
		AnnotationRole: node.Role,
	}
	jobAnnotations := map[string]string{AnnotationStarted: started.UTC().Format(time.RFC3339)}
	for k, v := range annotations {
		jobAnnotations[k] = v
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:            Name(r.Report.Name, node.Name),
			Namespace:       r.Namespace,
			Labels:          labels,
			Annotations:     jobAnnotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(r.Report, v1alpha1.GroupVersion.WithKind("ScanReport"))},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr.To[int32](0),
			ActiveDeadlineSeconds:   ptr.To(int64(r.Spec.Timeout.Seconds())),
			TTLSecondsAfterFinished: ptr.To(int32(TTLAfterFinished.Seconds())),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations},
				Spec:       r.podSpec(node),
			},
		},
	}
}

func (r Run) podSpec(node Node) corev1.PodSpec {
	volumes, mounts := hostMounts(node.Role)
	spec := corev1.PodSpec{
		HostPID:                      true,
		RestartPolicy:                corev1.RestartPolicyNever,
		AutomountServiceAccountToken: ptr.To(false),
		EnableServiceLinks:           ptr.To(false),
		ImagePullSecrets:             r.Spec.ImagePullSecrets,
		Tolerations:                  Tolerations(r.Spec.Tolerations, node.Role),
		SecurityContext:              &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Volumes:                      volumes,
		Containers: []corev1.Container{{
			Name:                     Container,
			Image:                    r.Spec.Image,
			ImagePullPolicy:          corev1.PullIfNotPresent,
			Command:                  []string{"kube-bench"},
			Args:                     r.Args(node.Role),
			Resources:                resources(r.Spec.Resources),
			VolumeMounts:             mounts,
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			SecurityContext: &corev1.SecurityContext{
				RunAsUser:                ptr.To[int64](0),
				RunAsNonRoot:             ptr.To(false),
				Privileged:               ptr.To(false),
				AllowPrivilegeEscalation: ptr.To(false),
				ReadOnlyRootFilesystem:   ptr.To(true),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
		}},
	}
	if node.Hostname != "" {
		spec.NodeSelector = map[string]string{corev1.LabelHostname: node.Hostname}
	} else {
		// A node without the hostname label is pinned by name, still
		// through the scheduler.
		spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{node.Name}}},
			}}},
		}}
	}
	return spec
}

// Args are kube-bench's arguments for a node of the role: its targets, the
// benchmark selection and JSON output.
func (r Run) Args(role string) []string {
	args := []string{"run", "--targets", strings.Join(Targets(r.Selection.Benchmark, role), ",")}
	args = append(args, r.Selection.Args...)
	return append(args, "--json")
}

// resources are the spec's, or small defaults: kube-bench reads files and
// runs a few shell commands.
func resources(r *corev1.ResourceRequirements) corev1.ResourceRequirements {
	if r != nil {
		return *r.DeepCopy()
	}
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
	}
}

// hostPath is one of kube-bench's host mounts.
type hostPath struct{ name, path, mountPath string }

// hostPaths are the mounts of kube-bench's job-node.yaml (v0.15.6); /usr/bin
// lets kube-bench find kubelet and kubectl.
var hostPaths = []hostPath{
	{"var-lib-cni", "/var/lib/cni", "/var/lib/cni"},
	{"var-lib-etcd", "/var/lib/etcd", "/var/lib/etcd"},
	{"var-lib-kubelet", "/var/lib/kubelet", "/var/lib/kubelet"},
	{"var-lib-kube-scheduler", "/var/lib/kube-scheduler", "/var/lib/kube-scheduler"},
	{"var-lib-kube-controller-manager", "/var/lib/kube-controller-manager", "/var/lib/kube-controller-manager"},
	{"etc-systemd", "/etc/systemd", "/etc/systemd"},
	{"lib-systemd", "/lib/systemd", "/lib/systemd/"},
	{"srv-kubernetes", "/srv/kubernetes", "/srv/kubernetes/"},
	{"etc-kubernetes", "/etc/kubernetes", "/etc/kubernetes"},
	{"usr-bin", "/usr/bin", "/usr/local/mount-from-host/bin"},
	{"etc-cni-netd", "/etc/cni/net.d/", "/etc/cni/net.d/"},
	{"opt-cni-bin", "/opt/cni/bin/", "/opt/cni/bin/"},
}

// controlPlanePaths are the mounts job-master.yaml adds: the host's users
// and groups, so that ownership checks (etcd:etcd) name them.
var controlPlanePaths = []hostPath{
	{"etc-passwd", "/etc/passwd", "/etc/passwd"},
	{"etc-group", "/etc/group", "/etc/group"},
}

// hostMounts are the read-only hostPath volumes and mounts for a role.
func hostMounts(role string) ([]corev1.Volume, []corev1.VolumeMount) {
	paths := hostPaths
	if role == RoleControlPlane {
		paths = append(append([]hostPath(nil), hostPaths...), controlPlanePaths...)
	}
	volumes := make([]corev1.Volume, 0, len(paths))
	mounts := make([]corev1.VolumeMount, 0, len(paths))
	for _, p := range paths {
		volumes = append(volumes, corev1.Volume{Name: p.name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: p.path}}})
		mounts = append(mounts, corev1.VolumeMount{Name: p.name, MountPath: p.mountPath, ReadOnly: true,
			RecursiveReadOnly: ptr.To(corev1.RecursiveReadOnlyIfPossible)})
	}
	return volumes, mounts
}

// Started is when the operator created the Job (AnnotationStarted), or its
// creation time when the annotation is missing or malformed.
func Started(j *batchv1.Job) time.Time {
	if t, err := time.Parse(time.RFC3339, j.Annotations[AnnotationStarted]); err == nil {
		return t
	}
	return j.CreationTimestamp.Time
}

// Timeout is the Job's active deadline.
func Timeout(j *batchv1.Job) time.Duration {
	if j.Spec.ActiveDeadlineSeconds == nil {
		return DefaultTimeout
	}
	return time.Duration(*j.Spec.ActiveDeadlineSeconds) * time.Second
}

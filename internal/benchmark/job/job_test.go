package job

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/palisade-sec/palisade/api/v1alpha1"
)

func TestName(t *testing.T) {
	long := strings.Repeat("ip-10-0-0-1.eu-west-1.compute.internal-", 5)
	tests := map[string]struct{ report, node string }{
		"short":         {"cluster-nightly-g1", "worker-1"},
		"dotted":        {"cluster-nightly-g1", "ip-10-0-0-1.eu-west-1.compute.internal"},
		"long node":     {"cluster-nightly-g1", long},
		"long report":   {strings.Repeat("r", 200), "n"},
		"upper case":    {"Nightly-g1", "NODE_1"},
		"trailing dash": {"a", strings.Repeat("b", 50) + "-" + strings.Repeat("c", 20)},
	}
	seen := map[string]string{}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Name(tc.report, tc.node)
			if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
				t.Errorf("Name(%q, %q) = %q: %v", tc.report, tc.node, got, errs)
			}
			if again := Name(tc.report, tc.node); again != got {
				t.Errorf("not deterministic: %q then %q", got, again)
			}
			if other, dup := seen[got]; dup {
				t.Errorf("%q is also the name for %s", got, other)
			}
			seen[got] = name
		})
	}
	if Name("a-b", "c") == Name("a", "b-c") {
		t.Errorf("names collide when the report and node names join the same way")
	}
	if got := Name("nightly-g1", "worker-1"); !strings.HasPrefix(got, "nightly-g1-worker-1-") {
		t.Errorf("Name = %q, want it to start with the report and node", got)
	}
}

func testRun() Run {
	report := &v1alpha1.ScanReport{ObjectMeta: metav1.ObjectMeta{Name: "nightly-g1", Namespace: "palisade-system", UID: "uid-1"}}
	return Run{
		Namespace: "palisade-system", Report: report, Scan: "nightly", ScanLabel: "nightly", ReportLabel: "nightly-g1",
		Spec:      Spec(&v1alpha1.BenchmarkAnalyzer{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "mirror"}}}),
		Selection: Selection{Args: []string{"--version", "1.37"}, Benchmark: "cis-1.12"},
	}
}

func TestBuild(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	run := testRun()
	j := run.Build(Node{Name: "cp-1", Role: RoleControlPlane, Hostname: "cp-1.internal"}, now)

	if j.Name != Name("nightly-g1", "cp-1") || j.Namespace != "palisade-system" {
		t.Errorf("Job %s/%s", j.Namespace, j.Name)
	}
	if ref := metav1.GetControllerOf(j); ref == nil || ref.Kind != "ScanReport" || ref.UID != "uid-1" {
		t.Errorf("controller = %+v, want the report", ref)
	}
	if diff := cmp.Diff(map[string]string{
		v1alpha1.LabelManagedBy: "palisade", v1alpha1.LabelScan: "nightly", v1alpha1.LabelReport: "nightly-g1",
		LabelName: "kube-bench", LabelComponent: "benchmark",
	}, j.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(j.Labels, j.Spec.Template.Labels); diff != "" {
		t.Errorf("pod labels differ from the Job's, the cache would not see the pods:\n%s", diff)
	}
	if got := Started(j); !got.Equal(now) {
		t.Errorf("Started = %v, want %v", got, now)
	}
	if *j.Spec.BackoffLimit != 0 || *j.Spec.ActiveDeadlineSeconds != 300 || j.Spec.TTLSecondsAfterFinished == nil {
		t.Errorf("backoffLimit %d, activeDeadlineSeconds %d, ttl %v", *j.Spec.BackoffLimit, *j.Spec.ActiveDeadlineSeconds, j.Spec.TTLSecondsAfterFinished)
	}

	pod := j.Spec.Template.Spec
	if !pod.HostPID || pod.HostNetwork || pod.HostIPC || pod.RestartPolicy != corev1.RestartPolicyNever || pod.NodeName != "" {
		t.Errorf("hostPID %v hostNetwork %v hostIPC %v restartPolicy %s nodeName %q", pod.HostPID, pod.HostNetwork, pod.HostIPC, pod.RestartPolicy, pod.NodeName)
	}
	if diff := cmp.Diff(map[string]string{corev1.LabelHostname: "cp-1.internal"}, pod.NodeSelector); diff != "" {
		t.Errorf("node selector (-want +got):\n%s", diff)
	}
	if ptr.Deref(pod.AutomountServiceAccountToken, true) {
		t.Errorf("a service-account token is mounted")
	}
	if diff := cmp.Diff([]corev1.LocalObjectReference{{Name: "mirror"}}, pod.ImagePullSecrets); diff != "" {
		t.Errorf("image pull secrets (-want +got):\n%s", diff)
	}
	if len(pod.Tolerations) != 2 || pod.Tolerations[0].Key != "node-role.kubernetes.io/control-plane" {
		t.Errorf("tolerations = %+v, want the control-plane ones", pod.Tolerations)
	}

	c := pod.Containers[0]
	if diff := cmp.Diff([]string{"run", "--targets", "master,controlplane,etcd,node,policies", "--version", "1.37", "--json"}, c.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if c.Image != v1alpha1.DefaultBenchmarkImage || c.Command[0] != "kube-bench" {
		t.Errorf("image %s command %v", c.Image, c.Command)
	}
	sc := c.SecurityContext
	if !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || *sc.Privileged || *sc.RunAsUser != 0 ||
		!cmp.Equal(sc.Capabilities, &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}) {
		t.Errorf("security context = %+v", sc)
	}
	if pod.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("seccomp = %+v", pod.SecurityContext.SeccompProfile)
	}
	if c.Resources.Limits.Memory().Cmp(resource.MustParse("256Mi")) != 0 {
		t.Errorf("resources = %+v", c.Resources)
	}
	checkMounts(t, pod, []string{"/var/lib/etcd", "/var/lib/kubelet", "/etc/kubernetes", "/etc/systemd", "/usr/local/mount-from-host/bin", "/etc/passwd", "/etc/group"})
}

func TestBuildWorker(t *testing.T) {
	run := testRun()
	run.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
	run.Spec.Resources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}
	j := run.Build(Node{Name: "w-1", Role: RoleWorker}, time.Now())
	pod := j.Spec.Template.Spec
	if diff := cmp.Diff([]string{"run", "--targets", "node", "--version", "1.37", "--json"}, pod.Containers[0].Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(run.Spec.Tolerations, pod.Tolerations); diff != "" {
		t.Errorf("tolerations (-want +got):\n%s", diff)
	}
	if pod.Containers[0].Resources.Limits.Memory().String() != "1Gi" {
		t.Errorf("resources = %+v", pod.Containers[0].Resources)
	}
	// Without a hostname label the pod is pinned by name, through the
	// scheduler.
	if pod.NodeSelector != nil || pod.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchFields[0].Values[0] != "w-1" {
		t.Errorf("node selector %v, affinity %+v", pod.NodeSelector, pod.Affinity)
	}
	for _, m := range pod.Containers[0].VolumeMounts {
		if m.MountPath == "/etc/passwd" {
			t.Errorf("a worker mounts /etc/passwd, which only job-master.yaml does")
		}
	}
}

// checkMounts checks that every volume is a read-only hostPath and that
// the given paths are mounted.
func checkMounts(t *testing.T, pod corev1.PodSpec, want []string) {
	t.Helper()
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		if v.HostPath == nil {
			t.Errorf("volume %s is not a hostPath", v.Name)
		}
		volumes[v.Name] = true
	}
	mounted := map[string]bool{}
	for _, m := range pod.Containers[0].VolumeMounts {
		if !m.ReadOnly || m.RecursiveReadOnly == nil {
			t.Errorf("mount %s is writable", m.MountPath)
		}
		if !volumes[m.Name] {
			t.Errorf("mount %s has no volume", m.Name)
		}
		mounted[m.MountPath] = true
	}
	for _, p := range want {
		if !mounted[p] {
			t.Errorf("%s is not mounted", p)
		}
	}
}

func TestSpecDefaults(t *testing.T) {
	got := Spec(&v1alpha1.BenchmarkAnalyzer{})
	if got.Image != v1alpha1.DefaultBenchmarkImage || got.Benchmark != Auto || got.Timeout.Duration != 5*time.Minute || *got.MaxConcurrentNodes != 5 {
		t.Errorf("Spec defaults = %+v", got)
	}
}

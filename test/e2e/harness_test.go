package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The harness's own checks: the parts that the benchmark and PolicyProbe
// features need from a real node work here.
var _ = Describe("The local cluster", func() {
	It("runs a kube-bench Job on the node and its log holds the JSON report", func() {
		const ns = "e2e-kube-bench"
		createNamespace(ns)
		DeferCleanup(deleteNamespace, ns)
		job := kubeBenchJob(ns, "kube-bench-node", "node")
		start := time.Now()
		Expect(k8s.Create(ctx, job)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(job), job)).To(Succeed())
			g.Expect(job.Status.Failed).To(BeZero(), "the kube-bench Job failed")
			g.Expect(job.Status.Succeeded).To(Equal(int32(1)))
		}).WithTimeout(3 * time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
		figures.add("kube-bench Job (node target) creation to completion", time.Since(start))

		pods := &corev1.PodList{}
		Expect(k8s.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"batch.kubernetes.io/job-name": job.Name})).To(Succeed())
		Expect(pods.Items).To(HaveLen(1))
		logs, err := podLogs(ns, pods.Items[0].Name, "kube-bench", false)
		Expect(err).NotTo(HaveOccurred())

		// kube-bench's warnings come first; the report is the line that
		// starts with '{'.
		var report kubeBenchReport
		found := false
		for _, line := range strings.Split(logs, "\n") {
			if strings.HasPrefix(line, "{") {
				Expect(json.Unmarshal([]byte(line), &report)).To(Succeed())
				found = true
			}
		}
		Expect(found).To(BeTrue(), "no JSON line in the kube-bench log:\n%s", lastLines(logs, 20))
		Expect(report.Controls).To(HaveLen(1))
		c := report.Controls[0]
		// With the API reachable kube-bench detects the cluster's version
		// and picks the matching benchmark.
		Expect(c.DetectedVersion).To(Equal("1.37"))
		Expect(c.Version).To(Equal("cis-1.12"))
		Expect(c.NodeType).To(Equal("node"))
		Expect(c.TotalPass + c.TotalFail + c.TotalWarn).To(BeNumerically(">", 10))
		// The kubelet checks read the node's real kubelet command line,
		// through the host's PID namespace and GNU ps.
		node, err := readyNodes()
		Expect(err).NotTo(HaveOccurred())
		sawKubelet := false
		for _, t := range c.Tests {
			for _, r := range t.Results {
				if strings.HasPrefix(r.TestNumber, "4.2.") && strings.Contains(r.ActualValue, "--hostname-override "+node[0]) {
					sawKubelet = true
				}
			}
		}
		Expect(sawKubelet).To(BeTrue(), "no 4.2.x check saw the node's kubelet process")
		figures.addText("kube-bench node checks on the local node (pass/fail/warn)",
			fmt.Sprintf("%d/%d/%d", c.TotalPass, c.TotalFail, c.TotalWarn))

		Expect(k8s.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationForeground))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8s.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"batch.kubernetes.io/job-name": job.Name})).To(Succeed())
			g.Expect(pods.Items).To(BeEmpty())
		}).WithTimeout(time.Minute).Should(Succeed())
	})

	It("enforces a NetworkPolicy while the enforcer runs, and no longer once it is stopped", func() {
		const ns = "e2e-netpol"
		createNamespace(ns)
		DeferCleanup(deleteNamespace, ns)
		server := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web", Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{
				TerminationGracePeriodSeconds: ptr.To[int64](0),
				AutomountServiceAccountToken:  ptr.To(false),
				Containers: []corev1.Container{{
					Name:            "web",
					Image:           env.toolsImage,
					ImagePullPolicy: corev1.PullNever,
					Command:         []string{"/bin/sh", "-c", "mkdir -p /tmp/www && echo palisade > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www"},
					Ports:           []corev1.ContainerPort{{ContainerPort: 8080}},
					ReadinessProbe: &corev1.Probe{
						ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}},
						PeriodSeconds: 1,
					},
				}},
			},
		}
		Expect(k8s.Create(ctx, server)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(server), server)).To(Succeed())
			g.Expect(podReady(server)).To(BeTrue())
		}).WithTimeout(time.Minute).Should(Succeed())
		ip := server.Status.PodIP
		Expect(ip).NotTo(BeEmpty())

		// One client pod per attempt: an HTTP request with busybox nc. The
		// enforcer REJECTs, so a denied connection is refused at once.
		attempt := 0
		connect := func() string {
			attempt++
			ok, out := runPod(ns, fmt.Sprintf("client-%d", attempt),
				fmt.Sprintf(`printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 %s 8080`, ip))
			switch {
			case ok && strings.Contains(out, "palisade"):
				return "connected"
			case strings.Contains(out, "refused"):
				return "refused"
			default:
				return "other: " + out
			}
		}
		eventually := func(want string) {
			Eventually(connect).WithTimeout(45 * time.Second).WithPolling(100 * time.Millisecond).Should(Equal(want))
		}

		By("connecting without a policy")
		Expect(connect()).To(Equal("connected"))

		By("denying all ingress to the namespace's pods")
		deny := &networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default-deny-ingress"},
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			},
		}
		Expect(k8s.Create(ctx, deny)).To(Succeed())
		eventually("refused")

		By("stopping the enforcer and removing its rules: the policy is no longer enforced")
		clusterScript("enforcer", "stop")
		DeferCleanup(clusterScript, "enforcer", "start") // a no-op when it runs
		Expect(connect()).To(Equal("connected"))

		By("starting the enforcer again")
		clusterScript("enforcer", "start")
		eventually("refused")

		By("deleting the policy")
		Expect(k8s.Delete(ctx, deny)).To(Succeed())
		eventually("connected")
	})
})

func kubeBenchJob(namespace, name, target string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					// The host's processes (ps) and the API server on the
					// host's loopback (the version decides the benchmark).
					HostPID:     true,
					HostNetwork: true,
					Containers: []corev1.Container{{
						Name:            "kube-bench",
						Image:           env.kubeBenchImage,
						ImagePullPolicy: corev1.PullNever,
						Args:            []string{"run", "--targets", target, "--json"},
						Env: []corev1.EnvVar{
							{Name: "KUBE_BENCH_K8S_ENV", Value: "true"},
							{Name: "KUBERNETES_SERVICE_HOST", Value: env.apiHost},
							{Name: "KUBERNETES_SERVICE_PORT_HTTPS", Value: env.apiPort},
						},
					}},
				},
			},
		},
	}
}

// kubeBenchReport is the part of kube-bench's JSON report the test reads.
type kubeBenchReport struct {
	Controls []struct {
		Version         string `json:"version"`
		DetectedVersion string `json:"detected_version"`
		NodeType        string `json:"node_type"`
		TotalPass       int    `json:"total_pass"`
		TotalFail       int    `json:"total_fail"`
		TotalWarn       int    `json:"total_warn"`
		Tests           []struct {
			Results []struct {
				TestNumber  string `json:"test_number"`
				Status      string `json:"status"`
				ActualValue string `json:"actual_value"`
			} `json:"results"`
		} `json:"tests"`
	} `json:"Controls"`
}

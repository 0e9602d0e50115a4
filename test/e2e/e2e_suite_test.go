package e2e

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/test/testenv"
)

const (
	operatorNamespace = "palisade-system"
	managerName       = "palisade-manager"
	fieldOwner        = "palisade-e2e"
)

// settings come from the environment that `make e2e`
// (hack/local-cluster/e2e.sh) sets.
type settings struct {
	kubeconfig     string // PALISADE_E2E_KUBECONFIG: the cluster (required)
	clusterScript  string // PALISADE_E2E_CLUSTER: hack/local-cluster/cluster.sh, to stop and start the enforcer
	kustomize      string // PALISADE_E2E_KUSTOMIZE: bin/kustomize
	figuresFile    string // PALISADE_E2E_FIGURES: where the measured figures go (optional)
	kubeBenchImage string // PALISADE_E2E_KUBE_BENCH_IMAGE
	toolsImage     string // PALISADE_E2E_TOOLS_IMAGE: busybox, for client and server pods
	apiHost        string // the API server as a host-network pod reaches it
	apiPort        string
}

var (
	ctx       context.Context
	cancel    context.CancelFunc
	env       settings
	cfg       *rest.Config
	k8s       client.Client // direct: no cache
	clientset *kubernetes.Clientset
	rss       *rssSampler
	figures   = &figureLog{}
)

func TestE2E(t *testing.T) {
	if os.Getenv("PALISADE_E2E_KUBECONFIG") == "" {
		t.Skip("the end-to-end tests need a real cluster: run `make e2e` (PALISADE_E2E_KUBECONFIG is not set)")
	}
	RegisterFailHandler(Fail)
	RunSpecs(t, "Palisade end-to-end")
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())
	root := testenv.Root()
	env = settings{
		kubeconfig:     os.Getenv("PALISADE_E2E_KUBECONFIG"),
		clusterScript:  getenv("PALISADE_E2E_CLUSTER", filepath.Join(root, "hack", "local-cluster", "cluster.sh")),
		kustomize:      getenv("PALISADE_E2E_KUSTOMIZE", filepath.Join(root, "bin", "kustomize")),
		figuresFile:    os.Getenv("PALISADE_E2E_FIGURES"),
		kubeBenchImage: getenv("PALISADE_E2E_KUBE_BENCH_IMAGE", "localhost/kube-bench:v0.15.6"),
		toolsImage:     getenv("PALISADE_E2E_TOOLS_IMAGE", "localhost/palisade-e2e-tools:dev"),
	}

	var err error
	cfg, err = clientcmd.BuildConfigFromFlags("", env.kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	cfg.QPS, cfg.Burst = 50, 100
	u, err := url.Parse(cfg.Host)
	Expect(err).NotTo(HaveOccurred())
	env.apiHost, env.apiPort = u.Hostname(), u.Port()

	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(securityv1alpha1.AddToScheme(scheme)).To(Succeed())
	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	clientset, err = kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())

	By("waiting for a Ready node")
	Eventually(readyNodes).WithTimeout(2 * time.Minute).Should(HaveLen(1))

	By("deploying Palisade from config/default (test/e2e/config) with the locally built image")
	start := time.Now()
	deployPalisade(filepath.Join(root, "test", "e2e", "config"))
	waitForManager()
	figures.add("operator deploy to manager Available", time.Since(start))

	rss = startRSSSampler(ctx, "/palisade", "manager")
})

var _ = AfterSuite(func() {
	if rss != nil {
		maxKiB, lastKiB, samples := rss.stop()
		if samples > 0 {
			figures.addText("manager RSS (max / at the end, sampled every 500ms from /proc)",
				formatKiB(maxKiB)+" / "+formatKiB(lastKiB))
		}
	}
	figures.print(GinkgoWriter)
	if env.figuresFile != "" {
		Expect(figures.write(env.figuresFile)).To(Succeed())
	}
	if k8s != nil {
		By("checking that the manager logged no RBAC denial")
		for _, pod := range managerPods() {
			if logs, err := podLogs(operatorNamespace, pod.Name, "manager", false); err == nil {
				expectNoRBACDenial(pod.Name, logs)
			}
		}
	}
	if cancel != nil {
		cancel()
	}
})

// On failure, show what the cluster and the manager were doing.
var _ = ReportAfterEach(func(report SpecReport) {
	if !report.Failed() || k8s == nil {
		return
	}
	dumpDiagnostics()
})

func waitForManager() {
	Eventually(func(g Gomega) {
		dep := &appsv1.Deployment{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: managerName}, dep)).To(Succeed())
		g.Expect(dep.Status.ObservedGeneration).To(Equal(dep.Generation))
		g.Expect(dep.Status.UpdatedReplicas).To(Equal(int32(1)))
		g.Expect(dep.Status.AvailableReplicas).To(Equal(int32(1)))
	}).WithTimeout(3*time.Minute).WithPolling(time.Second).Should(Succeed(), func() string {
		dumpDiagnostics()
		return "the manager Deployment did not become Available"
	})
}

// expectNoRBACDenial fails when the manager pod logged an RBAC denial: it
// runs under the RBAC that config/rbac ships, so a missing permission shows
// up there even where a scan still completes.
func expectNoRBACDenial(pod, logs string) {
	for _, line := range strings.Split(logs, "\n") {
		denied := strings.Contains(line, "is forbidden") && strings.Contains(line, "cannot ")
		Expect(denied).To(BeFalse(), "manager pod %s logged an RBAC denial:\n%s", pod, line)
	}
}

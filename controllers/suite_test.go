package controllers_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/palisade-sec/palisade/internal/cli/managercmd"
	"github.com/palisade-sec/palisade/test/kubelet"
	"github.com/palisade-sec/palisade/test/testenv"
)

const operatorNamespace = "palisade-system"

var (
	cfg       *rest.Config
	k8sClient client.Client // direct: never the manager's cache
	testEnv   *envtest.Environment
	fakeClock *clocktesting.FakeClock
	ctx       context.Context
	cancel    context.CancelFunc
	// sim plays the Job controller, scheduler and kubelet for the
	// benchmark's Jobs, and serves their logs to the manager.
	sim *kubelet.Simulator
	// stopManager stops the manager that startManager started and waits
	// until it has stopped.
	stopManager func()
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controller Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())

	var err error
	testEnv, cfg, err = testenv.Start()
	Expect(err).NotTo(HaveOccurred())

	testScheme := managercmd.Scheme()
	Expect(apiextensionsv1.AddToScheme(testScheme)).To(Succeed())
	k8sClient, err = client.New(cfg, client.Options{Scheme: testScheme})
	Expect(err).NotTo(HaveOccurred())
	Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}})).To(Succeed())

	// The fake clock starts ahead of the real one: objects' creation
	// timestamps come from the API server's real clock, and schedules count
	// from them.
	fakeClock = clocktesting.NewFakeClock(time.Now().UTC().Truncate(time.Hour).Add(time.Hour + time.Minute))

	sim = kubelet.New(k8sClient, operatorNamespace)
	watcher, err := client.NewWithWatch(cfg, client.Options{Scheme: testScheme})
	Expect(err).NotTo(HaveOccurred())
	Expect(sim.Watch(ctx, watcher)).To(Succeed())
	startManager()
})

// startManager starts a manager with Palisade's controllers, as `palisade
// manager` does, except for the fake clock, the simulated kubelet's logs and
// opts. A test may stop it (stopManager) and start a new one: an operator
// restart.
func startManager(opts ...managercmd.Option) {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  managercmd.Scheme(),
		Cache:   managercmd.CacheOptions(),
		Metrics: metricsserver.Options{BindAddress: "0"},
		// A restarted manager registers the same controller names again.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(managercmd.Setup(mgr, operatorNamespace, fakeClock, append([]managercmd.Option{managercmd.WithLogReader(sim)}, opts...)...)).To(Succeed())
	mgrCtx, mgrCancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(mgrCtx)).To(Succeed())
	}()
	stopManager = func() {
		mgrCancel()
		<-done
	}
}

var _ = AfterSuite(func() {
	if stopManager != nil {
		stopManager()
	}
	cancel()
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// Package managercmd is `palisade manager`: the operator.
package managercmd

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/controllers"
)

// DefaultNamespace is the operator's namespace when neither --namespace nor
// POD_NAMESPACE says otherwise.
const DefaultNamespace = "palisade-system"

// Scheme holds the kinds the manager reads and writes.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntimeMust(clientgoscheme.AddToScheme(s))
	utilruntimeMust(securityv1alpha1.AddToScheme(s))
	return s
}

func utilruntimeMust(err error) {
	if err != nil {
		panic(err)
	}
}

// CacheOptions make the manager's cache hold only Palisade's own kinds and
// the Jobs and Pods Palisade creates, so memory does not grow with the
// cluster. Everything else is read page by page through the API reader,
// except the metadata of NetworkPolicies and Namespaces, which PolicyProbe's
// rerunOnChange watches: names, labels and generations only, annotations
// and managed fields dropped.
func CacheOptions() cache.Options {
	mine := labels.SelectorFromSet(labels.Set{securityv1alpha1.LabelManagedBy: securityv1alpha1.ManagedByValue})
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&corev1.Pod{}:  {Label: mine},
		&batchv1.Job{}: {Label: mine},
		metadataOf(networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy")): {Transform: slimMetadata},
		metadataOf(corev1.SchemeGroupVersion.WithKind("Namespace")):           {Transform: slimMetadata},
	}}
}

func metadataOf(gvk schema.GroupVersionKind) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(gvk)
	return m
}

// slimMetadata drops what no watcher reads: annotations (kubectl's
// last-applied-configuration holds a whole copy of the object) and managed
// fields.
func slimMetadata(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetAnnotations(nil)
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// Run runs the manager until ctx ends. args exclude the word "manager".
func Run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := pflag.NewFlagSet("palisade manager", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	metricsAddr := fs.String("metrics-bind-address", ":8080", "Address of the Prometheus metrics endpoint (0 disables it).")
	probeAddr := fs.String("health-probe-bind-address", ":8081", "Address of the /healthz and /readyz endpoints.")
	leaderElect := fs.Bool("leader-elect", false, "Elect a leader, so that only one replica reconciles.")
	namespace := fs.String("namespace", envOr("POD_NAMESPACE", DefaultNamespace), "The operator's namespace: only scans there may look at other namespaces.")
	probeImage := fs.String("probe-image", os.Getenv("PALISADE_IMAGE"), "Image of PolicyProbe's probe pods when a PolicyProbe names none (default PALISADE_IMAGE, else the image of this pod's manager container, found through POD_NAME and POD_NAMESPACE).")
	zapOpts := zap.Options{}
	goFlags := flag.NewFlagSet("zap", flag.ContinueOnError)
	zapOpts.BindFlags(goFlags)
	fs.AddGoFlagSet(goFlags)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                 Scheme(),
		Cache:                  CacheOptions(),
		Metrics:                metricsserver.Options{BindAddress: *metricsAddr},
		HealthProbeBindAddress: *probeAddr,
		LeaderElection:         *leaderElect,
		LeaderElectionID:       "palisade.security.palisade.dev",
		// The process exits when the manager stops, so the lease can be
		// handed over at once: a replacement pod need not wait for it to
		// expire (about 15 s of every restart otherwise).
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		log.Error(err, "Unable to create the manager")
		return 1
	}
	image, source := *probeImage, "flag"
	if image == "" {
		if image, source = OwnImage(ctx, mgr.GetAPIReader(), os.Getenv("POD_NAMESPACE"), os.Getenv("POD_NAME"), managerContainer); image == "" {
			image = DefaultProbeImage
		}
	}
	log.Info("Probe pods' default image", "image", image, "from", source)
	if err := Setup(mgr, *namespace, clock.RealClock{}, WithProbeImage(image)); err != nil {
		log.Error(err, "Unable to set up the controllers")
		return 1
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		log.Error(err, "Unable to set up the health check")
		return 1
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		log.Error(err, "Unable to set up the ready check")
		return 1
	}
	log.Info("Starting the manager", "namespace", *namespace)
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "The manager stopped")
		return 1
	}
	return 0
}

// managerContainer is the name of the manager's container in
// config/manager.
const managerContainer = "manager"

// OwnImage is the image of the named container of the operator's own pod,
// which probe pods run by default, and where it came from; "" and the
// reason when it cannot be read (not in a pod, no POD_NAME, the pod
// unreadable).
func OwnImage(ctx context.Context, r client.Reader, namespace, pod, container string) (image, source string) {
	if namespace == "" || pod == "" {
		return "", "not in a pod (POD_NAME and POD_NAMESPACE unset)"
	}
	p := &corev1.Pod{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: pod}, p); err != nil {
		return "", fmt.Sprintf("reading pod %s/%s: %v", namespace, pod, err)
	}
	for _, c := range p.Spec.Containers {
		if c.Name == container {
			return c.Image, "pod " + namespace + "/" + pod
		}
	}
	return "", fmt.Sprintf("pod %s/%s has no container %s", namespace, pod, container)
}

// DefaultProbeImage runs the probe pods when neither --probe-image nor
// PALISADE_IMAGE says otherwise and the operator's own pod cannot be read
// (it runs outside the cluster): the image `make deploy` installs by
// default.
const DefaultProbeImage = "localhost/palisade:dev"

// Option changes what Setup gives the controllers; tests use them.
type Option func(*reconcilers)

// reconcilers are the controllers Setup registers.
type reconcilers struct {
	scan  *controllers.SecurityScanReconciler
	probe *controllers.PolicyProbeReconciler
}

// WithLogReader makes the benchmark read the kube-bench pods' logs through
// lr instead of the API server.
func WithLogReader(lr controllers.LogReader) Option {
	return func(r *reconcilers) { r.scan.Benchmark.Logs = lr }
}

// WithServerVersion makes the benchmark learn the API server's version
// from v instead of the API server's discovery endpoint.
func WithServerVersion(v discovery.ServerVersionInterface) Option {
	return func(r *reconcilers) { r.scan.Benchmark.Versions = v }
}

// WithProbeImage sets the image of PolicyProbe's probe pods when a
// PolicyProbe names none.
func WithProbeImage(image string) Option {
	return func(r *reconcilers) { r.probe.ProbeImage = image }
}

// Setup registers Palisade's controllers with mgr. Tests call it with a fake
// clock, and options.
func Setup(mgr ctrl.Manager, namespace string, clk clock.PassiveClock, opts ...Option) error {
	clientset, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("creating the API client for pod logs and discovery: %w", err)
	}
	r := &controllers.SecurityScanReconciler{
		Client:            mgr.GetClient(),
		APIReader:         mgr.GetAPIReader(),
		Scheme:            mgr.GetScheme(),
		Recorder:          mgr.GetEventRecorder("palisade"),
		Clock:             clk,
		Metrics:           controllers.DefaultMetrics,
		OperatorNamespace: namespace,
		Benchmark: controllers.BenchmarkRunner{
			Logs:     controllers.PodLogs{Client: clientset},
			Versions: clientset.Discovery(),
		},
	}
	p := &controllers.PolicyProbeReconciler{
		Client:            mgr.GetClient(),
		APIReader:         mgr.GetAPIReader(),
		Scheme:            mgr.GetScheme(),
		Recorder:          mgr.GetEventRecorder("palisade"),
		Clock:             clk,
		OperatorNamespace: namespace,
		ProbeImage:        DefaultProbeImage,
		Metrics:           controllers.DefaultMetrics,
	}
	for _, o := range opts {
		o(&reconcilers{scan: r, probe: p})
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("SecurityScan controller: %w", err)
	}
	if err := p.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("PolicyProbe controller: %w", err)
	}
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

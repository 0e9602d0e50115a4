package workloads

import (
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-sec/palisade/api/v1alpha1"
)

// ErrUnsupportedKind is wrapped by the error Analyze returns for an object
// that has no pod template.
var ErrUnsupportedKind = errors.New("kind not supported: only Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job and CronJob are analyzed")

// maxMessageLen is the longest Finding message the API accepts.
const maxMessageLen = 1024

// Options tune Analyze.
type Options struct {
	// Level is the Pod Security Standards level workloads are held to;
	// "" means restricted.
	Level v1alpha1.PodSecurityLevel
	// Advice adds a Low or Info finding for each of kubesec's positive
	// rules that a workload does not meet.
	Advice bool
}

// Result is the analysis of one workload.
type Result struct {
	// Resource is the workload.
	Resource v1alpha1.ResourceRef
	// Kubesec is the workload's result as kubesec prints it.
	Kubesec KubesecResult
	// PodSecurityLevel is the highest Pod Security Standards level the pod
	// template meets: "restricted", "baseline" or "privileged".
	PodSecurityLevel string
	// Findings are the kubesec rules the workload breaks (and, with
	// Options.Advice, the positive rules it misses), then the Pod Security
	// Standards checks it fails at Options.Level.
	Findings []v1alpha1.Finding
}

// Analyze scores obj's pod template with kubesec's rules and evaluates it
// against the Pod Security Standards. obj must be one of *corev1.Pod,
// *appsv1.Deployment, *appsv1.StatefulSet, *appsv1.DaemonSet,
// *appsv1.ReplicaSet, *batchv1.Job or *batchv1.CronJob; for anything else
// the error wraps ErrUnsupportedKind.
func Analyze(obj client.Object, opts Options) (Result, error) {
	level, err := opts.level()
	if err != nil {
		return Result{}, err
	}
	ref := Ref(obj)
	pod, ok := templateOf(obj)
	if !ok {
		return Result{}, fmt.Errorf("%s %q: %w", ref.Kind, ref.Name, ErrUnsupportedKind)
	}
	score := scoreKubesec(ref, pod)
	security := evaluatePodSecurity(pod)
	findings := make([]v1alpha1.Finding, 0, score.findingCount(opts.Advice)+security.findingCount(level))
	findings = score.appendFindings(findings, ref, pod, opts.Advice)
	findings = security.appendFindings(findings, ref, level)
	return Result{
		Resource:         ref,
		Kubesec:          score.result,
		PodSecurityLevel: security.level,
		Findings:         findings,
	}, nil
}

func (o Options) level() (v1alpha1.PodSecurityLevel, error) {
	switch o.Level {
	case "", v1alpha1.PodSecurityRestricted:
		return v1alpha1.PodSecurityRestricted, nil
	case v1alpha1.PodSecurityBaseline:
		return v1alpha1.PodSecurityBaseline, nil
	}
	return "", fmt.Errorf("unknown Pod Security Standards level %q: use baseline or restricted", o.Level)
}

// Ref names obj. For the kinds Analyze supports the apiVersion and kind come
// from the Go type, since typed objects read from a file or the API server
// may have an empty TypeMeta; for other objects they come from TypeMeta.
func Ref(obj client.Object) v1alpha1.ResourceRef {
	apiVersion, kind := supportedKind(obj)
	if kind == "" {
		apiVersion, kind = obj.GetObjectKind().GroupVersionKind().ToAPIVersionAndKind()
	}
	return v1alpha1.ResourceRef{
		APIVersion: apiVersion,
		Kind:       kind,
		Namespace:  obj.GetNamespace(),
		Name:       obj.GetName(),
	}
}

// supportedKind is the apiVersion and kind of the types Analyze supports,
// or "", "" for other types.
func supportedKind(obj client.Object) (apiVersion, kind string) {
	switch obj.(type) {
	case *corev1.Pod:
		return "v1", "Pod"
	case *appsv1.Deployment:
		return "apps/v1", "Deployment"
	case *appsv1.StatefulSet:
		return "apps/v1", "StatefulSet"
	case *appsv1.DaemonSet:
		return "apps/v1", "DaemonSet"
	case *appsv1.ReplicaSet:
		return "apps/v1", "ReplicaSet"
	case *batchv1.Job:
		return "batch/v1", "Job"
	case *batchv1.CronJob:
		return "batch/v1", "CronJob"
	}
	return "", ""
}

// podTemplate is the part of a workload the rules look at.
type podTemplate struct {
	meta *metav1.ObjectMeta
	spec *corev1.PodSpec
	// statefulSet is true for StatefulSets, whose claims kubesec checks.
	statefulSet bool
	claims      []corev1.PersistentVolumeClaim
}

func templateOf(obj client.Object) (*podTemplate, bool) {
	switch o := obj.(type) {
	case *corev1.Pod:
		return &podTemplate{meta: &o.ObjectMeta, spec: &o.Spec}, true
	case *appsv1.Deployment:
		return fromTemplate(&o.Spec.Template), true
	case *appsv1.StatefulSet:
		p := fromTemplate(&o.Spec.Template)
		p.statefulSet, p.claims = true, o.Spec.VolumeClaimTemplates
		return p, true
	case *appsv1.DaemonSet:
		return fromTemplate(&o.Spec.Template), true
	case *appsv1.ReplicaSet:
		return fromTemplate(&o.Spec.Template), true
	case *batchv1.Job:
		return fromTemplate(&o.Spec.Template), true
	case *batchv1.CronJob:
		return fromTemplate(&o.Spec.JobTemplate.Spec.Template), true
	}
	return nil, false
}

func fromTemplate(t *corev1.PodTemplateSpec) *podTemplate {
	return &podTemplate{meta: &t.ObjectMeta, spec: &t.Spec}
}

// controllers lists, for each kind whose pod template another kind also
// evaluates, the owners that do.
var controllers = map[string][]schema.GroupKind{
	"Pod": {
		{Group: appsv1.GroupName, Kind: "ReplicaSet"},
		{Group: appsv1.GroupName, Kind: "StatefulSet"},
		{Group: appsv1.GroupName, Kind: "DaemonSet"},
		{Group: batchv1.GroupName, Kind: "Job"},
	},
	"ReplicaSet": {{Group: appsv1.GroupName, Kind: "Deployment"}},
	"Job":        {{Group: batchv1.GroupName, Kind: "CronJob"}},
}

// IsTopLevel reports whether obj's pod template is evaluated on obj itself
// rather than on its controller: false for a Pod controlled by a ReplicaSet,
// StatefulSet, DaemonSet or Job, a ReplicaSet controlled by a Deployment and
// a Job controlled by a CronJob; true otherwise, including objects
// controlled by custom resources, since nothing else evaluates their
// template.
func IsTopLevel(obj client.Object) bool {
	owner := metav1.GetControllerOfNoCopy(obj)
	if owner == nil {
		return true
	}
	gv, err := schema.ParseGroupVersion(owner.APIVersion)
	if err != nil {
		return true
	}
	ownerKind := gv.WithKind(owner.Kind).GroupKind()
	for _, gk := range controllers[Ref(obj).Kind] {
		if gk == ownerKind {
			return false
		}
	}
	return true
}

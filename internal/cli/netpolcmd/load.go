package netpolcmd

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-sec/palisade/internal/clusterpolicy"
	"github.com/palisade-sec/palisade/internal/manifest"
	"github.com/palisade-sec/palisade/internal/netpol"
)

// defaultNamespace is where objects without a namespace go, as with kubectl
// and no namespace in the context.
const defaultNamespace = "default"

// inputs are the objects read, each the last one given for its kind,
// namespace and name.
type inputs struct {
	namespaces []corev1.Namespace
	pods       []corev1.Pod
	policies   []networkingv1.NetworkPolicy
	// cluster are the cluster-wide policies (AdminNetworkPolicy,
	// BaselineAdminNetworkPolicy, ClusterNetworkPolicy), as given.
	cluster netpol.ClusterPolicies
	// sources maps "Kind namespace/name" to the document it came from.
	sources map[string]string
}

// load reads the files. Documents that cannot be decoded are errors; kinds
// other than Namespace, Pod, NetworkPolicy and the cluster-wide network
// policies are ignored with a warning.
func load(paths []string, stdin io.Reader, stderr io.Writer) (*inputs, error) {
	objs, bad, err := manifest.ReadPaths(paths, stdin)
	if err != nil {
		return nil, err
	}
	if len(bad) > 0 {
		errs := make([]error, len(bad))
		for i, b := range bad {
			errs[i] = b
		}
		return nil, errors.Join(errs...)
	}
	in := &inputs{sources: map[string]string{}}
	index := map[string]int{} // key to position in its kind's slice
	ignored := map[string]int{}
	for _, o := range objs {
		if u, isUnstructured := o.Obj.(*unstructured.Unstructured); isUnstructured {
			if ok, err := clusterpolicy.Add(&in.cluster, u); ok {
				if err != nil {
					return nil, fmt.Errorf("%s: %w", o.Source, err)
				}
				in.sources[u.GetKind()+" "+u.GetName()] = o.Source
				continue
			}
		}
		if o.Obj.GetNamespace() == "" {
			if _, isNamespace := o.Obj.(*corev1.Namespace); !isNamespace {
				o.Obj.SetNamespace(defaultNamespace)
			}
		}
		key, ok := in.add(o.Obj, index)
		if !ok {
			ignored[o.Obj.GetObjectKind().GroupVersionKind().Kind]++
			continue
		}
		if prev, dup := in.sources[key]; dup {
			fmt.Fprintf(stderr, "note: %s from %s replaces the one from %s\n", key, o.Source, prev)
		}
		in.sources[key] = o.Source
	}
	warnIgnored(stderr, ignored)
	return in, nil
}

// add appends obj to its kind's slice, or replaces the one of the same key.
func (in *inputs) add(obj client.Object, index map[string]int) (string, bool) {
	switch o := obj.(type) {
	case *corev1.Namespace:
		key := "Namespace " + o.Name
		in.namespaces = upsert(in.namespaces, *o, key, index)
		return key, true
	case *corev1.Pod:
		key := "Pod " + o.Namespace + "/" + o.Name
		in.pods = upsert(in.pods, *o, key, index)
		return key, true
	case *networkingv1.NetworkPolicy:
		key := policyKey(o.Namespace, o.Name)
		in.policies = upsert(in.policies, *o, key, index)
		return key, true
	}
	return "", false
}

func upsert[T any](list []T, v T, key string, index map[string]int) []T {
	if i, ok := index[key]; ok {
		list[i] = v
		return list
	}
	index[key] = len(list)
	return append(list, v)
}

func policyKey(namespace, name string) string {
	return "NetworkPolicy " + namespace + "/" + name
}

func warnIgnored(stderr io.Writer, ignored map[string]int) {
	if len(ignored) == 0 {
		return
	}
	var parts []string
	for _, kind := range slices.Sorted(maps.Keys(ignored)) {
		parts = append(parts, fmt.Sprintf("%d %s", ignored[kind], kind))
	}
	fmt.Fprintf(stderr, "warning: ignored %s: only Namespaces, Pods, NetworkPolicies, AdminNetworkPolicies, BaselineAdminNetworkPolicies (v1alpha1) and ClusterNetworkPolicies (v1alpha2, v1beta1) are read\n", strings.Join(parts, ", "))
}

// locate prefixes each invalid policy's error with the document it came
// from.
func (in *inputs) locate(err error) error {
	errs := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
		var invalid *netpol.InvalidPolicyError
		if errors.As(e, &invalid) {
			key := policyKey(invalid.Namespace, invalid.Name)
			if invalid.Kind != "" && invalid.Kind != "NetworkPolicy" {
				key = invalid.Kind + " " + invalid.Name
			}
			if src, ok := in.sources[key]; ok {
				out[i] = fmt.Errorf("%s: %w", src, e)
			}
		}
	}
	return errors.Join(out...)
}

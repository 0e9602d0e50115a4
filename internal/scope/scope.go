// Package scope decides which namespaces a SecurityScan or PolicyProbe may
// look at. A scan in the operator's own namespace may look at any namespace
// its spec chooses; a scan in any other namespace only ever sees its own.
package scope

import (
	"context"
	"fmt"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/kube"
)

// Scope is the resolved set of namespaces.
type Scope struct {
	// Namespaces in scope, sorted.
	Namespaces []string
	// Cluster is true when every namespace of the cluster is in scope, so
	// callers may list across all namespaces at once.
	Cluster bool
	// Restricted is true when the spec asked for more than the object's own
	// namespace and the multi-tenancy rule narrowed it.
	Restricted bool
}

// Contains tells whether ns is in scope.
func (s Scope) Contains(ns string) bool {
	_, found := slices.BinarySearch(s.Namespaces, ns)
	return found
}

// Resolver resolves NamespaceScopes.
type Resolver struct {
	// Reader reads Namespaces (the API reader, not the cache).
	Reader client.Reader
	// OperatorNamespace is the namespace the operator runs in.
	OperatorNamespace string
}

// Resolve returns the namespaces that an object in namespace owner may see
// given spec.
func (r Resolver) Resolve(ctx context.Context, owner string, spec securityv1alpha1.NamespaceScope) (Scope, error) {
	if owner != r.OperatorNamespace {
		return tenantScope(owner, spec), nil
	}
	sel := labels.Everything()
	if spec.Selector != nil {
		s, err := metav1.LabelSelectorAsSelector(spec.Selector)
		if err != nil {
			return Scope{}, fmt.Errorf("namespace selector: %w", err)
		}
		sel = s
	}
	var out Scope
	list := &corev1.NamespaceList{}
	err := kube.ListPages(ctx, r.Reader, list, func() error {
		for i := range list.Items {
			ns := &list.Items[i]
			if chosen(ns.Name, spec) && sel.Matches(labels.Set(ns.Labels)) {
				out.Namespaces = append(out.Namespaces, ns.Name)
			}
		}
		return nil
	})
	if err != nil {
		return Scope{}, err
	}
	sort.Strings(out.Namespaces)
	out.Cluster = len(spec.Names) == 0 && spec.Selector == nil && len(spec.Exclude) == 0
	return out, nil
}

// Narrowed tells whether the multi-tenancy rule narrows spec for an object
// in namespace owner: it asks for namespaces other than its own but may only
// see its own.
func (r Resolver) Narrowed(owner string, spec securityv1alpha1.NamespaceScope) bool {
	return owner != r.OperatorNamespace && tenantScope(owner, spec).Restricted
}

// tenantScope is the scope of an object outside the operator's namespace:
// its own namespace whatever names or selector say, unless the spec excludes
// it.
func tenantScope(owner string, spec securityv1alpha1.NamespaceScope) Scope {
	s := Scope{Restricted: spec.Selector != nil || slices.ContainsFunc(spec.Names, func(n string) bool { return n != owner })}
	if !slices.Contains(spec.Exclude, owner) {
		s.Namespaces = []string{owner}
	}
	return s
}

func chosen(ns string, spec securityv1alpha1.NamespaceScope) bool {
	if slices.Contains(spec.Exclude, ns) {
		return false
	}
	return len(spec.Names) == 0 || slices.Contains(spec.Names, ns)
}

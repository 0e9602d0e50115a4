package scope

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
)

// Matcher tells, namespace by namespace, what Resolve would decide: for
// callers that hold namespaces already (from a metadata cache) and must
// not list them again.
type Matcher struct {
	owner, operator string
	spec            securityv1alpha1.NamespaceScope
	sel             labels.Selector
}

// Matcher returns a Matcher for an object in namespace owner with spec.
func (r Resolver) Matcher(owner string, spec securityv1alpha1.NamespaceScope) (*Matcher, error) {
	m := &Matcher{owner: owner, operator: r.OperatorNamespace, spec: spec, sel: labels.Everything()}
	if spec.Selector != nil && owner == r.OperatorNamespace {
		s, err := metav1.LabelSelectorAsSelector(spec.Selector)
		if err != nil {
			return nil, fmt.Errorf("namespace selector: %w", err)
		}
		m.sel = s
	}
	return m, nil
}

// Matches tells whether the namespace ns, with labels, is in scope.
func (m *Matcher) Matches(ns string, nsLabels map[string]string) bool {
	if m.owner != m.operator {
		return tenantScope(m.owner, m.spec).Contains(ns)
	}
	return chosen(ns, m.spec) && m.sel.Matches(labels.Set(nsLabels))
}

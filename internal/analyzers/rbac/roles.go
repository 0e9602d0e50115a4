package rbac

import (
	"cmp"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/palisade-sec/palisade/api/v1alpha1"
)

const (
	kindRole               = "Role"
	kindClusterRole        = "ClusterRole"
	kindRoleBinding        = "RoleBinding"
	kindClusterRoleBinding = "ClusterRoleBinding"
	rbacAPIVersion         = "rbac.authorization.k8s.io/v1"

	// labelBootstrapping marks the roles and bindings the API server creates.
	labelBootstrapping = "kubernetes.io/bootstrapping"
)

// defaultUserFacingRoles are the built-in ClusterRoles without a "system:"
// prefix.
var defaultUserFacingRoles = []string{"cluster-admin", "admin", "edit", "view"}

// scope indexes a role's matches: rules bound in one namespace or cluster-wide.
type scope int

const (
	namespaced scope = iota
	clusterWide
)

// role is a Role or ClusterRole with its rules compiled.
type role struct {
	ref     v1alpha1.ResourceRef
	rules   []sourcedRule
	builtin bool
	// bindings counts the bindings referring to the role.
	bindings int

	matches   [2][]Match
	evaluated [2]bool
}

// matchesIn returns the role's matches for a scope, computing them once.
func (r *role) matchesIn(m *matcher, s scope) []Match {
	if !r.evaluated[s] {
		r.matches[s] = m.match(r.rules, s == clusterWide)
		r.evaluated[s] = true
	}
	return r.matches[s]
}

// ownScope is the scope a role's rules can reach: a Role's its namespace, a
// ClusterRole's the cluster.
func (r *role) ownScope() scope {
	if r.ref.Kind == kindClusterRole {
		return clusterWide
	}
	return namespaced
}

func roleKey(kind, namespace, name string) string {
	if kind == kindClusterRole {
		namespace = ""
	}
	return kind + "\x00" + namespace + "\x00" + name
}

func ref(kind, namespace, name string) v1alpha1.ResourceRef {
	return v1alpha1.ResourceRef{APIVersion: rbacAPIVersion, Kind: kind, Namespace: namespace, Name: name}
}

// isBuiltin reports whether an object is one the API server bootstraps.
func isBuiltin(meta *metav1.ObjectMeta) bool {
	return strings.HasPrefix(meta.Name, "system:") || meta.Labels[labelBootstrapping] == "rbac-defaults"
}

func ownRules(name string, rules []rbacv1.PolicyRule) []sourcedRule {
	out := make([]sourcedRule, len(rules))
	for i, r := range rules {
		out[i] = sourcedRule{PolicyRule: r, from: name}
	}
	return out
}

// compileRoles indexes Roles and ClusterRoles by roleKey, expanding
// aggregated ClusterRoles, and returns them sorted by namespace and name.
func compileRoles(roles []rbacv1.Role, clusterRoles []rbacv1.ClusterRole) (map[string]*role, []*role) {
	index := make(map[string]*role, len(roles)+len(clusterRoles))
	order := make([]*role, 0, len(roles)+len(clusterRoles))
	add := func(r *role) {
		index[roleKey(r.ref.Kind, r.ref.Namespace, r.ref.Name)] = r
		order = append(order, r)
	}
	for i := range roles {
		x := &roles[i]
		add(&role{ref: ref(kindRole, x.Namespace, x.Name), rules: ownRules(x.Name, x.Rules), builtin: isBuiltin(&x.ObjectMeta)})
	}
	for i := range clusterRoles {
		x := &clusterRoles[i]
		add(&role{
			ref:     ref(kindClusterRole, "", x.Name),
			rules:   ownRules(x.Name, x.Rules),
			builtin: isBuiltin(&x.ObjectMeta) || slices.Contains(defaultUserFacingRoles, x.Name),
		})
	}
	aggregate(clusterRoles, index)
	slices.SortFunc(order, func(a, b *role) int {
		return cmp.Or(cmp.Compare(a.ref.Namespace, b.ref.Namespace), cmp.Compare(a.ref.Kind, b.ref.Kind), cmp.Compare(a.ref.Name, b.ref.Name))
	})
	return index, order
}

// aggregator is a ClusterRole with an aggregationRule and the ClusterRoles
// its selectors choose.
type aggregator struct {
	role    *role
	sources []*role
	keys    map[string]int // rule key → index in role.rules
}

// aggregate gives every ClusterRole with an aggregationRule the union of its
// own rules and the rules of the ClusterRoles its selectors match, as the
// aggregation controller does. Aggregators may select each other, so the
// union is iterated to a fixed point. A rule found both in the aggregator's
// own list (as in a live cluster, where the controller wrote it there) and in
// a source is attributed to the source.
func aggregate(clusterRoles []rbacv1.ClusterRole, index map[string]*role) {
	var aggs []*aggregator
	for i := range clusterRoles {
		cr := &clusterRoles[i]
		if cr.AggregationRule == nil {
			continue
		}
		a := &aggregator{role: index[roleKey(kindClusterRole, "", cr.Name)], keys: map[string]int{}}
		for j, r := range a.role.rules {
			a.keys[ruleKey(&r.PolicyRule)] = j
		}
		a.sources = selectSources(cr, clusterRoles, index)
		aggs = append(aggs, a)
	}
	for changed := true; changed; {
		changed = false
		for _, a := range aggs {
			for _, src := range a.sources {
				changed = a.absorb(src) || changed
			}
		}
	}
}

// absorb adds src's rules to the aggregator; it reports whether any was new.
func (a *aggregator) absorb(src *role) bool {
	added := false
	for _, r := range src.rules {
		k := ruleKey(&r.PolicyRule)
		if j, ok := a.keys[k]; ok {
			if a.role.rules[j].from == a.role.ref.Name && r.from != a.role.ref.Name {
				a.role.rules[j].from = r.from
			}
			continue
		}
		a.keys[k] = len(a.role.rules)
		a.role.rules = append(a.role.rules, r)
		added = true
	}
	return added
}

// selectSources returns, sorted by name, the other ClusterRoles whose labels
// match any of cr's aggregation selectors. As in the controller, an empty
// selector matches every ClusterRole and an invalid one matches none.
func selectSources(cr *rbacv1.ClusterRole, all []rbacv1.ClusterRole, index map[string]*role) []*role {
	var sels []labels.Selector
	for i := range cr.AggregationRule.ClusterRoleSelectors {
		s, err := metav1.LabelSelectorAsSelector(&cr.AggregationRule.ClusterRoleSelectors[i])
		if err == nil {
			sels = append(sels, s)
		}
	}
	var out []*role
	for i := range all {
		c := &all[i]
		if c.Name == cr.Name {
			continue
		}
		set := labels.Set(c.Labels)
		if slices.ContainsFunc(sels, func(s labels.Selector) bool { return s.Matches(set) }) {
			out = append(out, index[roleKey(kindClusterRole, "", c.Name)])
		}
	}
	slices.SortFunc(out, func(a, b *role) int { return cmp.Compare(a.ref.Name, b.ref.Name) })
	return out
}

// ruleKey identifies a rule by its content.
func ruleKey(r *rbacv1.PolicyRule) string {
	return strings.Join([]string{
		strings.Join(r.Verbs, ","), strings.Join(r.APIGroups, ","), strings.Join(r.Resources, ","),
		strings.Join(r.ResourceNames, ","), strings.Join(r.NonResourceURLs, ","),
	}, "|")
}

package rbac

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/validation"

	"github.com/palisade-sec/palisade/api/v1alpha1"
)

// sourcedRule is a policy rule with the name of the role whose manifest
// holds it (differs from the evaluated role for aggregated ClusterRoles).
type sourcedRule struct {
	rbacv1.PolicyRule
	from string
}

// Held says how a rule set satisfies one need of a template.
type Held struct {
	// Need is the need's name, e.g. "exec into pods".
	Need string
	// Permissions lists the granted permissions, e.g. "create pods/exec";
	// for wildcard templates, the offending rules.
	Permissions []string
	// ResourceNames is set when the rules allow the need only on these
	// named objects.
	ResourceNames []string
	// Caveat is set when the need is only met through a caveated permission.
	Caveat string
	// From names the roles whose rules grant it.
	From []string
}

// Match is a template a rule set satisfies.
type Match struct {
	TemplateID string
	// Severity is the template's, one level lower when a need is only met
	// for named objects or through a caveated permission.
	Severity v1alpha1.Severity
	Summary  string
	Held     []Held
	// Implies lists templates that also match and are not reported on their
	// own because this one covers them.
	Implies []string
}

// lowered reports whether the match is weaker than its template.
func (m *Match) lowered() bool {
	for _, h := range m.Held {
		if h.ResourceNames != nil || h.Caveat != "" {
			return true
		}
	}
	return false
}

// from lists the roles that contribute rules to the match.
func (m *Match) from() []string {
	var out []string
	for _, h := range m.Held {
		for _, f := range h.From {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// quality ranks how a need is met, best first.
type quality uint8

const (
	qDirect quality = iota
	qCaveated
	qNamed
	qNamedCaveated
	qUnmet
)

// compiledPerm is a Permission with its PolicyRule form and name
// precomputed.
type compiledPerm struct {
	Permission
	rule rbacv1.PolicyRule
	name string
}

// compiledTemplate is a template ready for matching.
type compiledTemplate struct {
	Template
	needs [][]compiledPerm
	// implies holds indices of templates a direct match of this one covers.
	implies []int
}

// matcher evaluates rule sets against a template table.
type matcher struct {
	templates []compiledTemplate
	// order maps template IDs to their index in templates.
	order map[string]int
}

// newMatcher compiles ts and works out which templates imply which.
func newMatcher(ts []Template) (*matcher, error) {
	if err := validate(ts); err != nil {
		return nil, err
	}
	m := &matcher{templates: make([]compiledTemplate, len(ts)), order: make(map[string]int, len(ts))}
	for i, t := range ts {
		m.order[t.ID] = i
		ct := compiledTemplate{Template: t, needs: make([][]compiledPerm, len(t.Needs))}
		for j, n := range t.Needs {
			for _, p := range n.AnyOf {
				ct.needs[j] = append(ct.needs[j], compiledPerm{Permission: p, rule: p.rule(), name: p.String()})
			}
		}
		m.templates[i] = ct
	}
	for i := range m.templates {
		for j := range m.templates {
			if i != j && implies(&m.templates[i], &m.templates[j]) {
				m.templates[i].implies = append(m.templates[i].implies, j)
			}
		}
	}
	return m, nil
}

// implies reports whether a direct match of a makes b redundant: a is at
// least as severe and every need of b has a permission that a's permissions
// cover under RBAC semantics. Only templates whose needs each have a single
// uncaveated permission imply others.
func implies(a, b *compiledTemplate) bool {
	if a.Syntax != NoSyntax || a.Severity.Rank() > b.Severity.Rank() {
		return false
	}
	owner := make([]rbacv1.PolicyRule, 0, len(a.needs))
	for _, alts := range a.needs {
		if len(alts) != 1 || alts[0].Caveat != "" {
			return false
		}
		owner = append(owner, alts[0].rule)
	}
	switch b.Syntax {
	case WildcardVerbs:
		return allRules(owner, func(r rbacv1.PolicyRule) bool { return r.Verbs[0] == rbacv1.VerbAll })
	case WildcardResources:
		return allRules(owner, func(r rbacv1.PolicyRule) bool { return r.Resources[0] == rbacv1.ResourceAll })
	}
	for _, alts := range b.needs {
		if !slices.ContainsFunc(alts, func(p compiledPerm) bool {
			ok, _ := validation.Covers(owner, []rbacv1.PolicyRule{p.rule})
			return ok
		}) {
			return false
		}
	}
	return true
}

func allRules(rs []rbacv1.PolicyRule, f func(rbacv1.PolicyRule) bool) bool {
	return !slices.ContainsFunc(rs, func(r rbacv1.PolicyRule) bool { return !f(r) })
}

// match returns the templates rules satisfy, in table order, leaving out the
// ones implied by another match. cluster says whether the rules apply
// cluster-wide (ClusterRoleBinding) or in one namespace (RoleBinding), where
// cluster-scoped permissions are never granted.
func (m *matcher) match(rules []sourcedRule, cluster bool) []Match {
	found := make([]*Match, len(m.templates))
	for i := range m.templates {
		found[i] = m.templates[i].match(rules, cluster)
	}
	hidden := make([]bool, len(found))
	for i, f := range found {
		if f == nil || hidden[i] || f.lowered() {
			continue
		}
		for _, j := range m.templates[i].implies {
			if found[j] != nil && !hidden[j] {
				hidden[j] = true
				f.Implies = append(f.Implies, m.templates[j].ID)
			}
		}
	}
	var out []Match
	for i, f := range found {
		if f != nil && !hidden[i] {
			out = append(out, *f)
		}
	}
	return out
}

// match evaluates one template; nil when rules do not satisfy it.
func (t *compiledTemplate) match(rules []sourcedRule, cluster bool) *Match {
	var held []Held
	if t.Syntax != NoSyntax {
		h, ok := t.matchSyntax(rules)
		if !ok {
			return nil
		}
		held = []Held{h}
	}
	for j, alts := range t.needs {
		h, ok := meet(t.Needs[j].Name, alts, rules, cluster)
		if !ok {
			return nil
		}
		held = append(held, h)
	}
	mt := &Match{TemplateID: t.ID, Severity: t.Severity, Summary: t.Summary, Held: held}
	if mt.lowered() {
		mt.Severity = lower(t.Severity)
	}
	return mt
}

// matchSyntax finds rules written with the template's wildcard.
func (t *compiledTemplate) matchSyntax(rules []sourcedRule) (Held, bool) {
	h := Held{Need: t.Summary}
	for _, r := range rules {
		list := r.Verbs
		if t.Syntax == WildcardResources {
			list = r.Resources
		}
		if slices.Contains(list, "*") {
			h.Permissions = append(h.Permissions, describeRule(r.PolicyRule))
			h.From = appendUnique(h.From, r.from)
		}
	}
	return h, len(h.Permissions) > 0
}

// meet finds the best way rules satisfy a need: the alternatives of the best
// quality, their sources and resource names.
func meet(name string, alts []compiledPerm, rules []sourcedRule, cluster bool) (Held, bool) {
	h := Held{Need: name}
	best := qUnmet
	for i := range alts {
		p := &alts[i]
		q, from, names := p.grantedBy(rules, cluster)
		if q > best || q == qUnmet {
			continue
		}
		if q < best {
			best, h.Permissions, h.From, h.ResourceNames, h.Caveat = q, nil, nil, nil, ""
		}
		h.Permissions = append(h.Permissions, p.name)
		h.From = appendUnique(h.From, from...)
		for _, n := range names {
			h.ResourceNames = appendUnique(h.ResourceNames, n)
		}
		if h.Caveat == "" {
			h.Caveat = p.Caveat
		}
	}
	return h, best != qUnmet
}

// grantedBy says whether rules allow p, how well, which roles' rules do,
// and which object names when only named objects are allowed.
func (p *compiledPerm) grantedBy(rules []sourcedRule, cluster bool) (quality, []string, []string) {
	if p.ClusterScoped && !cluster {
		return qUnmet, nil, nil
	}
	var from, names []string
	for i := range rules {
		r := &rules[i]
		if !mayCover(&r.PolicyRule, p) {
			continue
		}
		if len(r.ResourceNames) == 0 {
			if covers(r.PolicyRule, p.rule) {
				return p.grade(qDirect), []string{r.from}, nil
			}
			continue
		}
		if !p.nameable() {
			continue
		}
		stripped := r.PolicyRule
		stripped.ResourceNames = nil
		if covers(stripped, p.rule) {
			from = appendUnique(from, r.from)
			names = append(names, r.ResourceNames...)
		}
	}
	if names == nil {
		return qUnmet, nil, nil
	}
	return p.grade(qNamed), from, names
}

// grade adds the permission's caveat to a quality.
func (p *compiledPerm) grade(q quality) quality {
	if p.Caveat != "" {
		return q + 1
	}
	return q
}

// covers applies Kubernetes' own rule comparison to one owner rule.
func covers(owner, servant rbacv1.PolicyRule) bool {
	ok, _ := validation.Covers([]rbacv1.PolicyRule{owner}, []rbacv1.PolicyRule{servant})
	return ok
}

// mayCover is a cheap necessary condition for covers: the rule names p's
// verb, group and resource or a wildcard for them. It keeps Covers, which
// allocates, off the hot path.
func mayCover(r *rbacv1.PolicyRule, p *compiledPerm) bool {
	if !hasOrAll(r.Verbs, p.Verb, rbacv1.VerbAll) || !hasOrAll(r.APIGroups, p.Group, rbacv1.APIGroupAll) {
		return false
	}
	for _, res := range r.Resources {
		if res == rbacv1.ResourceAll || res == p.Resource {
			return true
		}
		if rest, ok := strings.CutPrefix(res, "*/"); ok && strings.HasSuffix(p.Resource, "/"+rest) {
			return true
		}
	}
	return false
}

func hasOrAll(list []string, want, all string) bool {
	for _, s := range list {
		if s == want || s == all {
			return true
		}
	}
	return false
}

func appendUnique(list []string, items ...string) []string {
	for _, s := range items {
		if !slices.Contains(list, s) {
			list = append(list, s)
		}
	}
	return list
}

// lower returns the next lower severity, stopping at Low.
func lower(s v1alpha1.Severity) v1alpha1.Severity {
	switch s {
	case v1alpha1.SeverityCritical:
		return v1alpha1.SeverityHigh
	case v1alpha1.SeverityHigh:
		return v1alpha1.SeverityMedium
	}
	return v1alpha1.SeverityLow
}

// raise returns the next higher severity, stopping at Critical.
func raise(s v1alpha1.Severity) v1alpha1.Severity {
	switch s {
	case v1alpha1.SeverityInfo:
		return v1alpha1.SeverityLow
	case v1alpha1.SeverityLow:
		return v1alpha1.SeverityMedium
	case v1alpha1.SeverityMedium:
		return v1alpha1.SeverityHigh
	}
	return v1alpha1.SeverityCritical
}

// describeRule renders a rule compactly for messages.
func describeRule(r rbacv1.PolicyRule) string {
	s := fmt.Sprintf("verbs %v on resources %v in apiGroups %q", r.Verbs, r.Resources, r.APIGroups)
	if len(r.ResourceNames) > 0 {
		s += fmt.Sprintf(" named %v", r.ResourceNames)
	}
	return s
}

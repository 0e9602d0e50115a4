package rbac

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/palisade-sec/palisade/api/v1alpha1"

	"github.com/palisade-sec/palisade/internal/text"
)

// Input is the RBAC state to analyze, as listed from the API server or
// decoded from a `kubectl get -o yaml` dump (TypeMeta may be empty). The
// analyzer does not modify it; it keeps the rules, not the objects.
type Input struct {
	Roles               []rbacv1.Role
	ClusterRoles        []rbacv1.ClusterRole
	RoleBindings        []rbacv1.RoleBinding
	ClusterRoleBindings []rbacv1.ClusterRoleBinding
	// ServiceAccounts are optional; their automountServiceAccountToken
	// decides whether pods that predate admission mount a token.
	ServiceAccounts []corev1.ServiceAccount
}

// ExpectedGrant is a role bound to a subject on purpose; grants matching it
// are not reported.
type ExpectedGrant struct {
	// RoleKind is "ClusterRole" or "Role".
	RoleKind string
	RoleName string
	// Subject is matched on Kind, Name and, for service accounts, Namespace.
	Subject rbacv1.Subject
}

// DefaultExpectedGrants returns the grants every cluster has on purpose:
// cluster-admin bound to the system:masters group.
func DefaultExpectedGrants() []ExpectedGrant {
	return []ExpectedGrant{{
		RoleKind: kindClusterRole, RoleName: "cluster-admin",
		Subject: rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "system:masters"},
	}}
}

// Options tune the analysis. The zero value uses the defaults.
type Options struct {
	// Templates replaces DefaultTemplates() when non-nil.
	Templates []Template
	// IncludeBuiltin reports built-in roles and bindings too: names starting
	// with "system:", objects labeled kubernetes.io/bootstrapping=rbac-defaults
	// and the cluster-admin, admin, edit and view ClusterRoles.
	IncludeBuiltin bool
	// Expected replaces DefaultExpectedGrants() when non-nil; an empty,
	// non-nil slice expects nothing.
	Expected []ExpectedGrant
}

// Binding is a RoleBinding or ClusterRoleBinding resolved to its role.
type Binding struct {
	Ref  v1alpha1.ResourceRef
	Role v1alpha1.ResourceRef
	// Namespace is where the binding grants its role; empty for a
	// ClusterRoleBinding, whose grant is cluster-wide.
	Namespace string
	// Builtin is set for bindings the API server bootstraps.
	Builtin bool
}

// Grant is a risky permission a subject holds through one binding.
type Grant struct {
	// Subject as written in the binding, with a service account's namespace
	// defaulted to the binding's.
	Subject rbacv1.Subject
	Binding *Binding
	Match   *Match
	// Reported is false when the grant is built-in or expected, and so has
	// no finding.
	Reported bool
}

// Severity is the match's severity, raised one level when the subject is a
// group everyone (or every service account) belongs to.
func (g *Grant) Severity() v1alpha1.Severity {
	if everyone(g.Subject) != "" {
		return raise(g.Match.Severity)
	}
	return g.Match.Severity
}

// RoleRisk is a role and the templates its rules match.
type RoleRisk struct {
	Role    v1alpha1.ResourceRef
	Builtin bool
	// Bindings counts the bindings referring to the role.
	Bindings int
	Matches  []Match
}

// Analyzer holds compiled RBAC state. Build it with New, then read Findings,
// Grants and RiskyRoles, and feed pods one at a time to Pod. It is not safe
// for concurrent use.
type Analyzer struct {
	matcher   *matcher
	opts      Options
	roles     []*role
	grants    []*Grant
	bySubject map[string][]*Grant
	automount map[string]*bool
	accounts  map[string]*account
}

// New compiles roles and bindings. It fails only on an invalid template table.
func New(in Input, opts Options) (*Analyzer, error) {
	if opts.Templates == nil {
		opts.Templates = DefaultTemplates()
	}
	if opts.Expected == nil {
		opts.Expected = DefaultExpectedGrants()
	}
	m, err := newMatcher(opts.Templates)
	if err != nil {
		return nil, err
	}
	a := &Analyzer{
		matcher:   m,
		opts:      opts,
		bySubject: map[string][]*Grant{},
		automount: map[string]*bool{},
		accounts:  map[string]*account{},
	}
	index, order := compileRoles(in.Roles, in.ClusterRoles)
	a.roles = order
	a.resolveBindings(in, index)
	for i := range in.ServiceAccounts {
		sa := &in.ServiceAccounts[i]
		a.automount[sa.Namespace+"/"+sa.Name] = sa.AutomountServiceAccountToken
	}
	return a, nil
}

// Findings returns the role and binding findings: first risky roles sorted by
// namespace, kind and name, then grants sorted by binding namespace and name
// (RoleBindings before ClusterRoleBindings), subjects in binding order;
// templates in table order within each.
//
// Findings builds a new slice on each call; the analyzer does not keep it.
func (a *Analyzer) Findings() []v1alpha1.Finding {
	return a.grantFindings(a.roleFindings())
}

// Grants returns every risky grant, reported or not, in Findings order.
func (a *Analyzer) Grants() []*Grant { return slices.Clone(a.grants) }

// RiskyRoles returns the roles with at least one match in their own scope,
// sorted by namespace, kind and name, built-in ones included.
func (a *Analyzer) RiskyRoles() []RoleRisk {
	var out []RoleRisk
	for _, r := range a.roles {
		if ms := r.matchesIn(a.matcher, r.ownScope()); len(ms) > 0 {
			out = append(out, RoleRisk{Role: r.ref, Builtin: r.builtin, Bindings: r.bindings, Matches: ms})
		}
	}
	return out
}

// bindingInput is a RoleBinding or ClusterRoleBinding in a common shape.
type bindingInput struct {
	kind, namespace, name string
	builtin               bool
	roleRef               rbacv1.RoleRef
	subjects              []rbacv1.Subject
}

// resolveBindings turns bindings into grants, in sorted order.
func (a *Analyzer) resolveBindings(in Input, index map[string]*role) {
	bs := make([]bindingInput, 0, len(in.RoleBindings)+len(in.ClusterRoleBindings))
	for i := range in.RoleBindings {
		b := &in.RoleBindings[i]
		bs = append(bs, bindingInput{kindRoleBinding, b.Namespace, b.Name, isBuiltin(&b.ObjectMeta), b.RoleRef, b.Subjects})
	}
	for i := range in.ClusterRoleBindings {
		b := &in.ClusterRoleBindings[i]
		bs = append(bs, bindingInput{kindClusterRoleBinding, "", b.Name, isBuiltin(&b.ObjectMeta), b.RoleRef, b.Subjects})
	}
	slices.SortFunc(bs, func(x, y bindingInput) int {
		// RoleBinding sorts before ClusterRoleBinding.
		return cmp.Or(-cmp.Compare(x.kind, y.kind), cmp.Compare(x.namespace, y.namespace), cmp.Compare(x.name, y.name))
	})
	for i := range bs {
		a.resolve(&bs[i], index)
	}
}

// resolve records the grants of one binding.
func (a *Analyzer) resolve(b *bindingInput, index map[string]*role) {
	if b.kind == kindClusterRoleBinding && b.roleRef.Kind != kindClusterRole {
		return // rejected by the API server
	}
	r := index[roleKey(b.roleRef.Kind, b.namespace, b.roleRef.Name)]
	if r == nil {
		return // dangling reference: grants nothing
	}
	r.bindings++
	s := namespaced
	if b.kind == kindClusterRoleBinding {
		s = clusterWide
	}
	matches := r.matchesIn(a.matcher, s)
	if len(matches) == 0 {
		return
	}
	bd := &Binding{Ref: ref(b.kind, b.namespace, b.name), Role: r.ref, Namespace: b.namespace, Builtin: b.builtin}
	for _, subj := range b.subjects {
		subj, ok := normalizeSubject(subj, b.namespace)
		if !ok {
			continue
		}
		reported := a.opts.IncludeBuiltin || (!bd.Builtin && !a.expected(r.ref, subj))
		key := subjectKey(subj)
		chunk := make([]Grant, len(matches)) // one allocation per subject
		for i := range matches {
			g := &chunk[i]
			*g = Grant{Subject: subj, Binding: bd, Match: &matches[i], Reported: reported}
			a.grants = append(a.grants, g)
			a.bySubject[key] = append(a.bySubject[key], g)
		}
	}
}

// expected reports whether role bound to subj is an expected grant.
func (a *Analyzer) expected(role v1alpha1.ResourceRef, subj rbacv1.Subject) bool {
	return slices.ContainsFunc(a.opts.Expected, func(e ExpectedGrant) bool {
		return e.RoleKind == role.Kind && e.RoleName == role.Name && subjectKey(e.Subject) == subjectKey(subj)
	})
}

// roleFindings reports risky roles in their own scope.
func (a *Analyzer) roleFindings() []v1alpha1.Finding {
	var out []v1alpha1.Finding
	for _, r := range a.roles {
		if r.builtin && !a.opts.IncludeBuiltin {
			continue
		}
		for i := range r.matchesIn(a.matcher, r.ownScope()) {
			m := &r.matches[r.ownScope()][i]
			out = append(out, a.finding(m, r.ref, roleMessage(r, m)))
		}
	}
	return out
}

// matchText caches the parts of grant findings shared by every subject of
// every binding to the same role.
type matchText struct {
	match, role string
}

// grantFindings appends the grants not excluded as built-in or expected.
func (a *Analyzer) grantFindings(out []v1alpha1.Finding) []v1alpha1.Finding {
	texts := map[*Match]*matchText{}
	n := 0
	for _, g := range a.grants {
		if g.Reported {
			n++
		}
	}
	out = slices.Grow(out, n)
	for _, g := range a.grants {
		if !g.Reported {
			continue
		}
		t := texts[g.Match]
		if t == nil {
			t = &matchText{match: describeMatch(g.Match), role: describeRole(g.Binding.Role, g.Match)}
			texts[g.Match] = t
		}
		f := a.finding(g.Match, g.Binding.Ref, grantMessage(g, t))
		f.Severity = g.Severity()
		f.Remediation = text.Cut(f.Remediation+" Or remove "+describeSubject(g.Subject)+" from "+describeRef(g.Binding.Ref)+".", text.MaxField)
		out = append(out, f)
	}
	return out
}

// finding builds a finding for match m about resource res.
func (a *Analyzer) finding(m *Match, res v1alpha1.ResourceRef, msg string) v1alpha1.Finding {
	return v1alpha1.Finding{
		ID:          "rbac." + m.TemplateID,
		Category:    v1alpha1.CategoryRBAC,
		Severity:    m.Severity,
		Resource:    res,
		Message:     text.Cut(msg, text.MaxField),
		Remediation: text.Cut(a.template(m.TemplateID).Remediation, text.MaxField),
	}
}

// template returns the template with id.
func (a *Analyzer) template(id string) *Template {
	return &a.matcher.templates[a.matcher.order[id]].Template
}

func roleMessage(r *role, m *Match) string {
	bound := "It is not bound."
	if r.bindings > 0 {
		bound = fmt.Sprintf("Bound by %d binding(s).", r.bindings)
	}
	return fmt.Sprintf("%s lets its subjects %s. %s", describeRole(r.ref, m), describeMatch(m), bound)
}

func grantMessage(g *Grant, t *matchText) string {
	where := "cluster-wide"
	if g.Binding.Namespace != "" {
		where = "in namespace " + g.Binding.Namespace
	}
	who := describeSubject(g.Subject)
	if e := everyone(g.Subject); e != "" {
		who += " (" + e + ")"
	}
	return who + " can " + t.match + " " + where + ", via " + describeRef(g.Binding.Ref) + " → " + t.role + "."
}

// describeMatch renders "summary: permissions; ...".
func describeMatch(m *Match) string {
	var b strings.Builder
	b.WriteString(m.Summary)
	b.WriteString(" [")
	for i, h := range m.Held {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(strings.Join(h.Permissions, ", "))
		if h.ResourceNames != nil {
			fmt.Fprintf(&b, " (only on objects named %s)", strings.Join(h.ResourceNames, ", "))
		}
		if h.Caveat != "" {
			fmt.Fprintf(&b, " (%s)", h.Caveat)
		}
	}
	b.WriteString("]")
	if len(m.Implies) > 0 {
		fmt.Fprintf(&b, " (also covers %s)", strings.Join(m.Implies, ", "))
	}
	return b.String()
}

// describeRole names a role and, for aggregated ClusterRoles, the roles the
// matching rules come from.
func describeRole(r v1alpha1.ResourceRef, m *Match) string {
	s := describeRef(r)
	var others []string
	for _, f := range m.from() {
		if f != r.Name {
			others = append(others, f)
		}
	}
	if len(others) > 0 {
		s += " (rules aggregated from ClusterRole " + strings.Join(others, ", ") + ")"
	}
	return s
}

func describeRef(r v1alpha1.ResourceRef) string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

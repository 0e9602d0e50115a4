package rbac

import (
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/palisade-sec/palisade/api/v1alpha1"
)

// API groups the default templates name.
const (
	groupCore          = ""
	groupApps          = "apps"
	groupBatch         = "batch"
	groupRBAC          = rbacv1.GroupName
	groupCertificates  = "certificates.k8s.io"
	groupAdmissionRegn = "admissionregistration.k8s.io"
)

// Permission is one request a rule set may allow: one verb on one resource
// (optionally "resource/subresource") of one API group.
type Permission struct {
	Group    string
	Resource string
	Verb     string
	// ClusterScoped is set when the request carries no namespace (nodes,
	// clusterroles, impersonating users, ...). Rules granted through a
	// RoleBinding never allow it.
	ClusterScoped bool
	// Caveat, when set, says why obtaining the capability this way is weaker;
	// a match that relies on it is reported one severity level lower.
	Caveat string
}

// String renders the permission the way kubectl names resources:
// "create deployments.apps", "create pods/exec".
func (p Permission) String() string {
	res, sub, _ := strings.Cut(p.Resource, "/")
	if p.Group != "" && p.Group != rbacv1.APIGroupAll {
		res += "." + p.Group
	} else if p.Group == rbacv1.APIGroupAll && res != rbacv1.ResourceAll {
		res += ".*"
	}
	if sub != "" {
		res += "/" + sub
	}
	return p.Verb + " " + res
}

// rule is the permission as a single-verb, single-resource PolicyRule, the
// form validation.Covers compares.
func (p Permission) rule() rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{p.Group}, Resources: []string{p.Resource}, Verbs: []string{p.Verb}}
}

// nameable reports whether a rule restricted by resourceNames can allow the
// request at all: create of a top-level resource and deletecollection carry
// no object name, so RBAC never matches them against resourceNames.
func (p Permission) nameable() bool {
	if strings.Contains(p.Resource, "/") {
		return true
	}
	return p.Verb != "create" && p.Verb != "deletecollection"
}

// Need is one capability a template requires. It is satisfied when the rules
// allow any one of its permissions.
type Need struct {
	// Name says what the capability is, e.g. "exec into pods".
	Name  string
	AnyOf []Permission
}

// Syntax names a check on how rules are written rather than on what they
// allow.
type Syntax int

// Syntax checks.
const (
	// NoSyntax: the template is a permission template (Needs).
	NoSyntax Syntax = iota
	// WildcardVerbs matches rules with "*" in verbs.
	WildcardVerbs
	// WildcardResources matches rules with "*" in resources.
	WildcardResources
)

// Template describes a risky capability. A rule set matches when it satisfies
// every Need (permission templates) or has a rule of the given Syntax.
type Template struct {
	// ID is stable; findings use "rbac.<ID>".
	ID       string
	Severity v1alpha1.Severity
	// Summary completes "<subject> can ..." e.g. "exec into pods".
	Summary     string
	Needs       []Need
	Syntax      Syntax
	Remediation string
	// KubiScan lists the KubiScan risky-role templates this one replaces.
	KubiScan []string
}

// perm builds a namespaced permission.
func perm(group, resource, verb string) Permission {
	return Permission{Group: group, Resource: resource, Verb: verb}
}

// clusterPerm builds a permission on a cluster-scoped request.
func clusterPerm(group, resource, verb string) Permission {
	return Permission{Group: group, Resource: resource, Verb: verb, ClusterScoped: true}
}

// caveat returns p with a caveat.
func caveat(p Permission, why string) Permission {
	p.Caveat = why
	return p
}

// product returns every verb × resource permission in group, built by mk.
func product(mk func(group, resource, verb string) Permission, group string, resources, verbs []string) []Permission {
	out := make([]Permission, 0, len(resources)*len(verbs))
	for _, r := range resources {
		for _, v := range verbs {
			out = append(out, mk(group, r, v))
		}
	}
	return out
}

// need builds a Need.
func need(name string, anyOf ...Permission) Need { return Need{Name: name, AnyOf: anyOf} }

// workloads lists the pod-creating controllers by API group.
var workloads = []struct {
	group     string
	resources []string
}{
	{groupApps, []string{"deployments", "daemonsets", "statefulsets", "replicasets"}},
	{groupBatch, []string{"jobs", "cronjobs"}},
	{groupCore, []string{"replicationcontrollers"}},
}

// workloadPerms returns verbs on every workload resource, plus extra.
func workloadPerms(verbs []string, extra ...Permission) []Permission {
	var out []Permission
	for _, w := range workloads {
		out = append(out, product(perm, w.group, w.resources, verbs)...)
	}
	return append(out, extra...)
}

const websocketCaveat = "GET on this subresource opens a WebSocket session only on clusters before Kubernetes 1.35 " +
	"or with the AuthorizePodWebsocketUpgradeCreatePermission feature gate disabled"

// streamNeed is the "open a stream into a pod" capability for sub
// (exec, attach, portforward): create (SPDY and, since 1.35, WebSocket) or,
// on older clusters, get (WebSocket).
func streamNeed(name, sub string) Need {
	return need(name,
		perm(groupCore, "pods/"+sub, "create"),
		caveat(perm(groupCore, "pods/"+sub, "get"), websocketCaveat))
}

// findPodsNeed is the ability to learn pod names.
var findPodsNeed = need("find pods", perm(groupCore, "pods", "get"), perm(groupCore, "pods", "list"))

var (
	writeVerbs  = []string{"update", "patch"}
	createWrite = []string{"create", "update", "patch"}
)

// DefaultTemplates returns Palisade's risky-permission table. It starts from
// KubiScan's templates, names concrete API groups, and adds what KubiScan
// misses. Callers may modify the returned slice.
func DefaultTemplates() []Template {
	return []Template{
		{
			ID: "wildcard-all", Severity: v1alpha1.SeverityCritical,
			Summary:     "do anything to any resource (cluster-admin equivalent)",
			Needs:       []Need{need("any verb on any resource", perm(rbacv1.APIGroupAll, rbacv1.ResourceAll, rbacv1.VerbAll))},
			Remediation: "Replace the wildcard rule with the verbs and resources the subject needs; keep full access for break-glass accounts only.",
			KubiScan:    []string{"risky-any-verb"},
		},
		{
			ID: "list-secrets", Severity: v1alpha1.SeverityCritical,
			Summary:     "read every secret (including service account tokens)",
			Needs:       []Need{need("list or watch secrets", perm(groupCore, "secrets", "list"), perm(groupCore, "secrets", "watch"))},
			Remediation: "Drop list/watch on secrets; grant get on the named secrets the workload reads (resourceNames).",
			KubiScan:    []string{"risky-list-secrets", "risky-any-verb-secrets", "risky-any-resource-list"},
		},
		{
			ID: "get-secrets", Severity: v1alpha1.SeverityHigh,
			Summary:     "read any secret whose name is known",
			Needs:       []Need{need("get secrets", perm(groupCore, "secrets", "get"))},
			Remediation: "Restrict get on secrets to the names the workload needs with resourceNames.",
			KubiScan:    []string{"risky-get-secrets", "risky-any-resource-get"},
		},
		{
			ID: "impersonate-users", Severity: v1alpha1.SeverityCritical,
			Summary:     "impersonate any user",
			Needs:       []Need{need("impersonate users", clusterPerm(groupCore, "users", "impersonate"))},
			Remediation: "Remove impersonate on users, or limit it to named users with resourceNames.",
			KubiScan:    []string{"risky-any-verb-users", "risky-any-resource-impersonate"},
		},
		{
			ID: "impersonate-groups", Severity: v1alpha1.SeverityCritical,
			Summary:     "impersonate any group, including system:masters",
			Needs:       []Need{need("impersonate groups", clusterPerm(groupCore, "groups", "impersonate"))},
			Remediation: "Remove impersonate on groups, or limit it to named groups with resourceNames.",
			KubiScan:    []string{"risky-impersonate-groups", "risky-any-verb-groups"},
		},
		{
			ID: "impersonate-serviceaccounts", Severity: v1alpha1.SeverityHigh,
			Summary:     "impersonate service accounts",
			Needs:       []Need{need("impersonate serviceaccounts", perm(groupCore, "serviceaccounts", "impersonate"))},
			Remediation: "Remove impersonate on serviceaccounts, or limit it to named accounts with resourceNames.",
		},
		{
			ID: "escalate-clusterroles", Severity: v1alpha1.SeverityCritical,
			Summary: "edit ClusterRoles beyond its own permissions (escalate)",
			Needs: []Need{
				need("escalate clusterroles", clusterPerm(groupRBAC, "clusterroles", "escalate")),
				need("modify clusterroles", product(clusterPerm, groupRBAC, []string{"clusterroles"}, writeVerbs)...),
			},
			Remediation: "Remove the escalate verb; role authors should hold the permissions they grant.",
			KubiScan:    []string{"risky-any-verb-clusterroles"},
		},
		{
			ID: "escalate-roles", Severity: v1alpha1.SeverityHigh,
			Summary: "edit Roles beyond its own permissions (escalate)",
			Needs: []Need{
				need("escalate roles", perm(groupRBAC, "roles", "escalate")),
				need("modify roles", product(perm, groupRBAC, []string{"roles"}, writeVerbs)...),
			},
			Remediation: "Remove the escalate verb; role authors should hold the permissions they grant.",
			KubiScan:    []string{"risky-any-verb-roles"},
		},
		{
			ID: "bind-clusterroles-clusterwide", Severity: v1alpha1.SeverityCritical,
			Summary: "bind any ClusterRole cluster-wide, including cluster-admin",
			Needs: []Need{
				need("bind clusterroles", clusterPerm(groupRBAC, "clusterroles", "bind")),
				need("write clusterrolebindings", product(clusterPerm, groupRBAC, []string{"clusterrolebindings"}, createWrite)...),
			},
			Remediation: "Remove bind on clusterroles, or restrict it with resourceNames to the roles that may be delegated.",
			KubiScan:    []string{"risky-create-clusterrolebinding-clusterrole", "risky-any-verb-clusterrolebindings"},
		},
		{
			ID: "bind-clusterroles", Severity: v1alpha1.SeverityHigh,
			Summary: "bind any ClusterRole in a namespace, including cluster-admin",
			Needs: []Need{
				need("bind clusterroles", perm(groupRBAC, "clusterroles", "bind")),
				need("write rolebindings", product(perm, groupRBAC, []string{"rolebindings"}, createWrite)...),
			},
			Remediation: "Remove bind on clusterroles, or restrict it with resourceNames to the roles that may be delegated.",
			KubiScan:    []string{"risky-create-rolebinding-clusterrole", "risky-any-verb-rolebindings"},
		},
		{
			ID: "bind-roles", Severity: v1alpha1.SeverityHigh,
			Summary: "bind any Role of the namespace",
			Needs: []Need{
				need("bind roles", perm(groupRBAC, "roles", "bind")),
				need("write rolebindings", product(perm, groupRBAC, []string{"rolebindings"}, createWrite)...),
			},
			Remediation: "Remove bind on roles, or restrict it with resourceNames to the roles that may be delegated.",
			KubiScan:    []string{"risky-create-rolebinding-role"},
		},
		{
			ID: "nodes-proxy", Severity: v1alpha1.SeverityCritical,
			Summary: "call the kubelet API (exec into any pod on any node, unaudited)",
			Needs: []Need{need("proxy to nodes",
				clusterPerm(groupCore, "nodes/proxy", "get"), clusterPerm(groupCore, "nodes/proxy", "create"))},
			Remediation: "Remove nodes/proxy; monitoring agents should read /metrics through a dedicated metrics endpoint or nodes/metrics.",
			KubiScan:    []string{"risky-execute-command-node-proxy"},
		},
		{
			ID: "approve-csr", Severity: v1alpha1.SeverityCritical,
			Summary: "approve certificate signing requests (issue client certificates for any identity)",
			Needs: []Need{
				need("approve CSRs", clusterPerm(groupCertificates, "certificatesigningrequests/approval", "update")),
				need("approve for a signer", clusterPerm(groupCertificates, "signers", "approve")),
			},
			Remediation: "Remove CSR approval, or restrict approve on signers to a named signer with resourceNames.",
		},
		{
			ID: "mutating-webhooks", Severity: v1alpha1.SeverityCritical,
			Summary:     "register mutating admission webhooks (rewrite any object, e.g. inject containers)",
			Needs:       []Need{need("write mutatingwebhookconfigurations", product(clusterPerm, groupAdmissionRegn, []string{"mutatingwebhookconfigurations"}, createWrite)...)},
			Remediation: "Only the webhook's installer needs write access to mutatingwebhookconfigurations; remove it elsewhere.",
		},
		{
			ID: "admission-control", Severity: v1alpha1.SeverityHigh,
			Summary: "weaken admission control (edit validating webhooks or policies, delete mutating webhooks)",
			Needs: []Need{need("write admission configuration", append(product(clusterPerm, groupAdmissionRegn,
				[]string{"validatingwebhookconfigurations", "validatingadmissionpolicies", "validatingadmissionpolicybindings"},
				[]string{"create", "update", "patch", "delete"}),
				clusterPerm(groupAdmissionRegn, "mutatingwebhookconfigurations", "delete"))...)},
			Remediation: "Only the policy engine's installer needs write access to admission configuration; remove it elsewhere.",
		},
		{
			ID: "create-pods", Severity: v1alpha1.SeverityHigh,
			Summary:     "create pods (run as any service account of the namespace, mount its token)",
			Needs:       []Need{need("create pods", perm(groupCore, "pods", "create"))},
			Remediation: "Let controllers create pods; people and CI should deploy through reviewed workload manifests.",
			KubiScan:    []string{"risky-create-pod", "risky-any-verb-pods", "risky-any-resource-create"},
		},
		{
			ID: "create-workloads", Severity: v1alpha1.SeverityHigh,
			Summary:     "create pod controllers (pods run as any service account of the namespace)",
			Needs:       []Need{need("create workloads", workloadPerms([]string{"create"})...)},
			Remediation: "Limit workload creation to the deployment pipeline's service account, scoped to its namespaces.",
			KubiScan: []string{"risky-create-deployments", "risky-create-daemonsets", "risky-create-statefulsets",
				"risky-create-replicationcontrollers", "risky-create-replicasets", "risky-create-jobs",
				"risky-any-verb-deployments", "risky-any-verb-daemonsets", "risky-any-verb-statefulsets",
				"risky-any-verb-replicationcontrollers", "risky-any-verb-replicasets", "risky-any-verb-jobs",
				"risky-any-verb-cronjobs"},
		},
		{
			ID: "modify-workloads", Severity: v1alpha1.SeverityHigh,
			Summary:     "change the pod template or image of existing workloads",
			Needs:       []Need{need("update or patch workloads", workloadPerms(writeVerbs, product(perm, groupCore, []string{"pods"}, writeVerbs)...)...)},
			Remediation: "Limit update/patch on workloads to the deployment pipeline's service account.",
			KubiScan: []string{"risky-update-deployments", "risky-update-daemonsets", "risky-update-statefulsets",
				"risky-update-replicationcontrollers", "risky-update-replicasets", "risky-update-jobs"},
		},
		{
			ID: "exec-pods", Severity: v1alpha1.SeverityHigh,
			Summary:     "exec into pods (take over their service accounts)",
			Needs:       []Need{streamNeed("exec into pods", "exec"), findPodsNeed},
			Remediation: "Remove pods/exec, or restrict it to named debug pods with resourceNames; prefer ephemeral debugging with audit.",
			KubiScan:    []string{"risky-exec-pods"},
		},
		{
			ID: "attach-pods", Severity: v1alpha1.SeverityHigh,
			Summary:     "attach to running containers",
			Needs:       []Need{streamNeed("attach to pods", "attach"), findPodsNeed},
			Remediation: "Remove pods/attach, or restrict it to named pods with resourceNames.",
			KubiScan:    []string{"risky-attach-pods"},
		},
		{
			ID: "ephemeral-containers", Severity: v1alpha1.SeverityHigh,
			Summary:     "add ephemeral containers to running pods (exec with an image of its choice)",
			Needs:       []Need{need("write pods/ephemeralcontainers", product(perm, groupCore, []string{"pods/ephemeralcontainers"}, writeVerbs)...)},
			Remediation: "Grant pods/ephemeralcontainers only to on-call debugging roles, bound just in time.",
		},
		{
			ID: "create-serviceaccount-token", Severity: v1alpha1.SeverityHigh,
			Summary:     "mint tokens for service accounts (act as any of them)",
			Needs:       []Need{need("create serviceaccounts/token", perm(groupCore, "serviceaccounts/token", "create"))},
			Remediation: "Remove create on serviceaccounts/token, or restrict it to named accounts with resourceNames.",
		},
		{
			ID: "mint-token-secret", Severity: v1alpha1.SeverityHigh,
			Summary: "create service-account-token secrets and read them back (long-lived tokens for any account)",
			Needs: []Need{
				need("create secrets", perm(groupCore, "secrets", "create")),
				need("read secrets", perm(groupCore, "secrets", "get"), perm(groupCore, "secrets", "list"), perm(groupCore, "secrets", "watch")),
			},
			Remediation: "Do not combine create and read on secrets; restrict reads to named secrets.",
		},
		{
			ID: "create-persistentvolumes", Severity: v1alpha1.SeverityHigh,
			Summary:     "create PersistentVolumes (hostPath volumes give access to node files)",
			Needs:       []Need{need("create persistentvolumes", clusterPerm(groupCore, "persistentvolumes", "create"))},
			Remediation: "Let the storage provisioner create PersistentVolumes; remove the permission from other subjects.",
		},
		{
			ID: "portforward-pods", Severity: v1alpha1.SeverityMedium,
			Summary:     "port-forward into pods (bypassing NetworkPolicy)",
			Needs:       []Need{streamNeed("port-forward to pods", "portforward")},
			Remediation: "Remove pods/portforward, or restrict it to named pods with resourceNames.",
		},
		{
			ID: "modify-namespaces", Severity: v1alpha1.SeverityMedium,
			Summary:     "relabel namespaces (e.g. lift Pod Security enforcement)",
			Needs:       []Need{need("update or patch namespaces", product(clusterPerm, groupCore, []string{"namespaces"}, writeVerbs)...)},
			Remediation: "Manage namespace labels from the platform pipeline; remove update/patch on namespaces.",
		},
		{
			ID: "wildcard-verbs", Severity: v1alpha1.SeverityMedium,
			Summary:     "use a wildcard verb (includes escalate, bind, impersonate and future verbs)",
			Syntax:      WildcardVerbs,
			Remediation: "List the verbs explicitly.",
			KubiScan: []string{"risky-any-verb-secrets", "risky-any-verb-pods", "risky-any-verb-roles",
				"risky-any-verb-clusterroles", "risky-any-verb-rolebindings", "risky-any-verb-clusterrolebindings",
				"risky-any-verb-users", "risky-any-verb-groups"},
		},
		{
			ID: "wildcard-resources", Severity: v1alpha1.SeverityMedium,
			Summary:     "use a wildcard resource (includes secrets, subresources and future resources)",
			Syntax:      WildcardResources,
			Remediation: "List the resources explicitly.",
			KubiScan: []string{"risky-any-resource-delete", "risky-any-resource-create", "risky-any-resource-list",
				"risky-any-resource-get", "risky-any-resource-impersonate"},
		},
		{
			ID: "edit-bindings", Severity: v1alpha1.SeverityLow,
			Summary: "add subjects to existing bindings (only to roles it could bind anyway)",
			Needs: []Need{need("update or patch bindings", append(product(perm, groupRBAC, []string{"rolebindings"}, writeVerbs),
				product(clusterPerm, groupRBAC, []string{"clusterrolebindings"}, writeVerbs)...)...)},
			Remediation: "Manage bindings from the platform pipeline; remove update/patch on bindings.",
			KubiScan:    []string{"risky-add-rolebinding"},
		},
	}
}

// validate reports the first problem with a template table.
func validate(ts []Template) error {
	seen := make(map[string]bool, len(ts))
	for _, t := range ts {
		switch {
		case t.ID == "":
			return fmt.Errorf("template with summary %q has no ID", t.Summary)
		case seen[t.ID]:
			return fmt.Errorf("template %q is listed twice", t.ID)
		case t.Severity.Rank() > v1alpha1.SeverityInfo.Rank():
			return fmt.Errorf("template %q: unknown severity %q", t.ID, t.Severity)
		case (len(t.Needs) == 0) == (t.Syntax == NoSyntax):
			return fmt.Errorf("template %q: set either Needs or Syntax", t.ID)
		}
		for _, n := range t.Needs {
			if len(n.AnyOf) == 0 {
				return fmt.Errorf("template %q: need %q lists no permission", t.ID, n.Name)
			}
		}
		seen[t.ID] = true
	}
	return nil
}

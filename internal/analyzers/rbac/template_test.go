package rbac

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
)

const (
	core  = ""
	rbacG = rbacv1.GroupName
	certG = "certificates.k8s.io"
	admG  = "admissionregistration.k8s.io"
)

// templateCases exercise every default template: a case per template that
// matches it and near misses that must not. cluster says whether the rules
// are bound cluster-wide (ClusterRoleBinding) or in a namespace.
var templateCases = map[string]struct {
	rules   []rbacv1.PolicyRule
	cluster bool
	want    []string
}{
	"wildcard-all implies every other template": {
		rules: rules(rule("*", "*", "*")), cluster: true,
		want: []string{"wildcard-all:Critical"},
	},
	"wildcard-all through a RoleBinding": {
		rules: rules(rule("*", "*", "*")),
		want:  []string{"wildcard-all:Critical"},
	},
	"list-secrets": {
		rules: rules(rule(core, "secrets", "list")),
		want:  []string{"list-secrets:Critical"},
	},
	"watch is as good as list": {
		rules: rules(rule(core, "secrets", "watch")),
		want:  []string{"list-secrets:Critical"},
	},
	"get-secrets": {
		rules: rules(rule(core, "secrets", "get")),
		want:  []string{"get-secrets:High"},
	},
	"get-secrets on named secrets is lower": {
		rules: rules(named(rule(core, "secrets", "get"), "app-config")),
		want:  []string{"get-secrets:Medium"},
	},
	"secrets of another API group are not secrets": {
		rules: rules(rule("example.com", "secrets", "get", "list")),
		want:  []string{},
	},
	"impersonate-users": {
		rules: rules(rule(core, "users", "impersonate")), cluster: true,
		want: []string{"impersonate-users:Critical"},
	},
	"impersonating users needs a cluster-wide grant": {
		rules: rules(rule(core, "users", "impersonate")),
		want:  []string{},
	},
	"impersonate-groups": {
		rules: rules(rule(core, "groups", "impersonate")), cluster: true,
		want: []string{"impersonate-groups:Critical"},
	},
	"impersonate-serviceaccounts in a namespace": {
		rules: rules(rule(core, "serviceaccounts", "impersonate")),
		want:  []string{"impersonate-serviceaccounts:High"},
	},
	"escalate-clusterroles": {
		rules: rules(rule(rbacG, "clusterroles", "escalate", "patch")), cluster: true,
		want: []string{"escalate-clusterroles:Critical"},
	},
	"escalate without a write verb changes nothing": {
		rules: rules(rule(rbacG, "clusterroles", "escalate", "get")), cluster: true,
		want: []string{},
	},
	"escalate-roles": {
		rules: rules(rule(rbacG, "roles", "escalate"), rule(rbacG, "roles", "update")),
		want:  []string{"escalate-roles:High"},
	},
	"bind-clusterroles-clusterwide": {
		rules: rules(rule(rbacG, "clusterroles", "bind"), rule(rbacG, "clusterrolebindings", "create")), cluster: true,
		want: []string{"bind-clusterroles-clusterwide:Critical"},
	},
	"bind-clusterroles in a namespace": {
		rules: rules(rule(rbacG, "clusterroles", "bind"), rule(rbacG, "rolebindings", "create")),
		want:  []string{"bind-clusterroles:High"},
	},
	"bind limited to a named clusterrole is lower": {
		rules: rules(named(rule(rbacG, "clusterroles", "bind"), "view"), rule(rbacG, "rolebindings", "create")),
		want:  []string{"bind-clusterroles:Medium"},
	},
	"bind-roles": {
		rules: rules(rule(rbacG, "roles", "bind"), rule(rbacG, "rolebindings", "patch")),
		want:  []string{"bind-roles:High", "edit-bindings:Low"},
	},
	"bind without writing bindings grants nothing": {
		rules: rules(rule(rbacG, "roles", "bind"), rule(rbacG, "rolebindings", "get")),
		want:  []string{},
	},
	"nodes-proxy with get alone": {
		rules: rules(rule(core, "nodes/proxy", "get")), cluster: true,
		want: []string{"nodes-proxy:Critical"},
	},
	"approve-csr": {
		rules: rules(rule(certG, "certificatesigningrequests/approval", "update"), rule(certG, "signers", "approve")), cluster: true,
		want: []string{"approve-csr:Critical"},
	},
	"approve-csr for one named signer is lower": {
		rules: rules(rule(certG, "certificatesigningrequests/approval", "update"),
			named(rule(certG, "signers", "approve"), "example.com/internal")), cluster: true,
		want: []string{"approve-csr:High"},
	},
	"mutating-webhooks": {
		rules: rules(rule(admG, "mutatingwebhookconfigurations", "patch")), cluster: true,
		want: []string{"mutating-webhooks:Critical"},
	},
	"admission-control": {
		rules: rules(rule(admG, "validatingwebhookconfigurations", "delete")), cluster: true,
		want: []string{"admission-control:High"},
	},
	"create-pods": {
		rules: rules(rule(core, "pods", "create")),
		want:  []string{"create-pods:High"},
	},
	"create restricted by resourceNames never allows creating pods": {
		rules: rules(named(rule(core, "pods", "create"), "debug")),
		want:  []string{},
	},
	"create-workloads": {
		rules: rules(rule("batch", "cronjobs", "create")),
		want:  []string{"create-workloads:High"},
	},
	"deployments of the removed extensions group are not workloads": {
		rules: rules(rule("extensions", "deployments", "create", "update")),
		want:  []string{},
	},
	"modify-workloads": {
		rules: rules(rule("apps", "deployments", "patch")),
		want:  []string{"modify-workloads:High"},
	},
	"exec-pods": {
		rules: rules(rule(core, "pods/exec", "create"), rule(core, "pods", "get")),
		want:  []string{"exec-pods:High"},
	},
	"exec-pods through get on the WebSocket path is lower": {
		rules: rules(rule(core, "pods/exec", "get"), rule(core, "pods", "list")),
		want:  []string{"exec-pods:Medium"},
	},
	"exec-pods into named pods is lower": {
		rules: rules(named(rule(core, "pods/exec", "create"), "debug"), rule(core, "pods", "get")),
		want:  []string{"exec-pods:Medium"},
	},
	"an unrestricted alternative beats a named one": {
		rules: rules(rule(core, "pods/exec", "create"), named(rule(core, "pods", "get"), "web-0"), rule(core, "pods", "list")),
		want:  []string{"exec-pods:High"},
	},
	"attach-pods": {
		rules: rules(rule(core, "pods/attach", "create"), rule(core, "pods", "get")),
		want:  []string{"attach-pods:High"},
	},
	"ephemeral-containers": {
		rules: rules(rule(core, "pods/ephemeralcontainers", "patch")),
		want:  []string{"ephemeral-containers:High"},
	},
	"create-serviceaccount-token": {
		rules: rules(rule(core, "serviceaccounts/token", "create")),
		want:  []string{"create-serviceaccount-token:High"},
	},
	"create-serviceaccount-token for a named account is lower": {
		rules: rules(named(rule(core, "serviceaccounts/token", "create"), "builder")),
		want:  []string{"create-serviceaccount-token:Medium"},
	},
	"mint-token-secret": {
		rules: rules(rule(core, "secrets", "create", "get")),
		want:  []string{"get-secrets:High", "mint-token-secret:High"},
	},
	"create-persistentvolumes": {
		rules: rules(rule(core, "persistentvolumes", "create")), cluster: true,
		want: []string{"create-persistentvolumes:High"},
	},
	"portforward-pods": {
		rules: rules(rule(core, "pods/portforward", "create")),
		want:  []string{"portforward-pods:Medium"},
	},
	"modify-namespaces": {
		rules: rules(rule(core, "namespaces", "patch")), cluster: true,
		want: []string{"modify-namespaces:Medium"},
	},
	"wildcard-verbs": {
		rules: rules(rule(core, "configmaps", "*")),
		want:  []string{"wildcard-verbs:Medium"},
	},
	"wildcard-resources": {
		rules: rules(rule("monitoring.coreos.com", "*", "get")),
		want:  []string{"wildcard-resources:Medium"},
	},
	"edit-bindings": {
		rules: rules(rule(rbacG, "rolebindings", "get", "patch")),
		want:  []string{"edit-bindings:Low"},
	},
	"read-only rules": {
		rules: rules(rule(core, "configmaps", "get", "list", "watch"), rule("apps", "deployments", "get", "list")),
		want:  []string{},
	},
	"any verb on pods": {
		rules: rules(rule(core, "pods", "*")),
		want:  []string{"create-pods:High", "modify-workloads:High", "wildcard-verbs:Medium"},
	},
	"a read-only wildcard still reads secrets and opens WebSocket streams": {
		rules: rules(rule(core, "*", "get", "list", "watch")),
		want: []string{"list-secrets:Critical", "get-secrets:High", "exec-pods:Medium", "attach-pods:Medium",
			"portforward-pods:Low", "wildcard-resources:Medium"},
	},
	"*/subresource covers every resource's subresource": {
		rules: rules(rule(core, "*/exec", "create"), rule(core, "pods", "list")),
		want:  []string{"exec-pods:High"},
	},
	"rules split over several entries combine": {
		rules: rules(rule(rbacG, "clusterroles", "escalate"), rule(rbacG, "clusterroles", "get"), rule("*", "clusterroles", "update")), cluster: true,
		want: []string{"escalate-clusterroles:Critical"},
	},
}

func TestTemplates(t *testing.T) {
	for name, tc := range templateCases {
		t.Run(name, func(t *testing.T) {
			got := matchSummary(evaluate(t, tc.rules, tc.cluster))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("matches (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEveryTemplateHasACase fails when a default template has no matching
// case in templateCases.
func TestEveryTemplateHasACase(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range templateCases {
		for _, w := range tc.want {
			id, _, _ := strings.Cut(w, ":")
			covered[id] = true
		}
	}
	for _, tpl := range DefaultTemplates() {
		if !covered[tpl.ID] {
			t.Errorf("template %q has no matching case", tpl.ID)
		}
	}
}

func TestMatchDetails(t *testing.T) {
	ms := evaluate(t, rules(named(rule(core, "pods/exec", "create", "get"), "debug-a", "debug-b"), rule(core, "pods", "get", "list")), false)
	want := []Match{{
		TemplateID: "exec-pods", Severity: "Medium", Summary: "exec into pods (take over their service accounts)",
		Held: []Held{
			{Need: "exec into pods", Permissions: []string{"create pods/exec"}, ResourceNames: []string{"debug-a", "debug-b"}, From: []string{"r"}},
			{Need: "find pods", Permissions: []string{"get pods", "list pods"}, From: []string{"r"}},
		},
	}}
	if diff := cmp.Diff(want, ms); diff != "" {
		t.Errorf("matches (-want +got):\n%s", diff)
	}
}

func TestImpliesIsReportedOnTheSurvivor(t *testing.T) {
	ms := evaluate(t, rules(rule("*", "*", "*")), true)
	if len(ms) != 1 {
		t.Fatalf("got %d matches, want 1", len(ms))
	}
	if got, want := len(ms[0].Implies), len(DefaultTemplates())-1; got != want {
		t.Errorf("wildcard-all implies %d templates, want %d: %v", got, want, ms[0].Implies)
	}
}

// TestOnlyDirectMatchesImply: a covering template matched only on named
// objects does not hide what it covers.
func TestOnlyDirectMatchesImply(t *testing.T) {
	ts := []Template{
		{ID: "broad", Severity: "High", Needs: []Need{need("get pods", perm(core, "pods", "get"))}},
		{ID: "narrow", Severity: "Medium", Needs: []Need{need("get pods", perm(core, "pods", "get"))}},
	}
	m, err := newMatcher(ts)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		rules []rbacv1.PolicyRule
		want  []string
	}{
		"direct":  {rules(rule(core, "pods", "get")), []string{"broad:High"}},
		"lowered": {rules(named(rule(core, "pods", "get"), "web-0")), []string{"broad:Medium", "narrow:Low"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, matchSummary(m.match(ownRules("r", tc.rules), false))); diff != "" {
				t.Errorf("matches (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := Template{ID: "a", Severity: "High", Needs: []Need{need("x", perm(core, "pods", "get"))}}
	tests := map[string]struct {
		ts      []Template
		wantErr string
	}{
		"default table":    {ts: DefaultTemplates()},
		"duplicate ID":     {ts: []Template{ok, ok}, wantErr: "listed twice"},
		"missing ID":       {ts: []Template{{Severity: "High", Syntax: WildcardVerbs}}, wantErr: "no ID"},
		"bad severity":     {ts: []Template{{ID: "a", Severity: "Severe", Syntax: WildcardVerbs}}, wantErr: "unknown severity"},
		"needs and syntax": {ts: []Template{{ID: "a", Severity: "High", Syntax: WildcardVerbs, Needs: ok.Needs}}, wantErr: "either"},
		"empty need":       {ts: []Template{{ID: "a", Severity: "High", Needs: []Need{{Name: "x"}}}}, wantErr: "no permission"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := validate(tc.ts)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("validate() = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestPermissionString(t *testing.T) {
	tests := map[Permission]string{
		perm(core, "pods/exec", "create"):                            "create pods/exec",
		perm("apps", "deployments", "patch"):                         "patch deployments.apps",
		perm(certG, "certificatesigningrequests/approval", "update"): "update certificatesigningrequests.certificates.k8s.io/approval",
		perm("*", "*", "*"):                                          "* *",
		perm("*", "secrets", "get"):                                  "get secrets.*",
	}
	for p, want := range tests {
		if got := p.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", p, got, want)
		}
	}
}

// TestDocListsEveryTemplate keeps the severity table in doc.go in step with
// DefaultTemplates.
func TestDocListsEveryTemplate(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, tpl := range DefaultTemplates() {
		row := regexp.MustCompile(`(?m)^//\s+` + regexp.QuoteMeta(tpl.ID) + `\s+` + string(tpl.Severity) + `\s`)
		if !row.Match(doc) {
			t.Errorf("doc.go has no row %q %s", tpl.ID, tpl.Severity)
		}
	}
}

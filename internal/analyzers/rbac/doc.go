// Package rbac finds risky RBAC permissions: the roles that grant them, the
// subjects bound to those roles (with the scope of each grant), and the pods
// that carry such a subject's token.
//
// It replaces KubiScan's string matching with Kubernetes' own semantics:
// every permission of a template is checked with
// k8s.io/component-helpers/auth/rbac/validation.Covers, so wildcards, API
// groups, "*/subresource" and resourceNames behave as in the RBAC
// authorizer, and each permission must be granted by a real rule (two
// "create pods/exec" rules never satisfy "create pods/exec + get pods").
// Beyond Covers, the analyzer knows that:
//
//   - a RoleBinding never grants cluster-scoped requests (nodes/proxy,
//     impersonating users, editing ClusterRoles...), even when it refers to a
//     ClusterRole that lists them;
//   - rules limited by resourceNames never allow create (of a top-level
//     resource) or deletecollection, and otherwise allow only the named
//     objects: such matches are reported one severity level lower and list
//     the names;
//   - some ways to a capability depend on the cluster version (GET on
//     pods/exec opens a WebSocket session only before Kubernetes 1.35): those
//     are caveats, also one level lower;
//   - aggregated ClusterRoles (aggregationRule) hold the rules of the
//     ClusterRoles their selectors match, recursively; findings name the role
//     a rule comes from;
//   - a ServiceAccount subject without a namespace means the binding's
//     namespace; a User "system:serviceaccount:<ns>:<name>" is that service
//     account; a service account also holds what its groups
//     (system:serviceaccounts, system:serviceaccounts:<ns>,
//     system:authenticated) are granted.
//
// # Use
//
//	a, err := rbac.New(rbac.Input{Roles: ..., ClusterRoles: ..., RoleBindings: ..., ClusterRoleBindings: ...}, rbac.Options{})
//	findings := a.Findings()     // roles, then bindings
//	for i := range pods {        // one at a time, e.g. page by page
//		findings = append(findings, a.Pod(&pods[i])...)
//	}
//
// New compiles everything but the pods; Pod keeps one small entry per service
// account it has seen. The structured results are RiskyRoles, Grants and
// PodRisk. Output order depends only on the input's content, not its order.
//
// # Findings
//
// One finding per risky role and template ("rbac.<template>", resource: the
// Role or ClusterRole), one per binding, subject and template
// ("rbac.<template>", resource: the binding; the message names the subject,
// the scope and the chain binding → role → aggregated source), and one per
// risky pod ("rbac.risky-pod", resource: the Pod, severity: the highest
// grant's). When a template matches directly and covers another (wildcard-all
// covers every template), only the covering one is reported and its message
// says what else it covers.
//
// Built-in roles and bindings (name prefix "system:", label
// kubernetes.io/bootstrapping=rbac-defaults, the ClusterRoles cluster-admin,
// admin, edit and view) and the expected grant cluster-admin → Group
// system:masters are not reported unless Options.IncludeBuiltin is set;
// Options.Expected lists more expected grants. A user's binding to a
// built-in role is reported. Pods are judged on every binding, built-in ones
// included.
//
// # Severities
//
// Template severities (C = needs a ClusterRoleBinding; "|" = any of;
// "+" = all of):
//
//	ID                             Severity  Permissions
//	wildcard-all                   Critical  * on * in *
//	list-secrets                   Critical  list|watch secrets
//	get-secrets                    High      get secrets
//	impersonate-users              Critical  impersonate users (C)
//	impersonate-groups             Critical  impersonate groups (C)
//	impersonate-serviceaccounts    High      impersonate serviceaccounts
//	escalate-clusterroles          Critical  escalate + update|patch clusterroles (C)
//	escalate-roles                 High      escalate + update|patch roles
//	bind-clusterroles-clusterwide  Critical  bind clusterroles + create|update|patch clusterrolebindings (C)
//	bind-clusterroles              High      bind clusterroles + create|update|patch rolebindings
//	bind-roles                     High      bind roles + create|update|patch rolebindings
//	nodes-proxy                    Critical  get|create nodes/proxy (C)
//	approve-csr                    Critical  update certificatesigningrequests/approval + approve signers (C)
//	mutating-webhooks              Critical  create|update|patch mutatingwebhookconfigurations (C)
//	admission-control              High      write validating webhooks/admission policies and bindings, delete mutating webhooks (C)
//	create-pods                    High      create pods
//	create-workloads               High      create deployments|daemonsets|statefulsets|replicasets (apps), jobs|cronjobs (batch), replicationcontrollers
//	modify-workloads               High      update|patch on the same, or on pods
//	exec-pods                      High      create pods/exec (or get, WebSocket caveat) + get|list pods
//	attach-pods                    High      create pods/attach (or get, WebSocket caveat) + get|list pods
//	ephemeral-containers           High      update|patch pods/ephemeralcontainers
//	create-serviceaccount-token    High      create serviceaccounts/token
//	mint-token-secret              High      create secrets + get|list|watch secrets
//	create-persistentvolumes       High      create persistentvolumes (C)
//	portforward-pods               Medium    create pods/portforward (or get, WebSocket caveat)
//	modify-namespaces              Medium    update|patch namespaces (C)
//	wildcard-verbs                 Medium    a rule with verbs ["*"]
//	wildcard-resources             Medium    a rule with resources ["*"]
//	edit-bindings                  Low       update|patch rolebindings, clusterrolebindings (C)
//	risky-pod (rbac.risky-pod)     highest of the pod's service account grants
//
// Adjustments: one level lower (not below Low) when a need is met only on
// named objects or only through a caveat; one level higher (up to Critical)
// for a grant to system:authenticated, system:unauthenticated,
// system:anonymous or system:serviceaccounts.
package rbac

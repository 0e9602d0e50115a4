// Package coverage measures how well NetworkPolicies cover the pods of the
// namespaces in scope.
//
// It follows the API's semantics: a pod is isolated for ingress (egress) when
// some policy of its namespace selects it and has that policy type;
// spec.policyTypes defaults to Ingress, plus Egress when the policy has
// egress rules. A default-deny policy selects every pod (podSelector: {}) and
// has the policy type but no rule for it. hostNetwork pods are outside
// NetworkPolicy: they are counted and reported once per namespace, never as
// unisolated. Pods that have completed (Succeeded, Failed) are skipped.
//
// # Use
//
//	a := coverage.New(namespaces, policies, coverage.Options{})
//	for i := range pods { // one at a time, e.g. page by page
//		a.Pod(&pods[i])
//	}
//	findings := a.Findings()
//
// or coverage.Analyze(namespaces, policies, pods, opts). Namespaces and
// Policies return the structured results. The analyzer keeps counters and,
// per namespace, at most Options.MaxNames workload names, never the pods.
// Output order depends only on the input's content.
//
// # Grouping
//
// Unisolated pods are reported as one finding per namespace and direction,
// listing the first MaxNames workloads by name (a pod's controller, a
// Deployment for pods of its ReplicaSets, or the pod itself) with their pod
// counts. The fix is per namespace (a default-deny policy) or per workload (a
// policy selecting its labels), never per pod, and this keeps the number of
// findings at most a few per namespace however many replicas run.
//
// # Findings and severities
//
//	ID                                Severity  Resource       When
//	netpol.no-default-deny-ingress    Medium    Namespace      no default-deny ingress policy
//	netpol.no-default-deny-egress     Low       Namespace      no default-deny egress policy
//	netpol.pods-not-isolated-ingress  Medium    Namespace      pods no ingress policy selects
//	netpol.pods-not-isolated-egress   Low       Namespace      pods no egress policy selects
//	netpol.host-network-pods          Info      Namespace      hostNetwork pods, outside NetworkPolicy
//	netpol.policy-selects-no-pod      Low       NetworkPolicy  a non-empty podSelector selects no pod
//	                                                           (or only hostNetwork pods, or is invalid)
//	netpol.broad-ingress              High      NetworkPolicy  a rule admits a wide peer on any port
//	                                  Medium                   a wide peer on named ports
//	                                  Low                      a narrow peer on any port
//	netpol.broad-egress               Medium / Low / Info      the same, for egress rules
//
// A wide peer is: no peer at all (everything), namespaceSelector: {} (every
// namespace), or ipBlock 0.0.0.0/0 or ::/0. Any port is: no ports, or a port
// entry without a port number. A policy gets one broad finding per direction,
// at the severity of its broadest rule, listing the rules.
package coverage

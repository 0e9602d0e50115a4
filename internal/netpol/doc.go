// Package netpol computes what Kubernetes NetworkPolicies (networking.k8s.io/v1)
// say about a connection, offline, from Namespaces, Pods and NetworkPolicies.
//
// An [Engine] is built once with [New], which applies the API server's
// defaulting to the policies, rejects what the API server's validation would
// reject, and compiles every selector against the pods. [Engine.Check] then
// answers one [Query] with a [Verdict] that explains itself, and
// [Engine.Matrix] fills a truth table of every pod pair.
//
// Semantics, as the Kubernetes documentation and the upstream e2e suite
// (test/e2e/network/netpol) define them:
//
//   - A connection is allowed when the source's egress and the destination's
//     ingress both allow it. A pod that no policy selects for a direction is
//     not isolated in that direction.
//   - Within a peer, namespaceSelector and podSelector are ANDed; separate
//     peers are ORed. A peer without namespaceSelector means the policy's own
//     namespace; an empty namespaceSelector means every namespace.
//   - Named ports resolve on the destination pod, for the rule's protocol.
//   - ipBlock peers match pod IPs as well as addresses outside the cluster;
//     when only an ipBlock allows a pod-to-pod connection the verdict carries
//     a caveat, since some CNIs (Cilium among them) never match pod IPs there.
//   - hostNetwork pods are not subject to policies and are not matched by
//     pod or namespace selectors: they are treated as their node's IP.
//   - A pod connecting to itself, or a pod reached from its own node, gets
//     [Unspecified]: CNIs disagree, so no verdict is asserted.
//
// AdminNetworkPolicy and BaselineAdminNetworkPolicy are not evaluated.
package netpol

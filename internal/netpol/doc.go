// Package netpol computes what Kubernetes NetworkPolicies (networking.k8s.io/v1)
// and the cluster-wide policies of sigs.k8s.io/network-policy-api
// (policy.networking.k8s.io) say about a connection, offline, from
// Namespaces, Pods and policies.
//
// An [Engine] is built once with [New] (NetworkPolicies only) or
// [NewWithClusterPolicies], which apply the API server's defaulting to the
// policies, reject what the API server's validation (or the CRDs' schema
// and validation rules) would reject, and compile every selector against
// the pods. [Engine.Check] then answers one [Query] with a [Verdict] that
// explains itself, and [Engine.Matrix] fills a truth table of every pod
// pair.
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
// Cluster-wide policies ([ClusterPolicies]: AdminNetworkPolicy and
// BaselineAdminNetworkPolicy of v1alpha1, ClusterNetworkPolicy of v1beta1)
// decide each direction in tiers, for the endpoint whose policies govern it
// (never an address outside the cluster or a hostNetwork pod):
//
//   - Admin tier: AdminNetworkPolicies and ClusterNetworkPolicies of tier
//     Admin whose subject selects the pod, by priority (lowest first), each
//     policy's rules of the direction in order. The first rule whose peers
//     and ports match decides: Allow (or Accept) allows, whatever
//     NetworkPolicies say; Deny denies; Pass skips the rest of the tier.
//     When policies of one priority have matching rules with different
//     actions, implementations may apply either: the direction is
//     [Unspecified].
//   - NetworkPolicy tier: if some NetworkPolicy isolates the pod, it
//     decides, as above.
//   - Baseline tier, for a pod no NetworkPolicy isolates: the
//     BaselineAdminNetworkPolicy (first, when there are baseline
//     ClusterNetworkPolicies too: no API orders them), then
//     ClusterNetworkPolicies of tier Baseline by priority; the first
//     matching rule decides, and a Pass ends the tier.
//   - What no tier decides is allowed.
//
// Peers of cluster-wide rules: namespaces and pods peers match pods as
// selectors do (never hostNetwork pods); networks match any address, pod
// IPs included; a nodes peer matches node addresses (hostNetwork pods and
// pods' hostIPs), but the engine has no node labels, so unless its selector
// selects every node it cannot tell; a domainNames peer can match only an
// address outside the cluster, and the engine resolves no names. When a
// rule the engine cannot judge could decide a direction, the direction is
// [Unspecified], and so is the connection unless the other direction denies
// it: the engine never guesses.
package netpol

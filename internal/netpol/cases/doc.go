// Package cases derives probe cases from NetworkPolicies: connections a
// PolicyProbe's probe pods try, each with the verdict the netpol engine
// computes for it.
//
// For every policy in scope and every direction it governs, [Generate]
// writes positive cases (a peer a rule admits, on each port the rule
// admits) and negative cases (a peer no rule admits; an admitted peer on a
// port outside the admitted ones, or on any port for a policy without
// rules). The intent of a case is only how it was chosen: its Expected
// verdict comes from the engine, with every policy applied (a positive
// ingress case is Deny when the source's egress is isolated, for example).
//
// Sources and destinations are identities, a namespace and labels (and,
// for a destination, named container ports), that the controller
// materialises as probe pods: one client pod per source identity, one
// server pod per destination identity. They come from the pods in scope
// (keeping only the label keys some policy's pod selector mentions, which
// selects exactly the same) and, where no such pod exists, from the
// selectors themselves. Expected verdicts are computed by an engine
// rebuilt with the in-scope namespaces and policies, the cluster-wide
// policies of the engine given (no case is derived from those), and one
// hypothetical pod per identity and role (client or server), carrying the
// identity's labels and [Options.ProbeLabels], at placeholder addresses: inside
// [Options.ClusterNetworks] when given, else in 240.0.0.0/4 and 100::/64
// (reserved and discard-only space).
//
// A peer whose namespaceSelector matches no namespace in scope gets no
// positive case, unless [Options.TemporaryNamespaces] is set: then the
// generator makes up a namespace the selector matches (labels satisfying
// it, a name derived from them, "palisade-tmp-" and a hash) and places the
// peer's probe pods there, for that peer's cases only; the engine has the
// namespace too, so their verdicts are computed like every other.
// [Plan.TemporaryNamespaces] lists those the cases use, for the controller
// to create.
//
// Addresses are the one thing the probe pods' labels do not fix: their IPs
// are known only once they run. A pod-to-pod case whose verdict could
// depend on them, because an ipBlock that may hold pod addresses is all
// that could admit the connection, is left out with a note (give
// [Options.ClusterNetworks] to narrow "may"). Destinations outside the
// cluster are only ever the addresses given in [Options.ExternalAddresses]:
// the generator never invents one, so probes never go to an address nobody
// chose. Sources outside the cluster (ingress ipBlock peers) cannot be
// probe pods and get no cases. SCTP is not probed.
package cases

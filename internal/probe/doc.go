// Package probe tries connections for real, for `palisade probe serve` and
// `palisade probe connect`: the probe server and client pods a PolicyProbe
// launches to compare what NetworkPolicies and Istio mTLS should allow with
// what the network does.
//
// # Server
//
// [Serve] listens on TCP and UDP ports. A TCP connection is accepted, sent
// the banner "palisade-probe\n" and closed; a UDP datagram is echoed back to
// its sender. A health port answers HTTP:
//
//	GET /started  200 once every probe port listens (for a startupProbe)
//	GET /ready    503, always (for a readinessProbe)
//
// Since the health listener is opened only after every probe port is bound,
// a startupProbe on /started tells the kubelet, and through the pod's
// status.containerStatuses[].started the controller, that the server
// listens. A readinessProbe on /ready never succeeds, so a probe server that
// carries a Service's labels never receives the Service's traffic.
//
// # Client
//
// [Connect] tries every [Target] concurrently, with a bounded number of
// workers, and classifies each attempt as an [Outcome]:
//
//   - tcp: the handshake completes: [Connected]; a RST or an ICMP port
//     unreachable: [Refused]; no answer within the attempt timeout:
//     [Timeout]; anything else: [Error] with a short reason.
//   - udp: a datagram is sent (again every third of the timeout) on a
//     connected socket and an answer awaited. Any answer: [Connected]; an
//     ICMP port unreachable, which Linux reports as ECONNREFUSED on a
//     connected UDP socket: [Refused]; silence: [Timeout]. A UDP Timeout is
//     ambiguous: a policy dropping the datagram, a lost datagram and a
//     server that never answers all look the same. Only against a server
//     known to echo (a Palisade probe server) does it mean "blocked".
//   - http: a plaintext "GET / HTTP/1.1" is sent, for mTLS. Any HTTP status
//     line in reply: [PlaintextAccepted] (whatever the status: a 400 from an
//     application behind a PERMISSIVE sidecar still means plaintext got
//     through), or any other reply that is not TLS (an application that does
//     not speak HTTP answered in plaintext); a reset, the connection closed
//     before any reply, or a TLS
//     record in reply: [PlaintextRejected], which is what a sidecar in
//     STRICT mode does. A bare TCP connect proves nothing under Istio (the
//     sidecar accepts it), so http never counts one as a result.
//
// What the outcomes mean for a NetworkPolicy verdict is for the caller to
// say: Connected is allowed, Timeout is blocked, and Refused from a Palisade
// server known to listen is blocked by a CNI that rejects (kube-router sends
// ICMP port unreachable for denied connections).
//
// # Termination message
//
// [Encode] writes outcomes in a line format that fits a pod's termination
// message, which the kubelet caps at [MaxMessageSize] bytes; [Split] tells
// how many client pods a list of targets needs so that each message fits,
// and [Decode] reads a message back, strictly. See [Encode] for the format.
package probe

// Package benchmark turns the CIS benchmark results of many nodes into one
// compact summary and into findings.
//
// A SecurityScan runs a kube-bench Job on every node; the controller reads
// each Job's log, parses it with kubebench.Parse and hands Aggregate one
// NodeResult per node, with the report or the reason there is none.
//
// # Summary
//
// Most nodes of a pool fail the same checks, so Aggregate lists each check
// that failed or warned anywhere once, identified by benchmark and number
// ("cis-1.12", "4.2.1"), with how many nodes it failed and warned on and the
// first few of them by name. A check that failed on one node and warned on
// another is a FAIL; its example nodes are the failing ones. Checks are
// ordered scored FAIL, unscored FAIL, WARN, then by number part by part
// (1.2.9 before 1.2.10). Beside them, Aggregate gives one line per node:
// role, benchmark, counts by status and the node's status (Error when it has
// no report, else Fail, Warn or Pass by its worst check).
//
// # Size
//
// The summary must stay small however many nodes there are: it goes into
// the operator's own objects, and etcd refuses objects over 1.5 MiB.
//
//   - Strings are cut, in bytes and at a UTF-8 boundary: check text, actual
//     value and reasons to 256, remediation to 1 KiB (Finding's limit),
//     benchmark names to 64, check numbers to 32, node names to 253.
//   - Each check lists at most Options.ExampleNodes nodes (default 5); the
//     counts cover the rest.
//   - The node list keeps Options.MaxNodes entries (default 500), the worst
//     first: nodes with no report, then failing, warning and passing ones,
//     each by name. NodeCounts counts all nodes by status and NodesOmitted
//     says how many were left out. Per-node detail beyond that adds little:
//     which checks fail where is already in the check list, and a node left
//     out is one whose status is shared by hundreds of others. Keeping every
//     node, even with short fields, grows without bound (about 150 bytes a
//     node, over 700 KiB for 5,000 nodes).
//   - The check list keeps Options.MaxChecks entries (default 300), the
//     most severe first, and ChecksOmitted counts the rest. A CIS benchmark
//     has about 130 checks, so real clusters, with one or two benchmarks,
//     stay under it; it bounds what corrupt or hostile logs can add.
//
// For 5,000 nodes in two pools with varied failures the JSON summary is
// about 190 KiB: 80 KiB of nodes, 110 KiB of checks (TestAggregateManyNodes).
// Whatever the logs say, the defaults bound its strings to about 1.4 MB
// (500 nodes of at most 0.7 KB, 300 checks of at most 3.4 KB), before JSON
// escaping.
//
// # Findings
//
// Summary.Findings makes one v1alpha1.Finding per listed check, in category
// Benchmark, with the ID "cis.<benchmark>.<number>" (e.g.
// "cis.cis-1.12.4.2.1"), about the Node first listed for it, with a message
// that gives the check's title and how many nodes it failed or warned on.
// Severities:
//
//	Status  Scored  Severity
//	FAIL    yes     High
//	FAIL    no      Medium
//	WARN    any     Low
//
// kube-bench v0.15.6 itself makes unscored checks WARN rather than FAIL, so
// Medium is for other producers of its format. PASS and INFO (skipped)
// checks make no finding. Nodes without a report make none either: the
// caller reports them as a partly failed analyzer.
package benchmark

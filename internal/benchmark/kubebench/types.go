// Package kubebench decodes the output of `kube-bench run --json` (checked
// against kube-bench v0.15.6) as it appears in a kube-bench Job's pod log.
//
// kube-bench prints its report on stdout as a single line of JSON, either an
// object {"Controls": [...], "Totals": {...}} or, with --nototals, the bare
// array of Controls. Its warnings (glog, on stderr) come before that line in
// `kubectl logs`. Parse finds the report among them, decodes it and checks
// that it is one.
package kubebench

import "iter"

// NodeType names a kube-bench target, the node_type of a Controls.
type NodeType string

// The targets kube-bench runs (its --targets flag).
const (
	TargetMaster          NodeType = "master"
	TargetControlPlane    NodeType = "controlplane"
	TargetEtcd            NodeType = "etcd"
	TargetNode            NodeType = "node"
	TargetPolicies        NodeType = "policies"
	TargetManagedServices NodeType = "managedservices"
)

// Status is the outcome of one check.
type Status string

// The statuses kube-bench gives a check. A scored check that fails, or
// whose audit cannot run, is a FAIL; an unscored one a WARN. Manual checks
// are WARN too, and skipped ones INFO.
const (
	StatusPass Status = "PASS"
	StatusFail Status = "FAIL"
	StatusWarn Status = "WARN"
	StatusInfo Status = "INFO"
)

// Valid tells whether s is one of the four statuses kube-bench gives.
func (s Status) Valid() bool {
	switch s {
	case StatusPass, StatusFail, StatusWarn, StatusInfo:
		return true
	}
	return false
}

// Report is one decoded kube-bench run.
type Report struct {
	// Controls holds one entry per target kube-bench ran, in its order.
	Controls []Controls
}

// Checks yields every check with the target it belongs to, in kube-bench's
// order.
func (r *Report) Checks() iter.Seq2[*Controls, *Check] {
	return func(yield func(*Controls, *Check) bool) {
		for i := range r.Controls {
			c := &r.Controls[i]
			for j := range c.Groups {
				for k := range c.Groups[j].Checks {
					if !yield(c, &c.Groups[j].Checks[k]) {
						return
					}
				}
			}
		}
	}
}

// Counts adds up the checks of every target by status.
func (r *Report) Counts() Counts {
	var n Counts
	for i := range r.Controls {
		n = n.Plus(r.Controls[i].Counts())
	}
	return n
}

// Controls is the result of one target (master, node, ...) of a benchmark.
type Controls struct {
	// ID is the benchmark's section number of the target, e.g. "1" for
	// master or "4" for node in the CIS benchmarks.
	ID string `json:"id"`
	// Version is the benchmark that ran, as kube-bench's --benchmark flag
	// names it: "cis-1.12", "gke-1.6.0", "eks-1.5.0", ...
	Version string `json:"version"`
	// DetectedVersion is the Kubernetes version kube-bench detected, "none"
	// when it could not tell.
	DetectedVersion string `json:"detected_version,omitempty"`
	// Text is the target's title, e.g. "Worker Node Security Configuration".
	Text string `json:"text"`
	// NodeType is the target.
	NodeType NodeType `json:"node_type"`
	// Groups are the target's sections.
	Groups []Group `json:"tests"`
	// TotalPass, TotalFail, TotalWarn and TotalInfo are the counts as
	// kube-bench printed them. Counts recounts them from the results.
	TotalPass int `json:"total_pass"`
	TotalFail int `json:"total_fail"`
	TotalWarn int `json:"total_warn"`
	TotalInfo int `json:"total_info"`
}

// Counts counts the target's checks by status.
func (c *Controls) Counts() Counts {
	var n Counts
	for i := range c.Groups {
		for j := range c.Groups[i].Checks {
			n.Add(c.Groups[i].Checks[j].Status)
		}
	}
	return n
}

// Group is a section of a benchmark, e.g. "4.1 Worker Node Configuration
// Files".
type Group struct {
	// ID is the section number, e.g. "4.1".
	ID string `json:"section"`
	// Type is "skip" for a section skipped as a whole, otherwise empty.
	Type string `json:"type"`
	// Pass, Fail, Warn and Info count the section's checks as kube-bench
	// printed them.
	Pass int `json:"pass"`
	Fail int `json:"fail"`
	Warn int `json:"warn"`
	Info int `json:"info"`
	// Text is the section's title.
	Text string `json:"desc"`
	// Checks are the section's results.
	Checks []Check `json:"results"`
}

// Check is the result of one check. kube-bench gives AuditEnv, AuditConfig
// and IsMultiple no JSON tags, so they keep their Go names in the JSON.
type Check struct {
	// Number is the check's number in the benchmark, e.g. "4.1.1".
	Number string `json:"test_number"`
	// Text is the check's title, ending in "(Automated)" or "(Manual)".
	Text string `json:"test_desc"`
	// Audit is the shell command that collected ActualValue.
	Audit       string `json:"audit"`
	AuditEnv    string `json:"AuditEnv"`
	AuditConfig string `json:"AuditConfig"`
	// Type is "manual" or "skip" for checks kube-bench does not run.
	Type string `json:"type"`
	// Remediation says how to fix a failure.
	Remediation string `json:"remediation"`
	// TestInfo repeats Remediation.
	TestInfo []string `json:"test_info"`
	// Status is the outcome.
	Status Status `json:"status"`
	// ActualValue is what the audit command printed.
	ActualValue string `json:"actual_value"`
	// Scored tells whether the check counts towards the benchmark's score.
	Scored     bool `json:"scored"`
	IsMultiple bool `json:"IsMultiple"`
	// ExpectedResult describes a passing ActualValue.
	ExpectedResult string `json:"expected_result"`
	// Reason says why the check could not be evaluated, e.g. the audit
	// command failed.
	Reason string `json:"reason,omitempty"`
}

// Counts counts checks by status.
type Counts struct {
	Pass int `json:"pass"`
	Fail int `json:"fail"`
	Warn int `json:"warn"`
	Info int `json:"info"`
}

// Add counts one check of status s; it ignores unknown statuses, which
// Parse rejects.
func (n *Counts) Add(s Status) {
	switch s {
	case StatusPass:
		n.Pass++
	case StatusFail:
		n.Fail++
	case StatusWarn:
		n.Warn++
	case StatusInfo:
		n.Info++
	}
}

// Plus returns the sum of n and m.
func (n Counts) Plus(m Counts) Counts {
	return Counts{Pass: n.Pass + m.Pass, Fail: n.Fail + m.Fail, Warn: n.Warn + m.Warn, Info: n.Info + m.Info}
}

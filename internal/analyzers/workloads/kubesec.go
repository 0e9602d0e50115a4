package workloads

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/palisade-sec/palisade/api/v1alpha1"
)

// KubesecResult is one object's entry in the JSON array `kubesec scan`
// prints, field for field.
type KubesecResult struct {
	// Object is "Kind/name.namespace"; the namespace is "default" when
	// empty and the name "undefined".
	Object string `json:"object"`
	// Valid is false when the document could not be read as an object.
	Valid bool `json:"valid"`
	// FileName is the file the object was read from, "STDIN" for standard
	// input. Analyze leaves it empty.
	FileName string `json:"fileName"`
	// Message is "Passed with a score of N points", "Failed with a score of
	// N points", or why the object was not scored.
	Message string `json:"message,omitempty"`
	// Score is the sum of the points of the rules the object matches.
	Score int `json:"score"`
	// Scoring lists the rules by outcome.
	Scoring KubesecScoring `json:"scoring"`
}

// KubesecScoring sorts kubesec's rules by outcome. Each list is in
// kubesec's order: positive rules by points descending, negative rules
// most negative first, then by selector.
type KubesecScoring struct {
	// Critical are the matched rules that cost points.
	Critical []KubesecRule `json:"critical,omitempty"`
	// Passed are the matched rules that earn points.
	Passed []KubesecRule `json:"passed,omitempty"`
	// Advise are the rules that would earn points but did not match.
	Advise []KubesecRule `json:"advise,omitempty"`
}

// KubesecRule names a kubesec rule as kubesec prints it.
type KubesecRule struct {
	ID       string `json:"id"`
	Selector string `json:"selector"`
	Reason   string `json:"reason"`
	Points   int    `json:"points"`
}

// kubesecUnsupported is kubesec's message for a kind it has no rules for.
const kubesecUnsupported = "This resource kind is not supported by kubesec"

// UnsupportedKubesecResult is kubesec's entry for an object of a kind it
// has no rules for: valid, unscored, with a message saying so.
func UnsupportedKubesecResult(ref v1alpha1.ResourceRef) KubesecResult {
	return KubesecResult{Object: kubesecObject(ref), Valid: true, Message: kubesecUnsupported}
}

// kubesecObject names ref the way kubesec does.
func kubesecObject(ref v1alpha1.ResourceRef) string {
	if ref.Kind == "" {
		return "Unknown"
	}
	name, namespace := cmp.Or(ref.Name, "undefined"), cmp.Or(ref.Namespace, "default")
	return ref.Kind + "/" + name + "." + namespace
}

// scoreKubesec applies every rule to p. It returns kubesec's result and a
// finding for each matched negative rule and, with advice, each unmatched
// positive rule.
func scoreKubesec(ref v1alpha1.ResourceRef, p *podTemplate, advice bool) (KubesecResult, []v1alpha1.Finding) {
	res := KubesecResult{Object: kubesecObject(ref), Valid: true}
	var findings []v1alpha1.Finding
	for i := range rules {
		r := &rules[i]
		if r.statefulSetOnly && !p.statefulSet {
			continue
		}
		matched := r.test.matches(p)
		switch {
		case matched && r.ref.Points < 0:
			res.Score += r.ref.Points
			res.Scoring.Critical = append(res.Scoring.Critical, r.ref)
			findings = append(findings, r.finding(ref, p, true))
		case matched:
			res.Score += r.ref.Points
			res.Scoring.Passed = append(res.Scoring.Passed, r.ref)
		case r.ref.Points >= 0:
			res.Scoring.Advise = append(res.Scoring.Advise, r.ref)
			if advice {
				findings = append(findings, r.finding(ref, p, false))
			}
		}
	}
	res.Message = scoreMessage(res.Score)
	return res, findings
}

func scoreMessage(score int) string {
	if score >= 0 {
		return fmt.Sprintf("Passed with a score of %d points", score)
	}
	return fmt.Sprintf("Failed with a score of %d points", score)
}

// kubesecOrder is the order kubesec lists rules in: by points, positive
// ones first and largest first, negative ones most negative first; then by
// selector.
func kubesecOrder(a, b KubesecRule) int {
	if a.Points != b.Points {
		if a.Points > 0 || b.Points > 0 {
			return cmp.Compare(b.Points, a.Points)
		}
		return cmp.Compare(a.Points, b.Points)
	}
	return strings.Compare(a.Selector, b.Selector)
}

// finding reports r on p: for a matched negative rule (matched true) it
// names the parts of p that match; for an unmatched positive rule, the parts
// that miss it.
func (r *rule) finding(ref v1alpha1.ResourceRef, p *podTemplate, matched bool) v1alpha1.Finding {
	subjects := r.test.describe(p, matched)
	if len(subjects) == 0 {
		subjects = []string{"pod spec"}
	}
	msg := strings.Join(subjects, ", ") + ": " + r.condition + ". " + sentence(r.ref.Reason)
	return v1alpha1.Finding{
		ID:          "kubesec." + r.ref.ID,
		Category:    v1alpha1.CategoryWorkload,
		Severity:    r.severity(),
		Resource:    ref,
		Message:     truncate(msg, maxMessageLen),
		Remediation: r.remediation,
	}
}

// severity maps r's points (and advise weight) to a severity; doc.go has
// the table.
func (r *rule) severity() v1alpha1.Severity {
	switch points := r.ref.Points; {
	case points <= -30:
		return v1alpha1.SeverityCritical
	case points <= -7:
		return v1alpha1.SeverityHigh
	case points < 0:
		return v1alpha1.SeverityMedium
	case r.advise > 0:
		return v1alpha1.SeverityLow
	}
	return v1alpha1.SeverityInfo
}

// sentence ends s with a period.
func sentence(s string) string {
	if strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}

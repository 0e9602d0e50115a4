package workloads

import (
	"cmp"
	"strconv"
	"strings"

	"github.com/palisade-sec/palisade/api/v1alpha1"

	"github.com/palisade-sec/palisade/internal/text"
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

// ruleOutcome is where a rule lands for one pod template.
type ruleOutcome uint8

const (
	// ruleNotApplicable: the rule is for another kind.
	ruleNotApplicable ruleOutcome = iota
	// ruleCritical: a negative rule matched.
	ruleCritical
	// rulePassed: a positive rule matched.
	rulePassed
	// ruleAdvise: a positive rule did not match.
	ruleAdvise
	// ruleClean: a negative rule did not match; kubesec does not list it.
	ruleClean
)

// kubesecScore is the outcome of every rule on one pod template.
type kubesecScore struct {
	result KubesecResult
	// outcomes are by index into rules.
	outcomes []ruleOutcome
	counts   [ruleClean + 1]int
}

// scoreKubesec applies every rule to p.
func scoreKubesec(ref v1alpha1.ResourceRef, p *podTemplate) kubesecScore {
	s := kubesecScore{outcomes: make([]ruleOutcome, len(rules))}
	for i := range rules {
		o := rules[i].outcome(p)
		s.outcomes[i] = o
		s.counts[o]++
	}
	// One backing array for the three lists, each with its exact capacity.
	nc, np, na := s.counts[ruleCritical], s.counts[rulePassed], s.counts[ruleAdvise]
	refs := make([]KubesecRule, nc+np+na)
	scoring := KubesecScoring{
		Critical: refs[0:0:nc],
		Passed:   refs[nc : nc : nc+np],
		Advise:   refs[nc+np : nc+np : nc+np+na],
	}
	score := 0
	for i, o := range s.outcomes {
		r := &rules[i]
		switch o {
		case ruleCritical:
			score += r.ref.Points
			scoring.Critical = append(scoring.Critical, r.ref)
		case rulePassed:
			score += r.ref.Points
			scoring.Passed = append(scoring.Passed, r.ref)
		case ruleAdvise:
			scoring.Advise = append(scoring.Advise, r.ref)
		}
	}
	s.result = KubesecResult{
		Object:  kubesecObject(ref),
		Valid:   true,
		Message: scoreMessage(score),
		Score:   score,
		Scoring: scoring,
	}
	return s
}

// findingCount is the number of findings appendFindings adds.
func (s *kubesecScore) findingCount(advice bool) int {
	if advice {
		return s.counts[ruleCritical] + s.counts[ruleAdvise]
	}
	return s.counts[ruleCritical]
}

// appendFindings adds a finding for each matched negative rule and, with
// advice, each unmatched positive rule.
func (s *kubesecScore) appendFindings(dst []v1alpha1.Finding, ref v1alpha1.ResourceRef, p *podTemplate, advice bool) []v1alpha1.Finding {
	for i, o := range s.outcomes {
		if o == ruleCritical || (advice && o == ruleAdvise) {
			dst = append(dst, rules[i].finding(ref, p, o == ruleCritical))
		}
	}
	return dst
}

// outcome applies r to p.
func (r *rule) outcome(p *podTemplate) ruleOutcome {
	switch {
	case r.statefulSetOnly && !p.statefulSet:
		return ruleNotApplicable
	case r.test.matches(p):
		if r.ref.Points < 0 {
			return ruleCritical
		}
		return rulePassed
	case r.ref.Points < 0:
		return ruleClean
	}
	return ruleAdvise
}

func scoreMessage(score int) string {
	if score >= 0 {
		return "Passed with a score of " + strconv.Itoa(score) + " points"
	}
	return "Failed with a score of " + strconv.Itoa(score) + " points"
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
	var buf [512]byte // most messages fit; string(msg) copies it
	msg := r.test.appendSubjects(buf[:0], p, matched)
	if len(msg) == 0 {
		msg = append(msg, "pod spec"...)
	}
	msg = append(msg, r.messageTail...)
	return v1alpha1.Finding{
		ID:          r.findingID,
		Category:    v1alpha1.CategoryWorkload,
		Severity:    r.severity,
		Resource:    ref,
		Message:     text.Cut(string(msg), maxMessageLen),
		Remediation: r.remediation,
	}
}

// severityFor maps a rule's points and advise weight to a severity; doc.go
// has the table.
func severityFor(points, advise int) v1alpha1.Severity {
	switch {
	case points <= -30:
		return v1alpha1.SeverityCritical
	case points <= -7:
		return v1alpha1.SeverityHigh
	case points < 0:
		return v1alpha1.SeverityMedium
	case advise > 0:
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

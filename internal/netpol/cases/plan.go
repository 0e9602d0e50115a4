package cases

import (
	"fmt"

	"github.com/palisade-sec/palisade/internal/netpol"
)

// maxNotes caps Plan.Notes.
const maxNotes = 50

func (g *generator) plan() *Plan {
	kept := balance(g.cases, g.opts.MaxCases)
	notes := sortedKeys(g.notes)
	if len(notes) > maxNotes {
		notes = append(notes[:maxNotes-1], fmt.Sprintf("... and %d more notes", len(notes)-maxNotes+1))
	}
	return &Plan{Cases: kept, Dropped: len(g.cases) - len(kept), Notes: notes, TemporaryNamespaces: g.universe.temporaryNamespaces(kept)}
}

// balance keeps up to limit cases, taking in turn from four groups
// (ingress Allow, ingress Deny, egress Allow, egress Deny) and, within a
// group, in turn from each policy, so that no direction, verdict or policy
// crowds out the others. The cases kept stay in their order.
func balance(cases []Case, limit int) []Case {
	if len(cases) <= limit {
		return cases
	}
	var groups [4]roundRobin
	for i, c := range cases {
		g := int(c.Direction) * 2
		if c.Expected == netpol.Deny {
			g++
		}
		groups[g].add(c.Policy, i)
	}
	keep := make([]bool, len(cases))
	for n := 0; n < limit; {
		progress := false
		for g := range groups {
			if i, ok := groups[g].take(); ok && n < limit {
				keep[i], progress = true, true
				n++
			}
		}
		if !progress {
			break
		}
	}
	out := make([]Case, 0, limit)
	for i, c := range cases {
		if keep[i] {
			out = append(out, c)
		}
	}
	return out
}

// roundRobin hands out indexes queued per policy, one policy at a time.
type roundRobin struct {
	policies []string
	queues   map[string][]int
	next     int
}

func (r *roundRobin) add(policy string, i int) {
	if r.queues == nil {
		r.queues = map[string][]int{}
	}
	if _, ok := r.queues[policy]; !ok {
		r.policies = append(r.policies, policy)
	}
	r.queues[policy] = append(r.queues[policy], i)
}

func (r *roundRobin) take() (int, bool) {
	for range r.policies {
		p := r.policies[r.next]
		r.next = (r.next + 1) % len(r.policies)
		if q := r.queues[p]; len(q) > 0 {
			r.queues[p] = q[1:]
			return q[0], true
		}
	}
	return 0, false
}

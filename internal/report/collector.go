// Package report builds the results of a run: it counts every finding and
// keeps only the most severe ones, so a report stays small however large the
// cluster is.
package report

import (
	"container/heap"
	"sort"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
)

// Collector counts findings by severity and keeps the max most severe ones.
// Memory is bounded by max, not by the number of findings added.
type Collector struct {
	max        int
	counts     securityv1alpha1.SeverityCounts
	byCategory map[string]securityv1alpha1.SeverityCounts
	kept       findingHeap
	seq        int
}

// NewCollector keeps at most max findings.
func NewCollector(max int) *Collector {
	if max < 0 {
		max = 0
	}
	return &Collector{max: max}
}

// Add counts f and keeps it if it is among the max most severe so far.
// Among equally severe findings, the ones added first are kept.
func (c *Collector) Add(f securityv1alpha1.Finding) {
	c.counts.Add(f.Severity)
	if c.byCategory == nil {
		c.byCategory = map[string]securityv1alpha1.SeverityCounts{}
	}
	cat := c.byCategory[f.Category]
	cat.Add(f.Severity)
	c.byCategory[f.Category] = cat
	c.seq++
	if c.max == 0 {
		return
	}
	e := entry{f: f, seq: c.seq}
	if len(c.kept) < c.max {
		heap.Push(&c.kept, e)
		return
	}
	if worse(c.kept[0], e) {
		c.kept[0] = e
		heap.Fix(&c.kept, 0)
	}
}

// Counts returns the counts of every finding added.
func (c *Collector) Counts() securityv1alpha1.SeverityCounts { return c.counts }

// ByCategory returns the counts of every finding added, per category.
func (c *Collector) ByCategory() map[string]securityv1alpha1.SeverityCounts { return c.byCategory }

// Omitted is how many findings were counted but not kept.
func (c *Collector) Omitted() int32 { return c.counts.Total() - int32(len(c.kept)) }

// Findings returns the kept findings, most severe first, then by category,
// resource and ID, so that a report reads the same from run to run.
func (c *Collector) Findings() []securityv1alpha1.Finding {
	out := make([]securityv1alpha1.Finding, len(c.kept))
	for i, e := range c.kept {
		out[i] = e.f
	}
	Sort(out)
	return out
}

// Sort orders findings most severe first, then by category, resource and ID.
func Sort(fs []securityv1alpha1.Finding) {
	sort.SliceStable(fs, func(i, j int) bool { return less(fs[i], fs[j]) })
}

func less(a, b securityv1alpha1.Finding) bool {
	if ra, rb := a.Severity.Rank(), b.Severity.Rank(); ra != rb {
		return ra < rb
	}
	if a.Category != b.Category {
		return a.Category < b.Category
	}
	if a.Resource.Namespace != b.Resource.Namespace {
		return a.Resource.Namespace < b.Resource.Namespace
	}
	if a.Resource.Kind != b.Resource.Kind {
		return a.Resource.Kind < b.Resource.Kind
	}
	if a.Resource.Name != b.Resource.Name {
		return a.Resource.Name < b.Resource.Name
	}
	return a.ID < b.ID
}

type entry struct {
	f   securityv1alpha1.Finding
	seq int
}

// worse reports whether a ranks below b: less severe, or as severe and
// added later.
func worse(a, b entry) bool {
	ra, rb := a.f.Severity.Rank(), b.f.Severity.Rank()
	if ra != rb {
		return ra > rb
	}
	return a.seq > b.seq
}

// findingHeap is a min-heap on severity: its root is the finding to drop
// first.
type findingHeap []entry

func (h findingHeap) Len() int           { return len(h) }
func (h findingHeap) Less(i, j int) bool { return worse(h[i], h[j]) }
func (h findingHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *findingHeap) Push(x any)        { *h = append(*h, x.(entry)) }
func (h *findingHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

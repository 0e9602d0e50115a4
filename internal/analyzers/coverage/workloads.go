package coverage

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/palisade-sec/palisade/internal/kube"
	"github.com/palisade-sec/palisade/internal/text"
)

// workloadOf names the workload a pod belongs to, e.g. "Deployment web".
func workloadOf(pod *corev1.Pod) string {
	kind, name := kube.WorkloadOf(pod)
	return kind + " " + name
}

// workloadSet counts pods and remembers the pod counts of the first max
// workload names in sorted order. The result does not depend on the order
// pods arrive in, and memory stays bounded: a name evicted once can never
// return, because the largest kept name only decreases, so every kept count
// is exact.
type workloadSet struct {
	max   int
	pods  int
	names []string
	count []int
	// more is set when some workload is not listed.
	more bool
}

func (s *workloadSet) add(name string) {
	s.pods++
	i, found := slices.BinarySearch(s.names, name)
	switch {
	case found:
		s.count[i]++
		return
	case i == s.max:
		s.more = true
		return
	case len(s.names) == s.max:
		s.names, s.count = s.names[:s.max-1], s.count[:s.max-1]
		s.more = true
	}
	s.names = slices.Insert(s.names, i, name)
	s.count = slices.Insert(s.count, i, 1)
}

// String lists the workloads: "Deployment web (3 pods), Pod debug (1 pod)".
func (s *workloadSet) String() string {
	parts := make([]string, len(s.names))
	for i, n := range s.names {
		parts[i] = fmt.Sprintf("%s (%d %s)", n, s.count[i], text.Plural(s.count[i], "pod", "pods"))
	}
	out := strings.Join(parts, ", ")
	if s.more {
		out += ", and more"
	}
	return out
}

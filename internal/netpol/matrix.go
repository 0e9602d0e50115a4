package netpol

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	corev1 "k8s.io/api/core/v1"
)

// MatrixOptions chooses a matrix's pods and connections.
type MatrixOptions struct {
	// Namespaces limits sources and destinations to pods of these
	// namespaces; empty means every namespace.
	Namespaces []string
	Ports      []int32
	// Protocols default to TCP.
	Protocols []corev1.Protocol
}

// Matrix is the truth table of every pod pair in scope, one table per port
// and protocol.
type Matrix struct {
	// Pods are the sources and destinations, by namespace/name.
	Pods   []string `json:"pods"`
	Tables []Table  `json:"tables"`
	// Skipped are the pods in scope left out, with the reason.
	Skipped []SkippedPod `json:"skipped,omitempty"`
}

// Table is the matrix for one port and protocol.
type Table struct {
	Port     int32           `json:"port"`
	Protocol corev1.Protocol `json:"protocol"`
	// Verdicts[i][j] is the result from Pods[i] to Pods[j]. Each pair uses
	// the IP family Check would: the destination's primary one if the
	// source has it; a pair without a common family gets Unspecified.
	Verdicts    [][]Result `json:"verdicts"`
	Allowed     int        `json:"allowed"`
	Denied      int        `json:"denied"`
	Unspecified int        `json:"unspecified"`
}

// SkippedPod is a pod left out of a matrix.
type SkippedPod struct {
	Pod    string `json:"pod"`
	Reason string `json:"reason"`
}

// Matrix judges every pair of pods in scope, for every port and protocol.
func (e *Engine) Matrix(opts MatrixOptions) (*Matrix, error) {
	protocols := opts.Protocols
	if len(protocols) == 0 {
		protocols = []corev1.Protocol{corev1.ProtocolTCP}
	}
	if len(opts.Ports) == 0 {
		return nil, fmt.Errorf("a matrix needs at least one port")
	}
	pods, m, err := e.matrixPods(opts.Namespaces)
	if err != nil {
		return nil, err
	}
	for _, protocol := range protocols {
		for _, port := range opts.Ports {
			if err := checkPort(port, protocol); err != nil {
				return nil, err
			}
			m.Tables = append(m.Tables, table(pods, port, protocol))
		}
	}
	return m, nil
}

func (e *Engine) matrixPods(namespaces []string) ([]*Pod, *Matrix, error) {
	for _, ns := range namespaces {
		if !slices.ContainsFunc(e.pods, func(p *Pod) bool { return p.Namespace == ns }) {
			return nil, nil, fmt.Errorf("no pod in namespace %s", ns)
		}
	}
	m := &Matrix{Pods: []string{}}
	var pods []*Pod
	for _, p := range e.pods {
		switch {
		case len(namespaces) > 0 && !slices.Contains(namespaces, p.Namespace):
		case p.Skipped != "":
			m.Skipped = append(m.Skipped, SkippedPod{Pod: p.Key(), Reason: p.Skipped})
		default:
			pods = append(pods, p)
			m.Pods = append(m.Pods, p.Key())
		}
	}
	return pods, m, nil
}

func table(pods []*Pod, port int32, protocol corev1.Protocol) Table {
	t := Table{Port: port, Protocol: protocol, Verdicts: make([][]Result, len(pods))}
	cells := make([]Result, len(pods)*len(pods))
	c := conn{port: port, protocol: protocol}
	for i, src := range pods {
		row := cells[i*len(pods) : (i+1)*len(pods)]
		c.src.pod = src
		for j, dst := range pods {
			family, ok := commonFamily(src, dst)
			if !ok {
				row[j] = Unspecified
				continue
			}
			c.src.ip, _ = src.IP(family)
			c.dst = endpoint{pod: dst}
			c.dst.ip, _ = dst.IP(family)
			row[j] = c.result()
		}
		t.Verdicts[i] = row
	}
	for _, r := range cells {
		switch r {
		case Allow:
			t.Allowed++
		case Deny:
			t.Denied++
		default:
			t.Unspecified++
		}
	}
	return t
}

// marks are the truth-table symbols, as in the upstream e2e suite.
var marks = [...]string{Allow: ".", Deny: "X", Unspecified: "-"}

// WriteText renders each table with sources as rows and destinations as
// columns: "." allowed, "X" denied, "-" unspecified.
func (m *Matrix) WriteText(w io.Writer) error {
	var b strings.Builder
	for i := range m.Tables {
		if i > 0 {
			b.WriteString("\n")
		}
		if err := m.writeTable(&b, &m.Tables[i]); err != nil {
			return err
		}
	}
	if len(m.Skipped) > 0 {
		b.WriteString("\n")
	}
	for _, s := range m.Skipped {
		fmt.Fprintf(&b, "skipped %s: it %s\n", s.Pod, s.Reason)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (m *Matrix) writeTable(w io.Writer, t *Table) error {
	fmt.Fprintf(w, "port %d/%s: %d allowed, %d denied, %d unspecified (rows: from, columns: to; . allow, X deny, - unspecified)\n",
		t.Port, t.Protocol, t.Allowed, t.Denied, t.Unspecified)
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintf(tw, "-\t%s\n", strings.Join(m.Pods, "\t"))
	for i, from := range m.Pods {
		row := make([]string, len(t.Verdicts[i]))
		for j, r := range t.Verdicts[i] {
			row[j] = marks[r]
		}
		fmt.Fprintf(tw, "%s\t%s\n", from, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

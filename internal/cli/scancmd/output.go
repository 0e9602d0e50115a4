package scancmd

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/palisade-sec/palisade/api/v1alpha1"
)

// write prints rep in format: table (the default), json or kubesec.
func write(stdout, stderr io.Writer, format string, rep *Report) error {
	switch format {
	case "json":
		return rep.WriteJSON(stdout)
	case "kubesec":
		return rep.WriteKubesec(stdout)
	}
	return writeTable(stdout, stderr, rep)
}

// WriteJSON prints the report in Palisade's JSON shape (`palisade scan -o
// json`).
func (r *Report) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

// WriteKubesec prints the report as `kubesec scan` does (`palisade scan -o
// kubesec`): see Kubesec.
func (r *Report) WriteKubesec(w io.Writer) error { return writeJSON(w, r.Kubesec()) }

// writeJSON prints v indented by two spaces, as kubesec does.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeTable prints the findings, the objects' scores, the analyzers and a
// summary line to stdout, and what was not scored to stderr.
func writeTable(stdout, stderr io.Writer, rep *Report) error {
	for _, o := range rep.Objects {
		switch o.Status {
		case statusUnsupported:
			fmt.Fprintf(stderr, "skipped %s: %s\n", o.Source, o.Error)
		case statusInvalid:
			fmt.Fprintf(stderr, "invalid %s: %s\n", o.Source, o.Error)
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	if len(rep.Findings) > 0 {
		fmt.Fprintln(tw, "SEVERITY\tRESOURCE\tID\tMESSAGE")
		for _, f := range rep.Findings {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Severity, resourceName(f.Resource), f.ID, f.Message)
		}
		fmt.Fprintln(tw)
	}
	scored := 0
	for _, o := range rep.Objects {
		if o.Score == nil {
			continue
		}
		if scored == 0 {
			fmt.Fprintln(tw, "RESOURCE\tSCORE\tPOD SECURITY LEVEL")
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\n", resourceName(*o.Resource), *o.Score, o.PodSecurityLevel)
		scored++
	}
	if scored > 0 {
		fmt.Fprintln(tw)
	}
	writeAnalyzers(tw, rep.Analyzers)
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(stdout, rep.summaryLine(scored))
	return err
}

// writeAnalyzers prints a row per analyzer that ran.
func writeAnalyzers(w io.Writer, analyzers []v1alpha1.AnalyzerResult) {
	if len(analyzers) == 0 {
		return
	}
	fmt.Fprintln(w, "ANALYZER\tPHASE\tRESOURCES\tFINDINGS")
	for _, a := range analyzers {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\n", a.Name, a.Phase, a.Resources, a.Findings)
	}
	fmt.Fprintln(w)
}

// resourceName is "Kind namespace/name", or "Kind name" without a
// namespace.
func resourceName(r v1alpha1.ResourceRef) string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// summaryLine is e.g. "3 findings (1 critical, 2 high, 0 medium, 0 low, 0
// info) in 2 workloads and 5 other objects; 4 owned, 1 unsupported, 1
// invalid".
func (r *Report) summaryLine(scored int) string {
	s := r.Summary
	line := fmt.Sprintf("%d %s (%d critical, %d high, %d medium, %d low, %d info) in %d %s",
		s.Total, plural(int(s.Total), "finding"), s.Critical, s.High, s.Medium, s.Low, s.Info, scored, plural(scored, "workload"))
	if n := r.count(statusAnalyzed); n > 0 {
		line += fmt.Sprintf(" and %d other %s", n, plural(n, "object"))
	}
	var skipped []string
	for _, status := range []string{statusOwned, statusUnsupported, statusInvalid} {
		if n := r.count(status); n > 0 {
			skipped = append(skipped, fmt.Sprintf("%d %s", n, status))
		}
	}
	if len(skipped) > 0 {
		line += "; " + strings.Join(skipped, ", ")
	}
	return line
}

func (r *Report) count(status string) int {
	n := 0
	for _, o := range r.Objects {
		if o.Status == status {
			n++
		}
	}
	return n
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

package scancmd

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/analyzers/workloads"
)

// write prints rep in format: table (the default), json or kubesec.
func write(stdout, stderr io.Writer, format string, rep *report) error {
	switch format {
	case "json":
		return writeJSON(stdout, rep)
	case "kubesec":
		entries := make([]workloads.KubesecResult, len(rep.Objects))
		for i, o := range rep.Objects {
			entries[i] = o.kubesec
		}
		return writeJSON(stdout, entries)
	}
	return writeTable(stdout, stderr, rep)
}

// writeJSON prints v indented by two spaces, as kubesec does.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeTable prints the findings, the objects' scores and a summary line
// to stdout, and what was not scored to stderr.
func writeTable(stdout, stderr io.Writer, rep *report) error {
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
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(stdout, rep.summaryLine(scored))
	return err
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
// info) in 2 workloads; 1 unsupported, 1 invalid".
func (r *report) summaryLine(scored int) string {
	s := r.Summary
	line := fmt.Sprintf("%d %s (%d critical, %d high, %d medium, %d low, %d info) in %d %s",
		s.Total, plural(int(s.Total), "finding"), s.Critical, s.High, s.Medium, s.Low, s.Info, scored, plural(scored, "workload"))
	var skipped []string
	for _, status := range []string{statusUnsupported, statusInvalid} {
		if n := r.count(status); n > 0 {
			skipped = append(skipped, fmt.Sprintf("%d %s", n, status))
		}
	}
	if len(skipped) > 0 {
		line += "; " + strings.Join(skipped, ", ")
	}
	return line
}

func (r *report) count(status string) int {
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

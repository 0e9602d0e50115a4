package probepods

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
)

// Labels and annotations of probe pods, besides securityv1alpha1's
// LabelManagedBy, LabelProbe and LabelReport.
const (
	// LabelProbeNamespace is the namespace of the PolicyProbe a pod belongs
	// to: probe pods live in the namespaces they probe, so the PolicyProbe's
	// name alone does not tell whose they are.
	LabelProbeNamespace = "security.palisade.dev/probe-namespace"
	// AnnotationProbe is the PolicyProbe's name, in full.
	AnnotationProbe = "security.palisade.dev/probe"
	// AnnotationReport is the report's name, in full.
	AnnotationReport = "security.palisade.dev/report"
	// AnnotationReportUID is the report's UID: pods of an earlier report of
	// the same name are not this run's.
	AnnotationReportUID = "security.palisade.dev/report-uid"
	// AnnotationRole is "server" or "client". It is an annotation, not a
	// label, so that every probe pod carries the same labels besides its
	// identity's, as case generation assumes.
	AnnotationRole = "security.palisade.dev/probe-role"
)

// Roles.
const (
	RoleServer = "server"
	RoleClient = "client"
)

// maxName is the longest pod name made: a DNS label, so that it also
// serves as a hostname.
const maxName = 63

// identityKey renders a namespace, labels and named ports in a stable form.
func identityKey(ns string, labels map[string]string, ports []securityv1alpha1.ProbeNamedPort) string {
	var b strings.Builder
	b.WriteString(ns)
	b.WriteString("/{")
	for i, k := range slices.Sorted(maps.Keys(labels)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + labels[k])
	}
	b.WriteByte('}')
	for _, p := range ports {
		fmt.Fprintf(&b, " %s=%d/%s", p.Name, p.Port, p.Protocol)
	}
	return b.String()
}

func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// podName is report-suffix, the report's name shortened with a hash when
// the whole would exceed 63 characters.
func podName(report, suffix string) string {
	if len(report)+1+len(suffix) <= maxName {
		return report + "-" + suffix
	}
	keep := maxName - len(suffix) - 1 - 7
	return strings.TrimRight(report[:keep], "-.") + "-" + shortHash(report, 6) + "-" + suffix
}

// serverName names the server pod of a destination identity.
func serverName(report, key string) string { return podName(report, "s-"+shortHash(key, 8)) }

// clientName names the group-th client pod of a source identity.
func clientName(report, key string, group int) string {
	return podName(report, fmt.Sprintf("c-%s-%d", shortHash(key, 8), group))
}

// IdentityString renders an endpoint for messages: "ns/{k=v}", or its
// address.
func IdentityString(e securityv1alpha1.ProbeEndpoint) string {
	switch {
	case e.Workload != "":
		return e.Namespace + "/" + e.Workload + " at " + e.IP
	case e.IP != "":
		return e.IP
	case e.Host != "":
		return e.Host
	}
	return identityKey(e.Namespace, e.PodLabels, nil)
}

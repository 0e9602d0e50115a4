package rbac

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/palisade-sec/palisade/api/v1alpha1"

	"github.com/palisade-sec/palisade/internal/text"
)

// RiskyPodID is the finding ID for pods whose mounted token carries risky
// permissions.
const RiskyPodID = "rbac.risky-pod"

// PodRisk is a pod that mounts the token of a service account holding risky
// permissions.
type PodRisk struct {
	Pod            v1alpha1.ResourceRef
	ServiceAccount string
	// TokenMount says how the token reaches the pod.
	TokenMount string
	// Severity is the highest of the grants'.
	Severity v1alpha1.Severity
	// Grants holds one grant per template and scope, most severe first.
	Grants []*Grant
}

// account caches what a service account holds.
type account struct {
	grants   []*Grant
	severity v1alpha1.Severity
	summary  string
}

// PodRisk reports whether pod runs with a mounted token of a service account
// holding a risky permission, through any binding (built-in ones included).
// Pods that have completed are not at risk.
func (a *Analyzer) PodRisk(pod *corev1.Pod) (PodRisk, bool) {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return PodRisk{}, false
	}
	name := serviceAccountName(pod)
	acct := a.account(pod.Namespace, name)
	if len(acct.grants) == 0 {
		return PodRisk{}, false
	}
	mount := tokenMount(pod, a.automount[pod.Namespace+"/"+name])
	if mount == "" {
		return PodRisk{}, false
	}
	return PodRisk{
		Pod:            v1alpha1.ResourceRef{APIVersion: "v1", Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name},
		ServiceAccount: name,
		TokenMount:     mount,
		Severity:       acct.severity,
		Grants:         acct.grants,
	}, true
}

// Pod returns at most one finding for pod: the risky permissions its mounted
// service account token carries. Feed pods one at a time after New; the
// analyzer keeps one small entry per service account seen, never the pods.
func (a *Analyzer) Pod(pod *corev1.Pod) []v1alpha1.Finding {
	risk, ok := a.PodRisk(pod)
	if !ok {
		return nil
	}
	acct := a.account(pod.Namespace, risk.ServiceAccount)
	return []v1alpha1.Finding{{
		ID:       RiskyPodID,
		Category: v1alpha1.CategoryRBAC,
		Severity: risk.Severity,
		Resource: risk.Pod,
		Message: text.Cut(fmt.Sprintf("Pod %s/%s runs as ServiceAccount %s/%s with its API token mounted (%s); the account can %s",
			pod.Namespace, pod.Name, pod.Namespace, risk.ServiceAccount, risk.TokenMount, acct.summary), text.MaxField),
		Remediation: "Set automountServiceAccountToken: false on the pod or its ServiceAccount if it does not call the " +
			"Kubernetes API; otherwise run it as a dedicated ServiceAccount without these permissions.",
	}}
}

// account returns the cached grants of a service account.
func (a *Analyzer) account(namespace, name string) *account {
	key := namespace + "/" + name
	if acct, ok := a.accounts[key]; ok {
		return acct
	}
	acct := &account{grants: a.serviceAccountGrants(namespace, name)}
	if len(acct.grants) > 0 {
		acct.severity = acct.grants[0].Severity()
		acct.summary = summarizeGrants(acct.grants)
	}
	a.accounts[key] = acct
	return acct
}

// serviceAccountGrants collects the grants that apply to a service account,
// directly or through its groups, keeping one per template and scope.
func (a *Analyzer) serviceAccountGrants(namespace, name string) []*Grant {
	var out []*Grant
	seen := map[string]bool{}
	for _, key := range serviceAccountPrincipals(namespace, name) {
		for _, g := range a.bySubject[key] {
			k := g.Match.TemplateID + "\x00" + g.Binding.Namespace
			if !seen[k] {
				seen[k] = true
				out = append(out, g)
			}
		}
	}
	slices.SortStableFunc(out, func(x, y *Grant) int {
		return cmp.Or(cmp.Compare(x.Severity().Rank(), y.Severity().Rank()),
			cmp.Compare(a.matcher.order[x.Match.TemplateID], a.matcher.order[y.Match.TemplateID]),
			cmp.Compare(x.Binding.Namespace, y.Binding.Namespace))
	})
	return out
}

// summarizeGrants renders "summary where (subject via binding → role); ...".
func summarizeGrants(gs []*Grant) string {
	var b strings.Builder
	for i, g := range gs {
		if i > 0 {
			b.WriteString("; ")
		}
		where := "cluster-wide"
		if g.Binding.Namespace != "" {
			where = "in namespace " + g.Binding.Namespace
		}
		for _, s := range []string{g.Match.Summary, " ", where, " (", describeSubject(g.Subject), " via ",
			describeRef(g.Binding.Ref), " → ", describeRef(g.Binding.Role), ")"} {
			b.WriteString(s)
		}
	}
	b.WriteString(".")
	return b.String()
}

func serviceAccountName(pod *corev1.Pod) string {
	switch {
	case pod.Spec.ServiceAccountName != "":
		return pod.Spec.ServiceAccountName
	case pod.Spec.DeprecatedServiceAccount != "":
		return pod.Spec.DeprecatedServiceAccount
	}
	return "default"
}

// tokenMount says how the service account token reaches the pod, or "" when
// it does not. A pod the API server has admitted carries the token as a
// projected volume when it has one at all; for a manifest that was never
// admitted, the automount settings of the pod, then of its ServiceAccount,
// decide (default: mounted).
func tokenMount(pod *corev1.Pod, saAutomount *bool) string {
	if v := mountedTokenVolume(pod); v != "" {
		return "projected volume " + v
	}
	if admitted(pod) {
		return ""
	}
	switch {
	case pod.Spec.AutomountServiceAccountToken != nil:
		return when(*pod.Spec.AutomountServiceAccountToken, "automountServiceAccountToken: true on the pod")
	case saAutomount != nil:
		return when(*saAutomount, "automountServiceAccountToken: true on the ServiceAccount")
	}
	return "automounted by default"
}

func when(b bool, s string) string {
	if b {
		return s
	}
	return ""
}

// admitted reports whether the pod has been through the API server.
func admitted(pod *corev1.Pod) bool {
	return pod.UID != "" || pod.Spec.NodeName != "" || pod.Status.Phase != ""
}

// mountedTokenVolume returns the name of a projected service account token
// volume some container mounts, or "".
func mountedTokenVolume(pod *corev1.Pod) string {
	for _, v := range pod.Spec.Volumes {
		if v.Projected == nil || !slices.ContainsFunc(v.Projected.Sources, func(s corev1.VolumeProjection) bool {
			return s.ServiceAccountToken != nil
		}) {
			continue
		}
		if mountsVolume(pod, v.Name) {
			return v.Name
		}
	}
	return ""
}

func mountsVolume(pod *corev1.Pod, volume string) bool {
	mounts := func(ms []corev1.VolumeMount) bool {
		return slices.ContainsFunc(ms, func(m corev1.VolumeMount) bool { return m.Name == volume })
	}
	for _, c := range pod.Spec.InitContainers {
		if mounts(c.VolumeMounts) {
			return true
		}
	}
	for _, c := range pod.Spec.Containers {
		if mounts(c.VolumeMounts) {
			return true
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if mounts(c.VolumeMounts) {
			return true
		}
	}
	return false
}

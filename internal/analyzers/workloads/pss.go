package workloads

import (
	"cmp"
	"slices"

	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/palisade-sec/palisade/api/v1alpha1"

	"github.com/palisade-sec/palisade/internal/text"
)

// pssCheck is one of the upstream Pod Security Standards checks, as the
// library's evaluator runs it at the latest policy version.
type pssCheck struct {
	id    string
	level api.Level
	check policy.CheckPodFn
	// findingID, severity, messagePrefix and remediation are those of its
	// findings.
	findingID     string
	severity      v1alpha1.Severity
	messagePrefix string
	remediation   string
	// inBaseline: the baseline profile runs this check.
	inBaseline bool
	// inRestricted: the restricted profile runs this check (every
	// restricted check and each baseline check no restricted check
	// overrides).
	inRestricted bool
}

// pssChecks are the library's default checks, each once, baseline checks
// first, then by ID, as the library orders them.
var pssChecks = latestChecks(policy.DefaultChecks())

// latestChecks takes each check's newest version, as policy.NewEvaluator
// does for api.LatestVersion(), and works out which profiles run it.
// Evaluating every check once gives the result at both levels; the
// evaluator would run the baseline checks twice. TestPSSChecksMatchEvaluator
// holds this to the library's evaluator.
func latestChecks(checks []policy.Check) []pssCheck {
	overridden := map[policy.CheckID]bool{}
	for _, c := range checks {
		for _, id := range newest(c).OverrideCheckIDs {
			overridden[id] = true
		}
	}
	out := make([]pssCheck, 0, len(checks))
	for _, c := range checks {
		baseline := c.Level == api.LevelBaseline
		severity := v1alpha1.SeverityMedium
		if baseline {
			severity = v1alpha1.SeverityHigh
		}
		out = append(out, pssCheck{
			id:            string(c.ID),
			level:         c.Level,
			check:         newest(c).CheckPod,
			findingID:     "pss." + string(c.Level) + "." + string(c.ID),
			severity:      severity,
			messagePrefix: "Pod Security Standards " + string(c.Level) + ": ",
			remediation:   pssRemediation(string(c.ID), c.Level),
			inBaseline:    baseline,
			inRestricted:  !baseline || !overridden[c.ID],
		})
	}
	slices.SortFunc(out, func(a, b pssCheck) int {
		return cmp.Or(cmp.Compare(levelRank(a.level), levelRank(b.level)), cmp.Compare(a.id, b.id))
	})
	return out
}

func newest(c policy.Check) policy.VersionedCheck { return c.Versions[len(c.Versions)-1] }

func levelRank(l api.Level) int {
	if l == api.LevelBaseline {
		return 0
	}
	return 1
}

// podSecurity is the outcome of the checks on one pod template.
type podSecurity struct {
	// level is the highest level the template meets.
	level string
	// failed are the checks the template fails, in pssChecks order.
	failed []failedCheck
}

type failedCheck struct {
	check  *pssCheck
	result policy.CheckResult
}

// evaluatePodSecurity runs every check on p.
func evaluatePodSecurity(p *podTemplate) podSecurity {
	var s podSecurity
	baselineOK, restrictedOK := true, true
	for i := range pssChecks {
		c := &pssChecks[i]
		res := c.check(p.meta, p.spec)
		if res.Allowed {
			continue
		}
		baselineOK = baselineOK && !c.inBaseline
		restrictedOK = restrictedOK && !c.inRestricted
		s.failed = append(s.failed, failedCheck{c, res})
	}
	switch {
	case restrictedOK:
		s.level = string(api.LevelRestricted)
	case baselineOK:
		s.level = string(api.LevelBaseline)
	default:
		s.level = string(api.LevelPrivileged)
	}
	return s
}

// findingCount is the number of findings appendFindings adds.
func (s *podSecurity) findingCount(level v1alpha1.PodSecurityLevel) int {
	n := 0
	for _, f := range s.failed {
		if s.reported(f.check, level) {
			n++
		}
	}
	return n
}

// appendFindings adds a finding for each check failed that the profile of
// level holds the template to.
func (s *podSecurity) appendFindings(dst []v1alpha1.Finding, ref v1alpha1.ResourceRef, level v1alpha1.PodSecurityLevel) []v1alpha1.Finding {
	for _, f := range s.failed {
		if s.reported(f.check, level) {
			dst = append(dst, f.check.finding(ref, f.result))
		}
	}
	return dst
}

// reported tells whether a failed check c is a finding at level: at
// baseline, the baseline checks; at restricted, every check, baseline ones
// included. The restricted profile replaces some baseline checks with
// stricter ones (restrictedVolumes for hostPathVolumes), but a template held
// to the stricter profile must not see a baseline violation (a hostPath
// volume) reported as a Medium restricted finding when the same template
// held to baseline gets a High one: the baseline finding is kept beside the
// restricted one, which may name more (an nfs volume, a missing drop ALL).
func (s *podSecurity) reported(c *pssCheck, level v1alpha1.PodSecurityLevel) bool {
	return c.inBaseline || level == v1alpha1.PodSecurityRestricted
}

// finding reports a failed check with the library's reason and detail.
func (c *pssCheck) finding(ref v1alpha1.ResourceRef, res policy.CheckResult) v1alpha1.Finding {
	msg := c.messagePrefix + res.ForbiddenReason
	if res.ForbiddenDetail != "" {
		msg = c.messagePrefix + res.ForbiddenReason + " (" + res.ForbiddenDetail + ")"
	}
	return v1alpha1.Finding{
		ID:          c.findingID,
		Category:    v1alpha1.CategoryPodSecurity,
		Severity:    c.severity,
		Resource:    ref,
		Message:     text.Cut(msg, maxMessageLen),
		Remediation: c.remediation,
	}
}

// pssRemediations says how to pass each check, by check ID.
var pssRemediations = map[string]string{
	"allowPrivilegeEscalation":   "Set securityContext.allowPrivilegeEscalation: false on every container.",
	"appArmorProfile":            "Do not use the Unconfined AppArmor profile; use RuntimeDefault or a Localhost profile (securityContext.appArmorProfile).",
	"capabilities_baseline":      "Add no capabilities beyond the baseline set (AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT) in securityContext.capabilities.add.",
	"capabilities_restricted":    `Set securityContext.capabilities.drop: ["ALL"] on every container and add back at most NET_BIND_SERVICE.`,
	"hostNamespaces":             "Remove hostNetwork, hostPID and hostIPC from the pod spec.",
	"hostPathVolumes":            "Replace hostPath volumes with persistentVolumeClaim, configMap, secret, emptyDir or projected volumes.",
	"hostPorts":                  "Remove hostPort from the container ports and expose the pod through a Service.",
	"hostProbesAndHostLifecycle": "Remove host from the probes' and lifecycle handlers' httpGet and tcpSocket actions so that they target the pod.",
	"privileged":                 "Remove securityContext.privileged: true from every container.",
	"procMount":                  "Remove securityContext.procMount or set it to Default.",
	"procMount_restricted":       "Remove securityContext.procMount or set it to Default.",
	"restrictedVolumes":          "Use only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected and secret volumes.",
	"runAsNonRoot":               "Set securityContext.runAsNonRoot: true in the pod security context (or on every container).",
	"runAsUser":                  "Do not set runAsUser to 0; run as a non-zero UID.",
	"seLinuxOptions":             "Set seLinuxOptions.type only to container_t, container_init_t, container_kvm_t or container_engine_t, and leave seLinuxOptions.user and role unset.",
	"seccompProfile_baseline":    "Do not use the Unconfined seccomp profile; use RuntimeDefault or a Localhost profile.",
	"seccompProfile_restricted":  "Set securityContext.seccompProfile.type: RuntimeDefault (or Localhost) in the pod security context or on every container.",
	"sysctls":                    "Set only the safe sysctls the baseline profile allows in securityContext.sysctls.",
	"windowsHostProcess":         "Remove securityContext.windowsOptions.hostProcess: true.",
}

func pssRemediation(id string, level api.Level) string {
	if r, ok := pssRemediations[id]; ok {
		return r
	}
	return "Change the pod template to meet the Pod Security Standards " + string(level) + " profile: https://kubernetes.io/docs/concepts/security/pod-security-standards/"
}

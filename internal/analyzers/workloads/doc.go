// Package workloads scores workloads' pod templates with kubesec v2.14.2's
// rule set and points, and evaluates them against the Pod Security
// Standards with the upstream k8s.io/pod-security-admission checks.
//
// Analyze takes a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job
// or CronJob and returns a kubesec-shaped result (score, critical / passed /
// advise rules), the highest Pod Security Standards level the template
// meets, and Palisade findings. IsTopLevel tells a caller listing a cluster
// which objects to pass, so that each pod template is evaluated once.
//
// # Kubesec scoring
//
// A rule matches an object when it holds for any of the units it looks at
// (containers and init containers, volumes, the pod spec, or a StatefulSet's
// volumeClaimTemplates) and counts once per object. Where a setting exists
// in both the pod and the container security context (runAsNonRoot,
// runAsUser, runAsGroup, seccompProfile, appArmorProfile), the container's
// wins. The score is the sum of the points of the matched rules; matched
// negative rules are "critical", matched positive rules "passed", unmatched
// positive rules "advise". VolumeClaimAccessModeReadWriteOnce and
// VolumeClaimRequestsStorage apply to StatefulSets only and match a
// StatefulSet without volumeClaimTemplates, as in kubesec.
//
// # Severities
//
//	| finding                                             | severity |
//	|-----------------------------------------------------|----------|
//	| kubesec rule matched, points <= -30                 | Critical |
//	| kubesec rule matched, -30 < points <= -7            | High     |
//	| kubesec rule matched, -7 < points < 0               | Medium   |
//	| kubesec positive rule unmet, advise weight > 0 (*)  | Low      |
//	| kubesec positive rule unmet, advise weight 0 (*)    | Info     |
//	| Pod Security Standards baseline check failed        | High     |
//	| Pod Security Standards restricted-only check failed | Medium   |
//
// (*) only with Options.Advice.
//
// With kubesec v2.14.2's points this is: Critical for Privileged and
// CapSysAdmin (-30); High for HostNetwork, HostPID, HostIPC, DockerSock,
// ProcMount (-9) and AllowPrivilegeEscalation (-7); Medium for HostAliases
// (-3) and SeccompUnconfined (-1); Low for RunAsNonRoot, RunAsUser,
// RunAsGroup and ReadOnlyRootFilesystem; Info for the other positive rules.
//
// Finding IDs are "kubesec.<RuleID>" (category Workload) and
// "pss.<level of the check>.<check ID>" (category PodSecurity), e.g.
// "pss.restricted.runAsNonRoot". Pod Security Standards findings are for the
// checks of the Options.Level profile (restricted by default) that fail; the
// restricted profile is the restricted checks plus the baseline checks that
// no restricted check replaces (restrictedVolumes replaces hostPathVolumes,
// for example), as in the library. The level met is reported whatever
// Options.Level says. Each finding names the containers (or volumes, or the
// pod spec) concerned, says how to fix it, and is cut to the API's 1024-byte
// message limit.
//
// # Where Palisade differs from kubesec
//
//   - Kinds: kubesec scores Pods, Deployments, StatefulSets and DaemonSets
//     and reports every other kind as "This resource kind is not supported by
//     kubesec" with a score of 0. Palisade also scores ReplicaSets, Jobs and
//     CronJobs (the CronJob's job template) with the same rules.
//   - Annotations: kubesec reads the seccomp and AppArmor annotations from
//     the top-level object's metadata, so on a Deployment it misses the ones
//     on the pod template (where they take effect) and credits ones on the
//     Deployment (where they do nothing). Palisade reads the pod template's.
//   - Seccomp (SeccompAny, SeccompUnconfined): kubesec looks only at the
//     legacy annotations, and the pod annotation decides alone when present.
//     Palisade works out each container's profile from its seccompProfile,
//     then its container annotation, then the pod's seccompProfile, then the
//     pod annotation; SeccompAny matches when a container has RuntimeDefault
//     or Localhost, SeccompUnconfined when a container has Unconfined.
//   - AppArmor (ApparmorAny): kubesec looks only at the annotations, matches
//     any container.apparmor.security.beta.kubernetes.io/ key (even for a
//     container that does not exist, and not for names with digits) and no
//     longer matches once any of them is unconfined. Palisade works out each
//     container's profile as the kubelet does (container appArmorProfile,
//     container annotation, pod appArmorProfile) and matches when any
//     container has RuntimeDefault or Localhost.
//   - CapDropAll: kubesec matches when "ALL" appears anywhere in the printed
//     drop list (case-insensitive); Palisade when the list has an element
//     ALL, in any case. CapSysAdmin likewise matches an element SYS_ADMIN or
//     CAP_SYS_ADMIN in any case, where kubesec needs the upper-case substring.
//   - DockerSock: kubesec matches host paths containing
//     /var/run/docker.sock; Palisade matches paths containing
//     /run/docker.sock, which also catches /run/docker.sock itself.
//   - ProcMount: kubesec matches any host path containing "/proc" (so also
//     /var/lib/processes); Palisade matches /proc and paths below it. (This
//     rule is about hostPath volumes; securityContext.procMount is the Pod
//     Security Standards' procMount check.)
//   - HostAliases: kubesec matches an empty hostAliases list too; Palisade
//     needs at least one alias.
//   - ServiceAccountName: kubesec matches any serviceAccountName, even ""
//     or "default"; Palisade does not count "default", which the API server
//     sets on every pod that names no service account.
//   - VolumeClaimAccessModeReadWriteOnce: kubesec needs a claim whose
//     accessModes is exactly [ReadWriteOnce]; Palisade a claim whose
//     accessModes include ReadWriteOnce or ReadWriteOncePod.
//
// Like kubesec, the resource rules (LimitsCPU, LimitsMemory, RequestsCPU,
// RequestsMemory) look at containers but not init containers, and no rule
// looks at ephemeral containers (the Pod Security Standards checks do).
package workloads

package workloads

import (
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/palisade-sec/palisade/api/v1alpha1"
)

// rule is one of kubesec v2.14.2's rules: its id, selector, reason, points
// and advise weight as kubesec publishes them, and Palisade's test of a pod
// template, which follows kubesec's except where doc.go says otherwise.
type rule struct {
	ref    KubesecRule
	advise int
	// statefulSetOnly rules apply to StatefulSets alone, as in kubesec.
	statefulSetOnly bool
	test            test
	// condition says what is wrong: for a negative rule, what a match
	// means; for a positive rule, what is missing.
	condition   string
	remediation string

	// Set by prepareRules from the fields above.
	findingID   string
	severity    v1alpha1.Severity
	messageTail string // ": <condition>. <reason>."
}

// rules is the rule set, in the order kubesec lists rules in.
var rules = prepareRules([]rule{
	{
		ref: KubesecRule{
			ID:       "AllowPrivilegeEscalation",
			Selector: "containers[] .securityContext .allowPrivilegeEscalation == true",
			Reason:   "Ensure a non-root process can not gain more privileges",
			Points:   -7,
		},
		test:        onContainers(func(_ *podTemplate, c *corev1.Container) bool { return isTrue(sc(c).AllowPrivilegeEscalation) }),
		condition:   "securityContext.allowPrivilegeEscalation is true",
		remediation: "Set securityContext.allowPrivilegeEscalation: false on these containers.",
	},
	{
		ref: KubesecRule{
			ID:       "ApparmorAny",
			Selector: `.metadata .annotations ."container.apparmor.security.beta.kubernetes.io/nginx"`,
			Reason:   "Well defined AppArmor policies may provide greater protection from unknown threats. WARNING: NOT PRODUCTION READY",
			Points:   3,
		},
		test:        onContainers(func(p *podTemplate, c *corev1.Container) bool { return p.appArmor(c) == confined }),
		condition:   "no AppArmor profile other than Unconfined is set",
		remediation: "Set securityContext.appArmorProfile.type: RuntimeDefault (or Localhost with a profile loaded on the nodes) in the pod or container security context.",
	},
	{
		ref: KubesecRule{
			ID:       "AutomountServiceAccountToken",
			Selector: ".spec .automountServiceAccountToken == false",
			Reason:   "Disabling the automounting of Service Account Token reduces the attack surface of the API server",
			Points:   1,
		},
		test:        onPod(func(p *podTemplate) bool { return isFalse(p.spec.AutomountServiceAccountToken) }),
		condition:   "automountServiceAccountToken is not false",
		remediation: "Set automountServiceAccountToken: false in the pod spec unless the pod calls the Kubernetes API.",
	},
	{
		ref: KubesecRule{
			ID:       "CapDropAll",
			Selector: `containers[] .securityContext .capabilities .drop | index("ALL")`,
			Reason:   "Drop all capabilities and add only those required to reduce syscall attack surface",
			Points:   1,
		},
		test:        onContainers(func(_ *podTemplate, c *corev1.Container) bool { return hasCapability(capabilities(c).Drop, "ALL") }),
		condition:   "securityContext.capabilities.drop does not include ALL",
		remediation: `Set securityContext.capabilities.drop: ["ALL"] and add back only the capabilities the container needs.`,
	},
	{
		ref: KubesecRule{
			ID:       "CapDropAny",
			Selector: "containers[] .securityContext .capabilities .drop",
			Reason:   "Reducing kernel capabilities available to a container limits its attack surface",
			Points:   1,
		},
		test:        onContainers(func(_ *podTemplate, c *corev1.Container) bool { return len(capabilities(c).Drop) > 0 }),
		condition:   "securityContext.capabilities.drop is empty",
		remediation: `Drop the capabilities the container does not need in securityContext.capabilities.drop, ideally ["ALL"].`,
	},
	{
		ref: KubesecRule{
			ID:       "CapSysAdmin",
			Selector: "containers[] .securityContext .capabilities .add == SYS_ADMIN",
			Reason:   "CAP_SYS_ADMIN is the most privileged capability and should always be avoided",
			Points:   -30,
		},
		test:        onContainers(func(_ *podTemplate, c *corev1.Container) bool { return hasCapability(capabilities(c).Add, "SYS_ADMIN") }),
		condition:   "securityContext.capabilities.add includes SYS_ADMIN",
		remediation: "Remove SYS_ADMIN from securityContext.capabilities.add and add only the narrower capabilities the container needs.",
	},
	{
		ref: KubesecRule{
			ID:       "DockerSock",
			Selector: "volumes[] .hostPath .path == /var/run/docker.sock",
			Reason:   "Mounting the docker.socket leaks information about other containers and can allow container breakout",
			Points:   -9,
		},
		test:        onVolumes(func(v *corev1.Volume) bool { return strings.Contains(hostPath(v), "/run/docker.sock") }),
		condition:   "the Docker socket is mounted from the host",
		remediation: "Remove the hostPath volume for the Docker socket; a workload that must build or run containers should use a rootless builder or the Kubernetes API instead.",
	},
	{
		ref: KubesecRule{
			ID:       "HostAliases",
			Selector: ".spec .hostAliases",
			Reason:   "Managing /etc/hosts aliases can prevent the container from modifying the file after a pod's containers have already been started. DNS should be managed by the orchestrator",
			Points:   -3,
		},
		test:        onPod(func(p *podTemplate) bool { return len(p.spec.HostAliases) > 0 }),
		condition:   "hostAliases is set",
		remediation: "Remove spec.hostAliases and resolve these names through DNS (a Service, an ExternalName Service or the cluster DNS configuration).",
	},
	{
		ref: KubesecRule{
			ID:       "HostIPC",
			Selector: ".spec .hostIPC == true",
			Reason:   "Sharing the host's IPC namespace allows container processes to communicate with processes on the host",
			Points:   -9,
		},
		test:        onPod(func(p *podTemplate) bool { return p.spec.HostIPC }),
		condition:   "hostIPC is true",
		remediation: "Remove hostIPC: true from the pod spec.",
	},
	{
		ref: KubesecRule{
			ID:       "HostNetwork",
			Selector: ".spec .hostNetwork == true",
			Reason:   "Sharing the host's network namespace permits processes in the pod to communicate with processes bound to the host's loopback adapter",
			Points:   -9,
		},
		test:        onPod(func(p *podTemplate) bool { return p.spec.HostNetwork }),
		condition:   "hostNetwork is true",
		remediation: "Remove hostNetwork: true from the pod spec and expose the pod through a Service.",
	},
	{
		ref: KubesecRule{
			ID:       "HostPID",
			Selector: ".spec .hostPID == true",
			Reason:   "Sharing the host's PID namespace allows visibility of processes on the host, potentially leaking information such as environment variables and configuration",
			Points:   -9,
		},
		test:        onPod(func(p *podTemplate) bool { return p.spec.HostPID }),
		condition:   "hostPID is true",
		remediation: "Remove hostPID: true from the pod spec.",
	},
	{
		ref: KubesecRule{
			ID:       "LimitsCPU",
			Selector: "containers[] .resources .limits .cpu",
			Reason:   "Enforcing CPU limits prevents DOS via resource exhaustion",
			Points:   1,
		},
		test:        onAppContainers(hasLimit(corev1.ResourceCPU)),
		condition:   "resources.limits.cpu is not set",
		remediation: "Set resources.limits.cpu on the containers.",
	},
	{
		ref: KubesecRule{
			ID:       "LimitsMemory",
			Selector: "containers[] .resources .limits .memory",
			Reason:   "Enforcing memory limits prevents DOS via resource exhaustion",
			Points:   1,
		},
		test:        onAppContainers(hasLimit(corev1.ResourceMemory)),
		condition:   "resources.limits.memory is not set",
		remediation: "Set resources.limits.memory on the containers.",
	},
	{
		ref: KubesecRule{
			ID:       "Privileged",
			Selector: "containers[] .securityContext .privileged == true",
			Reason:   "Privileged containers can allow almost completely unrestricted host access",
			Points:   -30,
		},
		test:        onContainers(func(_ *podTemplate, c *corev1.Container) bool { return isTrue(sc(c).Privileged) }),
		condition:   "securityContext.privileged is true",
		remediation: "Remove securityContext.privileged: true and grant only the specific capabilities the container needs.",
	},
	{
		ref: KubesecRule{
			ID:       "ProcMount",
			Selector: "volumes[] .hostPath .path == /proc",
			Reason:   "Mounting the proc directory from the host system into a container gives access to information about other containers running on the same host and can allow container breakout",
			Points:   -9,
		},
		test:        onVolumes(func(v *corev1.Volume) bool { return isProc(hostPath(v)) }),
		condition:   "the host's /proc is mounted",
		remediation: "Remove the hostPath volume for /proc; read what the workload needs through the downward API or the metrics API.",
	},
	{
		ref: KubesecRule{
			ID:       "ReadOnlyRootFilesystem",
			Selector: "containers[] .securityContext .readOnlyRootFilesystem == true",
			Reason:   "An immutable root filesystem can prevent malicious binaries being added to PATH and increase attack cost",
			Points:   1,
		},
		advise:      3,
		test:        onContainers(func(_ *podTemplate, c *corev1.Container) bool { return isTrue(sc(c).ReadOnlyRootFilesystem) }),
		condition:   "securityContext.readOnlyRootFilesystem is not true",
		remediation: "Set securityContext.readOnlyRootFilesystem: true and mount emptyDir volumes where the container must write.",
	},
	{
		ref: KubesecRule{
			ID:       "RequestsCPU",
			Selector: "containers[] .resources .requests .cpu",
			Reason:   "Enforcing CPU requests aids a fair balancing of resources across the cluster",
			Points:   1,
		},
		test:        onAppContainers(hasRequest(corev1.ResourceCPU)),
		condition:   "resources.requests.cpu is not set",
		remediation: "Set resources.requests.cpu on the containers.",
	},
	{
		ref: KubesecRule{
			ID:       "RequestsMemory",
			Selector: "containers[] .resources .requests .memory",
			Reason:   "Enforcing memory requests aids a fair balancing of resources across the cluster",
			Points:   1,
		},
		test:        onAppContainers(hasRequest(corev1.ResourceMemory)),
		condition:   "resources.requests.memory is not set",
		remediation: "Set resources.requests.memory on the containers.",
	},
	{
		ref: KubesecRule{
			ID:       "RunAsGroup",
			Selector: ".spec, .spec.containers[] | .securityContext .runAsGroup -gt 10000",
			Reason:   "Run as a high-UID group to avoid conflicts with the host's groups",
			Points:   1,
		},
		advise: 4,
		test: onContainers(func(p *podTemplate, c *corev1.Container) bool {
			return above(effective(sc(c).RunAsGroup, p.podSecurityContext().RunAsGroup), 10000)
		}),
		condition:   "the effective securityContext.runAsGroup is not above 10000",
		remediation: "Set securityContext.runAsGroup to a GID above 10000 in the pod security context.",
	},
	{
		ref: KubesecRule{
			ID:       "RunAsNonRoot",
			Selector: ".spec, .spec.containers[] | .securityContext .runAsNonRoot == true",
			Reason:   "Force the running image to run as a non-root user to ensure least privilege",
			Points:   1,
		},
		advise: 10,
		test: onContainers(func(p *podTemplate, c *corev1.Container) bool {
			return isTrue(effective(sc(c).RunAsNonRoot, p.podSecurityContext().RunAsNonRoot))
		}),
		condition:   "the effective securityContext.runAsNonRoot is not true",
		remediation: "Set securityContext.runAsNonRoot: true in the pod security context.",
	},
	{
		ref: KubesecRule{
			ID:       "RunAsUser",
			Selector: ".spec, .spec.containers[] | .securityContext .runAsUser -gt 10000",
			Reason:   "Run as a high-UID user to avoid conflicts with the host's users",
			Points:   1,
		},
		advise: 4,
		test: onContainers(func(p *podTemplate, c *corev1.Container) bool {
			return above(effective(sc(c).RunAsUser, p.podSecurityContext().RunAsUser), 10000)
		}),
		condition:   "the effective securityContext.runAsUser is not above 10000",
		remediation: "Set securityContext.runAsUser to a UID above 10000 in the pod security context.",
	},
	{
		ref: KubesecRule{
			ID:       "SeccompAny",
			Selector: `.metadata .annotations ."container.seccomp.security.alpha.kubernetes.io/pod"`,
			Reason:   "Seccomp profiles set minimum privilege and secure against unknown threats",
			Points:   1,
		},
		test:        onContainers(func(p *podTemplate, c *corev1.Container) bool { return p.seccomp(c) == confined }),
		condition:   "no seccomp profile other than Unconfined is set",
		remediation: "Set securityContext.seccompProfile.type: RuntimeDefault in the pod security context.",
	},
	{
		ref: KubesecRule{
			ID:       "SeccompUnconfined",
			Selector: `.metadata .annotations ."container.seccomp.security.alpha.kubernetes.io/pod"`,
			Reason:   "Unconfined Seccomp profiles have full system call access",
			Points:   -1,
		},
		test:        onContainers(func(p *podTemplate, c *corev1.Container) bool { return p.seccomp(c) == unconfined }),
		condition:   "the seccomp profile is Unconfined",
		remediation: "Replace the Unconfined seccomp profile with RuntimeDefault or a Localhost profile (securityContext.seccompProfile).",
	},
	{
		ref: KubesecRule{
			ID:       "ServiceAccountName",
			Selector: ".spec .serviceAccountName",
			Reason:   "Service accounts restrict Kubernetes API access and should be configured with least privilege",
			Points:   3,
		},
		test: onPod(func(p *podTemplate) bool {
			return p.spec.ServiceAccountName != "" && p.spec.ServiceAccountName != "default"
		}),
		condition:   `serviceAccountName is not set or is "default"`,
		remediation: "Run the pod as a service account of its own (serviceAccountName) bound to only the RBAC permissions it needs.",
	},
	{
		ref: KubesecRule{
			ID:       "VolumeClaimAccessModeReadWriteOnce",
			Selector: `.spec .volumeClaimTemplates[] .spec .accessModes | index("ReadWriteOnce")`,
			Reason:   "Setting the access mode of ReadWriteOnce on volumeClaimTemplates (if any exist) allows only one node to mount the persistentVolume",
			Points:   1,
		},
		statefulSetOnly: true,
		test: onClaims(func(c *corev1.PersistentVolumeClaim) bool {
			return slices.ContainsFunc(c.Spec.AccessModes, func(m corev1.PersistentVolumeAccessMode) bool {
				return m == corev1.ReadWriteOnce || m == corev1.ReadWriteOncePod
			})
		}),
		condition:   "accessModes does not include ReadWriteOnce",
		remediation: "Set accessModes: [ReadWriteOnce] on the volumeClaimTemplates.",
	},
	{
		ref: KubesecRule{
			ID:       "VolumeClaimRequestsStorage",
			Selector: ".spec .volumeClaimTemplates[] .spec .resources .requests .storage",
			Reason:   "Setting a storage request on volumeClaimTemplates (if any exist) allows for the StatefulSet's PVCs to be bound to appropriately sized PVs.",
			Points:   1,
		},
		statefulSetOnly: true,
		test: onClaims(func(c *corev1.PersistentVolumeClaim) bool {
			_, ok := c.Spec.Resources.Requests[corev1.ResourceStorage]
			return ok
		}),
		condition:   "resources.requests.storage is not set",
		remediation: "Set resources.requests.storage on the volumeClaimTemplates.",
	},
})

// prepareRules sorts rs into kubesec's order and works out the parts of
// their findings that do not depend on the workload.
func prepareRules(rs []rule) []rule {
	slices.SortStableFunc(rs, func(a, b rule) int { return kubesecOrder(a.ref, b.ref) })
	for i := range rs {
		r := &rs[i]
		r.findingID = "kubesec." + r.ref.ID
		r.severity = severityFor(r.ref.Points, r.advise)
		r.messageTail = ": " + r.condition + ". " + sentence(r.ref.Reason)
	}
	return rs
}

// scope is the part of a pod template a rule's test is applied to.
type scope int

const (
	// podScope is the pod spec as a whole.
	podScope scope = iota
	// containerScope is the init containers, then the containers.
	containerScope
	// appContainerScope is the containers without the init containers,
	// which kubesec's resource rules look at.
	appContainerScope
	// volumeScope is the pod's volumes.
	volumeScope
	// claimScope is a StatefulSet's volumeClaimTemplates.
	claimScope
)

// test is a rule's test: it matches a pod template when it holds for any
// unit (container, volume, ...) of its scope.
type test struct {
	scope scope
	holds func(p *podTemplate, i int) bool
}

func onPod(f func(*podTemplate) bool) test {
	return test{podScope, func(p *podTemplate, _ int) bool { return f(p) }}
}

func onContainers(f func(*podTemplate, *corev1.Container) bool) test {
	return test{containerScope, func(p *podTemplate, i int) bool { return f(p, p.container(i)) }}
}

func onAppContainers(f func(*corev1.Container) bool) test {
	return test{appContainerScope, func(p *podTemplate, i int) bool { return f(&p.spec.Containers[i]) }}
}

func onVolumes(f func(*corev1.Volume) bool) test {
	return test{volumeScope, func(p *podTemplate, i int) bool { return f(&p.spec.Volumes[i]) }}
}

func onClaims(f func(*corev1.PersistentVolumeClaim) bool) test {
	return test{claimScope, func(p *podTemplate, i int) bool { return f(&p.claims[i]) }}
}

// matches reports whether t holds for any unit of p. As in kubesec, a
// StatefulSet without volumeClaimTemplates matches the claim rules.
func (t test) matches(p *podTemplate) bool {
	n := p.count(t.scope)
	if t.scope == claimScope && n == 0 {
		return true
	}
	for i := range n {
		if t.holds(p, i) {
			return true
		}
	}
	return false
}

// appendSubjects appends to buf the names of the units of p for which t
// gives want, separated by commas.
func (t test) appendSubjects(buf []byte, p *podTemplate, want bool) []byte {
	start := len(buf)
	for i := range p.count(t.scope) {
		if t.holds(p, i) != want {
			continue
		}
		if len(buf) > start {
			buf = append(buf, ", "...)
		}
		buf = p.appendUnit(buf, t.scope, i)
	}
	return buf
}

func isTrue(b *bool) bool { return b != nil && *b }

func isFalse(b *bool) bool { return b != nil && !*b }

func above(v *int64, limit int64) bool { return v != nil && *v > limit }

// effective is a container's setting where it has one, else the pod's.
func effective[T any](container, pod *T) *T {
	if container != nil {
		return container
	}
	return pod
}

// hasCapability reports whether list names capability want, in any case
// and with or without the CAP_ prefix, as container runtimes accept it.
func hasCapability(list []corev1.Capability, want string) bool {
	for _, c := range list {
		if strings.TrimPrefix(strings.ToUpper(string(c)), "CAP_") == want {
			return true
		}
	}
	return false
}

func hasLimit(name corev1.ResourceName) func(*corev1.Container) bool {
	return func(c *corev1.Container) bool {
		_, ok := c.Resources.Limits[name]
		return ok
	}
}

func hasRequest(name corev1.ResourceName) func(*corev1.Container) bool {
	return func(c *corev1.Container) bool {
		_, ok := c.Resources.Requests[name]
		return ok
	}
}

func hostPath(v *corev1.Volume) string {
	if v.HostPath == nil {
		return ""
	}
	return v.HostPath.Path
}

// isProc reports whether p is the host's /proc or a path below it.
func isProc(p string) bool {
	p = path.Clean(p)
	return p == "/proc" || strings.HasPrefix(p, "/proc/")
}

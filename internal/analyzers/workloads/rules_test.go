package workloads

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// outcome is where a rule lands in kubesec's scoring.
type outcome string

const (
	critical outcome = "critical"
	passed   outcome = "passed"
	advise   outcome = "advise"
	absent   outcome = "absent" // a negative rule that did not match, or a rule for another kind
)

func outcomeOf(s KubesecScoring, id string) outcome {
	for o, list := range map[outcome][]KubesecRule{critical: s.Critical, passed: s.Passed, advise: s.Advise} {
		for _, r := range list {
			if r.ID == id {
				return o
			}
		}
	}
	return absent
}

func TestRules(t *testing.T) {
	tests := map[string]struct {
		rule string
		obj  client.Object
		want outcome
	}{
		// AllowPrivilegeEscalation
		"AllowPrivilegeEscalation true": {"AllowPrivilegeEscalation", asPod(tmpl(appSC(func(sc *corev1.SecurityContext) {
			sc.AllowPrivilegeEscalation = ptr.To(true)
		}))), critical},
		"AllowPrivilegeEscalation false": {"AllowPrivilegeEscalation", asPod(tmpl(appSC(func(sc *corev1.SecurityContext) {
			sc.AllowPrivilegeEscalation = ptr.To(false)
		}))), absent},
		"AllowPrivilegeEscalation unset": {"AllowPrivilegeEscalation", asPod(tmpl()), absent},
		"AllowPrivilegeEscalation true in init container": {"AllowPrivilegeEscalation", asPod(tmpl(initContainer("init"), containerSC("init", func(sc *corev1.SecurityContext) {
			sc.AllowPrivilegeEscalation = ptr.To(true)
		}))), critical},

		// ApparmorAny
		"ApparmorAny unset": {"ApparmorAny", asPod(tmpl()), advise},
		"ApparmorAny container annotation runtime/default": {"ApparmorAny", asPod(tmpl(
			annotate("container.apparmor.security.beta.kubernetes.io/app", "runtime/default"))), passed},
		"ApparmorAny container annotation localhost": {"ApparmorAny", asDeployment(tmpl(
			annotate("container.apparmor.security.beta.kubernetes.io/app", "localhost/k8s-nginx"))), passed},
		"ApparmorAny container annotation unconfined": {"ApparmorAny", asPod(tmpl(
			annotate("container.apparmor.security.beta.kubernetes.io/app", "unconfined"))), advise},
		"ApparmorAny annotation for a container that does not exist": {"ApparmorAny", asPod(tmpl(
			annotate("container.apparmor.security.beta.kubernetes.io/nginx", "runtime/default"))), advise},
		"ApparmorAny annotation on the Deployment, not the template": {"ApparmorAny", func() client.Object {
			d := asDeployment(tmpl())
			d.SetAnnotations(map[string]string{"container.apparmor.security.beta.kubernetes.io/app": "runtime/default"})
			return d
		}(), advise},
		"ApparmorAny pod appArmorProfile RuntimeDefault": {"ApparmorAny", asPod(tmpl(podSC(func(sc *corev1.PodSecurityContext) {
			sc.AppArmorProfile = appArmor(corev1.AppArmorProfileTypeRuntimeDefault)
		}))), passed},
		"ApparmorAny container Unconfined overrides pod RuntimeDefault": {"ApparmorAny", asPod(tmpl(
			podSC(func(sc *corev1.PodSecurityContext) {
				sc.AppArmorProfile = appArmor(corev1.AppArmorProfileTypeRuntimeDefault)
			}),
			appSC(func(sc *corev1.SecurityContext) { sc.AppArmorProfile = appArmor(corev1.AppArmorProfileTypeUnconfined) }),
		)), advise},
		"ApparmorAny container Localhost overrides pod Unconfined": {"ApparmorAny", asPod(tmpl(
			podSC(func(sc *corev1.PodSecurityContext) {
				sc.AppArmorProfile = appArmor(corev1.AppArmorProfileTypeUnconfined)
			}),
			appSC(func(sc *corev1.SecurityContext) { sc.AppArmorProfile = appArmor(corev1.AppArmorProfileTypeLocalhost) }),
		)), passed},
		"ApparmorAny container field overrides container annotation": {"ApparmorAny", asPod(tmpl(
			annotate("container.apparmor.security.beta.kubernetes.io/app", "unconfined"),
			appSC(func(sc *corev1.SecurityContext) {
				sc.AppArmorProfile = appArmor(corev1.AppArmorProfileTypeRuntimeDefault)
			}),
		)), passed},
		"ApparmorAny container annotation overrides pod field": {"ApparmorAny", asPod(tmpl(
			podSC(func(sc *corev1.PodSecurityContext) {
				sc.AppArmorProfile = appArmor(corev1.AppArmorProfileTypeRuntimeDefault)
			}),
			annotate("container.apparmor.security.beta.kubernetes.io/app", "unconfined"),
		)), advise},
		"ApparmorAny on an init container": {"ApparmorAny", asPod(tmpl(initContainer("init"),
			containerSC("init", func(sc *corev1.SecurityContext) {
				sc.AppArmorProfile = appArmor(corev1.AppArmorProfileTypeRuntimeDefault)
			}),
		)), passed},

		// AutomountServiceAccountToken
		"AutomountServiceAccountToken false": {"AutomountServiceAccountToken", asPod(tmpl(spec(func(s *corev1.PodSpec) {
			s.AutomountServiceAccountToken = ptr.To(false)
		}))), passed},
		"AutomountServiceAccountToken true": {"AutomountServiceAccountToken", asPod(tmpl(spec(func(s *corev1.PodSpec) {
			s.AutomountServiceAccountToken = ptr.To(true)
		}))), advise},
		"AutomountServiceAccountToken unset": {"AutomountServiceAccountToken", asPod(tmpl()), advise},

		// CapDropAll
		"CapDropAll ALL":              {"CapDropAll", asPod(tmpl(appSC(dropCaps("ALL")))), passed},
		"CapDropAll lower case all":   {"CapDropAll", asPod(tmpl(appSC(dropCaps("all")))), passed},
		"CapDropAll among others":     {"CapDropAll", asPod(tmpl(appSC(dropCaps("NET_RAW", "ALL")))), passed},
		"CapDropAll other capability": {"CapDropAll", asPod(tmpl(appSC(dropCaps("NET_RAW")))), advise},
		"CapDropAll unset":            {"CapDropAll", asPod(tmpl()), advise},
		"CapDropAll in init container": {"CapDropAll", asPod(tmpl(initContainer("init"),
			containerSC("init", dropCaps("ALL")))), passed},

		// CapDropAny
		"CapDropAny one capability": {"CapDropAny", asPod(tmpl(appSC(dropCaps("NET_RAW")))), passed},
		"CapDropAny empty list":     {"CapDropAny", asPod(tmpl(appSC(dropCaps()))), advise},
		"CapDropAny unset":          {"CapDropAny", asPod(tmpl()), advise},
		"CapDropAny in init container": {"CapDropAny", asPod(tmpl(initContainer("init"),
			containerSC("init", dropCaps("NET_RAW")))), passed},

		// CapSysAdmin
		"CapSysAdmin SYS_ADMIN":     {"CapSysAdmin", asPod(tmpl(appSC(addCaps("SYS_ADMIN")))), critical},
		"CapSysAdmin CAP_SYS_ADMIN": {"CapSysAdmin", asPod(tmpl(appSC(addCaps("NET_ADMIN", "CAP_SYS_ADMIN")))), critical},
		"CapSysAdmin lower case":    {"CapSysAdmin", asPod(tmpl(appSC(addCaps("sys_admin")))), critical},
		"CapSysAdmin other":         {"CapSysAdmin", asPod(tmpl(appSC(addCaps("NET_ADMIN")))), absent},
		"CapSysAdmin dropped":       {"CapSysAdmin", asPod(tmpl(appSC(dropCaps("SYS_ADMIN")))), absent},
		"CapSysAdmin in init container": {"CapSysAdmin", asPod(tmpl(initContainer("init"),
			containerSC("init", addCaps("SYS_ADMIN")))), critical},

		// DockerSock
		"DockerSock /var/run/docker.sock": {"DockerSock", asDaemonSet(tmpl(hostPathVolume("sock", "/var/run/docker.sock", "app"))), critical},
		"DockerSock /run/docker.sock":     {"DockerSock", asDaemonSet(tmpl(hostPathVolume("sock", "/run/docker.sock"))), critical},
		"DockerSock other host path":      {"DockerSock", asDaemonSet(tmpl(hostPathVolume("logs", "/var/log"))), absent},
		"DockerSock emptyDir": {"DockerSock", asPod(tmpl(spec(func(s *corev1.PodSpec) {
			s.Volumes = []corev1.Volume{{Name: "docker.sock", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		}))), absent},

		// HostAliases
		"HostAliases set": {"HostAliases", asPod(tmpl(spec(func(s *corev1.PodSpec) {
			s.HostAliases = []corev1.HostAlias{{IP: "10.0.0.1", Hostnames: []string{"db"}}}
		}))), critical},
		"HostAliases empty": {"HostAliases", asPod(tmpl(spec(func(s *corev1.PodSpec) { s.HostAliases = []corev1.HostAlias{} }))), absent},
		"HostAliases unset": {"HostAliases", asPod(tmpl()), absent},

		// HostIPC, HostNetwork, HostPID
		"HostIPC true":      {"HostIPC", asPod(tmpl(spec(func(s *corev1.PodSpec) { s.HostIPC = true }))), critical},
		"HostIPC false":     {"HostIPC", asPod(tmpl()), absent},
		"HostNetwork true":  {"HostNetwork", asPod(tmpl(spec(func(s *corev1.PodSpec) { s.HostNetwork = true }))), critical},
		"HostNetwork false": {"HostNetwork", asPod(tmpl()), absent},
		"HostPID true":      {"HostPID", asPod(tmpl(spec(func(s *corev1.PodSpec) { s.HostPID = true }))), critical},
		"HostPID false":     {"HostPID", asPod(tmpl()), absent},

		// LimitsCPU, LimitsMemory, RequestsCPU, RequestsMemory
		"LimitsCPU set":                {"LimitsCPU", asPod(tmpl(resources("app", limit(corev1.ResourceCPU)))), passed},
		"LimitsCPU unset":              {"LimitsCPU", asPod(tmpl(resources("app", limit(corev1.ResourceMemory)))), advise},
		"LimitsCPU on one of two":      {"LimitsCPU", asPod(tmpl(container("side"), resources("side", limit(corev1.ResourceCPU)))), passed},
		"LimitsCPU on init container":  {"LimitsCPU", asPod(tmpl(initContainer("init"), resources("init", limit(corev1.ResourceCPU)))), advise},
		"LimitsMemory set":             {"LimitsMemory", asPod(tmpl(resources("app", limit(corev1.ResourceMemory)))), passed},
		"LimitsMemory unset":           {"LimitsMemory", asPod(tmpl(resources("app", limit(corev1.ResourceCPU)))), advise},
		"LimitsMemory on init":         {"LimitsMemory", asPod(tmpl(initContainer("init"), resources("init", limit(corev1.ResourceMemory)))), advise},
		"RequestsCPU set":              {"RequestsCPU", asPod(tmpl(resources("app", request(corev1.ResourceCPU)))), passed},
		"RequestsCPU unset":            {"RequestsCPU", asPod(tmpl(resources("app", limit(corev1.ResourceCPU)))), advise},
		"RequestsCPU on init":          {"RequestsCPU", asPod(tmpl(initContainer("init"), resources("init", request(corev1.ResourceCPU)))), advise},
		"RequestsMemory set":           {"RequestsMemory", asPod(tmpl(resources("app", request(corev1.ResourceMemory)))), passed},
		"RequestsMemory unset":         {"RequestsMemory", asPod(tmpl(resources("app", request(corev1.ResourceCPU)))), advise},
		"RequestsMemory on init":       {"RequestsMemory", asPod(tmpl(initContainer("init"), resources("init", request(corev1.ResourceMemory)))), advise},
		"RequestsMemory on one of two": {"RequestsMemory", asPod(tmpl(container("side"), resources("side", request(corev1.ResourceMemory)))), passed},

		// Privileged
		"Privileged true": {"Privileged", asPod(tmpl(appSC(func(sc *corev1.SecurityContext) {
			sc.Privileged = ptr.To(true)
		}))), critical},
		"Privileged false": {"Privileged", asPod(tmpl(appSC(func(sc *corev1.SecurityContext) {
			sc.Privileged = ptr.To(false)
		}))), absent},
		"Privileged in init container": {"Privileged", asPod(tmpl(initContainer("init"), containerSC("init", func(sc *corev1.SecurityContext) {
			sc.Privileged = ptr.To(true)
		}))), critical},

		// ProcMount
		"ProcMount /proc":            {"ProcMount", asDaemonSet(tmpl(hostPathVolume("proc", "/proc", "app"))), critical},
		"ProcMount /proc/":           {"ProcMount", asDaemonSet(tmpl(hostPathVolume("proc", "/proc/"))), critical},
		"ProcMount below /proc":      {"ProcMount", asDaemonSet(tmpl(hostPathVolume("sys", "/proc/sys/net"))), critical},
		"ProcMount /var/lib/process": {"ProcMount", asDaemonSet(tmpl(hostPathVolume("data", "/var/lib/processes"))), absent},
		"ProcMount /procfs":          {"ProcMount", asDaemonSet(tmpl(hostPathVolume("data", "/procfs"))), absent},

		// ReadOnlyRootFilesystem
		"ReadOnlyRootFilesystem true": {"ReadOnlyRootFilesystem", asPod(tmpl(appSC(func(sc *corev1.SecurityContext) {
			sc.ReadOnlyRootFilesystem = ptr.To(true)
		}))), passed},
		"ReadOnlyRootFilesystem false": {"ReadOnlyRootFilesystem", asPod(tmpl(appSC(func(sc *corev1.SecurityContext) {
			sc.ReadOnlyRootFilesystem = ptr.To(false)
		}))), advise},
		"ReadOnlyRootFilesystem in init container": {"ReadOnlyRootFilesystem", asPod(tmpl(initContainer("init"), containerSC("init", func(sc *corev1.SecurityContext) {
			sc.ReadOnlyRootFilesystem = ptr.To(true)
		}))), passed},

		// RunAsGroup
		"RunAsGroup pod above 10000": {"RunAsGroup", asPod(tmpl(podSC(func(sc *corev1.PodSecurityContext) {
			sc.RunAsGroup = ptr.To[int64](10001)
		}))), passed},
		"RunAsGroup pod 10000": {"RunAsGroup", asPod(tmpl(podSC(func(sc *corev1.PodSecurityContext) {
			sc.RunAsGroup = ptr.To[int64](10000)
		}))), advise},
		"RunAsGroup container above 10000": {"RunAsGroup", asPod(tmpl(appSC(func(sc *corev1.SecurityContext) {
			sc.RunAsGroup = ptr.To[int64](20000)
		}))), passed},
		"RunAsGroup container 0 overrides pod": {"RunAsGroup", asPod(tmpl(
			podSC(func(sc *corev1.PodSecurityContext) { sc.RunAsGroup = ptr.To[int64](20000) }),
			appSC(func(sc *corev1.SecurityContext) { sc.RunAsGroup = ptr.To[int64](0) }),
		)), advise},
		"RunAsGroup container overrides pod 0": {"RunAsGroup", asPod(tmpl(
			podSC(func(sc *corev1.PodSecurityContext) { sc.RunAsGroup = ptr.To[int64](0) }),
			appSC(func(sc *corev1.SecurityContext) { sc.RunAsGroup = ptr.To[int64](20000) }),
		)), passed},
		"RunAsGroup inherited by one of two": {"RunAsGroup", asPod(tmpl(container("side"),
			podSC(func(sc *corev1.PodSecurityContext) { sc.RunAsGroup = ptr.To[int64](20000) }),
			appSC(func(sc *corev1.SecurityContext) { sc.RunAsGroup = ptr.To[int64](0) }),
		)), passed},
		"RunAsGroup in init container": {"RunAsGroup", asPod(tmpl(initContainer("init"), containerSC("init", func(sc *corev1.SecurityContext) {
			sc.RunAsGroup = ptr.To[int64](20000)
		}))), passed},
		"RunAsGroup unset": {"RunAsGroup", asPod(tmpl()), advise},

		// RunAsNonRoot
		"RunAsNonRoot pod true": {"RunAsNonRoot", asPod(tmpl(podSC(func(sc *corev1.PodSecurityContext) {
			sc.RunAsNonRoot = ptr.To(true)
		}))), passed},
		"RunAsNonRoot container true": {"RunAsNonRoot", asPod(tmpl(appSC(func(sc *corev1.SecurityContext) {
			sc.RunAsNonRoot = ptr.To(true)
		}))), passed},
		"RunAsNonRoot container false overrides pod true": {"RunAsNonRoot", asPod(tmpl(
			podSC(func(sc *corev1.PodSecurityContext) { sc.RunAsNonRoot = ptr.To(true) }),
			appSC(func(sc *corev1.SecurityContext) { sc.RunAsNonRoot = ptr.To(false) }),
		)), advise},
		"RunAsNonRoot container true overrides pod false": {"RunAsNonRoot", asPod(tmpl(
			podSC(func(sc *corev1.PodSecurityContext) { sc.RunAsNonRoot = ptr.To(false) }),
			appSC(func(sc *corev1.SecurityContext) { sc.RunAsNonRoot = ptr.To(true) }),
		)), passed},
		"RunAsNonRoot in init container": {"RunAsNonRoot", asPod(tmpl(initContainer("init"), containerSC("init", func(sc *corev1.SecurityContext) {
			sc.RunAsNonRoot = ptr.To(true)
		}))), passed},
		"RunAsNonRoot unset": {"RunAsNonRoot", asPod(tmpl()), advise},

		// RunAsUser
		"RunAsUser pod above 10000": {"RunAsUser", asPod(tmpl(podSC(func(sc *corev1.PodSecurityContext) {
			sc.RunAsUser = ptr.To[int64](10001)
		}))), passed},
		"RunAsUser pod 1000": {"RunAsUser", asPod(tmpl(podSC(func(sc *corev1.PodSecurityContext) {
			sc.RunAsUser = ptr.To[int64](1000)
		}))), advise},
		"RunAsUser container above 10000": {"RunAsUser", asPod(tmpl(appSC(func(sc *corev1.SecurityContext) {
			sc.RunAsUser = ptr.To[int64](65534)
		}))), passed},
		"RunAsUser container 0 overrides pod": {"RunAsUser", asPod(tmpl(
			podSC(func(sc *corev1.PodSecurityContext) { sc.RunAsUser = ptr.To[int64](20000) }),
			appSC(func(sc *corev1.SecurityContext) { sc.RunAsUser = ptr.To[int64](0) }),
		)), advise},
		"RunAsUser container overrides pod 0": {"RunAsUser", asPod(tmpl(
			podSC(func(sc *corev1.PodSecurityContext) { sc.RunAsUser = ptr.To[int64](0) }),
			appSC(func(sc *corev1.SecurityContext) { sc.RunAsUser = ptr.To[int64](20000) }),
		)), passed},
		"RunAsUser in init container": {"RunAsUser", asPod(tmpl(initContainer("init"), containerSC("init", func(sc *corev1.SecurityContext) {
			sc.RunAsUser = ptr.To[int64](20000)
		}))), passed},
		"RunAsUser unset": {"RunAsUser", asPod(tmpl()), advise},

		// SeccompAny and SeccompUnconfined
		"SeccompAny unset":             {"SeccompAny", asPod(tmpl()), advise},
		"SeccompUnconfined unset":      {"SeccompUnconfined", asPod(tmpl()), absent},
		"SeccompAny pod annotation":    {"SeccompAny", asPod(tmpl(annotate("seccomp.security.alpha.kubernetes.io/pod", "runtime/default"))), passed},
		"SeccompAny docker/default":    {"SeccompAny", asPod(tmpl(annotate("seccomp.security.alpha.kubernetes.io/pod", "docker/default"))), passed},
		"SeccompAny pod unconfined":    {"SeccompAny", asPod(tmpl(annotate("seccomp.security.alpha.kubernetes.io/pod", "unconfined"))), advise},
		"SeccompUnconfined annotation": {"SeccompUnconfined", asPod(tmpl(annotate("seccomp.security.alpha.kubernetes.io/pod", "unconfined"))), critical},
		"SeccompUnconfined confined":   {"SeccompUnconfined", asPod(tmpl(annotate("seccomp.security.alpha.kubernetes.io/pod", "runtime/default"))), absent},
		"SeccompAny pod field": {"SeccompAny", asDeployment(tmpl(podSC(func(sc *corev1.PodSecurityContext) {
			sc.SeccompProfile = seccomp(corev1.SeccompProfileTypeRuntimeDefault)
		}))), passed},
		"SeccompUnconfined pod field": {"SeccompUnconfined", asDeployment(tmpl(podSC(func(sc *corev1.PodSecurityContext) {
			sc.SeccompProfile = seccomp(corev1.SeccompProfileTypeUnconfined)
		}))), critical},
		"SeccompAny container Localhost": {"SeccompAny", asPod(tmpl(appSC(func(sc *corev1.SecurityContext) {
			sc.SeccompProfile = seccomp(corev1.SeccompProfileTypeLocalhost)
		}))), passed},
		"SeccompAny container Unconfined overrides pod": {"SeccompAny", asPod(tmpl(
			podSC(func(sc *corev1.PodSecurityContext) {
				sc.SeccompProfile = seccomp(corev1.SeccompProfileTypeRuntimeDefault)
			}),
			appSC(func(sc *corev1.SecurityContext) { sc.SeccompProfile = seccomp(corev1.SeccompProfileTypeUnconfined) }),
		)), advise},
		"SeccompUnconfined container overrides pod": {"SeccompUnconfined", asPod(tmpl(
			podSC(func(sc *corev1.PodSecurityContext) {
				sc.SeccompProfile = seccomp(corev1.SeccompProfileTypeRuntimeDefault)
			}),
			appSC(func(sc *corev1.SecurityContext) { sc.SeccompProfile = seccomp(corev1.SeccompProfileTypeUnconfined) }),
		)), critical},
		"SeccompUnconfined container annotation overrides pod annotation": {"SeccompUnconfined", asPod(tmpl(
			annotate("seccomp.security.alpha.kubernetes.io/pod", "unconfined"),
			annotate("container.seccomp.security.alpha.kubernetes.io/app", "runtime/default"),
		)), absent},
		"SeccompUnconfined container field overrides container annotation": {"SeccompUnconfined", asPod(tmpl(
			annotate("container.seccomp.security.alpha.kubernetes.io/app", "unconfined"),
			appSC(func(sc *corev1.SecurityContext) { sc.SeccompProfile = seccomp(corev1.SeccompProfileTypeRuntimeDefault) }),
		)), absent},
		"SeccompUnconfined pod field overrides pod annotation": {"SeccompUnconfined", asPod(tmpl(
			annotate("seccomp.security.alpha.kubernetes.io/pod", "runtime/default"),
			podSC(func(sc *corev1.PodSecurityContext) { sc.SeccompProfile = seccomp(corev1.SeccompProfileTypeUnconfined) }),
		)), critical},
		"SeccompUnconfined init container": {"SeccompUnconfined", asPod(tmpl(initContainer("init"),
			annotate("container.seccomp.security.alpha.kubernetes.io/init", "unconfined"),
		)), critical},
		"SeccompAny annotation on the Deployment, not the template": {"SeccompAny", func() client.Object {
			d := asDeployment(tmpl())
			d.SetAnnotations(map[string]string{"seccomp.security.alpha.kubernetes.io/pod": "runtime/default"})
			return d
		}(), advise},

		// ServiceAccountName
		"ServiceAccountName set":     {"ServiceAccountName", asPod(tmpl(spec(func(s *corev1.PodSpec) { s.ServiceAccountName = "web" }))), passed},
		"ServiceAccountName default": {"ServiceAccountName", asPod(tmpl(spec(func(s *corev1.PodSpec) { s.ServiceAccountName = "default" }))), advise},
		"ServiceAccountName unset":   {"ServiceAccountName", asPod(tmpl()), advise},

		// VolumeClaimAccessModeReadWriteOnce
		"VolumeClaimAccessModeReadWriteOnce no claims": {"VolumeClaimAccessModeReadWriteOnce", asStatefulSet(tmpl()), passed},
		"VolumeClaimAccessModeReadWriteOnce RWO": {"VolumeClaimAccessModeReadWriteOnce", asStatefulSet(tmpl(),
			claim("data", "1Gi", corev1.ReadWriteOnce)), passed},
		"VolumeClaimAccessModeReadWriteOnce RWOP": {"VolumeClaimAccessModeReadWriteOnce", asStatefulSet(tmpl(),
			claim("data", "1Gi", corev1.ReadWriteOncePod)), passed},
		"VolumeClaimAccessModeReadWriteOnce one of two": {"VolumeClaimAccessModeReadWriteOnce", asStatefulSet(tmpl(),
			claim("data", "1Gi", corev1.ReadWriteMany), claim("logs", "1Gi", corev1.ReadWriteMany, corev1.ReadWriteOnce)), passed},
		"VolumeClaimAccessModeReadWriteOnce RWX": {"VolumeClaimAccessModeReadWriteOnce", asStatefulSet(tmpl(),
			claim("data", "1Gi", corev1.ReadWriteMany)), advise},
		"VolumeClaimAccessModeReadWriteOnce not for Deployments": {"VolumeClaimAccessModeReadWriteOnce", asDeployment(tmpl()), absent},

		// VolumeClaimRequestsStorage
		"VolumeClaimRequestsStorage no claims": {"VolumeClaimRequestsStorage", asStatefulSet(tmpl()), passed},
		"VolumeClaimRequestsStorage set": {"VolumeClaimRequestsStorage", asStatefulSet(tmpl(),
			claim("data", "1Gi", corev1.ReadWriteOnce)), passed},
		"VolumeClaimRequestsStorage unset": {"VolumeClaimRequestsStorage", asStatefulSet(tmpl(),
			claim("data", "", corev1.ReadWriteOnce)), advise},
		"VolumeClaimRequestsStorage not for Pods": {"VolumeClaimRequestsStorage", asPod(tmpl()), absent},
	}
	seen := map[string]map[bool]bool{} // rule → matched? → has a case
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := Analyze(tc.obj, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := outcomeOf(res.Kubesec.Scoring, tc.rule); got != tc.want {
				t.Errorf("%s: got %s, want %s\nscoring: %+v", tc.rule, got, tc.want, res.Kubesec.Scoring)
			}
		})
		if seen[tc.rule] == nil {
			seen[tc.rule] = map[bool]bool{}
		}
		seen[tc.rule][tc.want == critical || tc.want == passed] = true
	}
	for _, r := range rules {
		if !seen[r.ref.ID][true] || !seen[r.ref.ID][false] {
			t.Errorf("rule %s needs a matching and a non-matching case", r.ref.ID)
		}
	}
}

func dropCaps(caps ...corev1.Capability) func(*corev1.SecurityContext) {
	return func(sc *corev1.SecurityContext) {
		sc.Capabilities = &corev1.Capabilities{Drop: append([]corev1.Capability{}, caps...)}
	}
}

func addCaps(caps ...corev1.Capability) func(*corev1.SecurityContext) {
	return func(sc *corev1.SecurityContext) { sc.Capabilities = &corev1.Capabilities{Add: caps} }
}

func limit(name corev1.ResourceName) func(*corev1.ResourceRequirements) {
	return func(r *corev1.ResourceRequirements) { r.Limits = corev1.ResourceList{name: quantity("1")} }
}

func request(name corev1.ResourceName) func(*corev1.ResourceRequirements) {
	return func(r *corev1.ResourceRequirements) { r.Requests = corev1.ResourceList{name: quantity("1")} }
}

// TestRuleSet pins the rule set to kubesec v2.14.2's: ids, points, advise
// weights and the kinds each rule applies to.
func TestRuleSet(t *testing.T) {
	type published struct {
		Points, Advise  int
		StatefulSetOnly bool
	}
	want := map[string]published{
		"AllowPrivilegeEscalation":           {-7, 0, false},
		"ApparmorAny":                        {3, 0, false},
		"AutomountServiceAccountToken":       {1, 0, false},
		"CapDropAll":                         {1, 0, false},
		"CapDropAny":                         {1, 0, false},
		"CapSysAdmin":                        {-30, 0, false},
		"DockerSock":                         {-9, 0, false},
		"HostAliases":                        {-3, 0, false},
		"HostIPC":                            {-9, 0, false},
		"HostNetwork":                        {-9, 0, false},
		"HostPID":                            {-9, 0, false},
		"LimitsCPU":                          {1, 0, false},
		"LimitsMemory":                       {1, 0, false},
		"Privileged":                         {-30, 0, false},
		"ProcMount":                          {-9, 0, false},
		"ReadOnlyRootFilesystem":             {1, 3, false},
		"RequestsCPU":                        {1, 0, false},
		"RequestsMemory":                     {1, 0, false},
		"RunAsGroup":                         {1, 4, false},
		"RunAsNonRoot":                       {1, 10, false},
		"RunAsUser":                          {1, 4, false},
		"SeccompAny":                         {1, 0, false},
		"SeccompUnconfined":                  {-1, 0, false},
		"ServiceAccountName":                 {3, 0, false},
		"VolumeClaimAccessModeReadWriteOnce": {1, 0, true},
		"VolumeClaimRequestsStorage":         {1, 0, true},
	}
	got := map[string]published{}
	for _, r := range rules {
		got[r.ref.ID] = published{r.ref.Points, r.advise, r.statefulSetOnly}
		if r.ref.Selector == "" || r.ref.Reason == "" || r.condition == "" || r.remediation == "" {
			t.Errorf("rule %s lacks a selector, reason, condition or remediation", r.ref.ID)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rule set (-want +got):\n%s", diff)
	}
}

// TestKinds runs the same template through every kind.
func TestKinds(t *testing.T) {
	insecure := tmpl(
		spec(func(s *corev1.PodSpec) { s.HostNetwork = true }),
		podSC(func(sc *corev1.PodSecurityContext) { sc.RunAsNonRoot = ptr.To(true) }),
		appSC(func(sc *corev1.SecurityContext) { sc.Privileged = ptr.To(true) }),
	)
	type want struct {
		APIVersion, Kind, Object string
		Score                    int
		Critical, Passed         []string
	}
	tests := map[string]struct {
		obj  client.Object
		want want
	}{
		"Pod":         {asPod(insecure), want{"v1", "Pod", "Pod/web.team", -38, []string{"Privileged", "HostNetwork"}, []string{"RunAsNonRoot"}}},
		"Deployment":  {asDeployment(insecure), want{"apps/v1", "Deployment", "Deployment/web.team", -38, []string{"Privileged", "HostNetwork"}, []string{"RunAsNonRoot"}}},
		"StatefulSet": {asStatefulSet(insecure), want{"apps/v1", "StatefulSet", "StatefulSet/web.team", -36, []string{"Privileged", "HostNetwork"}, []string{"VolumeClaimAccessModeReadWriteOnce", "VolumeClaimRequestsStorage", "RunAsNonRoot"}}},
		"DaemonSet":   {asDaemonSet(insecure), want{"apps/v1", "DaemonSet", "DaemonSet/web.team", -38, []string{"Privileged", "HostNetwork"}, []string{"RunAsNonRoot"}}},
		"ReplicaSet":  {asReplicaSet(insecure), want{"apps/v1", "ReplicaSet", "ReplicaSet/web.team", -38, []string{"Privileged", "HostNetwork"}, []string{"RunAsNonRoot"}}},
		"Job":         {asJob(insecure), want{"batch/v1", "Job", "Job/web.team", -38, []string{"Privileged", "HostNetwork"}, []string{"RunAsNonRoot"}}},
		"CronJob":     {asCronJob(insecure), want{"batch/v1", "CronJob", "CronJob/web.team", -38, []string{"Privileged", "HostNetwork"}, []string{"RunAsNonRoot"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := Analyze(tc.obj, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := want{
				APIVersion: res.Resource.APIVersion, Kind: res.Resource.Kind, Object: res.Kubesec.Object,
				Score: res.Kubesec.Score, Critical: ids(res.Kubesec.Scoring.Critical), Passed: ids(res.Kubesec.Scoring.Passed),
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if len(tests) != len(kinds) {
		t.Errorf("%d kinds tested, %d supported", len(tests), len(kinds))
	}
}

func ids(list []KubesecRule) []string {
	var out []string
	for _, r := range list {
		out = append(out, r.ID)
	}
	return out
}

func TestIsTopLevel(t *testing.T) {
	owned := func(obj client.Object, apiVersion, kind string, controller bool) client.Object {
		obj.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: "owner", UID: "1", Controller: ptr.To(controller)}})
		return obj
	}
	tests := map[string]struct {
		obj  client.Object
		want bool
	}{
		"Pod without owner":                       {asPod(tmpl()), true},
		"Pod of a ReplicaSet":                     {owned(asPod(tmpl()), "apps/v1", "ReplicaSet", true), false},
		"Pod of a StatefulSet":                    {owned(asPod(tmpl()), "apps/v1", "StatefulSet", true), false},
		"Pod of a DaemonSet":                      {owned(asPod(tmpl()), "apps/v1", "DaemonSet", true), false},
		"Pod of a Job":                            {owned(asPod(tmpl()), "batch/v1", "Job", true), false},
		"Pod of a custom resource":                {owned(asPod(tmpl()), "example.com/v1", "Runner", true), true},
		"Pod of a ReplicationController":          {owned(asPod(tmpl()), "v1", "ReplicationController", true), true},
		"Pod of a ReplicaSet in another group":    {owned(asPod(tmpl()), "example.com/v1", "ReplicaSet", true), true},
		"Pod with a non-controller owner":         {owned(asPod(tmpl()), "apps/v1", "ReplicaSet", false), true},
		"Pod with a malformed owner apiVersion":   {owned(asPod(tmpl()), "a/b/c", "ReplicaSet", true), true},
		"ReplicaSet of a Deployment":              {owned(asReplicaSet(tmpl()), "apps/v1", "Deployment", true), false},
		"ReplicaSet without owner":                {asReplicaSet(tmpl()), true},
		"ReplicaSet of a custom resource":         {owned(asReplicaSet(tmpl()), "argoproj.io/v1alpha1", "Rollout", true), true},
		"Job of a CronJob":                        {owned(asJob(tmpl()), "batch/v1", "CronJob", true), false},
		"Job without owner":                       {asJob(tmpl()), true},
		"Job of a custom resource":                {owned(asJob(tmpl()), "example.com/v1", "Pipeline", true), true},
		"Deployment of a custom resource":         {owned(asDeployment(tmpl()), "example.com/v1", "App", true), true},
		"StatefulSet without owner":               {asStatefulSet(tmpl()), true},
		"DaemonSet of a Deployment (nonsensical)": {owned(asDaemonSet(tmpl()), "apps/v1", "Deployment", true), true},
		"CronJob without owner":                   {asCronJob(tmpl()), true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := IsTopLevel(tc.obj); got != tc.want {
				t.Errorf("IsTopLevel = %v, want %v", got, tc.want)
			}
		})
	}
}

package workloads

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// Empty security contexts stand in for absent ones; they are never written.
var (
	noSecurityContext    corev1.SecurityContext
	noPodSecurityContext corev1.PodSecurityContext
	noCapabilities       corev1.Capabilities
)

// count is the number of units of scope s in p.
func (p *podTemplate) count(s scope) int {
	switch s {
	case containerScope:
		return len(p.spec.InitContainers) + len(p.spec.Containers)
	case appContainerScope:
		return len(p.spec.Containers)
	case volumeScope:
		return len(p.spec.Volumes)
	case claimScope:
		return len(p.claims)
	}
	return 1
}

// container is the i-th of the init containers followed by the containers.
func (p *podTemplate) container(i int) *corev1.Container {
	if n := len(p.spec.InitContainers); i >= n {
		return &p.spec.Containers[i-n]
	}
	return &p.spec.InitContainers[i]
}

// appendUnit appends the name of the i-th unit of scope s to buf, for a
// finding's message.
func (p *podTemplate) appendUnit(buf []byte, s scope, i int) []byte {
	switch s {
	case containerScope:
		return p.appendContainer(buf, i)
	case appContainerScope:
		return strconv.AppendQuote(append(buf, "container "...), p.spec.Containers[i].Name)
	case volumeScope:
		return p.appendVolume(buf, &p.spec.Volumes[i])
	case claimScope:
		return strconv.AppendQuote(append(buf, "volumeClaimTemplate "...), p.claims[i].Name)
	}
	return append(buf, "pod spec"...)
}

// appendContainer appends the name of p.container(i).
func (p *podTemplate) appendContainer(buf []byte, i int) []byte {
	if i < len(p.spec.InitContainers) {
		buf = append(buf, "init "...)
	}
	return strconv.AppendQuote(append(buf, "container "...), p.container(i).Name)
}

// appendVolume appends v's name, its host path and the containers that
// mount it.
func (p *podTemplate) appendVolume(buf []byte, v *corev1.Volume) []byte {
	buf = strconv.AppendQuote(append(buf, "volume "...), v.Name)
	if v.HostPath != nil {
		buf = append(append(append(buf, " (hostPath "...), v.HostPath.Path...), ')')
	}
	users := 0
	for i := range p.count(containerScope) {
		if !mounts(p.container(i), v.Name) {
			continue
		}
		if users == 0 {
			buf = append(buf, " mounted by "...)
		} else {
			buf = append(buf, ", "...)
		}
		buf = p.appendContainer(buf, i)
		users++
	}
	return buf
}

func mounts(c *corev1.Container, volume string) bool {
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return true
		}
	}
	return false
}

func (p *podTemplate) podSecurityContext() *corev1.PodSecurityContext {
	if p.spec.SecurityContext == nil {
		return &noPodSecurityContext
	}
	return p.spec.SecurityContext
}

func sc(c *corev1.Container) *corev1.SecurityContext {
	if c.SecurityContext == nil {
		return &noSecurityContext
	}
	return c.SecurityContext
}

func capabilities(c *corev1.Container) *corev1.Capabilities {
	if caps := sc(c).Capabilities; caps != nil {
		return caps
	}
	return &noCapabilities
}

// confinement is what a seccomp or AppArmor profile does to a container.
type confinement int

const (
	// unset: no profile is named, so the runtime's default applies.
	unset confinement = iota
	// confined: RuntimeDefault or a Localhost profile.
	confined
	// unconfined: the Unconfined profile.
	unconfined
)

// profileConfinement classifies a seccompProfile or appArmorProfile type.
func profileConfinement[T ~string](profileType T) confinement {
	switch profileType {
	case "":
		return unset
	case "Unconfined":
		return unconfined
	}
	return confined
}

// annotationConfinement classifies a legacy seccomp or AppArmor annotation
// value: "unconfined", or a profile such as "runtime/default" or
// "localhost/<name>".
func annotationConfinement(value string) confinement {
	switch value {
	case "":
		return unset
	case "unconfined":
		return unconfined
	}
	return confined
}

// seccomp is c's seccomp confinement. The container's seccompProfile wins
// over its legacy annotation, which wins over the pod's seccompProfile,
// which wins over the pod's legacy annotation.
func (p *podTemplate) seccomp(c *corev1.Container) confinement {
	if prof := sc(c).SeccompProfile; prof != nil {
		return profileConfinement(prof.Type)
	}
	if v, ok := p.annotation(corev1.SeccompContainerAnnotationKeyPrefix, c.Name); ok {
		return annotationConfinement(v)
	}
	if prof := p.podSecurityContext().SeccompProfile; prof != nil {
		return profileConfinement(prof.Type)
	}
	v, _ := p.annotation(corev1.SeccompPodAnnotationKey, "")
	return annotationConfinement(v)
}

// appArmor is c's AppArmor confinement, in the kubelet's order: the
// container's appArmorProfile, its legacy annotation, then the pod's
// appArmorProfile.
func (p *podTemplate) appArmor(c *corev1.Container) confinement {
	if prof := sc(c).AppArmorProfile; prof != nil {
		return profileConfinement(prof.Type)
	}
	if v, ok := p.annotation(corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix, c.Name); ok {
		return annotationConfinement(v)
	}
	if prof := p.podSecurityContext().AppArmorProfile; prof != nil {
		return profileConfinement(prof.Type)
	}
	return unset
}

// annotation looks up the template's annotation prefix+name without
// allocating the key.
func (p *podTemplate) annotation(prefix, name string) (string, bool) {
	if len(p.meta.Annotations) == 0 {
		return "", false
	}
	var buf [128]byte
	key := append(append(buf[:0], prefix...), name...)
	v, ok := p.meta.Annotations[string(key)]
	return v, ok
}

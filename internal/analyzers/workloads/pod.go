package workloads

import (
	"fmt"
	"strings"

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

// describe names the i-th unit of scope s for a finding's message.
func (p *podTemplate) describe(s scope, i int) string {
	switch s {
	case containerScope:
		if i < len(p.spec.InitContainers) {
			return fmt.Sprintf("init container %q", p.container(i).Name)
		}
		return fmt.Sprintf("container %q", p.container(i).Name)
	case appContainerScope:
		return fmt.Sprintf("container %q", p.spec.Containers[i].Name)
	case volumeScope:
		return p.describeVolume(&p.spec.Volumes[i])
	case claimScope:
		return fmt.Sprintf("volumeClaimTemplate %q", p.claims[i].Name)
	}
	return "pod spec"
}

// describeVolume names v, its host path and the containers that mount it.
func (p *podTemplate) describeVolume(v *corev1.Volume) string {
	s := fmt.Sprintf("volume %q", v.Name)
	if v.HostPath != nil {
		s += fmt.Sprintf(" (hostPath %s)", v.HostPath.Path)
	}
	var users []string
	for i := range p.count(containerScope) {
		for _, m := range p.container(i).VolumeMounts {
			if m.Name == v.Name {
				users = append(users, p.describe(containerScope, i))
				break
			}
		}
	}
	if len(users) > 0 {
		s += " mounted by " + strings.Join(users, ", ")
	}
	return s
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
	if v, ok := p.annotation(corev1.SeccompContainerAnnotationKeyPrefix + c.Name); ok {
		return annotationConfinement(v)
	}
	if prof := p.podSecurityContext().SeccompProfile; prof != nil {
		return profileConfinement(prof.Type)
	}
	v, _ := p.annotation(corev1.SeccompPodAnnotationKey)
	return annotationConfinement(v)
}

// appArmor is c's AppArmor confinement, in the kubelet's order: the
// container's appArmorProfile, its legacy annotation, then the pod's
// appArmorProfile.
func (p *podTemplate) appArmor(c *corev1.Container) confinement {
	if prof := sc(c).AppArmorProfile; prof != nil {
		return profileConfinement(prof.Type)
	}
	if v, ok := p.annotation(corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + c.Name); ok {
		return annotationConfinement(v)
	}
	if prof := p.podSecurityContext().AppArmorProfile; prof != nil {
		return profileConfinement(prof.Type)
	}
	return unset
}

func (p *podTemplate) annotation(key string) (string, bool) {
	if len(p.meta.Annotations) == 0 {
		return "", false
	}
	v, ok := p.meta.Annotations[key]
	return v, ok
}

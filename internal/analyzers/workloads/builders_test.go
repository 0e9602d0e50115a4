package workloads

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// opt changes a pod template built by tmpl.
type opt func(*corev1.PodTemplateSpec)

// tmpl is a pod template with one container "app" and no settings, changed
// by opts.
func tmpl(opts ...opt) corev1.PodTemplateSpec {
	t := corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}
	for _, o := range opts {
		o(&t)
	}
	return t
}

func objectMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "team"}
}

func asPod(t corev1.PodTemplateSpec) client.Object {
	meta := t.ObjectMeta
	meta.Name, meta.Namespace = "web", "team"
	return &corev1.Pod{ObjectMeta: meta, Spec: t.Spec}
}

func asDeployment(t corev1.PodTemplateSpec) client.Object {
	return &appsv1.Deployment{ObjectMeta: objectMeta("web"), Spec: appsv1.DeploymentSpec{Template: t}}
}

func asStatefulSet(t corev1.PodTemplateSpec, claims ...corev1.PersistentVolumeClaim) client.Object {
	return &appsv1.StatefulSet{ObjectMeta: objectMeta("web"), Spec: appsv1.StatefulSetSpec{Template: t, VolumeClaimTemplates: claims}}
}

func asDaemonSet(t corev1.PodTemplateSpec) client.Object {
	return &appsv1.DaemonSet{ObjectMeta: objectMeta("web"), Spec: appsv1.DaemonSetSpec{Template: t}}
}

func asReplicaSet(t corev1.PodTemplateSpec) client.Object {
	return &appsv1.ReplicaSet{ObjectMeta: objectMeta("web"), Spec: appsv1.ReplicaSetSpec{Template: t}}
}

func asJob(t corev1.PodTemplateSpec) client.Object {
	return &batchv1.Job{ObjectMeta: objectMeta("web"), Spec: batchv1.JobSpec{Template: t}}
}

func asCronJob(t corev1.PodTemplateSpec) client.Object {
	return &batchv1.CronJob{ObjectMeta: objectMeta("web"), Spec: batchv1.CronJobSpec{
		JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: t}},
	}}
}

// kinds wraps a template in each supported kind.
var kinds = map[string]func(corev1.PodTemplateSpec) client.Object{
	"Pod":         asPod,
	"Deployment":  asDeployment,
	"StatefulSet": func(t corev1.PodTemplateSpec) client.Object { return asStatefulSet(t) },
	"DaemonSet":   asDaemonSet,
	"ReplicaSet":  asReplicaSet,
	"Job":         asJob,
	"CronJob":     asCronJob,
}

// appSC changes container "app"'s security context.
func appSC(f func(*corev1.SecurityContext)) opt {
	return containerSC("app", f)
}

// containerSC changes the security context of the container or init
// container called name.
func containerSC(name string, f func(*corev1.SecurityContext)) opt {
	return func(t *corev1.PodTemplateSpec) {
		c := find(t, name)
		if c.SecurityContext == nil {
			c.SecurityContext = &corev1.SecurityContext{}
		}
		f(c.SecurityContext)
	}
}

func find(t *corev1.PodTemplateSpec, name string) *corev1.Container {
	for _, list := range [][]corev1.Container{t.Spec.InitContainers, t.Spec.Containers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	panic("no container " + name)
}

// initContainer adds an init container.
func initContainer(name string) opt {
	return func(t *corev1.PodTemplateSpec) {
		t.Spec.InitContainers = append(t.Spec.InitContainers, corev1.Container{Name: name, Image: "busybox"})
	}
}

// container adds a container.
func container(name string) opt {
	return func(t *corev1.PodTemplateSpec) {
		t.Spec.Containers = append(t.Spec.Containers, corev1.Container{Name: name, Image: "busybox"})
	}
}

func podSC(f func(*corev1.PodSecurityContext)) opt {
	return func(t *corev1.PodTemplateSpec) {
		if t.Spec.SecurityContext == nil {
			t.Spec.SecurityContext = &corev1.PodSecurityContext{}
		}
		f(t.Spec.SecurityContext)
	}
}

func spec(f func(*corev1.PodSpec)) opt {
	return func(t *corev1.PodTemplateSpec) { f(&t.Spec) }
}

func annotate(key, value string) opt {
	return func(t *corev1.PodTemplateSpec) {
		if t.Annotations == nil {
			t.Annotations = map[string]string{}
		}
		t.Annotations[key] = value
	}
}

// hostPathVolume adds a hostPath volume mounted by the named containers.
func hostPathVolume(name, path string, mountedBy ...string) opt {
	return func(t *corev1.PodTemplateSpec) {
		t.Spec.Volumes = append(t.Spec.Volumes, corev1.Volume{
			Name:         name,
			VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}},
		})
		for _, c := range mountedBy {
			ctr := find(t, c)
			ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: "/mnt/" + name})
		}
	}
}

// resources changes the resources of the container or init container
// called name.
func resources(name string, f func(*corev1.ResourceRequirements)) opt {
	return func(t *corev1.PodTemplateSpec) { f(&find(t, name).Resources) }
}

func quantity(s string) resource.Quantity { return resource.MustParse(s) }

func claim(name string, storage string, modes ...corev1.PersistentVolumeAccessMode) corev1.PersistentVolumeClaim {
	c := corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeClaimSpec{AccessModes: modes}}
	if storage != "" {
		c.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceStorage: quantity(storage)}
	}
	return c
}

func seccomp(t corev1.SeccompProfileType) *corev1.SeccompProfile {
	p := &corev1.SeccompProfile{Type: t}
	if t == corev1.SeccompProfileTypeLocalhost {
		p.LocalhostProfile = ptr.To("profiles/audit.json")
	}
	return p
}

func appArmor(t corev1.AppArmorProfileType) *corev1.AppArmorProfile {
	p := &corev1.AppArmorProfile{Type: t}
	if t == corev1.AppArmorProfileTypeLocalhost {
		p.LocalhostProfile = ptr.To("k8s-nginx")
	}
	return p
}

// hardened is a template that meets the restricted profile and every
// kubesec rule it can, changed by extra.
func hardened(extra ...opt) corev1.PodTemplateSpec {
	return tmpl(append([]opt{
		spec(func(s *corev1.PodSpec) {
			s.ServiceAccountName = "web"
			s.AutomountServiceAccountToken = ptr.To(false)
		}),
		podSC(func(sc *corev1.PodSecurityContext) {
			sc.RunAsNonRoot = ptr.To(true)
			sc.RunAsUser = ptr.To[int64](10001)
			sc.RunAsGroup = ptr.To[int64](10001)
			sc.SeccompProfile = seccomp(corev1.SeccompProfileTypeRuntimeDefault)
			sc.AppArmorProfile = appArmor(corev1.AppArmorProfileTypeRuntimeDefault)
		}),
		appSC(func(sc *corev1.SecurityContext) {
			sc.AllowPrivilegeEscalation = ptr.To(false)
			sc.ReadOnlyRootFilesystem = ptr.To(true)
			sc.Capabilities = &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}
		}),
		resources("app", func(r *corev1.ResourceRequirements) {
			r.Limits = corev1.ResourceList{corev1.ResourceCPU: quantity("500m"), corev1.ResourceMemory: quantity("256Mi")}
			r.Requests = corev1.ResourceList{corev1.ResourceCPU: quantity("100m"), corev1.ResourceMemory: quantity("128Mi")}
		}),
	}, extra...)...)
}

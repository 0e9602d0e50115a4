package workloads

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// kindOrder is the supported kinds in a fixed order, for generateWorkloads.
var kindOrder = []string{"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}

// profiles are the kinds of pod template generateWorkloads mixes, from
// hardened to badly insecure.
var profiles = []func(i int) corev1.PodTemplateSpec{
	func(int) corev1.PodTemplateSpec { return hardened() },
	func(int) corev1.PodTemplateSpec { return tmpl() },
	func(i int) corev1.PodTemplateSpec {
		return tmpl(
			spec(func(s *corev1.PodSpec) { s.HostNetwork, s.HostPID = true, i%2 == 0 }),
			appSC(func(sc *corev1.SecurityContext) { sc.Privileged = ptr.To(true) }),
		)
	},
	func(int) corev1.PodTemplateSpec {
		return tmpl(
			annotate("seccomp.security.alpha.kubernetes.io/pod", "unconfined"),
			appSC(func(sc *corev1.SecurityContext) {
				sc.Capabilities = &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN", "NET_ADMIN"}}
				sc.AllowPrivilegeEscalation = ptr.To(true)
			}),
			hostPathVolume("sock", "/var/run/docker.sock", "app"),
		)
	},
	func(int) corev1.PodTemplateSpec {
		return hardened(
			initContainer("migrate"),
			containerSC("migrate", func(sc *corev1.SecurityContext) { sc.RunAsUser = ptr.To[int64](0) }),
			annotate("container.apparmor.security.beta.kubernetes.io/app", "localhost/k8s-app"),
		)
	},
}

// generateWorkloads returns n workloads cycling through every kind and
// profile, with zero to two sidecars.
func generateWorkloads(n int) []client.Object {
	objs := make([]client.Object, 0, n)
	for i := range n {
		t := profiles[(i/len(kindOrder))%len(profiles)](i)
		for s := range (i / (len(kindOrder) * len(profiles))) % 3 {
			name := fmt.Sprintf("sidecar-%d", s)
			container(name)(&t)
			resources(name, func(r *corev1.ResourceRequirements) {
				r.Limits = corev1.ResourceList{corev1.ResourceMemory: quantity("64Mi")}
			})(&t)
		}
		obj := kinds[kindOrder[i%len(kindOrder)]](t)
		obj.SetName(fmt.Sprintf("workload-%d", i))
		objs = append(objs, obj)
	}
	return objs
}

// BenchmarkAnalyze scores 10,000 generated workloads per iteration with
// kubesec's rules and the Pod Security Standards, with advice.
func BenchmarkAnalyze(b *testing.B) {
	objs := generateWorkloads(10_000)
	opts := Options{Advice: true}
	b.ReportAllocs()
	for b.Loop() {
		for _, obj := range objs {
			if _, err := Analyze(obj, opts); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(objs))/b.Elapsed().Seconds(), "workloads/s")
}

package managercmd_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-sec/palisade/internal/cli/managercmd"
	"github.com/palisade-sec/palisade/test/testenv"
)

// TestOwnImage reads the manager container's image from a pod stored in a
// real API server, as the manager does from its own pod.
func TestOwnImage(t *testing.T) {
	env, cfg, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{Scheme: managercmd.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "palisade-system"}}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "palisade-system", Name: "palisade-manager-abc"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "proxy", Image: "registry.example/proxy:1"},
			{Name: "manager", Image: "registry.example/palisade:v1.2.3"},
		}}}
	if err := c.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, namespace, pod, container string
		image, source                   string
	}{
		{"its own container", "palisade-system", "palisade-manager-abc", "manager", "registry.example/palisade:v1.2.3", "pod palisade-system/palisade-manager-abc"},
		{"not in a pod", "", "", "manager", "", "not in a pod"},
		{"pod gone", "palisade-system", "gone", "manager", "", "not found"},
		{"no such container", "palisade-system", "palisade-manager-abc", "other", "", "has no container other"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			image, source := managercmd.OwnImage(ctx, c, tc.namespace, tc.pod, tc.container)
			if image != tc.image || !strings.Contains(source, tc.source) {
				t.Errorf("OwnImage = %q, %q; want %q and a source saying %q", image, source, tc.image, tc.source)
			}
		})
	}
}

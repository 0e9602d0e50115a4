package controllers_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/probepods"
	"github.com/palisade-sec/palisade/test/testenv"
)

// applyManifest creates every object of a file under config/, and deletes
// them when the test ends.
func applyManifest(path string) {
	GinkgoHelper()
	data, err := os.ReadFile(filepath.Join(testenv.Root(), "config", path))
	Expect(err).NotTo(HaveOccurred())
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			return
		} else {
			Expect(err).NotTo(HaveOccurred())
		}
		if len(u.Object) == 0 {
			continue
		}
		Expect(k8sClient.Create(ctx, u)).To(Succeed(), "%s %s", u.GetKind(), u.GetName())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, u))).To(Succeed()) })
	}
}

// The manager's ServiceAccount may create and delete namespaces; the
// shipped admission policy keeps it to Palisade's own temporary ones,
// under the shipped RBAC, on a real API server.
var _ = Describe("The namespace guard (config/rbac/namespace_guard.yaml)", func() {
	It("lets the manager create and delete only namespaces labelled as a PolicyProbe's", func() {
		applyManifest("rbac/role.yaml")
		applyManifest("rbac/role_binding.yaml")
		applyManifest("rbac/namespace_guard.yaml")
		as := rest.CopyConfig(cfg)
		as.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:palisade-system:palisade-manager"}
		manager, err := client.New(as, client.Options{Scheme: k8sClient.Scheme()})
		Expect(err).NotTo(HaveOccurred())

		other := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: newNamespace("guarded", nil)}}
		// Dry runs go through admission too: wait for the policy to take
		// effect without deleting anything.
		Eventually(func() error {
			return manager.Delete(ctx, other, client.DryRunAll)
		}).Should(MatchError(ContainSubstring("only create, change or delete the temporary namespaces")), "the policy takes effect")
		Expect(manager.Delete(ctx, other)).NotTo(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(other), other)).To(Succeed())
		Expect(other.DeletionTimestamp).To(BeNil())

		err = manager.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "guard-unlabelled"}})
		Expect(apierrors.IsInvalid(err) || apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)

		own := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "guard-own", Labels: map[string]string{
			securityv1alpha1.LabelManagedBy: securityv1alpha1.ManagedByValue, probepods.LabelProbeNamespace: operatorNamespace, securityv1alpha1.LabelProbe: "p"}}}
		Expect(manager.Create(ctx, own)).To(Succeed())
		Expect(manager.Delete(ctx, own)).To(Succeed())
	})
})

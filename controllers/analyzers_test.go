package controllers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
)

// findingsOf returns "ID namespace/kind/name" for each finding of a report.
func findingsOf(rep *securityv1alpha1.ScanReport) []string {
	var out []string
	for _, f := range rep.Status.Findings {
		out = append(out, f.ID+" "+f.Resource.Namespace+"/"+f.Resource.Kind+"/"+f.Resource.Name)
	}
	return out
}

func analyzerPhase(rep *securityv1alpha1.ScanReport, name string) securityv1alpha1.AnalyzerPhase {
	for _, a := range rep.Status.Analyzers {
		if a.Name == name {
			return a.Phase
		}
	}
	return ""
}

// execRole grants what `kubectl exec` needs: create pods/exec and get pods.
func execRole(ns, name string) *rbacv1.Role {
	return &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create"}},
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}},
		},
	}
}

// bindToSA binds a role to the service account ns/sa: with a RoleBinding in
// ns, or with a ClusterRoleBinding when clusterWide.
func bindToSA(ns, name, roleKind, role, sa string, clusterWide bool) client.Object {
	subjects := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: ns}}
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: roleKind, Name: role}
	if clusterWide {
		return &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subjects, RoleRef: ref}
	}
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Subjects: subjects, RoleRef: ref}
}

func podAs(ns, name, sa string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{container("app", nil)}},
	}
}

// withToken adds the projected service account token volume that the
// ServiceAccount admission plugin adds on a real cluster (envtest's API
// server runs without it).
func withToken(pod *corev1.Pod) *corev1.Pod {
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "kube-api-access-x1", VolumeSource: corev1.VolumeSource{
		Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3607)}},
		}},
	}})
	for i := range pod.Spec.Containers {
		pod.Spec.Containers[i].VolumeMounts = append(pod.Spec.Containers[i].VolumeMounts,
			corev1.VolumeMount{Name: "kube-api-access-x1", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true})
	}
	return pod
}

var _ = Describe("SecurityScan analyzers", func() {
	It("finds risky RBAC: the role, the binding chain and the pod that runs with it", func() {
		ns := newNamespace("rbac", nil)
		Expect(k8sClient.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "debugger"}})).To(Succeed())
		Expect(k8sClient.Create(ctx, execRole(ns, "shell-access"))).To(Succeed())
		Expect(k8sClient.Create(ctx, bindToSA(ns, "debugger-shell", "Role", "shell-access", "debugger", false))).To(Succeed())
		// Two create pods/exec rules do not make "exec + get pods" (KubiScan's false positive).
		Expect(k8sClient.Create(ctx, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "half-exec"},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create"}},
				{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create"}},
			},
		})).To(Succeed())
		Expect(k8sClient.Create(ctx, withToken(podAs(ns, "toolbox", "debugger")))).To(Succeed())
		quiet := podAs(ns, "no-token", "debugger")
		quiet.Spec.AutomountServiceAccountToken = ptr.To(false)
		Expect(k8sClient.Create(ctx, quiet)).To(Succeed())

		sc := newScan(operatorNamespace, "rbac-"+ns, func(s *securityv1alpha1.SecurityScan) {
			s.Spec.Workloads = nil
			s.Spec.RBAC = &securityv1alpha1.RBACAnalyzer{}
			s.Spec.Namespaces.Names = []string{ns}
		})
		Expect(k8sClient.Create(ctx, sc)).To(Succeed())
		rep := finishedReport(operatorNamespace, sc.Name+"-g1")
		Expect(analyzerPhase(rep, "rbac")).To(Equal(securityv1alpha1.AnalyzerSucceeded))
		got := findingsOf(rep)
		Expect(got).To(ContainElements(
			"rbac.exec-pods "+ns+"/Role/shell-access",
			"rbac.risky-pod "+ns+"/Pod/toolbox",
		))
		Expect(got).To(ContainElement(HavePrefix("rbac.exec-pods " + ns + "/RoleBinding/debugger-shell")))
		Expect(got).NotTo(ContainElement(ContainSubstring("/Role/half-exec")))
		Expect(got).NotTo(ContainElement(ContainSubstring("/Pod/no-token")), "no token mounted, no risk")
	})

	It("keeps a tenant's RBAC findings to its own namespace", func() {
		ns := newNamespace("rbac-tenant", nil)
		Expect(k8sClient.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reader"}})).To(Succeed())
		Expect(k8sClient.Create(ctx, &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "secret-lister-" + ns},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list"}}},
		})).To(Succeed())
		Expect(k8sClient.Create(ctx, bindToSA(ns, "reader-secrets-"+ns, "ClusterRole", "secret-lister-"+ns, "reader", true))).To(Succeed())
		Expect(k8sClient.Create(ctx, withToken(podAs(ns, "reader-pod", "reader")))).To(Succeed())
		sc := newScan(ns, "rbac", func(s *securityv1alpha1.SecurityScan) {
			s.Spec.Workloads = nil
			s.Spec.RBAC = &securityv1alpha1.RBACAnalyzer{}
		})
		Expect(k8sClient.Create(ctx, sc)).To(Succeed())
		rep := finishedReport(ns, "rbac-g1")
		Expect(findingsOf(rep)).To(ContainElement("rbac.risky-pod " + ns + "/Pod/reader-pod"))
		for _, f := range rep.Status.Findings {
			Expect(f.Resource.Namespace).To(Equal(ns), "a tenant sees nothing cluster-scoped: %v", f)
		}

		admin := newScan(operatorNamespace, "rbac-admin-"+ns, func(s *securityv1alpha1.SecurityScan) {
			s.Spec.Workloads = nil
			s.Spec.RBAC = &securityv1alpha1.RBACAnalyzer{}
			s.Spec.Namespaces.Names = []string{ns}
		})
		Expect(k8sClient.Create(ctx, admin)).To(Succeed())
		rep = finishedReport(operatorNamespace, admin.Name+"-g1")
		Expect(findingsOf(rep)).To(ContainElement("rbac.list-secrets /ClusterRoleBinding/reader-secrets-"+ns),
			"a scan in the operator's namespace sees cluster-wide grants")
	})

	It("audits NetworkPolicy coverage per namespace", func() {
		open := newNamespace("np-open", nil)
		locked := newNamespace("np-locked", nil)
		for _, ns := range []string{open, locked} {
			Expect(k8sClient.Create(ctx, podAs(ns, "web", ""))).To(Succeed())
		}
		Expect(k8sClient.Create(ctx, &networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: locked, Name: "default-deny"},
			Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}},
		})).To(Succeed())
		sc := newScan(operatorNamespace, "netpol-"+open, func(s *securityv1alpha1.SecurityScan) {
			s.Spec.Workloads = nil
			s.Spec.NetworkPolicies = &securityv1alpha1.NetworkPoliciesAnalyzer{}
			s.Spec.Namespaces.Names = []string{open, locked}
		})
		Expect(k8sClient.Create(ctx, sc)).To(Succeed())
		rep := finishedReport(operatorNamespace, sc.Name+"-g1")
		got := findingsOf(rep)
		Expect(got).To(ContainElements(
			"netpol.no-default-deny-ingress /Namespace/"+open,
			"netpol.no-default-deny-egress /Namespace/"+open,
		))
		Expect(got).To(ContainElement("netpol.pods-not-isolated-ingress /Namespace/" + open))
		Expect(got).NotTo(ContainElement(ContainSubstring(locked)))
	})
})

var _ = Describe("SecurityScan mTLS analyzer", Ordered, func() {
	var ns string
	BeforeAll(func() {
		ns = newNamespace("mesh", map[string]string{"istio-injection": "enabled"})
		pod := podAs(ns, "api", "")
		pod.Annotations = map[string]string{"sidecar.istio.io/status": `{"containers":["istio-proxy"]}`}
		pod.Spec.Containers = append(pod.Spec.Containers, container("istio-proxy", nil))
		Expect(k8sClient.Create(ctx, pod)).To(Succeed())
	})
	mtlsScan := func(name string) *securityv1alpha1.ScanReport {
		sc := newScan(operatorNamespace, name, func(s *securityv1alpha1.SecurityScan) {
			s.Spec.Workloads = nil
			s.Spec.MTLS = &securityv1alpha1.MTLSAnalyzer{}
			s.Spec.Namespaces.Names = []string{ns}
		})
		Expect(k8sClient.Create(ctx, sc)).To(Succeed())
		return finishedReport(operatorNamespace, name+"-g1")
	}

	It("says once that Istio is not installed, and succeeds", func() {
		rep := mtlsScan("mtls-without-istio")
		Expect(rep.Status.Phase).To(Equal(securityv1alpha1.ReportComplete))
		Expect(findingsOf(rep)).To(Equal([]string{"mtls.istio-not-installed /CustomResourceDefinition/peerauthentications.security.istio.io"}))
	})

	It("reports plaintext-accepting workloads when Istio's PeerAuthentication CRD is installed", func() {
		installPeerAuthentications()
		Eventually(func() error {
			return k8sClient.Create(ctx, peerAuthentication(ns, "default", "PERMISSIVE"))
		}).Should(Succeed())
		rep := mtlsScan("mtls-with-istio")
		Expect(analyzerPhase(rep, "mtls")).To(Equal(securityv1alpha1.AnalyzerSucceeded))
		got := findingsOf(rep)
		Expect(got).NotTo(ContainElement(HavePrefix("mtls.istio-not-installed")))
		Expect(got).To(ContainElement(HavePrefix("mtls.permissive " + ns)))
		Expect(got).To(ContainElement("mtls.namespace-not-strict /Namespace/" + ns))
	})
})

func peerAuthentication(ns, name, mode string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "security.istio.io/v1",
		"kind":       "PeerAuthentication",
		"metadata":   map[string]any{"namespace": ns, "name": name},
		"spec":       map[string]any{"mtls": map[string]any{"mode": mode}},
	}}
	return u
}

// peerAuthenticationCRD is a minimal stand-in for Istio's CRD: same group,
// kind and versions, schema left open.
func peerAuthenticationCRD() *apiextensionsv1.CustomResourceDefinition {
	schema := &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
		Type: "object", XPreserveUnknownFields: ptr.To(true),
	}}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "peerauthentications.security.istio.io"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "security.istio.io",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "peerauthentications", Singular: "peerauthentication", Kind: "PeerAuthentication", ListKind: "PeerAuthenticationList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
				{Name: "v1", Served: true, Storage: true, Schema: schema},
				{Name: "v1beta1", Served: true, Storage: false, Schema: schema},
			},
		},
	}
}

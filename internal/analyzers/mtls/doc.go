// Package mtls assesses the Istio mTLS posture: the effective
// PeerAuthentication mode of each namespace and workload in scope, and who
// accepts plaintext.
//
// It reads PeerAuthentications (security.istio.io/v1 or v1beta1) as a small
// struct, converted from unstructured objects with FromUnstructured, so
// Istio's client stays out of the build. Resolution follows Istio
// (ComposePeerAuthentication in istiod):
//
//   - a policy without a selector (or with empty matchLabels) is mesh-wide in
//     the root namespace (Options.RootNamespace, istio-system by default) and
//     namespace-wide elsewhere; a policy with a selector is workload-level,
//     except in the root namespace, where Istio ignores it;
//   - the narrowest level that sets a mode wins: workload over namespace over
//     mesh; UNSET inherits from the level above; with no policy at all the
//     mode is PERMISSIVE;
//   - among policies of the same level the oldest (creationTimestamp) wins;
//     ties go to the first by name;
//   - portLevelMtls is taken from the workload policy only, UNSET ports
//     inheriting the workload's resolved mode.
//
// A pod is in the mesh when it runs an istio-proxy sidecar (container, native
// sidecar init container, or sidecar.istio.io/status annotation) or is
// enrolled in ambient mode (istio.io/dataplane-mode=ambient on the pod or its
// namespace, unless the pod says "none"). For a manifest that never went
// through admission, the injection policy predicts the sidecar: namespace
// istio-injection=enabled or istio.io/rev, pod sidecar.istio.io/inject
// (label, or the deprecated annotation); istio-injection=disabled always
// wins. hostNetwork pods are never injected.
//
// # Use
//
// When the CRD named CRDName is absent, report NotInstalled() once and skip
// the rest. Otherwise:
//
//	policies, bad := mtls.FromUnstructuredList(objects) // bad: findings for unreadable policies
//	a := mtls.New(namespaces, policies, mtls.Options{})  // include the root namespace's policies
//	for i := range pods { // one at a time, e.g. page by page
//		a.Pod(&pods[i])
//	}
//	findings := append(bad, a.Findings()...)
//
// or mtls.Analyze. Namespaces returns each namespace's effective mode and
// counts; Workload returns the effective mode of one pod. The analyzer keeps
// counters per namespace and per plaintext group, never the pods. Output
// order depends only on the input's content.
//
// # Findings and severities
//
//	ID                          Severity     Resource                   When
//	mtls.istio-not-installed    Info         the CRD                    from NotInstalled()
//	mtls.no-mesh-policy         Low          root Namespace             no mesh-wide policy sets a mode
//	mtls.root-selector-ignored  Low          PeerAuthentication         selector policy in the root namespace
//	mtls.invalid-policy         Low          PeerAuthentication         from FromUnstructuredList
//	mtls.namespace-not-strict   Medium/High  Namespace                  a mesh namespace whose namespace-level
//	                                                                    mode is PERMISSIVE / DISABLE
//	mtls.pods-without-sidecar   Medium       Namespace                  pods of a mesh namespace outside the mesh
//	mtls.permissive             Medium       PeerAuthentication or      meshed pods accepting plaintext in
//	                                         Namespace                  PERMISSIVE mode (workload or port)
//	mtls.disabled               High         same                       the same in DISABLE mode
//
// Plaintext findings group the meshed pods of a namespace by the policy (and
// port) responsible, since that policy is what to fix: their resource is the
// PeerAuthentication when it is namespace- or workload-level, the Namespace
// when the mode comes from the mesh-wide policy or the default.
package mtls

// Package e2e holds Palisade's end-to-end tests. They run against a real
// single-node cluster (hack/local-cluster: kubelet, containerd, a
// NetworkPolicy enforcer) with the operator deployed from config/default
// through the overlay in test/e2e/config, under the RBAC the project ships.
//
// `make e2e` builds and starts the cluster, builds and loads the images, runs
// this suite and tears the cluster down. Run directly, the suite is skipped
// unless PALISADE_E2E_KUBECONFIG names the cluster's kubeconfig, so `make
// test` passes on any machine.
package e2e

// Package testenv starts a real kube-apiserver and etcd (envtest) with
// Palisade's CRDs, for the controller and demo code.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Root is the repository's root directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Start starts the control plane with the CRDs from config/crd/bases. The
// binaries come from KUBEBUILDER_ASSETS, or bin/envtest (make envtest).
func Start() (*envtest.Environment, *rest.Config, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		assets := filepath.Join(Root(), "bin", "envtest")
		if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
			return nil, nil, fmt.Errorf("no envtest binaries: run `make envtest` or set KUBEBUILDER_ASSETS")
		}
		os.Setenv("KUBEBUILDER_ASSETS", assets)
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(Root(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, nil, fmt.Errorf("starting envtest: %w", err)
	}
	return env, cfg, nil
}

//go:build tools

// Package tools pins kube-bench for the benchmark image (hack/image/build.sh).
package tools

import _ "github.com/aquasecurity/kube-bench"

//go:build tools

// Package tools pins kube-router, the NetworkPolicy enforcer of the local
// cluster (run unmodified, firewall only).
package tools

import _ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"

package job

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/version"
)

func TestSelect(t *testing.T) {
	tests := map[string]struct {
		benchmark string
		version   *version.Info
		aks       bool
		wantArgs  []string
		want      string
		reason    string
		wantErr   bool
	}{
		"explicit benchmark": {
			benchmark: "eks-1.8.0", wantArgs: []string{"--benchmark", "eks-1.8.0"}, want: "eks-1.8.0", reason: "spec.benchmark",
		},
		"vanilla newer than kube-bench's table": {
			benchmark: "auto", version: &version.Info{Major: "1", Minor: "37", GitVersion: "v1.37.2"},
			wantArgs: []string{"--version", "1.37"}, want: "cis-1.12", reason: "maps to cis-1.12",
		},
		"vanilla in the table": {
			benchmark: "auto", version: &version.Info{Major: "1", Minor: "28", GitVersion: "v1.28.15"},
			wantArgs: []string{"--version", "1.28"}, want: "cis-1.10",
		},
		"minor with a plus": {
			benchmark: "auto", version: &version.Info{Major: "1", Minor: "30+", GitVersion: "v1.30.4+abcdef0"},
			wantArgs: []string{"--version", "1.30"}, want: "cis-1.11",
		},
		"EKS": {
			benchmark: "auto", version: &version.Info{Major: "1", Minor: "31+", GitVersion: "v1.31.4-eks-2d5f260"},
			wantArgs: []string{"--benchmark", "eks-1.7.0"}, want: "eks-1.7.0", reason: "is EKS",
		},
		"GKE": {
			benchmark: "auto", version: &version.Info{Major: "1", Minor: "30", GitVersion: "v1.30.5-gke.1014001"},
			wantArgs: []string{"--benchmark", "gke-1.8.0"}, want: "gke-1.8.0",
		},
		"K3s": {
			benchmark: "auto", version: &version.Info{Major: "1", Minor: "26", GitVersion: "v1.26.4+k3s1"},
			wantArgs: []string{"--benchmark", "k3s-cis-1.8"}, want: "k3s-cis-1.8",
		},
		"RKE2": {
			benchmark: "auto", version: &version.Info{Major: "1", Minor: "24", GitVersion: "v1.24.9+rke2r1"},
			wantArgs: []string{"--benchmark", "rke2-cis-1.24"}, want: "rke2-cis-1.24",
		},
		"AKS from its node labels": {
			benchmark: "auto", version: &version.Info{Major: "1", Minor: "30", GitVersion: "v1.30.3"}, aks: true,
			wantArgs: []string{"--benchmark", "aks-1.7"}, want: "aks-1.7",
		},
		"version from GitVersion only": {
			benchmark: "auto", version: &version.Info{GitVersion: "v1.33.1"},
			wantArgs: []string{"--version", "1.33"}, want: "cis-1.12",
		},
		"too old for any benchmark": {
			benchmark: "auto", version: &version.Info{Major: "1", Minor: "14", GitVersion: "v1.14.0"},
			wantArgs: []string{"--version", "1.14"}, want: "",
		},
		"unreadable version": {benchmark: "auto", version: &version.Info{GitVersion: "unknown"}, wantErr: true},
		"no version":         {benchmark: "auto", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Select(tc.benchmark, tc.version, tc.aks)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if diff := cmp.Diff(tc.wantArgs, got.Args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
			if got.Benchmark != tc.want {
				t.Errorf("benchmark = %q, want %q", got.Benchmark, tc.want)
			}
			if !strings.Contains(got.Reason, tc.reason) {
				t.Errorf("reason %q does not say %q", got.Reason, tc.reason)
			}
		})
	}
}

func TestTargets(t *testing.T) {
	tests := map[string]struct {
		benchmark, role string
		want            []string
	}{
		"worker":                   {"cis-1.12", RoleWorker, []string{"node"}},
		"control plane":            {"cis-1.12", RoleControlPlane, []string{"master", "controlplane", "etcd", "node", "policies"}},
		"control plane, no etcd":   {"gke-1.9.0", RoleControlPlane, []string{"master", "controlplane", "node", "policies"}},
		"control plane, old":       {"rh-0.7", RoleControlPlane, []string{"master", "node"}},
		"control plane, unknown":   {"", RoleControlPlane, []string{"master", "controlplane", "etcd", "node", "policies"}},
		"worker, managed platform": {"eks-1.8.0", RoleWorker, []string{"node"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Targets(tc.benchmark, tc.role)); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
		})
	}
}

package job

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/version"
)

// Auto is the benchmark spec value that lets the operator choose.
const Auto = "auto"

// KubeBenchVersion is the kube-bench release whose tables this file
// follows (cfg/config.yaml and cmd/util.go).
const KubeBenchVersion = "v0.15.6"

// Selection is how kube-bench is told which benchmark to run.
type Selection struct {
	// Args are kube-bench's flags: --benchmark <name> or --version
	// <major.minor>.
	Args []string
	// Benchmark is the benchmark expected to run, e.g. cis-1.12; with
	// --version, the one kube-bench v0.15.6 maps the version to (another
	// kube-bench image may map it differently: each node's result says
	// which ran). Empty when not known.
	Benchmark string
	// Reason says how the benchmark was chosen.
	Reason string
}

// Select chooses the benchmark. An explicit one is passed as --benchmark.
// With "auto", the API server's version decides, so that kube-bench never
// has to reach the API server from its pod (without it, it silently falls
// back to an old benchmark): a managed platform recognised by the version's
// suffix (-eks-, -gke., +k3s, +rke2, ...), or AKS (aks: nodes carry
// kubernetes.azure.com/cluster), gets its own benchmark through
// --benchmark; any other cluster gets --version <major.minor>, which
// kube-bench maps to a CIS benchmark.
func Select(benchmark string, v *version.Info, aks bool) (Selection, error) {
	if benchmark != "" && benchmark != Auto {
		return Selection{Args: []string{"--benchmark", benchmark}, Benchmark: benchmark, Reason: "Set in spec.benchmark"}, nil
	}
	if v == nil {
		return Selection{}, fmt.Errorf("no API server version")
	}
	minor, err := majorMinor(v)
	if err != nil {
		return Selection{}, err
	}
	if name, b := platformBenchmark(v.GitVersion, minor, aks); b != "" {
		return Selection{Args: []string{"--benchmark", b}, Benchmark: b,
			Reason: fmt.Sprintf("API server %s is %s: kube-bench --benchmark %s", v.GitVersion, name, b)}, nil
	}
	s := Selection{Args: []string{"--version", minor}, Benchmark: cisBenchmark(minor)}
	s.Reason = fmt.Sprintf("API server %s: kube-bench --version %s", v.GitVersion, minor)
	if s.Benchmark != "" {
		s.Reason += fmt.Sprintf(", which kube-bench %s maps to %s", KubeBenchVersion, s.Benchmark)
	}
	return s, nil
}

// majorMinor reads "1.37" from the version, from Major and Minor ("37+" on
// some platforms) or else from GitVersion.
func majorMinor(v *version.Info) (string, error) {
	major, minor := strings.TrimRight(v.Major, "+"), strings.TrimRight(v.Minor, "+")
	if isNumber(major) && isNumber(minor) {
		return major + "." + minor, nil
	}
	if m := gitVersionRe.FindStringSubmatch(v.GitVersion); m != nil {
		return m[1], nil
	}
	return "", fmt.Errorf("cannot read the API server's version %q", v.GitVersion)
}

var gitVersionRe = regexp.MustCompile(`^v(\d+\.\d+)\.\d+`)

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil && s != ""
}

// platformRe is kube-bench's (getPlatformInfoFromVersion): the word after
// the patch version's '-' or '+' names the platform.
var platformRe = regexp.MustCompile(`v(\d+\.\d+)\.\d+[-+](\w+)(?:[.\-+]*)\w+`)

// platformBenchmark is kube-bench's getPlatformBenchmarkVersion: the
// platform's name and benchmark, or "" for a platform it does not know.
func platformBenchmark(gitVersion, minor string, aks bool) (string, string) {
	if aks {
		return "AKS", aksBenchmark(minor)
	}
	m := platformRe.FindStringSubmatch(gitVersion)
	if m == nil {
		return "", ""
	}
	switch m[2] {
	case "eks":
		return "EKS", eksBenchmark(minor)
	case "gke":
		return "GKE", gkeBenchmark(minor)
	case "k3s":
		return "K3s", k3sBenchmark(minor)
	case "rancher":
		return "RKE", rkeBenchmark(minor)
	case "rke2r":
		return "RKE2", rke2Benchmark(minor)
	case "aliyun":
		return "ACK", "ack-1.0"
	case "vmware":
		return "TKGI", "tkgi-1.2.53"
	}
	return "", ""
}

func inVersions(v string, versions ...string) bool { return slices.Contains(versions, v) }

func eksBenchmark(v string) string {
	switch {
	case inVersions(v, "1.15", "1.16", "1.17", "1.18", "1.19"):
		return "eks-1.0.1"
	case inVersions(v, "1.29", "1.30", "1.31"):
		return "eks-1.7.0"
	case inVersions(v, "1.32", "1.33", "1.34"):
		return "eks-1.8.0"
	}
	return "eks-1.5.0"
}

func aksBenchmark(v string) string {
	switch {
	case inVersions(v, "1.19", "1.20", "1.21", "1.22", "1.23", "1.24"):
		return "aks-1.0"
	case inVersions(v, "1.29", "1.30", "1.31"):
		return "aks-1.7"
	}
	return "aks-1.8"
}

func gkeBenchmark(v string) string {
	switch {
	case inVersions(v, "1.15", "1.16", "1.17", "1.18", "1.19"):
		return "gke-1.0"
	case inVersions(v, "1.20", "1.21", "1.22", "1.23", "1.24", "1.25", "1.26", "1.27"):
		return "gke-1.2.0"
	case inVersions(v, "1.28", "1.29"):
		return "gke-1.6.0"
	case inVersions(v, "1.30"):
		return "gke-1.8.0"
	}
	return "gke-1.9.0"
}

func k3sBenchmark(v string) string {
	switch {
	case inVersions(v, "1.22", "1.23"):
		return "k3s-cis-1.23"
	case inVersions(v, "1.24"):
		return "k3s-cis-1.24"
	case inVersions(v, "1.25"):
		return "k3s-cis-1.7"
	case inVersions(v, "1.26"):
		return "k3s-cis-1.8"
	}
	return "k3s-cis-1.9"
}

func rkeBenchmark(v string) string {
	switch {
	case inVersions(v, "1.23"):
		return "rke-cis-1.23"
	case inVersions(v, "1.24"):
		return "rke-cis-1.24"
	}
	return "rke-cis-1.7"
}

func rke2Benchmark(v string) string {
	switch {
	case inVersions(v, "1.23"):
		return "rke2-cis-1.23"
	case inVersions(v, "1.24"):
		return "rke2-cis-1.24"
	case inVersions(v, "1.25"):
		return "rke2-cis-1.7"
	}
	return "rke2-cis-1.8"
}

// versionMapping is the Kubernetes part of cfg/config.yaml's
// version_mapping.
var versionMapping = map[string]string{
	"1.15": "cis-1.5", "1.16": "cis-1.6", "1.17": "cis-1.6", "1.18": "cis-1.6",
	"1.19": "cis-1.20", "1.20": "cis-1.20", "1.21": "cis-1.20",
	"1.22": "cis-1.23", "1.23": "cis-1.23", "1.24": "cis-1.24",
	"1.25": "cis-1.7", "1.26": "cis-1.8", "1.27": "cis-1.9", "1.28": "cis-1.10",
	"1.29": "cis-1.11", "1.30": "cis-1.11", "1.31": "cis-1.11",
	"1.32": "cis-1.12", "1.33": "cis-1.12", "1.34": "cis-1.12",
}

// cisBenchmark maps a version as kube-bench's mapToBenchmarkVersion does:
// a version it does not list takes the benchmark of the nearest lower one
// (1.37 runs cis-1.12), down to 1.18; "" when none matches.
func cisBenchmark(v string) string {
	major, minor, ok := strings.Cut(v, ".")
	n, err := strconv.Atoi(minor)
	if !ok || err != nil {
		return ""
	}
	for ; n >= 18; n-- {
		if b, ok := versionMapping[major+"."+strconv.Itoa(n)]; ok {
			return b
		}
	}
	return versionMapping[v]
}

// Targets of kube-bench runs, as its --targets flag names them.
const (
	TargetMaster       = "master"
	TargetControlPlane = "controlplane"
	TargetEtcd         = "etcd"
	TargetNode         = "node"
	TargetPolicies     = "policies"
)

// controlPlaneTargets are what a control-plane node runs.
var controlPlaneTargets = []string{TargetMaster, TargetControlPlane, TargetEtcd, TargetNode, TargetPolicies}

// missingTargets are the control-plane targets a benchmark lacks, from
// cfg/config.yaml's target_mapping: kube-bench refuses targets its
// benchmark does not have.
var missingTargets = map[string][]string{
	"gke-1.2.0": {TargetEtcd}, "gke-1.6.0": {TargetEtcd}, "gke-1.8.0": {TargetEtcd}, "gke-1.9.0": {TargetEtcd},
	"eks-1.0.1": {TargetEtcd}, "eks-1.1.0": {TargetEtcd}, "eks-1.2.0": {TargetEtcd}, "eks-1.5.0": {TargetEtcd},
	"eks-1.7.0": {TargetEtcd}, "eks-1.8.0": {TargetEtcd},
	"aks-1.0": {TargetEtcd}, "aks-1.7": {TargetEtcd}, "aks-1.8": {TargetEtcd},
	"rh-0.7":                   {TargetControlPlane, TargetEtcd, TargetPolicies},
	"eks-stig-kubernetes-v1r6": {TargetMaster, TargetEtcd},
}

// Targets are what a node of the role runs: the master, controlplane,
// etcd, node and policies targets on a control-plane node (those the
// benchmark has), node on a worker.
func Targets(benchmark, role string) []string {
	if role != RoleControlPlane {
		return []string{TargetNode}
	}
	missing := missingTargets[benchmark]
	var out []string
	for _, t := range controlPlaneTargets {
		if !slices.Contains(missing, t) {
			out = append(out, t)
		}
	}
	return out
}

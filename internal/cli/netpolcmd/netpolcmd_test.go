package netpolcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCheckText(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"cluster.yaml", "what-if.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(mustRead(t, "testdata/"+f)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := map[string]struct {
		args       []string
		stdin      string
		wantFirst  string   // first line of stdout
		wantOut    []string // substrings of stdout
		wantStderr []string // substrings of stderr
	}{
		"allowed through a named port, from a kind: List": {
			args:       []string{"check", "-f", "testdata/cluster.yaml", "--from", "y/b", "--to", "x/a", "--port", "80"},
			wantFirst:  "ALLOW",
			wantOut:    []string{"y/b (10.0.2.2) -> x/a (10.0.1.1), port 80/TCP", "x/allow-from-y ingress[0]: allows it: from[0] all pods in namespaces {ns=y}, ports[0] serve-80-tcp/TCP (80 on x/a)"},
			wantStderr: []string{"warning: ignored 1 Service"},
		},
		"an AdminNetworkPolicy denies what a NetworkPolicy allows": {
			args:      []string{"check", "-f", "testdata/cluster.yaml", "-f", "testdata/admin.yaml", "--from", "y/b", "--to", "x/a", "--port", "80"},
			wantFirst: "DENY",
			wantOut:   []string{`admin: AdminNetworkPolicy/no-y-to-x ingress[0] "no-y": Deny`, "NetworkPolicies are not consulted"},
		},
		"the baseline decides where no NetworkPolicy isolates": {
			args:      []string{"check", "-f", "testdata/cluster.yaml", "-f", "testdata/admin.yaml", "--from", "x/a", "--to", "z/a", "--port", "80"},
			wantFirst: "DENY",
			wantOut:   []string{"no NetworkPolicy selects z/a for ingress", `baseline: BaselineAdminNetworkPolicy/default ingress[0] "default-deny": Deny`},
		},
		"denied on another port": {
			args:      []string{"check", "-f", "testdata/cluster.yaml", "--from", "y/b", "--to", "x/a", "--port", "81"},
			wantFirst: "DENY",
			wantOut:   []string{"no port matches 81/TCP", "no rule allows the connection"},
		},
		"protocol in lower case": {
			args:      []string{"check", "-f", "testdata/cluster.yaml", "--from", "y/b", "--to", "x/a", "--port", "80", "--protocol", "udp"},
			wantFirst: "DENY",
			wantOut:   []string{"port 80/UDP"},
		},
		"IP family in lower case": {
			args:      []string{"check", "-f", "testdata/cluster.yaml", "--from", "y/b", "--to", "x/a", "--port", "80", "--ip-family", "ipv4"},
			wantFirst: "ALLOW",
		},
		"a pod to itself": {
			args:      []string{"check", "-f", "testdata/cluster.yaml", "--from", "x/a", "--to", "x/a", "--port", "80"},
			wantFirst: "UNSPECIFIED",
			wantOut:   []string{"a pod connecting to itself"},
		},
		"an address outside the cluster": {
			args:      []string{"check", "-f", "testdata/cluster.yaml", "--from", "203.0.113.9", "--to", "x/a", "--port", "80"},
			wantFirst: "DENY",
			wantOut:   []string{"egress from 203.0.113.9: Allow", "203.0.113.9 is not a pod"},
		},
		"what if: a later file replaces a policy and adds one": {
			args:       []string{"check", "-f", "testdata/cluster.yaml", "-f", "testdata/what-if.yaml", "--from", "y/b", "--to", "x/a", "--port", "81"},
			wantFirst:  "ALLOW",
			wantStderr: []string{"note: NetworkPolicy x/allow-from-y from testdata/what-if.yaml#1 replaces the one from testdata/cluster.yaml#1[14]"},
		},
		"what if: the added policy denies egress": {
			args:      []string{"check", "-f", "testdata/cluster.yaml", "-f", "testdata/what-if.yaml", "--from", "z/c", "--to", "y/a", "--port", "80"},
			wantFirst: "DENY",
			wantOut:   []string{"isolated by z/deny-egress", "z/deny-egress: no egress rules, so it allows nothing"},
		},
		"JSON file on stdin, objects without a namespace in default": {
			args:       []string{"check", "-f", "-", "--from", "default/client", "--to", "default/db", "--port", "5432"},
			stdin:      mustRead(t, "testdata/scenario.json"),
			wantFirst:  "ALLOW",
			wantStderr: []string{"warning: namespace default (of pod default/client) is not among the inputs"},
		},
		"a directory, its files in lexical order": {
			args:      []string{"check", "-f", dir, "--from", "y/b", "--to", "x/a", "--port", "81"},
			wantFirst: "ALLOW",
		},
		"help": {
			args:      []string{"check", "-h"},
			wantFirst: "Usage: palisade netpol check -f FILE... --from NS/POD|IP --to NS/POD|IP --port N [--protocol TCP|UDP|SCTP] [-o text|json]",
			wantOut:   []string{"--ip-family"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := run(t, tc.stdin, tc.args...)
			if code != 0 {
				t.Fatalf("exit code %d, stderr:\n%s", code, errOut)
			}
			if first, _, _ := strings.Cut(out, "\n"); first != tc.wantFirst {
				t.Errorf("first line = %q, want %q", first, tc.wantFirst)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout does not contain %q:\n%s", w, out)
				}
			}
			for _, w := range tc.wantStderr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr does not contain %q:\n%s", w, errOut)
				}
			}
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCheckJSON(t *testing.T) {
	code, out, errOut := run(t, "", "check", "-f", "testdata/cluster.yaml", "--from", "z/a", "--to", "x/a", "--port", "80", "-o", "json")
	if code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, errOut)
	}
	type rule struct {
		Rule   int    `json:"rule"`
		Allows bool   `json:"allows"`
		Detail string `json:"detail"`
	}
	type policy struct {
		Policy string `json:"policy"`
		Rules  []rule `json:"rules"`
	}
	type side struct {
		Verdict  string   `json:"verdict"`
		Endpoint string   `json:"endpoint"`
		Isolated bool     `json:"isolated"`
		Reason   string   `json:"reason"`
		Policies []policy `json:"policies"`
	}
	type verdict struct {
		Verdict string `json:"verdict"`
		Ingress side   `json:"ingress"`
		Egress  side   `json:"egress"`
	}
	var got verdict
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in:\n%s", err, out)
	}
	want := verdict{
		Verdict: "Deny",
		Egress:  side{Verdict: "Allow", Endpoint: "z/a", Reason: "no NetworkPolicy selects z/a for egress"},
		Ingress: side{Verdict: "Deny", Endpoint: "x/a", Isolated: true, Policies: []policy{
			{Policy: "x/allow-from-y", Rules: []rule{{Rule: 0, Detail: "no peer matches z/a"}}},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON mismatch (-want +got):\n%s", diff)
	}
}

func TestMatrix(t *testing.T) {
	code, out, errOut := run(t, "", "matrix", "-f", "testdata/cluster.yaml", "-n", "x", "-n", "y", "--ports", "80", "--protocols", "TCP,UDP")
	if code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, errOut)
	}
	want := `port 80/TCP: 28 allowed, 2 denied, 6 unspecified (rows: from, columns: to; . allow, X deny, - unspecified)
-   x/a x/b x/c y/a y/b y/c
x/a -   .   .   .   .   .
x/b X   -   .   .   .   .
x/c X   .   -   .   .   .
y/a .   .   .   -   .   .
y/b .   .   .   .   -   .
y/c .   .   .   .   .   -

port 80/UDP: 25 allowed, 5 denied, 6 unspecified (rows: from, columns: to; . allow, X deny, - unspecified)
-   x/a x/b x/c y/a y/b y/c
x/a -   .   .   .   .   .
x/b X   -   .   .   .   .
x/c X   .   -   .   .   .
y/a X   .   .   -   .   .
y/b X   .   .   .   -   .
y/c X   .   .   .   .   -

skipped y/job-done: it has terminated (phase Succeeded), so it holds no IP
`
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("matrix mismatch (-want +got):\n%s", diff)
	}
}

func TestMatrixJSON(t *testing.T) {
	code, out, errOut := run(t, "", "matrix", "-f", "testdata/cluster.yaml", "-n", "x", "--ports", "80,81", "-o", "json")
	if code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, errOut)
	}
	var got struct {
		Pods   []string `json:"pods"`
		Tables []struct {
			Port     int32      `json:"port"`
			Protocol string     `json:"protocol"`
			Verdicts [][]string `json:"verdicts"`
			Allowed  int        `json:"allowed"`
		} `json:"tables"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in:\n%s", err, out)
	}
	if diff := cmp.Diff([]string{"x/a", "x/b", "x/c"}, got.Pods); diff != "" {
		t.Errorf("pods (-want +got):\n%s", diff)
	}
	if len(got.Tables) != 2 || got.Tables[1].Port != 81 || got.Tables[1].Protocol != "TCP" {
		t.Fatalf("tables = %+v", got.Tables)
	}
	want := [][]string{
		{"Unspecified", "Allow", "Allow"},
		{"Deny", "Unspecified", "Allow"},
		{"Deny", "Allow", "Unspecified"},
	}
	if diff := cmp.Diff(want, got.Tables[0].Verdicts); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
}

func TestBadInput(t *testing.T) {
	check := []string{"--from", "y/b", "--to", "x/a", "--port", "80"}
	tests := map[string]struct {
		args []string
		want string // substring of stderr
	}{
		"no command":           {nil, "Usage: palisade netpol <command>"},
		"unknown command":      {[]string{"frob"}, `unknown command "frob"`},
		"unknown pod":          {[]string{"check", "-f", "testdata/cluster.yaml", "--from", "y/nope", "--to", "x/a", "--port", "80"}, "palisade netpol check: source: pod y/nope not found"},
		"skipped pod":          {[]string{"check", "-f", "testdata/cluster.yaml", "--from", "y/job-done", "--to", "x/a", "--port", "80"}, "pod y/job-done is skipped: it has terminated"},
		"malformed YAML":       {append([]string{"check", "-f", "testdata/malformed.yaml"}, check...), "testdata/malformed.yaml#2: not valid YAML or JSON"},
		"invalid policy":       {append([]string{"check", "-f", "testdata/invalid-policy.yaml"}, check...), "testdata/invalid-policy.yaml#1: NetworkPolicy x/too-wide is invalid: spec.egress[0].ports[0].endPort: Invalid value: 79: must be greater than or equal to `port`; spec.egress[0].to[0].ipBlock.except[0]"},
		"invalid admin policy": {append([]string{"check", "-f", "testdata/cluster.yaml", "-f", "testdata/invalid-admin.yaml"}, check...), "testdata/invalid-admin.yaml#1: AdminNetworkPolicy too-low is invalid: spec.priority: Invalid value: 2000"},
		"missing file":         {append([]string{"check", "-f", "testdata/nope.yaml"}, check...), "nope.yaml: no such file or directory"},
		"no -f":                {append([]string{"check"}, check...), "-f is required"},
		"no --port":            {[]string{"check", "-f", "testdata/cluster.yaml", "--from", "y/b", "--to", "x/a"}, "--port is required"},
		"no --from":            {[]string{"check", "-f", "testdata/cluster.yaml", "--to", "x/a", "--port", "80"}, "--from is required"},
		"no --to":              {[]string{"check", "-f", "testdata/cluster.yaml", "--from", "x/a", "--port", "80"}, "--to is required"},
		"bad --from":           {[]string{"check", "-f", "testdata/cluster.yaml", "--from", "b", "--to", "x/a", "--port", "80"}, `--from: "b" is neither namespace/pod nor an IP address`},
		"bad --to":             {[]string{"check", "-f", "testdata/cluster.yaml", "--from", "x/a", "--to", "x/a/b", "--port", "80"}, `--to: "x/a/b" is neither`},
		"bad --port":           {[]string{"check", "-f", "testdata/cluster.yaml", "--from", "y/b", "--to", "x/a", "--port", "http"}, `invalid argument "http" for "--port"`},
		"port out of range":    {[]string{"check", "-f", "testdata/cluster.yaml", "--from", "y/b", "--to", "x/a", "--port", "70000"}, "port 70000 is not between 1 and 65535"},
		"bad protocol":         {append([]string{"check", "-f", "testdata/cluster.yaml", "--protocol", "ICMP"}, check...), `protocol "ICMP" is not one of TCP, UDP, SCTP`},
		"bad -o":               {append([]string{"check", "-f", "testdata/cluster.yaml", "-o", "yaml"}, check...), `-o "yaml": want text or json`},
		"unknown flag":         {append([]string{"check", "-f", "testdata/cluster.yaml", "--frob"}, check...), "unknown flag: --frob"},
		"extra argument":       {append([]string{"check", "-f", "testdata/cluster.yaml", "extra"}, check...), `unexpected argument "extra"`},
		"no such family":       {append([]string{"check", "-f", "testdata/cluster.yaml", "--ip-family", "IPv6"}, check...), "source: pod y/b has no IPv6 address"},
		"two addresses":        {[]string{"check", "-f", "testdata/cluster.yaml", "--from", "1.1.1.1", "--to", "2.2.2.2", "--port", "80"}, "neither 1.1.1.1 nor 2.2.2.2 is a pod"},
		"matrix namespace":     {[]string{"matrix", "-f", "testdata/cluster.yaml", "-n", "nope"}, "palisade netpol matrix: no pod in namespace nope"},
		"matrix port":          {[]string{"matrix", "-f", "testdata/cluster.yaml", "--ports", "0"}, "port 0 is not between 1 and 65535"},
		"matrix protocol":      {[]string{"matrix", "-f", "testdata/cluster.yaml", "--protocols", "icmp"}, `protocol "ICMP" is not one of`},
		"matrix no -f":         {[]string{"matrix"}, "-f is required"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := run(t, "", tc.args...)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if out != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr does not contain %q:\n%s", tc.want, errOut)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"help"}, {"matrix", "--help"}} {
		code, out, errOut := run(t, "", args...)
		if code != 0 || !strings.HasPrefix(out, "Usage: palisade netpol") || strings.Count(out, "Usage:") != 1 || errOut != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

package scancmd

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/analyzers/workloads"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// run runs the command with stdin and returns its exit code and output.
func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// jsonObject is an entry of the JSON report's objects, as a script reads it.
type jsonObject struct {
	Source           string                `json:"source"`
	Status           string                `json:"status"`
	Resource         *v1alpha1.ResourceRef `json:"resource"`
	Owner            *v1alpha1.ResourceRef `json:"owner"`
	Score            *int                  `json:"score"`
	PodSecurityLevel string                `json:"podSecurityLevel"`
	Error            string                `json:"error"`
}

type jsonReport struct {
	Summary   map[string]int            `json:"summary"`
	Analyzers []v1alpha1.AnalyzerResult `json:"analyzers"`
	Findings  []v1alpha1.Finding        `json:"findings"`
	Objects   []jsonObject              `json:"objects"`
}

// scanJSON runs the command with -o json and decodes the report; the
// command must succeed without a word on stderr.
func scanJSON(t *testing.T, stdin string, args ...string) jsonReport {
	t.Helper()
	code, stdout, stderr := run(t, stdin, append(args, "-o", "json")...)
	if code != 0 || stderr != "" {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	var rep jsonReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	checkReport(t, rep)
	return rep
}

func TestJSON(t *testing.T) {
	hardenedInput := readFile(t, "testdata/manifests/hardened.yaml")
	type object struct {
		Source, Status, Kind, Name string
		Score                      *int
		Level                      string
	}
	score := func(n int) *int { return &n }
	tests := map[string]struct {
		stdin       string
		args        []string
		want        []object
		wantSummary map[string]int
		// mustHave and mustNotHave are finding IDs, each for the first
		// object of the kind and name given before the colon.
		mustHave, mustNotHave []string
	}{
		"hardened Deployment: no findings": {
			args:        []string{"-f", "testdata/manifests/hardened.yaml"},
			want:        []object{{"testdata/manifests/hardened.yaml#1", "scored", "Deployment", "api", score(18), "restricted"}},
			wantSummary: map[string]int{"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0, "total": 0},
		},
		"insecure DaemonSet": {
			args: []string{"-f", "testdata/manifests/insecure.yaml", "--advice=false"},
			want: []object{{"testdata/manifests/insecure.yaml#1", "scored", "DaemonSet", "node-agent", score(-87), "privileged"}},
			// At restricted, restrictedVolumes replaces hostPathVolumes.
			mustHave: []string{
				"DaemonSet/node-agent:kubesec.Privileged", "DaemonSet/node-agent:kubesec.CapSysAdmin",
				"DaemonSet/node-agent:kubesec.HostNetwork", "DaemonSet/node-agent:kubesec.HostPID", "DaemonSet/node-agent:kubesec.DockerSock",
				"DaemonSet/node-agent:pss.baseline.privileged", "DaemonSet/node-agent:pss.baseline.hostNamespaces",
				"DaemonSet/node-agent:pss.restricted.restrictedVolumes", "DaemonSet/node-agent:pss.restricted.capabilities_restricted",
				"DaemonSet/node-agent:pss.baseline.hostPathVolumes", "DaemonSet/node-agent:pss.baseline.capabilities_baseline",
			},
			mustNotHave: []string{"DaemonSet/node-agent:kubesec.LimitsCPU"},
		},
		"List: a CronJob and an unsupported Service": {
			args: []string{"-f", "testdata/manifests/list.yaml"},
			want: []object{
				{"testdata/manifests/list.yaml#1[0]", "scored", "CronJob", "report", score(-7), "baseline"},
				{"testdata/manifests/list.yaml#1[1]", "unsupported", "Service", "api", nil, ""},
			},
			mustHave: []string{"CronJob/report:kubesec.AllowPrivilegeEscalation", "CronJob/report:kubesec.RunAsNonRoot"},
		},
		"multi-document file, checked at baseline": {
			args: []string{"-f", "testdata/manifests/multi-doc.yaml", "--level", "baseline"},
			want: []object{
				{"testdata/manifests/multi-doc.yaml#1", "scored", "Pod", "debug", score(0), "baseline"},
				{"testdata/manifests/multi-doc.yaml#2", "unsupported", "ConfigMap", "settings", nil, ""},
				{"testdata/manifests/multi-doc.yaml#3", "scored", "StatefulSet", "db", score(7), "baseline"},
			},
			mustHave:    []string{"Pod/debug:kubesec.RunAsNonRoot", "StatefulSet/db:kubesec.LimitsCPU"},
			mustNotHave: []string{"Pod/debug:pss.restricted.runAsNonRoot", "StatefulSet/db:kubesec.VolumeClaimRequestsStorage"},
		},
		"multi-document file, restricted, no advice": {
			args: []string{"-f", "testdata/manifests/multi-doc.yaml", "--advice=false"},
			want: []object{
				{"testdata/manifests/multi-doc.yaml#1", "scored", "Pod", "debug", score(0), "baseline"},
				{"testdata/manifests/multi-doc.yaml#2", "unsupported", "ConfigMap", "settings", nil, ""},
				{"testdata/manifests/multi-doc.yaml#3", "scored", "StatefulSet", "db", score(7), "baseline"},
			},
			mustHave:    []string{"Pod/debug:pss.restricted.runAsNonRoot"},
			mustNotHave: []string{"Pod/debug:kubesec.RunAsNonRoot", "StatefulSet/db:kubesec.LimitsCPU"},
		},
		"directory, files in lexical order": {
			args: []string{"-f", "testdata/manifests"},
			want: []object{
				{filepath.Join("testdata/manifests", "hardened.yaml#1"), "scored", "Deployment", "api", score(18), "restricted"},
				{filepath.Join("testdata/manifests", "insecure.yaml#1"), "scored", "DaemonSet", "node-agent", score(-87), "privileged"},
				{filepath.Join("testdata/manifests", "list.yaml#1[0]"), "scored", "CronJob", "report", score(-7), "baseline"},
				{filepath.Join("testdata/manifests", "list.yaml#1[1]"), "unsupported", "Service", "api", nil, ""},
				{filepath.Join("testdata/manifests", "multi-doc.yaml#1"), "scored", "Pod", "debug", score(0), "baseline"},
				{filepath.Join("testdata/manifests", "multi-doc.yaml#2"), "unsupported", "ConfigMap", "settings", nil, ""},
				{filepath.Join("testdata/manifests", "multi-doc.yaml#3"), "scored", "StatefulSet", "db", score(7), "baseline"},
			},
		},
		"broken documents are reported after the good ones": {
			args: []string{"-f", "testdata/broken.yaml"},
			want: []object{
				{"testdata/broken.yaml#1", "scored", "Pod", "ok", score(0), "baseline"},
				{"testdata/broken.yaml#2", "invalid", "", "", nil, ""},
				{"testdata/broken.yaml#3", "invalid", "", "", nil, ""},
			},
		},
		"standard input": {
			stdin: hardenedInput,
			args:  []string{"-f", "-"},
			want:  []object{{"<stdin>#1", "scored", "Deployment", "api", score(18), "restricted"}},
		},
		"a file and standard input": {
			stdin: hardenedInput,
			args:  []string{"--filename=testdata/manifests/insecure.yaml", "-f", "-", "-o", "json"},
			want: []object{
				{"testdata/manifests/insecure.yaml#1", "scored", "DaemonSet", "node-agent", score(-87), "privileged"},
				{"<stdin>#1", "scored", "Deployment", "api", score(18), "restricted"},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rep := scanJSON(t, tc.stdin, tc.args...)
			var got []object
			for _, o := range rep.Objects {
				g := object{Source: o.Source, Status: o.Status, Score: o.Score, Level: o.PodSecurityLevel}
				if o.Resource != nil {
					g.Kind, g.Name = o.Resource.Kind, o.Resource.Name
				}
				got = append(got, g)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			if tc.wantSummary != nil {
				if diff := cmp.Diff(tc.wantSummary, rep.Summary); diff != "" {
					t.Errorf("summary (-want +got):\n%s", diff)
				}
			}
			have := map[string]bool{}
			for _, f := range rep.Findings {
				have[f.Resource.Kind+"/"+f.Resource.Name+":"+f.ID] = true
			}
			for _, id := range tc.mustHave {
				if !have[id] {
					t.Errorf("no finding %s", id)
				}
			}
			for _, id := range tc.mustNotHave {
				if have[id] {
					t.Errorf("unexpected finding %s", id)
				}
			}
		})
	}
}

// checkReport checks what holds for every JSON report: findings most
// severe first, complete, and counted in the summary; analyzers that
// succeeded and counted their findings; an error on each object not
// scored.
func checkReport(t *testing.T, rep jsonReport) {
	t.Helper()
	for _, o := range rep.Objects {
		if hasError := o.Status != "scored" && o.Status != "analyzed"; hasError != (o.Error != "") {
			t.Errorf("%s: status %s with error %q", o.Source, o.Status, o.Error)
		}
		if (o.Status == "owned") != (o.Owner != nil) {
			t.Errorf("%s: status %s with owner %v", o.Source, o.Status, o.Owner)
		}
	}
	var findings int32
	for _, a := range rep.Analyzers {
		if a.Phase != v1alpha1.AnalyzerSucceeded {
			t.Errorf("analyzer %s: %s %s", a.Name, a.Phase, a.Message)
		}
		findings += a.Findings
	}
	if int(findings) != len(rep.Findings) {
		t.Errorf("analyzers count %d findings, the report has %d", findings, len(rep.Findings))
	}
	counts := map[string]int{}
	for i, f := range rep.Findings {
		if i > 0 && f.Severity.Rank() < rep.Findings[i-1].Severity.Rank() {
			t.Errorf("finding %d (%s, %s) after a %s one", i, f.ID, f.Severity, rep.Findings[i-1].Severity)
		}
		if f.ID == "" || f.Category == "" || f.Message == "" || f.Resource.Kind == "" || f.Resource.APIVersion == "" || (isWorkloadFinding(f) && f.Remediation == "") {
			t.Errorf("incomplete finding %+v", f)
		}
		counts[strings.ToLower(string(f.Severity))]++
		counts["total"]++
	}
	for _, k := range []string{"critical", "high", "medium", "low", "info", "total"} {
		if rep.Summary[k] != counts[k] {
			t.Errorf("summary %s = %d, counted %d", k, rep.Summary[k], counts[k])
		}
	}
}

// TestKubesecGolden compares -o kubesec with kubesec's output for the same
// input, adjusted only where Palisade deliberately differs (none here).
func TestKubesecGolden(t *testing.T) {
	code, stdout, stderr := run(t, "", "-o", "kubesec", "-f", "testdata/kubesec/pod.json", "-f", "testdata/kubesec/other.yaml")
	if code != 0 || stderr != "" {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	golden := "testdata/kubesec/want.json"
	if *update {
		if err := os.WriteFile(golden, []byte(stdout), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(readFile(t, golden), stdout); diff != "" {
		t.Errorf("-o kubesec (-want +got):\n%s", diff)
	}
}

func TestKubesecOutput(t *testing.T) {
	type entry struct {
		Object, FileName, Message string
		Valid                     bool
		Score                     int
	}
	tests := map[string]struct {
		stdin string
		args  []string
		want  []entry
	}{
		"scored, unsupported, invalid": {
			args: []string{"-f", "testdata/manifests/list.yaml", "-f", "testdata/broken.yaml"},
			want: []entry{
				{"CronJob/report.shop", "testdata/manifests/list.yaml", "Failed with a score of -7 points", true, -7},
				{"Service/api.shop", "testdata/manifests/list.yaml", "This resource kind is not supported by kubesec", true, 0},
				{"Pod/ok.shop", "testdata/broken.yaml", "Passed with a score of 0 points", true, 0},
				{"Unknown", "testdata/broken.yaml", "not valid YAML or JSON: ", false, 0},
				{"Unknown", "testdata/broken.yaml", `Deployment "wrong": json: cannot unmarshal string`, false, 0},
			},
		},
		"standard input is STDIN, no namespace is default": {
			stdin: readFile(t, "testdata/manifests/multi-doc.yaml"),
			args:  []string{"-f", "-"},
			want: []entry{
				{"Pod/debug.default", "STDIN", "Passed with a score of 0 points", true, 0},
				{"ConfigMap/settings.shop", "STDIN", "This resource kind is not supported by kubesec", true, 0},
				{"StatefulSet/db.shop", "STDIN", "Passed with a score of 7 points", true, 7},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := run(t, tc.stdin, append(tc.args, "-o", "kubesec")...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit code %d, stderr %q", code, stderr)
			}
			var results []workloads.KubesecResult
			if err := json.Unmarshal([]byte(stdout), &results); err != nil {
				t.Fatalf("output is not a JSON array: %v\n%s", err, stdout)
			}
			var got []entry
			for i, r := range results {
				msg := r.Message
				if !r.Valid && i < len(tc.want) && strings.HasPrefix(msg, tc.want[i].Message) {
					msg = tc.want[i].Message // the decoder's words after this prefix may change
				}
				got = append(got, entry{r.Object, r.FileName, msg, r.Valid, r.Score})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestTable(t *testing.T) {
	code, stdout, stderr := run(t, "", "-f", "testdata/manifests/insecure.yaml", "-f", "testdata/manifests/list.yaml", "-f", "testdata/broken.yaml", "--advice=false")
	if code != 0 {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "SEVERITY") || !strings.Contains(lines[0], "RESOURCE") || !strings.Contains(lines[0], "MESSAGE") {
		t.Errorf("no header: %q", lines[0])
	}
	if f := strings.Fields(lines[1]); len(f) < 4 || f[0] != "Critical" || f[1] != "DaemonSet" || f[2] != "kube-system/node-agent" || !strings.HasPrefix(f[3], "kubesec.") {
		t.Errorf("first row is not a Critical kubesec finding on the DaemonSet: %q", lines[1])
	}
	scores := map[string]string{}
	for _, l := range lines {
		if f := strings.Fields(l); len(f) == 4 && (f[3] == "privileged" || f[3] == "baseline" || f[3] == "restricted") {
			scores[f[0]+" "+f[1]] = f[2] + " " + f[3]
		}
	}
	wantScores := map[string]string{
		"DaemonSet kube-system/node-agent": "-87 privileged",
		"CronJob shop/report":              "-7 baseline",
		"Pod shop/ok":                      "0 baseline",
	}
	if diff := cmp.Diff(wantScores, scores); diff != "" {
		t.Errorf("score rows (-want +got):\n%s\n%s", diff, stdout)
	}
	wantSummary := "23 findings (2 critical, 8 high, 13 medium, 0 low, 0 info) in 3 workloads; 1 unsupported, 2 invalid"
	if got := lines[len(lines)-1]; got != wantSummary {
		t.Errorf("summary line = %q, want %q", got, wantSummary)
	}
	wantStderr := []string{
		`skipped testdata/manifests/list.yaml#1[1]: Service "api": kind not supported`,
		"invalid testdata/broken.yaml#2: not valid YAML or JSON",
		"invalid testdata/broken.yaml#3: Deployment \"wrong\"",
	}
	gotStderr := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if len(gotStderr) != len(wantStderr) {
		t.Fatalf("stderr has %d lines, want %d:\n%s", len(gotStderr), len(wantStderr), stderr)
	}
	for i, want := range wantStderr {
		if !strings.HasPrefix(gotStderr[i], want) {
			t.Errorf("stderr line %d = %q, want it to start with %q", i, gotStderr[i], want)
		}
	}
}

// TestTableDump: the table of a dump lists every analyzer's findings, the
// scored workloads and the analyzers, and nothing goes to stderr.
func TestTableDump(t *testing.T) {
	code, stdout, stderr := run(t, "", "-f", "testdata/cluster/dump.yaml", "--advice=false")
	if code != 0 || stderr != "" {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"rbac.exec-pods", "netpol.pods-not-isolated-egress", "mtls.permissive", "kubesec.Privileged"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("no %s row", want)
		}
	}
	if !strings.Contains(stdout, "ANALYZER         PHASE      RESOURCES  FINDINGS\nworkloads        Succeeded  3          14\n") {
		t.Errorf("no analyzer rows:\n%s", stdout)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	wantSummary := "22 findings (1 critical, 4 high, 14 medium, 3 low, 0 info) in 3 workloads and 9 other objects; 3 owned"
	if got := lines[len(lines)-1]; got != wantSummary {
		t.Errorf("summary line = %q, want %q", got, wantSummary)
	}
}

func TestExitCodes(t *testing.T) {
	tests := map[string]struct {
		stdin      string
		args       []string
		want       int
		wantStderr string // a substring; "" means stderr must be empty
		wantStdout string // a substring
	}{
		"findings alone do not fail":            {args: []string{"-f", "testdata/manifests/insecure.yaml"}, want: 0},
		"low score with --exit-code":            {args: []string{"-f", "testdata/manifests/insecure.yaml", "--exit-code", "3"}, want: 3},
		"one low score among several":           {args: []string{"-f", "testdata/manifests", "--exit-code", "4", "-o", "json"}, want: 4},
		"score 0 is at or below the default 0":  {args: []string{"-f", "testdata/broken.yaml", "--exit-code", "3", "-o", "json"}, want: 3},
		"good score with --exit-code":           {args: []string{"-f", "testdata/manifests/hardened.yaml", "--exit-code", "3"}, want: 0},
		"good score below --min-score":          {args: []string{"-f", "testdata/manifests/hardened.yaml", "--exit-code", "3", "--min-score", "18"}, want: 3},
		"good score above --min-score":          {args: []string{"-f", "testdata/manifests/hardened.yaml", "--exit-code", "3", "--min-score", "17"}, want: 0},
		"negative --min-score":                  {args: []string{"-f", "testdata/manifests/list.yaml", "--exit-code=5", "--min-score=-8", "-o", "kubesec"}, want: 0},
		"nothing scored":                        {args: []string{"-f", "testdata/kubesec/other.yaml", "--exit-code", "3", "-o", "json"}, want: 0},
		"stdin with --exit-code":                {stdin: readFile(t, "testdata/manifests/insecure.yaml"), args: []string{"-f", "-", "--exit-code", "9", "-o", "kubesec"}, want: 9},
		"no -f":                                 {args: nil, want: 2, wantStderr: "nothing to scan"},
		"positional argument":                   {args: []string{"deploy.yaml"}, want: 2, wantStderr: `unexpected argument "deploy.yaml"`},
		"unknown flag":                          {args: []string{"-f", "x.yaml", "--format", "json"}, want: 2, wantStderr: "unknown flag: --format"},
		"unknown output":                        {args: []string{"-f", "testdata/broken.yaml", "-o", "yaml"}, want: 2, wantStderr: `unknown output format "yaml"`},
		"unknown level":                         {args: []string{"-f", "testdata/broken.yaml", "--level", "privileged"}, want: 2, wantStderr: `unknown Pod Security Standards level "privileged"`},
		"exit code out of range":                {args: []string{"-f", "testdata/broken.yaml", "--exit-code", "256"}, want: 2, wantStderr: "--exit-code 256"},
		"missing file":                          {args: []string{"-f", "testdata/missing.yaml"}, want: 2, wantStderr: "testdata/missing.yaml"},
		"a missing file among good ones":        {args: []string{"-f", "testdata/manifests/hardened.yaml", "-f", "testdata/missing.yaml"}, want: 2, wantStderr: "no such file"},
		"bad flag value":                        {args: []string{"-f", "testdata/broken.yaml", "--exit-code", "many"}, want: 2, wantStderr: "invalid argument"},
		"--help prints the usage and succeeds":  {args: []string{"--help"}, want: 0, wantStdout: "Usage: palisade scan"},
		"-h lists the flags":                    {args: []string{"-h"}, want: 0, wantStdout: "--min-score"},
		"unsupported and invalid do not fail":   {args: []string{"-f", "testdata/kubesec/other.yaml"}, want: 0, wantStderr: "invalid testdata/kubesec/other.yaml#2"},
		"exit code 0 is the same as no option":  {args: []string{"-f", "testdata/manifests/insecure.yaml", "--exit-code", "0", "-o", "json"}, want: 0},
		"unknown analyzer":                      {args: []string{"-f", "testdata/broken.yaml", "--analyzers", "workloads,secrets"}, want: 2, wantStderr: `unknown analyzer "secrets"`},
		"auto with others":                      {args: []string{"-f", "testdata/broken.yaml", "--analyzers", "auto,rbac"}, want: 2, wantStderr: "auto stands alone"},
		"owned objects have no score":           {args: []string{"-f", "testdata/cluster/dump.yaml", "--exit-code", "3", "--min-score", "-31", "-o", "json"}, want: 0},
		"scores are compared, not the severity": {args: []string{"-f", "testdata/manifests/list.yaml", "--exit-code", "6", "--min-score", "-7", "-o", "json"}, want: 6},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := run(t, tc.stdin, tc.args...)
			if code != tc.want {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.want, stderr)
			}
			if tc.wantStderr == "" && stderr != "" {
				t.Errorf("unexpected stderr %q", stderr)
			}
			if !strings.Contains(stderr, tc.wantStderr) {
				t.Errorf("stderr %q lacks %q", stderr, tc.wantStderr)
			}
			if !strings.Contains(stdout, tc.wantStdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.wantStdout, stdout)
			}
			if n := strings.Count(stdout, "Usage:"); n > 1 {
				t.Errorf("usage printed %d times", n)
			}
			if code == 2 && stdout != "" {
				t.Errorf("output on error: %q", stdout)
			}
		})
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	if code := Run(ctx, []string{"-f", "testdata/manifests"}, strings.NewReader(""), &stdout, &stderr); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "context canceled") || stdout.Len() != 0 {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}

func TestFileName(t *testing.T) {
	tests := map[string]string{
		"deploy.yaml#2":          "deploy.yaml",
		"dir/list.yaml#1[3]":     "dir/list.yaml",
		"odd#name.yaml#1":        "odd#name.yaml",
		"<stdin>#4":              "STDIN",
		"<stdin>#1[0]":           "STDIN",
		"no-document-index.yaml": "no-document-index.yaml",
	}
	for source, want := range tests {
		if got := fileName(source); got != want {
			t.Errorf("fileName(%q) = %q, want %q", source, got, want)
		}
	}
}

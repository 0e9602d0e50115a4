package kubebench

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// fixtures holds real kube-bench v0.15.6 output; see its README.md.
const fixtures = "../testdata/kube-bench"

// Real-cluster logs, whose JSON report is on line 18.
const (
	masterLog = "real-cluster/master-cis-1.12.log"
	nodeLog   = "real-cluster/node-cis-1.12.log"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func parseBytes(t *testing.T, data []byte) *Report {
	t.Helper()
	r, err := Parse(bytes.NewReader(data), 0)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// target is what a test expects of one Controls.
type target struct {
	NodeType        NodeType
	ID              string
	Version         string
	DetectedVersion string
	Counts          Counts
}

func targets(r *Report) []target {
	var got []target
	for i := range r.Controls {
		c := &r.Controls[i]
		got = append(got, target{c.NodeType, c.ID, c.Version, c.DetectedVersion, c.Counts()})
	}
	return got
}

// The expected counts were tallied from the fixtures with jq; they agree
// with the totals kube-bench printed.
var fixtureTargets = map[string][]target{
	"kube-bench-cis-1.12-master.json": {
		{TargetMaster, "1", "cis-1.12", "none", Counts{Pass: 0, Fail: 47, Warn: 13}},
	},
	"kube-bench-cis-1.12-node.json": {
		{TargetNode, "4", "cis-1.12", "none", Counts{Pass: 1, Fail: 11, Warn: 13}},
	},
	"kube-bench-cis19-all.json": {
		{TargetMaster, "1", "cis-1.9", "none", Counts{Pass: 0, Fail: 46, Warn: 13}},
		{TargetEtcd, "2", "cis-1.9", "none", Counts{Pass: 0, Fail: 6, Warn: 1}},
		{TargetControlPlane, "3", "cis-1.9", "none", Counts{Pass: 0, Fail: 0, Warn: 5}},
		{TargetNode, "4", "cis-1.9", "none", Counts{Pass: 1, Fail: 11, Warn: 12}},
		{TargetPolicies, "5", "cis-1.9", "none", Counts{Pass: 1, Fail: 0, Warn: 34}},
	},
	"kube-bench-cis19-master.json": {
		{TargetMaster, "1", "cis-1.9", "none", Counts{Pass: 0, Fail: 46, Warn: 13}},
	},
	"kube-bench-cis19-node.json": {
		{TargetNode, "4", "cis-1.9", "none", Counts{Pass: 1, Fail: 11, Warn: 12}},
	},
	"kube-bench-noargs.json": {
		{TargetNode, "4", "cis-1.11", "1.29", Counts{Pass: 1, Fail: 11, Warn: 14}},
		{TargetPolicies, "5", "cis-1.11", "1.29", Counts{Pass: 1, Fail: 0, Warn: 34}},
	},
	masterLog: {
		{TargetMaster, "1", "cis-1.12", "none", Counts{Pass: 18, Fail: 29, Warn: 13}},
	},
	nodeLog: {
		{TargetNode, "4", "cis-1.12", "none", Counts{Pass: 7, Fail: 9, Warn: 9}},
	},
}

// fixtureTotals are the "Totals" kube-bench printed in each fixture.
var fixtureTotals = map[string]Counts{
	"kube-bench-cis-1.12-master.json": {Pass: 0, Fail: 47, Warn: 13},
	"kube-bench-cis-1.12-node.json":   {Pass: 1, Fail: 11, Warn: 13},
	"kube-bench-cis19-all.json":       {Pass: 2, Fail: 63, Warn: 65},
	"kube-bench-cis19-master.json":    {Pass: 0, Fail: 46, Warn: 13},
	"kube-bench-cis19-node.json":      {Pass: 1, Fail: 11, Warn: 12},
	"kube-bench-noargs.json":          {Pass: 2, Fail: 11, Warn: 48},
	masterLog:                         {Pass: 18, Fail: 29, Warn: 13},
	nodeLog:                           {Pass: 7, Fail: 9, Warn: 9},
}

func TestParseFixtures(t *testing.T) {
	for name, want := range fixtureTargets {
		t.Run(name, func(t *testing.T) {
			r := parseBytes(t, readFixture(t, name))
			if diff := cmp.Diff(want, targets(r)); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(fixtureTotals[name], r.Counts()); diff != "" {
				t.Errorf("Counts (-printed totals +got):\n%s", diff)
			}
			checkPrintedCounts(t, r)
		})
	}
}

// checkPrintedCounts compares kube-bench's own per-target and per-section
// counts with a recount.
func checkPrintedCounts(t *testing.T, r *Report) {
	t.Helper()
	for i := range r.Controls {
		c := &r.Controls[i]
		printed := Counts{Pass: c.TotalPass, Fail: c.TotalFail, Warn: c.TotalWarn, Info: c.TotalInfo}
		if diff := cmp.Diff(printed, c.Counts()); diff != "" {
			t.Errorf("target %s (-printed +recounted):\n%s", c.ID, diff)
		}
		for _, g := range c.Groups {
			var n Counts
			for _, check := range g.Checks {
				n.Add(check.Status)
			}
			if diff := cmp.Diff(Counts{Pass: g.Pass, Fail: g.Fail, Warn: g.Warn, Info: g.Info}, n); diff != "" {
				t.Errorf("section %s (-printed +recounted):\n%s", g.ID, diff)
			}
		}
	}
}

func findCheck(t *testing.T, r *Report, number string) *Check {
	t.Helper()
	for _, check := range r.Checks() {
		if check.Number == number {
			return check
		}
	}
	t.Fatalf("no check %s", number)
	return nil
}

func TestParseDecodesEveryField(t *testing.T) {
	r := parseBytes(t, readFixture(t, nodeLog))
	g := r.Controls[0].Groups[1]
	if g.ID != "4.2" || g.Text != "Kubelet" {
		t.Errorf("section = %q %q, want 4.2 Kubelet", g.ID, g.Text)
	}
	remediation := "If using a Kubelet config file, edit the file to set `authentication: anonymous: enabled` to\n`false`.\n" +
		"If using executable arguments, edit the kubelet service file\n/etc/systemd/system/kubelet.service.d/10-kubeadm.conf on each worker node and\n" +
		"set the below parameter in KUBELET_SYSTEM_PODS_ARGS variable.\n`--anonymous-auth=false`\n" +
		"Based on your system, restart the kubelet service. For example,\nsystemctl daemon-reload\nsystemctl restart kubelet.service\n"
	want := Check{
		Number:      "4.2.1",
		Text:        "Ensure that the --anonymous-auth argument is set to false (Automated)",
		Audit:       "/bin/ps -fC kubelet",
		AuditConfig: "/bin/cat /var/lib/kubelet/config.yaml",
		Remediation: remediation,
		TestInfo:    []string{remediation},
		Status:      StatusFail,
		ActualValue: "UID        PID  PPID  C STIME TTY          TIME CMD\n" +
			"root     13305     1  2 17:15 ?        00:00:00 bin/kubelet --config=/srv/kcluster/etc/kubelet.yaml " +
			"--kubeconfig=/srv/kcluster/etc/kubelet.kubeconfig --root-dir=/srv/kcluster/var/lib/kubelet " +
			"--cert-dir=/srv/kcluster/var/lib/kubelet/pki --hostname-override=kcnode --node-ip=10.254.254.1 --v=2",
		Scored:         true,
		ExpectedResult: "'--anonymous-auth' is present",
	}
	if diff := cmp.Diff(&want, findCheck(t, r, "4.2.1")); diff != "" {
		t.Errorf("4.2.1 (-want +got):\n%s", diff)
	}

	check := findCheck(t, parseBytes(t, readFixture(t, masterLog)), "1.1.19")
	if !check.IsMultiple || !strings.HasPrefix(check.Reason, `failed to run: "find /etc/kubernetes/pki/ | xargs stat -c %U:%G"`) {
		t.Errorf("1.1.19: IsMultiple = %v, Reason = %.60q...; want true, the audit's failure", check.IsMultiple, check.Reason)
	}
}

// noTotals turns a fixture into what `kube-bench run --json --nototals`
// prints: the same JSON without the object around the Controls.
func noTotals(t *testing.T, data []byte) []byte {
	t.Helper()
	const prefix = `{"Controls":`
	i := bytes.Index(data, []byte(prefix))
	j := bytes.LastIndex(data, []byte(`,"Totals":`))
	if i < 0 || j < i {
		t.Fatal("fixture has no Controls and Totals")
	}
	out := append([]byte(nil), data[:i]...)
	out = append(out, data[i+len(prefix):j]...)
	return append(out, '\n')
}

func TestParseForms(t *testing.T) {
	all := readFixture(t, "kube-bench-cis19-all.json")
	log := readFixture(t, nodeLog)
	warnings, report, _ := bytes.Cut(log, []byte("\n{"))
	report = append([]byte("{"), report...)
	var indented bytes.Buffer
	if err := json.Indent(&indented, all, "", "  "); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		in   []byte
		want []target
	}{
		"nototals bare array":                 {noTotals(t, all), fixtureTargets["kube-bench-cis19-all.json"]},
		"nototals after warnings":             {noTotals(t, log), fixtureTargets[nodeLog]},
		"pretty-printed document":             {indented.Bytes(), fixtureTargets["kube-bench-cis19-all.json"]},
		"CRLF line ends":                      {bytes.ReplaceAll(log, []byte("\n"), []byte("\r\n")), fixtureTargets[nodeLog]},
		"warnings after the report too":       {append(append([]byte(nil), log...), warnings...), fixtureTargets[nodeLog]},
		"JSON log lines before the report":    {append([]byte("{\"level\":\"info\",\"msg\":\"starting\"}\n[1,2]\n"), report...), fixtureTargets[nodeLog]},
		"text output lines before the report": {append([]byte("[INFO] 4 Worker Node Security Configuration\n[FAIL] 4.1.1 Ensure...\n"), report...), fixtureTargets[nodeLog]},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, targets(parseBytes(t, tc.in))); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	log := readFixture(t, masterLog)
	lines := bytes.SplitAfter(log, []byte("\n"))
	warnings := bytes.Join(lines[:17], nil)
	report := lines[17]
	tests := map[string]struct {
		in       []byte
		maxBytes int64
		want     error
		wantText string // a substring of the error
		wantLine int    // for ErrMalformed
	}{
		"empty":             {in: nil, want: ErrNoJSON, wantText: "blank"},
		"blank":             {in: []byte(" \n\t\r\n"), want: ErrNoJSON, wantText: "blank"},
		"warnings only":     {in: warnings, want: ErrNoJSON, wantText: `none of 17 line(s) starts with '{' or '['; the first is "W1126 17:15:42.566360   16001 util.go:350]"`},
		"text output":       {in: []byte("[INFO] 1 Control Plane Security Configuration\n[FAIL] 1.1.1 Ensure that ...\n"), want: ErrNoJSON},
		"non-JSON":          {in: []byte("Error from server (BadRequest): container \"kube-bench\" in pod \"x\" is waiting to start\n"), want: ErrNoJSON},
		"oversized":         {in: log, maxBytes: int64(len(log)) - 1, want: ErrTooLarge, wantText: "more than 92761 bytes"},
		"truncated":         {in: log[:len(log)/2], want: ErrMalformed, wantText: "unexpected end of JSON input", wantLine: 18},
		"cut by one byte":   {in: log[:len(log)-2], want: ErrMalformed, wantLine: 18},
		"truncated alone":   {in: report[:1000], want: ErrMalformed, wantText: "line 1, byte 1000 near", wantLine: 1},
		"not a report":      {in: []byte(`{"kind":"Status","status":"Failure"}`), want: ErrMalformed, wantText: `no targets: "Controls" is missing or empty`, wantLine: 1},
		"empty array":       {in: []byte("W1126 warning\n[]\n"), want: ErrMalformed, wantText: "no targets", wantLine: 2},
		"wrong type":        {in: []byte(`{"Controls":[{"version":"cis-1.12","tests":[{"results":[{"test_number":"1.1.1","status":"FAIL","scored":"yes"}]}]}]}`), want: ErrMalformed, wantText: "cannot unmarshal string", wantLine: 1},
		"no version":        {in: []byte(`[{"id":"4","node_type":"node","tests":[]}]`), want: ErrMalformed, wantText: `target "4" (node) has no benchmark version`},
		"no check number":   {in: []byte(`[{"id":"4","version":"cis-1.12","tests":[{"results":[{"status":"PASS"}]}]}]`), want: ErrMalformed, wantText: "has no test_number"},
		"unknown status":    {in: []byte(`[{"id":"4","version":"cis-1.12","tests":[{"results":[{"test_number":"4.1.1","status":"SKIP"}]}]}]`), want: ErrMalformed, wantText: `check 4.1.1 has unknown status "SKIP"`},
		"garbage in braces": {in: []byte("{\"Controls\": oops}\n"), want: ErrMalformed, wantText: "invalid character 'o'"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := Parse(bytes.NewReader(tc.in), tc.maxBytes)
			if r != nil || !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %v, %v; want nil, %v", r, err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not contain %q", err, tc.wantText)
			}
			var m *MalformedError
			if errors.As(err, &m) != (tc.want == ErrMalformed) {
				t.Errorf("error %v: *MalformedError = %v, want it for ErrMalformed only", err, m)
			}
			if tc.wantLine != 0 && m.Line != tc.wantLine {
				t.Errorf("Line = %d, want %d", m.Line, tc.wantLine)
			}
		})
	}
}

func TestParseLimit(t *testing.T) {
	log := readFixture(t, nodeLog)
	if _, err := Parse(bytes.NewReader(log), int64(len(log))); err != nil {
		t.Errorf("a log of exactly maxBytes: %v", err)
	}
	big := append(bytes.Repeat([]byte("W warning\n"), DefaultMaxBytes/10), log...)
	if _, err := Parse(bytes.NewReader(big), 0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a log over DefaultMaxBytes: %v, want ErrTooLarge", err)
	}
}

func TestParseReadError(t *testing.T) {
	boom := errors.New("connection reset")
	_, err := Parse(io.MultiReader(strings.NewReader("W1126 x\n{"), iotest.ErrReader(boom)), 0)
	if !errors.Is(err, boom) {
		t.Errorf("Parse = %v, want it to wrap %v", err, boom)
	}
}

func TestMalformedErrorNear(t *testing.T) {
	_, err := Parse(strings.NewReader(`{"Controls":[{"id":"1","text":"Control Plane Security Configuration",,"version":"cis-1.12"}]}`), 0)
	var m *MalformedError
	if !errors.As(err, &m) {
		t.Fatalf("Parse = %v, want a *MalformedError", err)
	}
	if m.Line != 1 || m.Offset != 70 || m.Near != `ecurity Configuration",,"version":"cis-1.12"}]}` {
		t.Errorf("Line, Offset, Near = %d, %d, %q", m.Line, m.Offset, m.Near)
	}
	const text = `malformed kube-bench JSON report at line 1, byte 70 near "ecurity Configuration\",,\"version\":\"cis-1.12\"}]}": invalid character ',' looking for beginning of object key string`
	if err.Error() != text {
		t.Errorf("Error() =\n%s\nwant\n%s", err, text)
	}
}

func TestLooksLikeJSON(t *testing.T) {
	tests := map[string]bool{
		`{"Controls":[`: true, `[{"id":"1"`: true, `{}`: true, `[]`: true, `{`: true, `[ 1`: true,
		`[INFO] 1 Control Plane`: false, `[FAIL] 1.1.1`: false, `{oops}`: false, `W1126 {`: false, ``: false,
	}
	for in, want := range tests {
		if got := looksLikeJSON([]byte(in)); got != want {
			t.Errorf("looksLikeJSON(%q) = %v, want %v", in, got, want)
		}
	}
}

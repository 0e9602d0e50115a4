package kubebench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func FuzzParse(f *testing.F) {
	for name := range fixtureTargets {
		f.Add(miniature(f, readFixture(f, name)))
	}
	f.Add([]byte(""))
	f.Add([]byte("W1126 warning\n[]\n"))
	f.Add([]byte("[INFO] 4 Worker Node Security Configuration\n"))
	f.Add([]byte(`[{"id":"4","version":"cis-1.12","tests":[{"results":[{"test_number":"4.1.1","status":"PASS"},{"test_number":"4.1.2","status":"INFO"}]}]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(bytes.NewReader(data), 1<<20)
		if err != nil {
			if r != nil {
				t.Fatalf("Parse returned a report and error %v", err)
			}
			if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrNoJSON) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse error %v matches none of the sentinels", err)
			}
			return
		}
		checkConsistent(t, r)
		if len(data) > 1 {
			if _, err := Parse(bytes.NewReader(data), int64(len(data)-1)); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Parse with a limit one byte short = %v, want ErrTooLarge", err)
			}
		}
		checkRoundTrip(t, r)
	})
}

// miniature shrinks a fixture to its first warning line and the first check
// of each target, with strings of at most 24 bytes. The fuzzer minimizes
// every input that finds new code, in time quadratic in its length, for up
// to a minute: with the fixtures' 30-130 KiB it would do little else.
func miniature(t testing.TB, data []byte) []byte {
	t.Helper()
	start := bytes.LastIndex(data, []byte("\n{")) + 1
	r, err := Parse(bytes.NewReader(data[start:]), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.Controls {
		g := &r.Controls[i].Groups
		*g = (*g)[:1]
		(*g)[0].Checks = (*g)[0].Checks[:1]
		c := &(*g)[0].Checks[0]
		for _, s := range []*string{&c.Text, &c.Audit, &c.AuditConfig, &c.Remediation, &c.ActualValue, &c.ExpectedResult, &c.Reason} {
			*s = (*s)[:min(len(*s), 24)]
		}
		c.TestInfo = []string{c.Remediation}
	}
	enc, err := json.Marshal(r.Controls)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	if warning, _, _ := bytes.Cut(data[:start], []byte("\n")); len(warning) > 0 {
		out = append(append(out, warning...), '\n')
	}
	out = append(append(out, `{"Controls":`...), enc...)
	n := r.Counts()
	return fmt.Appendf(out, `,"Totals":{"total_pass":%d,"total_fail":%d,"total_warn":%d,"total_info":%d}}`+"\n", n.Pass, n.Fail, n.Warn, n.Info)
}

// checkConsistent checks what Parse promises of a report.
func checkConsistent(t *testing.T, r *Report) {
	t.Helper()
	if len(r.Controls) == 0 {
		t.Fatal("report without targets")
	}
	var sum Counts
	for i := range r.Controls {
		if r.Controls[i].Version == "" {
			t.Fatalf("target %d has no version", i)
		}
		sum = sum.Plus(r.Controls[i].Counts())
	}
	checks := 0
	for _, check := range r.Checks() {
		checks++
		if check.Number == "" || !check.Status.Valid() {
			t.Fatalf("check %q has status %q", check.Number, check.Status)
		}
	}
	if got := r.Counts(); got != sum || got.Pass+got.Fail+got.Warn+got.Info != checks {
		t.Fatalf("Counts = %+v, targets add up to %+v, %d checks", got, sum, checks)
	}
}

// checkRoundTrip re-encodes r as kube-bench would, with and without totals
// and after a warning, and expects to parse it back unchanged.
func checkRoundTrip(t *testing.T, r *Report) {
	t.Helper()
	enc, err := json.Marshal(r.Controls)
	if err != nil {
		t.Fatal(err)
	}
	withTotals := append(append([]byte("W1126 warning\n{\"Controls\":"), enc...), "}\n"...)
	for _, doc := range [][]byte{enc, withTotals} {
		again, err := Parse(bytes.NewReader(doc), 0)
		if err != nil {
			t.Fatalf("re-encoded report: %v", err)
		}
		if !reflect.DeepEqual(r, again) { // cmp.Diff is slow for the fuzzer's big inputs
			t.Fatalf("re-encoded report differs (-first +again):\n%s", cmp.Diff(r, again))
		}
	}
}

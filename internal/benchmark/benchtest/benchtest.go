// Package benchtest gives tests real kube-bench v0.15.6 results and
// per-node variants of them, to build the results of many nodes.
package benchtest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/palisade-sec/palisade/internal/benchmark/kubebench"
)

// FixturePath is the path of a fixture in internal/benchmark/testdata/kube-bench,
// e.g. "real-cluster/node-cis-1.12.log".
func FixturePath(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "kube-bench", name)
}

// Fixture parses a fixture, failing the test when it cannot.
func Fixture(t testing.TB, name string) *kubebench.Report {
	t.Helper()
	f, err := os.Open(FixturePath(name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := kubebench.Parse(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Flip decides the status of check number k (counted across the report)
// on node i.
type Flip func(s kubebench.Status, i, k int) kubebench.Status

// Variant copies base for node i: every check's status goes through flip,
// and every actual value names the node. base is not changed.
func Variant(base *kubebench.Report, i int, flip Flip) *kubebench.Report {
	r := &kubebench.Report{Controls: slices.Clone(base.Controls)}
	k := 0
	for ci := range r.Controls {
		c := &r.Controls[ci]
		c.Groups = slices.Clone(c.Groups)
		for gi := range c.Groups {
			g := &c.Groups[gi]
			g.Checks = slices.Clone(g.Checks)
			for j := range g.Checks {
				check := &g.Checks[j]
				check.Status = flip(check.Status, i, k)
				check.ActualValue = fmt.Sprintf("node %d: %s", i, check.ActualValue)
				k++
			}
		}
	}
	return r
}

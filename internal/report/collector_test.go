package report

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
)

func finding(sev securityv1alpha1.Severity, name string) securityv1alpha1.Finding {
	return securityv1alpha1.Finding{ID: "x", Category: "Workload", Severity: sev,
		Resource: securityv1alpha1.ResourceRef{Kind: "Pod", Namespace: "ns", Name: name}}
}

func TestCollector(t *testing.T) {
	tests := map[string]struct {
		max         int
		add         []securityv1alpha1.Finding
		wantNames   []string
		wantCounts  securityv1alpha1.SeverityCounts
		wantOmitted int32
	}{
		"keeps all under the cap, sorted": {
			max:        10,
			add:        []securityv1alpha1.Finding{finding("Low", "a"), finding("Critical", "b"), finding("Medium", "c")},
			wantNames:  []string{"b", "c", "a"},
			wantCounts: securityv1alpha1.SeverityCounts{Critical: 1, Medium: 1, Low: 1},
		},
		"cap keeps the most severe and counts the rest": {
			max:         2,
			add:         []securityv1alpha1.Finding{finding("Low", "a"), finding("Info", "i"), finding("Critical", "b"), finding("Low", "d"), finding("High", "c")},
			wantNames:   []string{"b", "c"},
			wantCounts:  securityv1alpha1.SeverityCounts{Critical: 1, High: 1, Low: 2, Info: 1},
			wantOmitted: 3,
		},
		"equal severity keeps the first added": {
			max:         2,
			add:         []securityv1alpha1.Finding{finding("High", "z"), finding("High", "y"), finding("High", "x")},
			wantNames:   []string{"y", "z"},
			wantCounts:  securityv1alpha1.SeverityCounts{High: 3},
			wantOmitted: 1,
		},
		"zero cap keeps none": {
			max:         0,
			add:         []securityv1alpha1.Finding{finding("High", "a")},
			wantCounts:  securityv1alpha1.SeverityCounts{High: 1},
			wantOmitted: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := NewCollector(tc.max)
			for _, f := range tc.add {
				c.Add(f)
			}
			var names []string
			for _, f := range c.Findings() {
				names = append(names, f.Resource.Name)
			}
			if diff := cmp.Diff(tc.wantNames, names); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantCounts, c.Counts()); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
			if got := c.Omitted(); got != tc.wantOmitted {
				t.Errorf("omitted = %d, want %d", got, tc.wantOmitted)
			}
		})
	}
}

func TestCollectorLarge(t *testing.T) {
	c := NewCollector(100)
	sevs := []securityv1alpha1.Severity{"Info", "Low", "Medium", "High", "Critical"}
	for i := 0; i < 10000; i++ {
		c.Add(finding(sevs[i%5], fmt.Sprintf("p%05d", i)))
	}
	got := c.Findings()
	if len(got) != 100 {
		t.Fatalf("kept %d", len(got))
	}
	for _, f := range got {
		if f.Severity != "Critical" {
			t.Fatalf("kept a %s finding while Criticals were dropped", f.Severity)
		}
	}
	if c.Counts().Total() != 10000 || c.Omitted() != 9900 {
		t.Fatalf("counts %+v omitted %d", c.Counts(), c.Omitted())
	}
}

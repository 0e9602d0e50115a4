package cases

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
)

// TestTemporaryLabels synthesises the labels of a namespace a selector
// matches, and refuses selectors no such namespace satisfies.
func TestTemporaryLabels(t *testing.T) {
	type expr = metav1.LabelSelectorRequirement
	in := func(key string, values ...string) expr {
		return expr{Key: key, Operator: metav1.LabelSelectorOpIn, Values: values}
	}
	notIn := func(key string, values ...string) expr {
		return expr{Key: key, Operator: metav1.LabelSelectorOpNotIn, Values: values}
	}
	exists := func(key string) expr { return expr{Key: key, Operator: metav1.LabelSelectorOpExists} }
	absent := func(key string) expr { return expr{Key: key, Operator: metav1.LabelSelectorOpDoesNotExist} }
	tests := map[string]struct {
		matchLabels map[string]string
		exprs       []expr
		want        map[string]string
		wantErr     string // substring; "" for none
	}{
		"empty":                   {want: map[string]string{}},
		"matchLabels":             {matchLabels: map[string]string{"team": "payments", "env": "prod"}, want: map[string]string{"team": "payments", "env": "prod"}},
		"In: first sorted value":  {exprs: []expr{in("env", "staging", "prod", "qa")}, want: map[string]string{"env": "prod"}},
		"In fixed by matchLabels": {matchLabels: map[string]string{"env": "staging"}, exprs: []expr{in("env", "prod", "staging")}, want: map[string]string{"env": "staging"}},
		"In and In intersect":     {exprs: []expr{in("env", "a", "b", "c"), in("env", "c", "b")}, want: map[string]string{"env": "b"}},
		"In minus NotIn":          {exprs: []expr{in("env", "prod", "staging"), notIn("env", "prod")}, want: map[string]string{"env": "staging"}},
		"Exists":                  {exprs: []expr{exists("tier")}, want: map[string]string{"tier": "palisade-temporary"}},
		"Exists fixed":            {matchLabels: map[string]string{"tier": "gold"}, exprs: []expr{exists("tier")}, want: map[string]string{"tier": "gold"}},
		"Exists and In":           {exprs: []expr{exists("tier"), in("tier", "silver", "gold")}, want: map[string]string{"tier": "gold"}},
		"Exists minus NotIn":      {exprs: []expr{exists("tier"), notIn("tier", "palisade-temporary")}, want: map[string]string{"tier": "palisade-temporary-1"}},
		"NotIn alone: absent":     {exprs: []expr{notIn("team", "web", "ops")}, want: map[string]string{}},
		"NotIn, other key fixed":  {matchLabels: map[string]string{"team": "payments"}, exprs: []expr{notIn("team", "web")}, want: map[string]string{"team": "payments"}},
		"DoesNotExist: absent":    {exprs: []expr{absent("legacy"), notIn("legacy", "x")}, want: map[string]string{}},
		"everything at once": {
			matchLabels: map[string]string{"team": "payments"},
			exprs:       []expr{in("env", "staging", "prod"), exists("tier"), absent("legacy"), notIn("team", "web")},
			want:        map[string]string{"team": "payments", "env": "prod", "tier": "palisade-temporary"},
		},

		"matchLabels NotIn":         {matchLabels: map[string]string{"team": "web"}, exprs: []expr{notIn("team", "web", "ops")}, wantErr: `label team: matchLabels sets it to "web", which NotIn excludes`},
		"matchLabels outside In":    {matchLabels: map[string]string{"env": "qa"}, exprs: []expr{in("env", "prod")}, wantErr: `label env: matchLabels sets it to "qa", which In does not allow`},
		"In all excluded":           {exprs: []expr{in("env", "prod", "qa"), notIn("env", "qa", "prod")}, wantErr: "label env: NotIn excludes every valid value In allows"},
		"In and In disjoint":        {exprs: []expr{in("env", "prod"), in("env", "qa")}, wantErr: "label env: its In expressions have no value in common"},
		"DoesNotExist, matchLabels": {matchLabels: map[string]string{"team": "web"}, exprs: []expr{absent("team")}, wantErr: "label team: DoesNotExist forbids it"},
		"DoesNotExist, In":          {exprs: []expr{in("team", "web"), absent("team")}, wantErr: "label team: DoesNotExist forbids it"},
		"DoesNotExist, Exists":      {exprs: []expr{exists("team"), absent("team")}, wantErr: "label team: DoesNotExist forbids it"},
		"invalid value":             {matchLabels: map[string]string{"team": "not valid!"}, wantErr: "invalid namespaceSelector"},
		"names a namespace":         {matchLabels: map[string]string{namespaceNameLabel: "payments"}, wantErr: errNamedNamespace.Error()},
		"names no namespace":        {exprs: []expr{absent(namespaceNameLabel)}, wantErr: errNamedNamespace.Error()},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sel := &metav1.LabelSelector{MatchLabels: tc.matchLabels, MatchExpressions: tc.exprs}
			got, err := temporaryLabels(sel)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, error %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("labels mismatch (-want +got):\n%s", diff)
			}
			s, err := metav1.LabelSelectorAsSelector(sel)
			if err != nil {
				t.Fatal(err)
			}
			withName := labels.Set{namespaceNameLabel: temporaryName(got)}
			for k, v := range got {
				withName[k] = v
				if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
					t.Errorf("label %s=%s: %v", k, v, errs)
				}
			}
			if !s.Matches(withName) {
				t.Errorf("selector %s does not match %v", s, withName)
			}
		})
	}
}

func TestTemporaryLabelsNamedNamespaceIs(t *testing.T) {
	_, err := temporaryLabels(&metav1.LabelSelector{MatchLabels: map[string]string{namespaceNameLabel: "x"}})
	if !errors.Is(err, errNamedNamespace) {
		t.Errorf("error %v, want errNamedNamespace", err)
	}
}

// TestTemporaryName: the name depends on the labels alone, whatever their
// order, and is a DNS-1123 label.
func TestTemporaryName(t *testing.T) {
	tests := []struct {
		labels map[string]string
		want   string
	}{
		{map[string]string{"team": "payments"}, "palisade-tmp-261e494562"},
		{map[string]string{"tier": "palisade-temporary", "env": "prod"}, "palisade-tmp-47b8ca523e"},
		{nil, "palisade-tmp-e3b0c44298"}, // sha256("")
	}
	for _, tc := range tests {
		got := temporaryName(tc.labels)
		if got != tc.want {
			t.Errorf("temporaryName(%v) = %s, want %s", tc.labels, got, tc.want)
		}
		if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
			t.Errorf("%s: %v", got, errs)
		}
	}
}

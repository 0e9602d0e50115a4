package scope

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
)

func TestMatcher(t *testing.T) {
	prod := &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}
	tests := map[string]struct {
		owner string
		spec  securityv1alpha1.NamespaceScope
		ns    string
		lbls  map[string]string
		want  bool
	}{
		"operator, everything":         {owner: "ops", ns: "a", want: true},
		"operator, selector matches":   {owner: "ops", spec: securityv1alpha1.NamespaceScope{Selector: prod}, ns: "a", lbls: map[string]string{"env": "prod"}, want: true},
		"operator, selector misses":    {owner: "ops", spec: securityv1alpha1.NamespaceScope{Selector: prod}, ns: "a", lbls: map[string]string{"env": "dev"}},
		"operator, excluded":           {owner: "ops", spec: securityv1alpha1.NamespaceScope{Exclude: []string{"a"}}, ns: "a"},
		"operator, names":              {owner: "ops", spec: securityv1alpha1.NamespaceScope{Names: []string{"b"}}, ns: "a"},
		"tenant, own namespace":        {owner: "t", spec: securityv1alpha1.NamespaceScope{Selector: prod}, ns: "t", want: true},
		"tenant, own namespace, plain": {owner: "t", ns: "t", want: true},
		"tenant, another namespace":    {owner: "t", spec: securityv1alpha1.NamespaceScope{Names: []string{"a"}}, ns: "a"},
		"tenant, excluded itself":      {owner: "t", spec: securityv1alpha1.NamespaceScope{Exclude: []string{"t"}}, ns: "t"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m, err := Resolver{OperatorNamespace: "ops"}.Matcher(tc.owner, tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Matches(tc.ns, tc.lbls); got != tc.want {
				t.Errorf("Matches(%s) = %v, want %v", tc.ns, got, tc.want)
			}
		})
	}
}

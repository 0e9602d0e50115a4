package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCut(t *testing.T) {
	tests := map[string]struct {
		in   string
		n    int
		want string
	}{
		"short":             {in: "abc", n: 10, want: "abc"},
		"exact":             {in: "abcdef", n: 6, want: "abcdef"},
		"cut":               {in: "abcdefgh", n: 6, want: "abc…"},
		"no split of runes": {in: "ééééé", n: 6, want: "é…"},
		"invalid utf-8":     {in: "a\xffb", n: 10, want: "a\uFFFDb"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Cut(tc.in, tc.n)
			if got != tc.want {
				t.Errorf("Cut(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
			if len(got) > tc.n || !utf8.ValidString(got) {
				t.Errorf("Cut(%q, %d) = %q: over the limit or invalid", tc.in, tc.n, got)
			}
		})
	}
	if got := Cut(strings.Repeat("x", 5000), MaxField); len(got) != MaxField {
		t.Errorf("len = %d", len(got))
	}
}

func TestPlural(t *testing.T) {
	if Plural(1, "pod", "pods") != "pod" || Plural(0, "pod", "pods") != "pods" || Plural(2, "pod", "pods") != "pods" {
		t.Fatal("wrong forms")
	}
}

func TestCompareNumbered(t *testing.T) {
	ordered := []string{"1", "1.1.1", "1.2.9", "1.2.10", "1.10", "1.10.1", "2.a", "2.b", "10"}
	for i := range ordered {
		for j := range ordered {
			got := CompareNumbered(ordered[i], ordered[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got != want {
				t.Errorf("CompareNumbered(%q, %q) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}

package text

import (
	"cmp"
	"testing"
)

func TestCutBounds(t *testing.T) {
	tests := map[string]struct {
		in   string
		n    int
		want string
	}{
		"short":            {"abc", 5, "abc"},
		"exact":            {"abcde", 5, "abcde"},
		"cut":              {"abcdefgh", 5, "ab…"},
		"no split rune":    {"aéééé", 5, "a…"}, // é is 2 bytes, "aé…" 6
		"rune boundary":    {"ééééé", 7, "éé…"},
		"invalid UTF-8":    {"a\xffb", 10, "a\uFFFDb"},
		"invalid then cut": {"\xffabcdef", 6, "\uFFFD…"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Cut(tc.in, tc.n)
			if got != tc.want {
				t.Errorf("Cut(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
			if len(got) > tc.n {
				t.Errorf("Cut(%q, %d) is %d bytes", tc.in, tc.n, len(got))
			}
		})
	}
}

func TestCompareNumberedTable(t *testing.T) {
	ordered := []string{"1", "1.1.1", "1.1.2", "1.1.10", "1.2", "1.2.9", "1.2.10", "1.10", "1.10.1", "2", "3.a", "3.b", "10", "99999999999999999999999.1"}
	for i := range ordered {
		for j := range ordered {
			want := cmp.Compare(i, j)
			if got := CompareNumbered(ordered[i], ordered[j]); got != want {
				t.Errorf("CompareNumbered(%q, %q) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
	if got := CompareNumbered("1.01", "1.1"); got != 0 {
		t.Errorf("CompareNumbered(1.01, 1.1) = %d, want 0", got)
	}
}

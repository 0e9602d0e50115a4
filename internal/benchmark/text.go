package benchmark

import (
	"cmp"
	"strings"
	"unicode/utf8"
)

// cut shortens s to at most n bytes (n >= 3), ending it with "…" when it
// cuts, without splitting a UTF-8 sequence. Invalid UTF-8 becomes U+FFFD
// first, as JSON encoding would turn it, so the bound holds once decoded.
func cut(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	end := n - len(ellipsis)
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + ellipsis
}

// compareNumbers orders check numbers part by part, numerically where both
// parts are numbers: 1.2.9 < 1.2.10 < 1.10 < 1.10.1.
func compareNumbers(a, b string) int {
	for a != "" && b != "" {
		var pa, pb string
		pa, a, _ = strings.Cut(a, ".")
		pb, b, _ = strings.Cut(b, ".")
		if c := comparePart(pa, pb); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

func comparePart(a, b string) int {
	if !isDigits(a) || !isDigits(b) {
		return strings.Compare(a, b)
	}
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b))
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// Package text holds the string helpers findings and reports share.
package text

import (
	"cmp"
	"strings"
	"unicode/utf8"
)

// MaxField is the API's limit on a finding's message and remediation.
const MaxField = 1024

// Cut shortens s to at most n bytes (n >= 3), ending it with "…" when it
// cuts, without splitting a UTF-8 sequence. Invalid UTF-8 becomes U+FFFD
// first, as JSON encoding would turn it, so the bound holds once decoded.
func Cut(s string, n int) string {
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

// Plural picks the singular or plural form for n.
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// CompareNumbered orders dotted identifiers such as CIS check numbers part
// by part, numerically where both parts are numbers: 1.2.9 < 1.2.10 < 1.10 <
// 1.10.1.
func CompareNumbered(a, b string) int {
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

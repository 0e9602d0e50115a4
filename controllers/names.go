package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// childName is base + "-" + suffix, shortened with a hash of base when that
// would exceed max characters, so that names are deterministic and valid.
func childName(base, suffix string, max int) string {
	name := base + "-" + suffix
	if len(name) <= max {
		return name
	}
	sum := sha256.Sum256([]byte(base))
	h := hex.EncodeToString(sum[:])[:8]
	keep := max - len(suffix) - len(h) - 2
	return fmt.Sprintf("%s-%s-%s", base[:keep], h, suffix)
}

// labelValue is name when it is a valid label value, else a shortened form
// with a hash. Lookups by label also check the owner reference, so a
// shortened value never mixes two objects up.
func labelValue(name string) string {
	if len(name) <= validation.LabelValueMaxLength {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:validation.LabelValueMaxLength-9] + "-" + hex.EncodeToString(sum[:])[:8]
}

// generationSuffix names the report of the run for a spec generation.
func generationSuffix(gen int64) string { return fmt.Sprintf("g%d", gen) }

// scheduleSuffix names the report of the run for a schedule slot.
func scheduleSuffix(slot time.Time) string { return slot.UTC().Format("20060102-1504") }

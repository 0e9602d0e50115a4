package clitest_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/palisade-sec/palisade/internal/cli/clitest"
)

// TestSyncBuffer writes from many goroutines while reading, which the race
// detector checks, and then finds every line written whole.
func TestSyncBuffer(t *testing.T) {
	const writers, lines = 8, 100
	var b clitest.SyncBuffer
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(&b, "writer %d line %d\n", w, i)
			}
		})
	}
	wg.Go(func() {
		for range lines {
			_ = b.String()
		}
	})
	wg.Wait()
	got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(got) != writers*lines {
		t.Fatalf("%d lines, want %d", len(got), writers*lines)
	}
	seen := map[string]bool{}
	for _, line := range got {
		seen[line] = true
	}
	for w := range writers {
		for i := range lines {
			if want := fmt.Sprintf("writer %d line %d", w, i); !seen[want] {
				t.Errorf("line %q missing", want)
			}
		}
	}
}

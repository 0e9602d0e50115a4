// Package clitest gives the tests of palisade's commands what they share.
package clitest

import (
	"bytes"
	"sync"
)

// SyncBuffer is a buffer safe to write from a command's or a server's
// goroutines and read from the test at once. Its zero value is empty and
// ready to use.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what has been written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

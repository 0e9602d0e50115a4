package probe

import (
	"fmt"
	"time"
)

// Code classifies one attempt.
type Code uint8

// Codes. The zero Code is invalid.
const (
	// Connected: the TCP handshake completed, or a UDP datagram was
	// answered.
	Connected Code = iota + 1
	// Refused: the peer (or something on the path) answered with a TCP
	// reset or an ICMP port unreachable.
	Refused
	// Timeout: no answer within the attempt timeout.
	Timeout
	// Error: anything else (no route, DNS failure, the run cancelled); the
	// outcome's reason says what.
	Error
	// PlaintextAccepted: a plaintext HTTP request got an HTTP response.
	PlaintextAccepted
	// PlaintextRejected: a plaintext HTTP request was answered with a
	// reset, a close before any reply, or TLS.
	PlaintextRejected
)

// codeInfo is a code's name and its letter in the termination message.
var codeInfo = [...]struct {
	name   string
	letter byte
}{
	Connected:         {"Connected", 'C'},
	Refused:           {"Refused", 'R'},
	Timeout:           {"Timeout", 'T'},
	Error:             {"Error", 'E'},
	PlaintextAccepted: {"PlaintextAccepted", 'A'},
	PlaintextRejected: {"PlaintextRejected", 'J'},
}

// Valid reports whether c is one of the codes.
func (c Code) Valid() bool { return c >= Connected && int(c) < len(codeInfo) }

// String returns the code's name, e.g. "Refused".
func (c Code) String() string {
	if !c.Valid() {
		return fmt.Sprintf("Code(%d)", uint8(c))
	}
	return codeInfo[c].name
}

// MarshalText renders the code as String does.
func (c Code) MarshalText() ([]byte, error) {
	if !c.Valid() {
		return nil, fmt.Errorf("invalid probe code %d", uint8(c))
	}
	return []byte(c.String()), nil
}

func codeOfLetter(b byte) (Code, bool) {
	for c := Connected; c.Valid(); c++ {
		if codeInfo[c].letter == b {
			return c, true
		}
	}
	return 0, false
}

// Outcome is what one attempt observed.
type Outcome struct {
	// ID is the target's.
	ID   string `json:"id"`
	Code Code   `json:"code"`
	// Elapsed is how long the attempt took; the termination message keeps
	// whole milliseconds, up to 999999.
	Elapsed time.Duration `json:"elapsed"`
	// Reason says more, in a few words: why an Error, the status line of a
	// PlaintextAccepted, how a PlaintextRejected ended. The termination
	// message keeps MaxReasonLen bytes of printable ASCII.
	Reason string `json:"reason,omitempty"`
}

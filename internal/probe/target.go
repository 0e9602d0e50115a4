package probe

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Kind is how a target is probed.
type Kind string

// Kinds.
const (
	// KindTCP completes a TCP handshake.
	KindTCP Kind = "tcp"
	// KindUDP sends a datagram and waits for an answer.
	KindUDP Kind = "udp"
	// KindHTTP sends a plaintext HTTP request over TCP, for mTLS.
	KindHTTP Kind = "http"
)

// MaxIDLen is the longest target ID.
const MaxIDLen = 32

// Target is one connection to try.
type Target struct {
	// ID names the target in the outcomes: 1 to MaxIDLen letters, digits,
	// '.', '_' or '-'. Short IDs let more targets share a termination
	// message.
	ID string
	// Host is an IP address or a DNS name; for KindHTTP it is also the
	// Host header.
	Host string
	Port int32
	Kind Kind
}

// Address returns host:port, bracketing an IPv6 address.
func (t Target) Address() string { return net.JoinHostPort(t.Host, strconv.Itoa(int(t.Port))) }

// String renders the target as ParseTargets reads it: ID=KIND://HOST:PORT.
func (t Target) String() string { return t.ID + "=" + string(t.Kind) + "://" + t.Address() }

// Validate checks the target's fields.
func (t Target) Validate() error {
	if err := validID(t.ID); err != nil {
		return err
	}
	switch {
	case t.Kind != KindTCP && t.Kind != KindUDP && t.Kind != KindHTTP:
		return fmt.Errorf("target %s: kind %q is not tcp, udp or http", t.ID, string(t.Kind))
	case t.Port < 1 || t.Port > 65535:
		return fmt.Errorf("target %s: port %d is not from 1 to 65535", t.ID, t.Port)
	case t.Host == "" || strings.ContainsAny(t.Host, " \t\r\n,=/[]"):
		return fmt.Errorf("target %s: host %q is not an IP address or a DNS name", t.ID, t.Host)
	}
	return nil
}

func validID(id string) error {
	if id == "" || len(id) > MaxIDLen {
		return fmt.Errorf("target ID %q: want 1 to %d characters", id, MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if !idByte(id[i]) {
			return fmt.Errorf("target ID %q: only letters, digits, '.', '_' and '-' are allowed", id)
		}
	}
	return nil
}

func idByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '.' || b == '_' || b == '-'
}

// ValidateTargets checks every target and that no ID is used twice.
func ValidateTargets(targets []Target) error {
	seen := make(map[string]bool, len(targets))
	for _, t := range targets {
		if err := t.Validate(); err != nil {
			return err
		}
		if seen[t.ID] {
			return fmt.Errorf("target ID %s is used twice", t.ID)
		}
		seen[t.ID] = true
	}
	return nil
}

// FormatTargets renders targets one per line, as ParseTargets reads them.
func FormatTargets(targets []Target) string {
	var b strings.Builder
	for _, t := range targets {
		b.WriteString(t.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// ParseTargets reads targets separated by newlines or commas, each
// ID=KIND://HOST:PORT, e.g. "a1=tcp://10.0.0.5:80,a2=udp://[fd00::5]:53".
// Blank entries are ignored; the list must name at least one target, with
// no ID twice.
func ParseTargets(s string) ([]Target, error) {
	var out []Target
	for _, entry := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' }) {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		t, err := parseTarget(entry)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, errors.New("no targets given")
	}
	if err := ValidateTargets(out); err != nil {
		return nil, err
	}
	return out, nil
}

func parseTarget(s string) (Target, error) {
	id, rest, ok := strings.Cut(s, "=")
	if !ok {
		return Target{}, fmt.Errorf("target %q: want ID=KIND://HOST:PORT", s)
	}
	kind, addr, ok := strings.Cut(rest, "://")
	if !ok {
		return Target{}, fmt.Errorf("target %q: want ID=KIND://HOST:PORT", s)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return Target{}, fmt.Errorf("target %q: %w", s, err)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return Target{}, fmt.Errorf("target %q: port %q is not a number from 1 to 65535", s, port)
	}
	t := Target{ID: id, Host: host, Port: int32(n), Kind: Kind(kind)}
	return t, t.Validate()
}

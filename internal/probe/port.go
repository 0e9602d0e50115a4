package probe

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Protocol is a transport protocol a probe server listens on.
type Protocol string

// Protocols. SCTP is not among them: the Go standard library has no SCTP
// sockets.
const (
	TCP Protocol = "TCP"
	UDP Protocol = "UDP"
)

// PortSpec is one port a probe server listens on.
type PortSpec struct {
	// Port is 1 to 65535; 0 asks Serve for any free port (for tests).
	Port     int32
	Protocol Protocol
}

func (p PortSpec) String() string { return fmt.Sprintf("%d/%s", p.Port, p.Protocol) }

// ParsePorts reads a comma-separated list such as "80/TCP,81/UDP,8080". The
// protocol defaults to TCP and is case-insensitive. A port given twice for
// one protocol is an error.
func ParsePorts(s string) ([]PortSpec, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("no ports given")
	}
	var out []PortSpec
	seen := map[PortSpec]bool{}
	for _, item := range strings.Split(s, ",") {
		p, err := parsePort(strings.TrimSpace(item))
		if err != nil {
			return nil, err
		}
		if seen[p] {
			return nil, fmt.Errorf("port %s is given twice", p)
		}
		seen[p] = true
		out = append(out, p)
	}
	return out, nil
}

func parsePort(s string) (PortSpec, error) {
	num, proto, hasProto := strings.Cut(s, "/")
	p := PortSpec{Protocol: TCP}
	if hasProto {
		p.Protocol = Protocol(strings.ToUpper(proto))
	}
	if err := checkProtocol(p.Protocol); err != nil {
		return PortSpec{}, fmt.Errorf("port %q: %w", s, err)
	}
	n, err := strconv.ParseUint(num, 10, 16)
	if err != nil || n == 0 {
		return PortSpec{}, fmt.Errorf("port %q: want a number from 1 to 65535, then optionally /TCP or /UDP", s)
	}
	p.Port = int32(n)
	return p, nil
}

func checkProtocol(p Protocol) error {
	switch p {
	case TCP, UDP:
		return nil
	case "SCTP":
		return errors.New("SCTP is not supported (the Go standard library has no SCTP sockets)")
	default:
		return fmt.Errorf("protocol %q is not TCP or UDP", string(p))
	}
}

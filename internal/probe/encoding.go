package probe

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits of the termination message.
const (
	// MaxMessageSize is the kubelet's cap on a container's termination
	// message.
	MaxMessageSize = 4096
	// MaxReasonLen is the longest reason a message keeps.
	MaxReasonLen = 40
	// maxMillis is the largest elapsed time a message records, in ms.
	maxMillis = 999999
	// header starts every message, followed by a space and the number of
	// outcome lines.
	header = "palisade-probe/v1"
)

// lineOverhead is the most a line takes besides its ID: ":C:" (3), up to 6
// digits of milliseconds, ':' and a reason, and the newline.
const lineOverhead = 3 + 6 + 1 + MaxReasonLen + 1

// Encode renders outcomes as a termination message:
//
//	palisade-probe/v1 <number of outcomes>
//	<id>:<code>:<ms>[:<reason>]
//	...
//
// one line per outcome, in order, each ending in a newline. <code> is one
// letter: C Connected, R Refused, T Timeout, E Error, A PlaintextAccepted,
// J PlaintextRejected. <ms> is the elapsed time in whole milliseconds
// (at most 999999). <reason>, present only when not empty, is the reason
// cut to MaxReasonLen bytes, with bytes outside printable ASCII replaced
// by '?'; it may contain ':' (it is the last field).
//
// Every line is at most len(id)+51 bytes and the header at most 23, so a
// message for n targets never exceeds [MaxEncodedSize]; [Split] uses that
// bound. Encode fails when the outcomes are invalid (bad or repeated ID,
// invalid code) or the message would exceed MaxMessageSize.
func Encode(outcomes []Outcome) ([]byte, error) {
	var b strings.Builder
	b.WriteString(header + " " + strconv.Itoa(len(outcomes)) + "\n")
	seen := make(map[string]bool, len(outcomes))
	for _, o := range outcomes {
		if err := validID(o.ID); err != nil {
			return nil, err
		}
		if seen[o.ID] {
			return nil, fmt.Errorf("outcome ID %s is used twice", o.ID)
		}
		seen[o.ID] = true
		if !o.Code.Valid() {
			return nil, fmt.Errorf("outcome %s: invalid code %d", o.ID, uint8(o.Code))
		}
		writeLine(&b, o)
	}
	if b.Len() > MaxMessageSize {
		return nil, fmt.Errorf("%d outcomes take %d bytes, more than the %d of a termination message: split the targets (probe.Split)", len(outcomes), b.Len(), MaxMessageSize)
	}
	return []byte(b.String()), nil
}

func writeLine(b *strings.Builder, o Outcome) {
	b.WriteString(o.ID)
	b.WriteByte(':')
	b.WriteByte(codeInfo[o.Code].letter)
	b.WriteByte(':')
	b.WriteString(strconv.FormatInt(min(max(o.Elapsed.Milliseconds(), 0), maxMillis), 10))
	if r := CleanReason(o.Reason); r != "" {
		b.WriteByte(':')
		b.WriteString(r)
	}
	b.WriteByte('\n')
}

// CleanReason returns the reason as a message keeps it: bytes outside
// printable ASCII replaced by '?', surrounding spaces trimmed, cut to
// MaxReasonLen bytes.
func CleanReason(s string) string {
	b := []byte(strings.TrimSpace(s))
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	if len(b) > MaxReasonLen {
		b = b[:MaxReasonLen]
	}
	return strings.TrimSpace(string(b))
}

// MaxEncodedSize returns the most bytes the message for targets' outcomes
// can take, whatever the outcomes are.
func MaxEncodedSize(targets []Target) int {
	n := headerSize(len(targets))
	for _, t := range targets {
		n += len(t.ID) + lineOverhead
	}
	return n
}

func headerSize(count int) int { return len(header) + 1 + len(strconv.Itoa(count)) + 1 }

// Split cuts targets, in order, into as few consecutive groups as it can
// such that each group's message can never exceed budget bytes (see
// [MaxEncodedSize]): the controller launches one client pod per group.
// A budget outside 1 to MaxMessageSize means MaxMessageSize. Split fails
// when a target is invalid, an ID is used twice, or a single target cannot
// fit.
func Split(targets []Target, budget int) ([][]Target, error) {
	if budget <= 0 || budget > MaxMessageSize {
		budget = MaxMessageSize
	}
	if err := ValidateTargets(targets); err != nil {
		return nil, err
	}
	var groups [][]Target
	start, lines := 0, 0 // the current group is targets[start:i]; lines is the size of its lines
	for i, t := range targets {
		line := len(t.ID) + lineOverhead
		if i > start && headerSize(i-start+1)+lines+line > budget {
			groups = append(groups, targets[start:i:i])
			start, lines = i, 0
		}
		if headerSize(1)+line > budget {
			return nil, fmt.Errorf("target %s alone may take %d bytes, more than the budget of %d", t.ID, headerSize(1)+line, budget)
		}
		lines += line
	}
	if start < len(targets) {
		groups = append(groups, targets[start:])
	}
	return groups, nil
}

// Decode reads a termination message written by Encode. It is strict: a
// message that Encode could not have written (wrong header or count, a
// line without its newline, a bad ID, code or number, a repeated ID, an
// oversized reason, more than MaxMessageSize bytes) is an error, never a
// partial result.
func Decode(data []byte) ([]Outcome, error) {
	if len(data) > MaxMessageSize {
		return nil, fmt.Errorf("probe message of %d bytes exceeds %d", len(data), MaxMessageSize)
	}
	s, ok := strings.CutSuffix(string(data), "\n")
	if !ok {
		return nil, errors.New("probe message does not end with a newline (truncated?)")
	}
	lines := strings.Split(s, "\n")
	count, err := decodeHeader(lines[0])
	if err != nil {
		return nil, err
	}
	if count != len(lines)-1 {
		return nil, fmt.Errorf("probe message announces %d outcomes but holds %d", count, len(lines)-1)
	}
	out := make([]Outcome, 0, count)
	seen := make(map[string]bool, count)
	for i, line := range lines[1:] {
		o, err := decodeLine(line)
		if err != nil {
			return nil, fmt.Errorf("probe message line %d: %w", i+2, err)
		}
		if seen[o.ID] {
			return nil, fmt.Errorf("probe message line %d: ID %s is used twice", i+2, o.ID)
		}
		seen[o.ID] = true
		out = append(out, o)
	}
	return out, nil
}

func decodeHeader(line string) (int, error) {
	name, count, ok := strings.Cut(line, " ")
	if !ok || name != header {
		return 0, fmt.Errorf("probe message does not start with %q", header)
	}
	n, err := decimal(count, 4)
	if err != nil {
		return 0, fmt.Errorf("probe message header: count %w", err)
	}
	return n, nil
}

func decodeLine(line string) (Outcome, error) {
	fields := strings.SplitN(line, ":", 4)
	if len(fields) < 3 {
		return Outcome{}, fmt.Errorf("%q: want ID:CODE:MS[:REASON]", line)
	}
	if err := validID(fields[0]); err != nil {
		return Outcome{}, err
	}
	o := Outcome{ID: fields[0]}
	var ok bool
	if len(fields[1]) != 1 {
		return Outcome{}, fmt.Errorf("%s: code %q is not one letter", o.ID, fields[1])
	}
	if o.Code, ok = codeOfLetter(fields[1][0]); !ok {
		return Outcome{}, fmt.Errorf("%s: unknown code %q", o.ID, fields[1])
	}
	ms, err := decimal(fields[2], 6)
	if err != nil {
		return Outcome{}, fmt.Errorf("%s: milliseconds %w", o.ID, err)
	}
	o.Elapsed = time.Duration(ms) * time.Millisecond
	if len(fields) == 4 {
		if o.Reason = fields[3]; o.Reason == "" || CleanReason(o.Reason) != o.Reason {
			return Outcome{}, fmt.Errorf("%s: reason %q is empty, too long, padded or not printable ASCII", o.ID, o.Reason)
		}
	}
	return o, nil
}

// decimal parses a non-negative number of at most digits digits, without
// sign or leading zeros.
func decimal(s string, digits int) (int, error) {
	if s == "" || len(s) > digits || (s[0] == '0' && len(s) > 1) {
		return 0, fmt.Errorf("%q is not a number of 1 to %d digits without leading zeros", s, digits)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%q is not a number", s)
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, nil
}

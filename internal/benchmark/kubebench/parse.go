package kubebench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode"
)

// DefaultMaxBytes is the log size Parse accepts when given no limit. A
// report of every target of a CIS benchmark is about 140 KiB and kube-bench's
// warnings add a few KiB, so this leaves ample room.
const DefaultMaxBytes = 8 << 20

// Errors Parse returns; test for them with errors.Is.
var (
	// ErrTooLarge means the log is longer than the limit given to Parse.
	ErrTooLarge = errors.New("kube-bench log is too large")
	// ErrNoJSON means no line of the log starts a JSON object or array:
	// the log is empty, has only warnings, or is not kube-bench's JSON
	// output (e.g. it ran without --json).
	ErrNoJSON = errors.New("no kube-bench JSON report in the log")
	// ErrMalformed means the log has JSON that is not a valid kube-bench
	// report: truncated, not JSON after all, of the wrong shape, or without
	// targets. The error is a *MalformedError.
	ErrMalformed = errors.New("malformed kube-bench JSON report")
)

// MalformedError says where and why a report could not be decoded. It
// matches ErrMalformed.
type MalformedError struct {
	// Line is the line of the log where the JSON starts, from 1.
	Line int
	// Offset is the byte of the JSON at which decoding stopped, 0 when
	// the JSON was well-formed but is not a valid report.
	Offset int64
	// Near is the JSON around Offset, raw bytes.
	Near string
	// Err is the decoding or validation error.
	Err error
}

func (e *MalformedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v at line %d", ErrMalformed, e.Line)
	if e.Offset > 0 {
		fmt.Fprintf(&b, ", byte %d near %q", e.Offset, e.Near)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

// Is reports whether target is ErrMalformed.
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

// Unwrap returns the decoding or validation error.
func (e *MalformedError) Unwrap() error { return e.Err }

// Parse reads a kube-bench Job's log from r and decodes the report in it.
//
// The report is either the whole log, a JSON document that may span lines,
// or the one line of it that starts with '{' or '[' (kube-bench prints its
// warnings before it; lines like "[FAIL] 1.1.1 ..." of its text output are
// not taken for JSON). When several lines qualify, the first that decodes
// into a report wins. Lines must not carry `kubectl logs --timestamps`
// prefixes.
//
// Parse reads at most maxBytes (DefaultMaxBytes when maxBytes <= 0) and
// fails with ErrTooLarge if r holds more. A caller that limits the log
// itself (PodLogOptions.LimitBytes) should ask for maxBytes+1 bytes, so
// that a cut log is reported as too large rather than as truncated JSON.
//
// Errors match ErrTooLarge, ErrNoJSON or ErrMalformed, except errors from r,
// which are returned wrapped.
func Parse(r io.Reader, maxBytes int64) (*Report, error) {
	data, err := readLimited(r, maxBytes)
	if err != nil {
		return nil, err
	}
	if doc, line, ok := wholeDocument(data); ok {
		return decode(doc, line)
	}
	return scanLines(data)
}

func readLimited(r io.Reader, maxBytes int64) ([]byte, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	maxBytes = min(maxBytes, math.MaxInt64-1)
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading kube-bench log: %w", err)
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, maxBytes)
	}
	return data, nil
}

// wholeDocument returns data without surrounding blanks, and the line it
// starts on, when that is a single JSON object or array.
func wholeDocument(data []byte) (doc []byte, line int, ok bool) {
	start := len(data) - len(bytes.TrimLeftFunc(data, unicode.IsSpace))
	doc = bytes.TrimRightFunc(data[start:], unicode.IsSpace)
	if !looksLikeJSON(doc) || !json.Valid(doc) {
		return nil, 0, false
	}
	return doc, 1 + bytes.Count(data[:start], []byte("\n")), true
}

// scanLines decodes the first line of data that holds a report. When none
// does, it returns the error of the longest line that looks like JSON, the
// likeliest to be a damaged report.
func scanLines(data []byte) (*Report, error) {
	var (
		longest    error
		longestLen = -1
		n          int
	)
	for line := range bytes.Lines(data) {
		n++
		line = bytes.TrimSpace(line)
		if !looksLikeJSON(line) {
			continue
		}
		r, err := decode(line, n)
		if err == nil {
			return r, nil
		}
		if len(line) > longestLen {
			longest, longestLen = err, len(line)
		}
	}
	if longest != nil {
		return nil, longest
	}
	return nil, noJSON(data, n)
}

// looksLikeJSON tells whether b starts like a JSON object or array: '{' or
// '[' followed by what may come next in JSON. kube-bench's text output
// ("[INFO] 1 Control Plane ...") does not.
func looksLikeJSON(b []byte) bool {
	if len(b) == 0 || (b[0] != '{' && b[0] != '[') {
		return false
	}
	rest := bytes.TrimLeft(b[1:], " \t\r\n")
	switch {
	case len(rest) == 0:
		return true
	case b[0] == '{':
		return rest[0] == '"' || rest[0] == '}'
	default:
		return strings.IndexByte(`"{[]-0123456789tfn`, rest[0]) >= 0
	}
}

func noJSON(data []byte, lines int) error {
	first := firstLine(data)
	if first == "" {
		return fmt.Errorf("%w: the log is blank", ErrNoJSON)
	}
	return fmt.Errorf("%w: none of %d line(s) starts with '{' or '['; the first is %q", ErrNoJSON, lines, first)
}

// firstLine returns the first non-blank line of data, at most 80 bytes of it.
func firstLine(data []byte) string {
	for line := range bytes.Lines(data) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			return string(line[:min(len(line), 80)])
		}
	}
	return ""
}

// decode decodes doc, the JSON found at the given line of the log, and
// checks that it is a report.
func decode(doc []byte, line int) (*Report, error) {
	controls, err := unmarshal(doc)
	if err == nil {
		err = validate(controls)
	}
	if err != nil {
		return nil, malformed(doc, line, err)
	}
	return &Report{Controls: controls}, nil
}

// unmarshal decodes either form of kube-bench's output: the object
// {"Controls": [...], "Totals": {...}} or the bare array of Controls that
// --nototals prints. doc is not empty.
func unmarshal(doc []byte) ([]Controls, error) {
	if doc[0] == '[' {
		var controls []Controls
		err := json.Unmarshal(doc, &controls)
		return controls, err
	}
	var out struct {
		Controls []Controls `json:"Controls"`
	}
	err := json.Unmarshal(doc, &out)
	return out.Controls, err
}

// validate checks what later steps rely on: there is a target, every target
// names its benchmark, every check has a number and a known status.
func validate(controls []Controls) error {
	if len(controls) == 0 {
		return errors.New(`no targets: "Controls" is missing or empty`)
	}
	for i := range controls {
		if controls[i].Version == "" {
			return fmt.Errorf("target %q (%s) has no benchmark version", controls[i].ID, controls[i].NodeType)
		}
	}
	r := Report{Controls: controls}
	for c, check := range r.Checks() {
		switch {
		case check.Number == "":
			return fmt.Errorf("a check of target %q (%s) has no test_number", c.ID, c.NodeType)
		case !check.Status.Valid():
			return fmt.Errorf("check %s has unknown status %q", check.Number, check.Status)
		}
	}
	return nil
}

func malformed(doc []byte, line int, err error) error {
	e := &MalformedError{Line: line, Err: err}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		e.Offset = syntax.Offset
	case errors.As(err, &typ):
		e.Offset = typ.Offset
	}
	if e.Offset > 0 {
		e.Near = near(doc, e.Offset)
	}
	return e
}

// near returns up to 24 bytes of doc either side of off.
func near(doc []byte, off int64) string {
	const span = 24
	off = min(off, int64(len(doc)))
	return string(doc[max(0, off-span):min(int64(len(doc)), off+span)])
}

package probe

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"syscall"
)

// probeHTTP sends a plaintext HTTP request and judges the first bytes of
// the reply (see the package documentation).
func probeHTTP(ctx context.Context, t Target) (Code, string) {
	c, stop, err := dial(ctx, "tcp", t.Address())
	if err != nil {
		return classify(err)
	}
	defer c.Close()
	defer stop()
	if _, err := io.WriteString(c, plaintextRequest(t)); err != nil {
		return judgeReply(nil, err)
	}
	reply, err := readReplyStart(c)
	return judgeReply(reply, err)
}

// plaintextRequest is a minimal HTTP/1.1 request for t, with host:port as
// its Host header.
func plaintextRequest(t Target) string {
	return "GET / HTTP/1.1\r\nHost: " + t.Address() + "\r\nUser-Agent: palisade-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n"
}

// replyPrefix is how much of a reply is read: enough for a status line.
const replyPrefix = 64

// readReplyStart reads until it has a line, replyPrefix bytes, or an error.
func readReplyStart(r io.Reader) ([]byte, error) {
	buf := make([]byte, replyPrefix)
	n := 0
	for n < len(buf) && bytes.IndexByte(buf[:n], '\n') < 0 {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return buf[:n], err
		}
	}
	return buf[:n], nil
}

// judgeReply classifies what a plaintext request got back: the start of
// the reply, and the error that ended reading it (nil when reading stopped
// because enough was read).
func judgeReply(reply []byte, err error) (Code, string) {
	switch {
	case bytes.HasPrefix(reply, []byte("HTTP/")):
		return PlaintextAccepted, statusLine(reply)
	case isTLSRecord(reply):
		return PlaintextRejected, "tls " + tlsRecordKind(reply[0])
	case len(reply) > 0 && (err == nil || len(reply) >= len("HTTP/")):
		// Something answered the plaintext request in plaintext: an
		// application that does not speak HTTP, reached without TLS. A
		// proxy enforcing mTLS never answers so.
		return PlaintextAccepted, "non-HTTP reply: " + statusLine(reply)
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE):
		return PlaintextRejected, "reset"
	case errors.Is(err, io.EOF):
		return PlaintextRejected, "closed before a reply"
	case err != nil:
		return classify(err)
	default:
		return Error, "no reply"
	}
}

// statusLine is the reply's first line, without its line ending.
func statusLine(reply []byte) string {
	line, _, _ := bytes.Cut(reply, []byte("\n"))
	return string(bytes.TrimRight(line, "\r"))
}

// isTLSRecord reports whether b starts like a TLS record: a content type
// (change_cipher_spec 20, alert 21, handshake 22) and a 3.x version.
func isTLSRecord(b []byte) bool {
	return len(b) >= 2 && b[0] >= 20 && b[0] <= 22 && b[1] == 3
}

func tlsRecordKind(contentType byte) string {
	switch contentType {
	case 21:
		return "alert"
	case 22:
		return "handshake"
	default:
		return "record " + strconv.Itoa(int(contentType))
	}
}

package probe_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-sec/palisade/internal/probe"
)

// TestConnectHTTPPlaintext sends plaintext HTTP requests to servers that
// accept them and to servers that reject them in the ways an mTLS STRICT
// port does.
func TestConnectHTTPPlaintext(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host == "" || r.URL.Path != "/" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		io.WriteString(w, "hello")
	}))
	t.Cleanup(plain.Close)
	teapot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(teapot.Close)

	tests := map[string]struct {
		port int32
		want result
		// anyReason: the reason depends on timing (the server closes
		// with or without the whole request read: a reset or a FIN).
		anyReason bool
	}{
		"plain HTTP server": {port: serverPort(t, plain), want: result{Code: probe.PlaintextAccepted, Reason: "HTTP/1.1 200 OK"}},
		"any status counts": {port: serverPort(t, teapot), want: result{Code: probe.PlaintextAccepted, Reason: "HTTP/1.1 418 I'm a teapot"}},
		"TLS-only server":   {port: listen(t, tlsOnly(t)), want: result{Code: probe.PlaintextRejected}, anyReason: true},
		"TLS alert":         {port: listen(t, writeAndClose(tlsAlert)), want: result{Code: probe.PlaintextRejected, Reason: "tls alert"}},
		"reset":             {port: listen(t, reset), want: result{Code: probe.PlaintextRejected, Reason: "reset"}},
		"closed, no reply":  {port: listen(t, writeAndClose(nil)), want: result{Code: probe.PlaintextRejected, Reason: "closed before a reply"}},
		"not HTTP":          {port: listen(t, writeAndClose([]byte("SSH-2.0-OpenSSH_9.6\r\n"))), want: result{Code: probe.PlaintextAccepted, Reason: "non-HTTP reply: SSH-2.0-OpenSSH_9.6"}},
		"no reply":          {port: listen(t, silent), want: result{Code: probe.Timeout}},
		"closed port":       {port: closedPort(t, probe.TCP), want: result{Code: probe.Refused}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			target := probe.Target{ID: "m", Host: "127.0.0.1", Port: tc.port, Kind: probe.KindHTTP}
			got := probe.Connect(context.Background(), []probe.Target{target}, probe.ConnectOptions{AttemptTimeout: time.Second, Settle: -1, MaxAttempts: 1})
			tc.want.ID = "m"
			if tc.anyReason {
				got[0].Reason = ""
			}
			if diff := cmp.Diff([]result{tc.want}, results(got)); diff != "" {
				t.Errorf("Connect mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func serverPort(t *testing.T, s *httptest.Server) int32 {
	t.Helper()
	_, port, err := net.SplitHostPort(s.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return int32(n)
}

// tlsAlert is a TLS 1.2 record holding a fatal handshake_failure alert.
var tlsAlert = []byte{21, 3, 3, 0, 2, 2, 40}

// tlsOnly returns a handler that speaks TLS only, with a self-signed
// certificate: a plaintext request fails its handshake.
func tlsOnly(t *testing.T) func(net.Conn) {
	cfg := &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	return func(c net.Conn) {
		tc := tls.Server(c, cfg)
		defer tc.Close()
		tc.SetDeadline(time.Now().Add(10 * time.Second))
		if tc.Handshake() == nil {
			io.WriteString(tc, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		}
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "palisade-probe-test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// writeAndClose returns a handler that reads the request, writes reply and
// closes the connection cleanly.
func writeAndClose(reply []byte) func(net.Conn) {
	return func(c net.Conn) {
		defer c.Close()
		readRequest(c)
		c.Write(reply)
	}
}

// reset aborts the connection with a TCP reset.
func reset(c net.Conn) {
	readRequest(c)
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
}

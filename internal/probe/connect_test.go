package probe_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-sec/palisade/internal/probe"
)

// TestConnectLoopback probes a probe server and closed ports on 127.0.0.1,
// over TCP and UDP.
func TestConnectLoopback(t *testing.T) {
	bound, _ := serve(t, probe.PortSpec{Protocol: probe.TCP}, probe.PortSpec{Protocol: probe.UDP})
	tcpOpen, udpOpen := bound[0].Port, bound[1].Port
	targets := []probe.Target{
		{ID: "tcp-open", Host: "127.0.0.1", Port: tcpOpen, Kind: probe.KindTCP},
		{ID: "tcp-closed", Host: "127.0.0.1", Port: closedPort(t, probe.TCP), Kind: probe.KindTCP},
		{ID: "udp-open", Host: "127.0.0.1", Port: udpOpen, Kind: probe.KindUDP},
		{ID: "udp-closed", Host: "127.0.0.1", Port: closedPort(t, probe.UDP), Kind: probe.KindUDP},
	}
	got := probe.Connect(context.Background(), targets, probe.ConnectOptions{AttemptTimeout: 5 * time.Second, Settle: -1, MaxAttempts: 1})
	want := []result{
		{ID: "tcp-open", Code: probe.Connected},
		{ID: "tcp-closed", Code: probe.Refused},
		{ID: "udp-open", Code: probe.Connected},
		{ID: "udp-closed", Code: probe.Refused},
	}
	if diff := cmp.Diff(want, results(got)); diff != "" {
		t.Errorf("Connect mismatch (-want +got):\n%s", diff)
	}
	for _, o := range got {
		if o.Elapsed <= 0 || o.Elapsed > 5*time.Second {
			t.Errorf("%s: elapsed %v, want between 0 and the attempt timeout", o.ID, o.Elapsed)
		}
	}
}

// TestServeBannerAndEcho checks what the server sends: the banner on TCP,
// the datagram itself on UDP.
func TestServeBannerAndEcho(t *testing.T) {
	bound, _ := serve(t, probe.PortSpec{Protocol: probe.TCP}, probe.PortSpec{Protocol: probe.UDP})
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", bound[0].Port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != probe.Banner {
		t.Errorf("TCP read = %q, %v; want the banner %q", buf[:n], err, probe.Banner)
	}

	u, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", bound[1].Port))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := u.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if n, err = u.Read(buf); err != nil || string(buf[:n]) != "hello" {
		t.Errorf("UDP echo = %q, %v; want %q", buf[:n], err, "hello")
	}
}

func TestConnectCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	targets := []probe.Target{
		{ID: "a", Host: "127.0.0.1", Port: closedPort(t, probe.TCP), Kind: probe.KindTCP},
		{ID: "b", Host: "127.0.0.1", Port: closedPort(t, probe.UDP), Kind: probe.KindUDP},
	}
	want := []result{{ID: "a", Code: probe.Error, Reason: "canceled"}, {ID: "b", Code: probe.Error, Reason: "canceled"}}
	if diff := cmp.Diff(want, results(probe.Connect(ctx, targets, probe.ConnectOptions{Settle: -1, MaxAttempts: 1}))); diff != "" {
		t.Errorf("Connect mismatch (-want +got):\n%s", diff)
	}
}

// TestConnectCanceledDuringAttempt cancels the run while attempts wait for
// an answer: they end at once, as Error "canceled", not Timeout.
func TestConnectCanceledDuringAttempt(t *testing.T) {
	port := listen(t, silent)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	targets := []probe.Target{{ID: "h", Host: "127.0.0.1", Port: port, Kind: probe.KindHTTP}}
	start := time.Now()
	got := probe.Connect(ctx, targets, probe.ConnectOptions{AttemptTimeout: 10 * time.Second, Settle: -1, MaxAttempts: 1})
	if diff := cmp.Diff([]result{{ID: "h", Code: probe.Error, Reason: "canceled"}}, results(got)); diff != "" {
		t.Errorf("Connect mismatch (-want +got):\n%s", diff)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Connect took %v after the run was cancelled", d)
	}
}

// TestConnectBoundsWorkers has the server hold every connection for a
// while before closing it, and checks that no more than Workers were open
// at once (but more than one: attempts do run concurrently), and that
// outcomes keep the targets' order.
func TestConnectBoundsWorkers(t *testing.T) {
	var mu sync.Mutex
	open, peak := 0, 0
	port := listen(t, func(c net.Conn) {
		readRequest(c) // so that closing sends a FIN, not a reset
		mu.Lock()
		open++
		peak = max(peak, open)
		mu.Unlock()
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		open-- // before the close that lets the client's worker move on
		mu.Unlock()
		c.Close()
	})
	var targets []probe.Target
	var want []result
	for i := range 9 {
		id := fmt.Sprintf("t%d", i)
		targets = append(targets, probe.Target{ID: id, Host: "127.0.0.1", Port: port, Kind: probe.KindHTTP})
		want = append(want, result{ID: id, Code: probe.PlaintextRejected, Reason: "closed before a reply"})
	}
	got := probe.Connect(context.Background(), targets, probe.ConnectOptions{AttemptTimeout: 10 * time.Second, Workers: 3, Settle: -1, MaxAttempts: 1})
	if diff := cmp.Diff(want, results(got)); diff != "" {
		t.Errorf("Connect mismatch (-want +got):\n%s", diff)
	}
	mu.Lock()
	defer mu.Unlock()
	if peak > 3 || peak < 2 {
		t.Errorf("%d connections were open at once, want 2 or 3 (3 workers)", peak)
	}
}

func TestServeHealth(t *testing.T) {
	_, health := serve(t, probe.PortSpec{Protocol: probe.TCP})
	tests := map[string]int{
		probe.StartedPath: 200,
		probe.ReadyPath:   503,
		"/other":          404,
	}
	for path, want := range tests {
		t.Run(path, func(t *testing.T) {
			resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d%s", health, path))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
			}
		})
	}
}

// TestServeStops checks that Serve returns once its context ends and
// releases its ports.
func TestServeStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan []probe.PortSpec, 1)
	done := make(chan error, 1)
	go func() {
		done <- probe.Serve(ctx, probe.ServeConfig{
			Ports:     []probe.PortSpec{{Protocol: probe.TCP}, {Protocol: probe.UDP}},
			Host:      "127.0.0.1",
			Listening: func(p []probe.PortSpec, _ int32) { listening <- p },
		})
	}()
	bound := <-listening
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return within 10s of its context ending")
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", bound[0].Port))
	if err != nil {
		t.Fatalf("TCP port not released: %v", err)
	}
	ln.Close()
	pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", bound[1].Port))
	if err != nil {
		t.Fatalf("UDP port not released: %v", err)
	}
	pc.Close()
}

func TestServeRejects(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := int32(busy.Addr().(*net.TCPAddr).Port)
	tests := map[string]probe.ServeConfig{
		"no ports":         {},
		"SCTP":             {Ports: []probe.PortSpec{{Port: 80, Protocol: "SCTP"}}},
		"port twice":       {Ports: []probe.PortSpec{{Port: 80, Protocol: probe.TCP}, {Port: 80, Protocol: probe.TCP}}},
		"port too big":     {Ports: []probe.PortSpec{{Port: 65536, Protocol: probe.TCP}}},
		"health is probed": {Ports: []probe.PortSpec{{Port: 9999, Protocol: probe.TCP}}, HealthPort: 9999},
		"port in use":      {Ports: []probe.PortSpec{{Protocol: probe.UDP}, {Port: busyPort, Protocol: probe.TCP}}},
		"health in use":    {Ports: []probe.PortSpec{{Protocol: probe.TCP}}, HealthPort: busyPort},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			cfg.Host = "127.0.0.1"
			cfg.Listening = func([]probe.PortSpec, int32) { t.Error("Serve listened, want an error") }
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := probe.Serve(ctx, cfg); err == nil {
				t.Error("Serve = nil, want an error")
			}
		})
	}
}

// silent reads what the client sends and never answers, until the client
// closes or 10s pass.
func silent(c net.Conn) {
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, err := c.Read(make([]byte, 1024)); err != nil {
			return
		}
	}
}

// readRequest reads an HTTP request's head from c.
func readRequest(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	http.ReadRequest(bufio.NewReader(c))
}

// TestConnectWaitsAndConfirms covers what keeps an enforcer's lag out of
// the verdicts: the settle time before the first attempt, and the
// confirmation of each result by a second attempt that agrees.
func TestConnectWaitsAndConfirms(t *testing.T) {
	t.Run("settle: a listener that appears during the settle time is Connected", func(t *testing.T) {
		addr := freeTCPAddr(t)
		go func() {
			time.Sleep(50 * time.Millisecond) // the server side comes up late, as an enforcer's rules do
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return
			}
			t.Cleanup(func() { ln.Close() })
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		target := probe.Target{ID: "late", Host: "127.0.0.1", Port: portOf(t, addr), Kind: probe.KindTCP}
		got := probe.Connect(context.Background(), []probe.Target{target}, probe.ConnectOptions{AttemptTimeout: time.Second, Settle: 500 * time.Millisecond})
		if got[0].Code != probe.Connected {
			t.Fatalf("outcome %+v, want Connected after the settle time", got[0])
		}
	})
	t.Run("confirm: a result that changes is retried until two attempts agree", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := portOf(t, ln.Addr().String())
		go func() { // accept one connection, then stop listening
			if c, err := ln.Accept(); err == nil {
				c.Close()
			}
			ln.Close()
		}()
		target := probe.Target{ID: "flip", Host: "127.0.0.1", Port: port, Kind: probe.KindTCP}
		got := probe.Connect(context.Background(), []probe.Target{target}, probe.ConnectOptions{AttemptTimeout: time.Second, Settle: -1, MaxAttempts: 4})
		if got[0].Code != probe.Refused {
			t.Fatalf("outcome %+v, want Refused once two attempts agree", got[0])
		}
		ln2, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			if c, err := ln2.Accept(); err == nil {
				c.Close()
			}
			ln2.Close()
		}()
		target.Port = portOf(t, ln2.Addr().String())
		got = probe.Connect(context.Background(), []probe.Target{target}, probe.ConnectOptions{AttemptTimeout: time.Second, Settle: -1, MaxAttempts: 2})
		if got[0].Code != probe.Error || !strings.Contains(got[0].Reason, "unstable") {
			t.Fatalf("outcome %+v, want Error unstable when no two attempts agree", got[0])
		}
	})
}

func freeTCPAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func portOf(t *testing.T, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return int32(n)
}

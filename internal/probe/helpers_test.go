package probe_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/probe"
)

// serve runs a probe server on 127.0.0.1 until the test ends and returns
// the ports as bound and the health port.
func serve(t *testing.T, ports ...probe.PortSpec) ([]probe.PortSpec, int32) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	type boundPorts struct {
		ports  []probe.PortSpec
		health int32
	}
	listening := make(chan boundPorts, 1)
	done := make(chan error, 1)
	go func() {
		done <- probe.Serve(ctx, probe.ServeConfig{
			Ports: ports,
			Host:  "127.0.0.1",
			Listening: func(ports []probe.PortSpec, health int32) {
				listening <- boundPorts{ports, health}
			},
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	select {
	case b := <-listening:
		return b.ports, b.health
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not listen within 10s")
	}
	return nil, 0
}

// closedPort returns a loopback port of the protocol that nothing listens
// on: one the kernel just handed out and that was released again.
func closedPort(t *testing.T, protocol probe.Protocol) int32 {
	t.Helper()
	if protocol == probe.UDP {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return int32(pc.LocalAddr().(*net.UDPAddr).Port)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

// result is an outcome without its elapsed time, for comparisons.
type result struct {
	ID     string
	Code   probe.Code
	Reason string
}

func results(outcomes []probe.Outcome) []result {
	out := make([]result, len(outcomes))
	for i, o := range outcomes {
		out[i] = result{o.ID, o.Code, o.Reason}
	}
	return out
}

// listen starts a TCP server on loopback that hands every connection to
// handle, until the test ends, and returns its port.
func listen(t *testing.T, handle func(net.Conn)) int32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Banner is what the server sends on every TCP connection before closing
// it.
const Banner = "palisade-probe\n"

// Health endpoints served on ServeConfig.HealthPort.
const (
	// StartedPath answers 200 once every probe port listens.
	StartedPath = "/started"
	// ReadyPath answers 503, always.
	ReadyPath = "/ready"
)

// ServeConfig says what a probe server listens on.
type ServeConfig struct {
	// Ports are the probe ports: TCP ports accept and close, UDP ports
	// echo.
	Ports []PortSpec
	// HealthPort serves StartedPath and ReadyPath over HTTP; it must not
	// be one of the TCP probe ports. 0 picks a free port (for tests).
	HealthPort int32
	// Host is the address to listen on; empty means every address, IPv4
	// and IPv6.
	Host string
	// Log receives a line per listener and per unexpected error; nil
	// discards them.
	Log io.Writer
	// Listening, when set, is called once every port listens, with the
	// ports as bound (a 0 port replaced by the one chosen).
	Listening func(ports []PortSpec, healthPort int32)
}

func (c *ServeConfig) validate() error {
	if len(c.Ports) == 0 {
		return errors.New("no ports to serve")
	}
	seen := map[PortSpec]bool{}
	for _, p := range c.Ports {
		if err := checkProtocol(p.Protocol); err != nil {
			return fmt.Errorf("port %s: %w", p, err)
		}
		if p.Port < 0 || p.Port > 65535 {
			return fmt.Errorf("port %s: not from 1 to 65535", p)
		}
		if p.Port != 0 && seen[p] {
			return fmt.Errorf("port %s is given twice", p)
		}
		seen[p] = true
	}
	switch {
	case c.HealthPort < 0 || c.HealthPort > 65535:
		return fmt.Errorf("health port %d: not from 1 to 65535", c.HealthPort)
	case c.HealthPort != 0 && seen[PortSpec{Port: c.HealthPort, Protocol: TCP}]:
		return fmt.Errorf("health port %d is also a TCP probe port", c.HealthPort)
	}
	return nil
}

// Serve runs a probe server until ctx is done, then closes every listener
// and returns nil. It fails at once, listening on nothing, when the
// configuration is invalid or a port cannot be bound.
func Serve(ctx context.Context, cfg ServeConfig) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	s := &server{log: log.New(logw, "", log.LstdFlags)}
	defer s.close()
	bound, err := s.listen(cfg.Host, cfg.Ports)
	if err != nil {
		return err
	}
	health, err := s.listenHealth(cfg.Host, cfg.HealthPort)
	if err != nil {
		return err
	}
	if cfg.Listening != nil {
		cfg.Listening(bound, health)
	}
	<-ctx.Done()
	s.log.Printf("Stopping: %v", context.Cause(ctx))
	return nil
}

// server holds a probe server's listeners and the goroutines serving them.
type server struct {
	log     *log.Logger
	closers []io.Closer
	wg      sync.WaitGroup
}

// close closes every listener and waits for the goroutines to return.
func (s *server) close() {
	for _, c := range s.closers {
		c.Close()
	}
	s.wg.Wait()
}

// listen binds every probe port and starts serving it.
func (s *server) listen(host string, ports []PortSpec) ([]PortSpec, error) {
	bound := make([]PortSpec, 0, len(ports))
	for _, p := range ports {
		addr := net.JoinHostPort(host, strconv.Itoa(int(p.Port)))
		var n int
		switch p.Protocol {
		case TCP:
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return nil, fmt.Errorf("listening on %s: %w", p, err)
			}
			s.closers = append(s.closers, ln)
			n = ln.Addr().(*net.TCPAddr).Port
			s.wg.Go(func() { s.accept(ln) })
		case UDP:
			pc, err := net.ListenPacket("udp", addr)
			if err != nil {
				return nil, fmt.Errorf("listening on %s: %w", p, err)
			}
			s.closers = append(s.closers, pc)
			n = pc.LocalAddr().(*net.UDPAddr).Port
			s.wg.Go(func() { s.echo(pc) })
		}
		p.Port = int32(n)
		s.log.Printf("Listening on %s", p)
		bound = append(bound, p)
	}
	return bound, nil
}

// listenHealth starts the health endpoints, after the probe ports.
func (s *server) listenHealth(host string, port int32) (int32, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(int(port))))
	if err != nil {
		return 0, fmt.Errorf("listening on health port %d: %w", port, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+StartedPath, func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "every probe port listens\n")
	})
	mux.HandleFunc("GET "+ReadyPath, func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "never ready: probe servers take no Service traffic", http.StatusServiceUnavailable)
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: s.log}
	s.closers = append(s.closers, hs)
	s.wg.Go(func() { hs.Serve(ln) })
	n := int32(ln.Addr().(*net.TCPAddr).Port)
	s.log.Printf("Health endpoints %s and %s on %d/TCP", StartedPath, ReadyPath, n)
	return n, nil
}

// accept sends the banner on every connection and closes it, until the
// listener is closed.
func (s *server) accept(ln net.Listener) {
	var backoff retryDelay
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			s.log.Printf("Accepting on %s: %v", ln.Addr(), err)
			backoff.wait()
			continue
		}
		backoff.reset()
		c.SetWriteDeadline(time.Now().Add(time.Second))
		io.WriteString(c, Banner)
		c.Close()
	}
}

// echo answers every datagram with itself, until the socket is closed.
func (s *server) echo(pc net.PacketConn) {
	var backoff retryDelay
	buf := make([]byte, 64<<10)
	for {
		n, from, err := pc.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			s.log.Printf("Reading on %s: %v", pc.LocalAddr(), err)
			backoff.wait()
			continue
		}
		backoff.reset()
		if _, err := pc.WriteTo(buf[:n], from); err != nil {
			s.log.Printf("Echoing to %s: %v", from, err)
		}
	}
}

// retryDelay spaces retries after errors such as running out of file
// descriptors: 5ms, doubling up to a second.
type retryDelay time.Duration

func (d *retryDelay) wait() {
	*d = retryDelay(min(max(2*time.Duration(*d), 5*time.Millisecond), time.Second))
	time.Sleep(time.Duration(*d))
}

func (d *retryDelay) reset() { *d = 0 }

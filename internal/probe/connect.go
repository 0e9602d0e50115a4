package probe

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Defaults of ConnectOptions.
const (
	DefaultAttemptTimeout = 3 * time.Second
	DefaultWorkers        = 16
	// DefaultSettle is how long a client waits before its first attempt.
	// NetworkPolicy enforcers program a new pod's rules asynchronously,
	// after it has its IP and is running: in the first second of its life
	// a pod's egress may not be filtered yet, and its address may be
	// missing from its peers' allow lists (seen with kube-router), so an
	// immediate attempt observes the enforcer's lag, not the policies.
	DefaultSettle = 3 * time.Second
	// DefaultMaxAttempts bounds the attempts per target: a target is tried
	// until two attempts in a row agree.
	DefaultMaxAttempts = 4
	// retryGap separates the attempts at one target.
	retryGap = 500 * time.Millisecond
)

// ConnectOptions tune Connect.
type ConnectOptions struct {
	// AttemptTimeout bounds one attempt; 0 or less means
	// DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// Workers is how many attempts run at once; 0 or less means
	// DefaultWorkers.
	Workers int
	// Settle is waited before the first attempt (see DefaultSettle);
	// negative means none, 0 means DefaultSettle.
	Settle time.Duration
	// MaxAttempts bounds the attempts per target, which is tried until two
	// attempts in a row give the same code; 0 or less means
	// DefaultMaxAttempts, 1 means a single attempt.
	MaxAttempts int
}

func (o ConnectOptions) withDefaults() ConnectOptions {
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = DefaultAttemptTimeout
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Settle == 0 {
		o.Settle = DefaultSettle
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	return o
}

// Connect tries every target and returns one outcome per target, in the
// targets' order. Attempts run concurrently, at most opts.Workers at once,
// each bounded by opts.AttemptTimeout. When ctx ends first, the attempts
// not finished get Error with the reason "canceled" (not Timeout: they
// were cut short). Targets are not validated: see [ValidateTargets].
func Connect(ctx context.Context, targets []Target, opts ConnectOptions) []Outcome {
	opts = opts.withDefaults()
	workers := min(opts.Workers, max(len(targets), 1))
	out := make([]Outcome, len(targets))
	if opts.Settle > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(opts.Settle):
		}
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				out[i] = stableAttempt(ctx, targets[i], opts)
			}
		})
	}
	for i := range targets {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// attempt tries one target.
func attempt(ctx context.Context, t Target, timeout time.Duration) Outcome {
	start := time.Now()
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var code Code
	var reason string
	switch {
	case ctx.Err() != nil:
		code, reason = Error, "canceled"
	case t.Kind == KindUDP:
		code, reason = probeUDP(actx, t, timeout)
	case t.Kind == KindHTTP:
		code, reason = probeHTTP(actx, t)
	default:
		code, reason = probeTCP(actx, t)
	}
	if code == Timeout && runEnded(ctx) {
		code, reason = Error, "canceled"
	}
	return Outcome{ID: t.ID, Code: code, Elapsed: time.Since(start), Reason: reason}
}

// runEnded reports whether ctx is done or its deadline has passed: a
// connection's deadline, set to ctx's, may fire before ctx records it.
func runEnded(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ctx.Err() != nil || ok && !time.Now().Before(d)
}

func probeTCP(ctx context.Context, t Target) (Code, string) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", t.Address())
	if err != nil {
		return classify(err)
	}
	c.Close()
	return Connected, ""
}

// dial opens a connection whose deadline is ctx's, and whose blocked reads
// and writes end when ctx is cancelled; stop releases the watch.
func dial(ctx context.Context, network, addr string) (c net.Conn, stop func() bool, err error) {
	var d net.Dialer
	if c, err = d.DialContext(ctx, network, addr); err != nil {
		return nil, nil, err
	}
	if deadline, ok := ctx.Deadline(); ok {
		c.SetDeadline(deadline)
	}
	stop = context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	return c, stop, nil
}

// udpPayload is the datagram a UDP probe sends.
const udpPayload = "palisade-probe\n"

// probeUDP sends a datagram on a connected socket and waits for any
// answer, sending again every third of the timeout in case one is lost.
func probeUDP(ctx context.Context, t Target, timeout time.Duration) (Code, string) {
	c, stop, err := dial(ctx, "udp", t.Address())
	if err != nil {
		return classify(err)
	}
	defer c.Close()
	defer stop()
	buf := make([]byte, 512)
	for {
		if _, err := c.Write([]byte(udpPayload)); err != nil {
			return classify(err)
		}
		if ctx.Err() == nil {
			c.SetReadDeadline(earliest(ctx, time.Now().Add(timeout/3)))
		}
		_, err := c.Read(buf)
		switch {
		case err == nil:
			return Connected, ""
		case isTimeout(err) && ctx.Err() == nil:
			continue // resend
		default:
			return classify(err)
		}
	}
}

// earliest returns t, or ctx's deadline when that comes first.
func earliest(ctx context.Context, t time.Time) time.Time {
	if d, ok := ctx.Deadline(); ok && d.Before(t) {
		return d
	}
	return t
}

// classify turns a dial, read or write error into a code and a reason.
func classify(err error) (Code, string) {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused, ""
	case errors.Is(err, context.Canceled):
		return Error, "canceled"
	case isTimeout(err):
		return Timeout, ""
	case errors.Is(err, syscall.EHOSTUNREACH):
		return Error, "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return Error, "network unreachable"
	case errors.As(err, &dnsErr):
		return Error, "dns: " + dnsErr.Err
	default:
		return Error, reasonOf(err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &ne) && ne.Timeout()
}

// reasonOf is the innermost part of an error's message: the system call's
// error rather than the addresses around it.
func reasonOf(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return opErr.Err.Error()
	}
	return err.Error()
}

// stableAttempt tries t until two attempts in a row agree, at most
// opts.MaxAttempts times, and returns the last attempt. Refused and Timeout
// agree with each other: both say the connection did not get through (an
// enforcer may reject some packets and drop others). When no two agreed,
// the outcome is Error "unstable", naming the codes seen: the network
// changed while it was probed, and no verdict may be drawn.
func stableAttempt(ctx context.Context, t Target, opts ConnectOptions) Outcome {
	o := attempt(ctx, t, opts.AttemptTimeout)
	seen := []string{o.Code.String()}
	for n := 1; n < opts.MaxAttempts; n++ {
		select {
		case <-ctx.Done():
			return o
		case <-time.After(retryGap):
		}
		next := attempt(ctx, t, opts.AttemptTimeout)
		seen = append(seen, next.Code.String())
		if agree(next.Code, o.Code) {
			return next
		}
		o = next
	}
	if opts.MaxAttempts == 1 {
		return o
	}
	return Outcome{ID: t.ID, Code: Error, Elapsed: o.Elapsed, Reason: CleanReason("unstable: " + strings.Join(seen, ","))}
}

// agree tells whether two attempts' codes say the same about the network.
func agree(a, b Code) bool {
	notThrough := func(c Code) bool { return c == Refused || c == Timeout }
	return a == b || (notThrough(a) && notThrough(b))
}

// Package servecmd is `palisade serve`: `palisade scan` over HTTP, in the
// manner of kubesec's HTTP mode (`kubesec http`).
//
//	POST /scan, POST /      YAML or JSON documents (multi-document, kind: List)
//	                        → kubesec's JSON array, as `palisade scan -o kubesec`
//	POST /scan?output=json  → Palisade's JSON report, as `palisade scan -o json`,
//	                        with every analyzer that applies to the objects posted
//	GET /healthz            → 200 "ok"
//	GET /metrics            → Prometheus metrics
//
// Both outputs come from scancmd.Scan, the code of `palisade scan`, with
// its default options; kubesec's entries name the file "API", as kubesec's
// server does. A body that holds no object (empty, or no document decodes)
// is a 400, as kubesec answers a body that is not YAML; a body where some
// documents decode is scanned, the others listed as invalid. Bodies over
// --max-body-bytes are a 413, other methods a 405.
//
// The server has read, write and idle timeouts, bounds each scan's time,
// recovers from a panic in a handler with a 500, and shuts down gracefully
// (in-flight requests finish) when its context ends.
package servecmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/spf13/pflag"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 2
)

const usage = `Usage: palisade serve [flags]

Serves "palisade scan" over HTTP, like kubesec's HTTP mode:

  curl --data-binary @deploy.yaml http://localhost:8080/scan               # kubesec's JSON
  curl --data-binary @dump.yaml 'http://localhost:8080/scan?output=json'  # Palisade's report

GET /healthz answers "ok", GET /metrics serves Prometheus metrics. The
server stops gracefully on SIGINT or SIGTERM.

Flags:
`

// config is the parsed command line.
type config struct {
	addr            string
	maxBodyBytes    int64
	shutdownTimeout time.Duration
	// connState, for tests, observes the connections' states.
	connState func(net.Conn, http.ConnState)
}

// Server timeouts. A scan gets scanTimeout, less than writeTimeout so that
// its answer can still be written.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	scanTimeout       = 50 * time.Second
)

// Run runs `palisade serve` with args (which exclude the word "serve")
// until ctx ends, and returns the process's exit code: 0 after a graceful
// shutdown, 2 for bad flags or a server error.
func Run(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stdout)
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "palisade serve: %v\nRun 'palisade serve --help' for usage.\n", err)
		return exitError
	}
	logger := log.New(stderr, "palisade serve: ", log.LstdFlags)
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		logger.Print(err)
		return exitError
	}
	logger.Printf("listening on %s", ln.Addr())
	if err := serve(ctx, ln, cfg, logger); err != nil {
		logger.Print(err)
		return exitError
	}
	logger.Print("stopped")
	return exitOK
}

func parseFlags(args []string, stdout io.Writer) (config, error) {
	var cfg config
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.addr, "addr", ":8080", "address to listen on, host:port")
	fs.Int64Var(&cfg.maxBodyBytes, "max-body-bytes", 2<<20, "largest request body accepted, in bytes (413 above)")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long in-flight requests may take to finish on shutdown")
	fs.Usage = func() { fmt.Fprint(stdout, usage+fs.FlagUsages()) }
	if err := fs.Parse(args); err != nil {
		return cfg, err // for -h and --help, Parse has printed the usage
	}
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case cfg.maxBodyBytes <= 0:
		return cfg, fmt.Errorf("--max-body-bytes %d is not positive", cfg.maxBodyBytes)
	case cfg.shutdownTimeout <= 0:
		return cfg, fmt.Errorf("--shutdown-timeout %s is not positive", cfg.shutdownTimeout)
	}
	return cfg, nil
}

// serve answers on ln until ctx ends, then shuts down: it stops accepting,
// lets in-flight requests finish for up to cfg.shutdownTimeout, and
// returns. ln is closed on return.
func serve(ctx context.Context, ln net.Listener, cfg config, logger *log.Logger) error {
	srv := &http.Server{
		Handler:           newHandler(cfg.maxBodyBytes, logger),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          logger,
		ConnState:         cfg.connState,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

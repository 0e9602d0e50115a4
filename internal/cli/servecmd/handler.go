package servecmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/palisade-sec/palisade/internal/cli/scancmd"
	"github.com/palisade-sec/palisade/internal/manifest"
)

// sourceName names the request body in the report; kubesec's entries get
// it as their fileName, as from kubesec's server.
const sourceName = "API"

// newHandler routes the server's requests; see the package documentation.
func newHandler(maxBodyBytes int64, logger *log.Logger) http.Handler {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	scan := m.instrument(recoverer(&scanHandler{maxBodyBytes: maxBodyBytes}, logger))
	mux := http.NewServeMux()
	mux.Handle("/scan", scan)
	mux.Handle("/{$}", scan)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, ErrorLog: logger}))
	return recoverer(mux, logger)
}

// recoverer answers 500 when next panics, rather than let the server drop
// the connection, and logs the panic with its stack.
func recoverer(next http.Handler, logger *log.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			logger.Printf("panic serving %s %s: %v\n%s", r.Method, r.URL.Path, v, debug.Stack())
			http.Error(w, "internal error", http.StatusInternalServerError)
		}()
		next.ServeHTTP(w, r)
	})
}

// scanHandler answers POST /scan: see the package documentation.
type scanHandler struct {
	maxBodyBytes int64
}

// httpError is an answer other than 200.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func (h *scanHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := h.answer(w, r)
	var he *httpError
	if errors.As(err, &he) {
		if he.code == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		http.Error(w, he.msg, he.code)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// answer scans the request's body and returns the response body, or an
// *httpError.
func (h *scanHandler) answer(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Method != http.MethodPost {
		return nil, &httpError{http.StatusMethodNotAllowed, fmt.Sprintf("%s not allowed: POST YAML or JSON manifests", r.Method)}
	}
	write, err := writer(r.URL.Query().Get("output"))
	if err != nil {
		return nil, err
	}
	objs, bad, err := h.read(w, r)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), scanTimeout)
	defer cancel()
	rep, err := scancmd.Scan(ctx, objs, bad, scancmd.DefaultOptions())
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, &httpError{http.StatusServiceUnavailable, "the scan took too long: post fewer objects"}
	}
	if err != nil {
		return nil, &httpError{http.StatusInternalServerError, err.Error()}
	}
	var buf bytes.Buffer
	if err := write(rep, &buf); err != nil {
		return nil, &httpError{http.StatusInternalServerError, err.Error()}
	}
	return buf.Bytes(), nil
}

// writer returns the report writer for the output query parameter.
func writer(output string) (func(*scancmd.Report, io.Writer) error, error) {
	switch output {
	case "", "kubesec":
		return (*scancmd.Report).WriteKubesec, nil
	case "json":
		return (*scancmd.Report).WriteJSON, nil
	}
	return nil, &httpError{http.StatusBadRequest, fmt.Sprintf("unknown output %q: use kubesec (the default) or json", output)}
}

// read decodes the request's body, which must hold at least one object.
func (h *scanHandler) read(w http.ResponseWriter, r *http.Request) ([]manifest.Object, []*manifest.DocumentError, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, nil, &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", tooLarge.Limit)}
	}
	if err != nil {
		return nil, nil, &httpError{http.StatusBadRequest, "reading the request body: " + err.Error()}
	}
	objs, bad, err := manifest.Read(bytes.NewReader(data), sourceName)
	if err != nil {
		return nil, nil, &httpError{http.StatusBadRequest, err.Error()}
	}
	if len(objs) == 0 {
		return nil, nil, &httpError{http.StatusBadRequest, noObjects(bad)}
	}
	return objs, bad, nil
}

// noObjects says why a body holds no object.
func noObjects(bad []*manifest.DocumentError) string {
	if len(bad) == 0 {
		return "no Kubernetes object in the request body: POST YAML or JSON manifests"
	}
	msgs := make([]string, len(bad))
	for i, d := range bad {
		msgs[i] = d.Error()
	}
	return "no Kubernetes object in the request body: " + strings.Join(msgs, "; ")
}

package servecmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-sec/palisade/internal/cli/clitest"
	"github.com/palisade-sec/palisade/internal/cli/scancmd"
)

func testConfig() config {
	return config{maxBodyBytes: 2 << 20, shutdownTimeout: 5 * time.Second}
}

// start serves cfg on a loopback port until the test ends, and returns the
// server's URL and a function that stops it and returns serve's error.
func start(t *testing.T, cfg config) (url string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &clitest.SyncBuffer{}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, cfg, log.New(logs, "", 0)) }()
	var once sync.Once
	var serveErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			serveErr = <-done
		})
		return serveErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
		if strings.Contains(logs.String(), "panic") {
			t.Errorf("server log:\n%s", logs)
		}
	})
	return "http://" + ln.Addr().String(), stop
}

// response is what the tests look at in an answer.
type response struct {
	code        int
	contentType string
	body        string
}

func do(t *testing.T, method, url, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// cliKubesec is `palisade scan -f - -o kubesec` of input, with the file
// named as the server names it.
func cliKubesec(t *testing.T, input string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := scancmd.Run(context.Background(), []string{"-f", "-", "-o", "kubesec"}, strings.NewReader(input), &stdout, &stderr); code != 0 {
		t.Fatalf("palisade scan: exit code %d, stderr %q", code, stderr.String())
	}
	return strings.ReplaceAll(stdout.String(), `"fileName": "STDIN"`, `"fileName": "API"`)
}

const scanTestdata = "../scancmd/testdata/"

// TestKubesec: POST /scan and POST / answer as `palisade scan -o kubesec`.
func TestKubesec(t *testing.T) {
	url, _ := start(t, testConfig())
	inputs := []string{
		"kubesec/pod.json",
		"kubesec/other.yaml",
		"manifests/insecure.yaml",
		"manifests/list.yaml",
		"manifests/multi-doc.yaml",
		"broken.yaml",
		"cluster/dump.yaml",
	}
	for _, name := range inputs {
		input := readFile(t, scanTestdata+name)
		want := cliKubesec(t, input)
		for _, path := range []string{"/scan", "/", "/scan?output=kubesec"} {
			t.Run(name+" "+path, func(t *testing.T) {
				got := do(t, http.MethodPost, url+path, input)
				if got.code != http.StatusOK || got.contentType != "application/json" {
					t.Fatalf("status %d, content type %q: %s", got.code, got.contentType, got.body)
				}
				if diff := cmp.Diff(want, got.body); diff != "" {
					t.Errorf("answer (-palisade scan +palisade serve):\n%s", diff)
				}
			})
		}
	}
}

// TestJSON: ?output=json runs every analyzer that applies to the objects
// posted.
func TestJSON(t *testing.T) {
	url, _ := start(t, testConfig())
	body := `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-debugger, namespace: shop}
rules:
- {apiGroups: [""], resources: [pods], verbs: [get, list]}
- {apiGroups: [""], resources: [pods/exec], verbs: [create]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ci-debug, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-debugger}
subjects: [{kind: ServiceAccount, name: ci, namespace: shop}]
---
apiVersion: v1
kind: Pod
metadata: {name: ci-runner, namespace: shop}
spec:
  serviceAccountName: ci
  containers: [{name: runner, image: "runner:1"}]
`
	got := do(t, http.MethodPost, url+"/scan?output=json", body)
	if got.code != http.StatusOK || got.contentType != "application/json" {
		t.Fatalf("status %d, content type %q: %s", got.code, got.contentType, got.body)
	}
	var rep scancmd.Report
	if err := json.Unmarshal([]byte(got.body), &rep); err != nil {
		t.Fatalf("not a report: %v\n%s", err, got.body)
	}
	var analyzers []string
	for _, a := range rep.Analyzers {
		analyzers = append(analyzers, fmt.Sprintf("%s %s", a.Name, a.Phase))
	}
	if diff := cmp.Diff([]string{"workloads Succeeded", "rbac Succeeded"}, analyzers); diff != "" {
		t.Errorf("analyzers (-want +got):\n%s", diff)
	}
	var rbac []string
	for _, f := range rep.Findings {
		if f.Category == "RBAC" {
			rbac = append(rbac, fmt.Sprintf("%s %s/%s", f.ID, f.Resource.Kind, f.Resource.Name))
		}
	}
	want := []string{"rbac.risky-pod Pod/ci-runner", "rbac.exec-pods Role/pod-debugger", "rbac.exec-pods RoleBinding/ci-debug"}
	if diff := cmp.Diff(want, rbac); diff != "" {
		t.Errorf("RBAC findings (-want +got):\n%s", diff)
	}
	if len(rep.Objects) != 3 || rep.Objects[2].Source != "API#3" {
		t.Errorf("objects %+v", rep.Objects)
	}
}

func TestBadRequests(t *testing.T) {
	cfg := testConfig()
	cfg.maxBodyBytes = 1024
	url, _ := start(t, cfg)
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: ok, namespace: shop}\nspec: {containers: [{name: app, image: nginx}]}\n"
	tests := map[string]struct {
		method, path, body string
		wantCode           int
		wantBody           string // a substring
	}{
		"GET /scan":             {http.MethodGet, "/scan", "", http.StatusMethodNotAllowed, "GET not allowed"},
		"PUT /":                 {http.MethodPut, "/", pod, http.StatusMethodNotAllowed, "PUT not allowed"},
		"POST /healthz":         {http.MethodPost, "/healthz", "", http.StatusMethodNotAllowed, "Method Not Allowed"},
		"unknown path":          {http.MethodPost, "/v1/scan", pod, http.StatusNotFound, "not found"},
		"empty body":            {http.MethodPost, "/scan", "", http.StatusBadRequest, "no Kubernetes object"},
		"comments only":         {http.MethodPost, "/scan", "# nothing\n---\n", http.StatusBadRequest, "no Kubernetes object"},
		"malformed YAML":        {http.MethodPost, "/scan", ": this : is : not : yaml\n", http.StatusBadRequest, "API#1: not valid YAML or JSON"},
		"not an object":         {http.MethodPost, "/scan", "[1, 2]", http.StatusBadRequest, "API#1: not a Kubernetes object"},
		"no kind":               {http.MethodPost, "/scan", "metadata: {name: x}\n", http.StatusBadRequest, "API#1: not a Kubernetes object: Object 'Kind' is missing"},
		"unknown output":        {http.MethodPost, "/scan?output=yaml", pod, http.StatusBadRequest, `unknown output "yaml"`},
		"body over the limit":   {http.MethodPost, "/scan", strings.Repeat("# padding\n", 103) + pod, http.StatusRequestEntityTooLarge, "over 1024 bytes"},
		"body at the limit":     {http.MethodPost, "/scan", strings.Repeat("#", 1024-len(pod)-1) + "\n" + pod, http.StatusOK, `"Pod/ok.shop"`},
		"some documents decode": {http.MethodPost, "/scan", pod + "\n---\n: bad\n", http.StatusOK, `"Unknown"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := do(t, tc.method, url+tc.path, tc.body)
			if got.code != tc.wantCode || !strings.Contains(got.body, tc.wantBody) {
				t.Errorf("status %d, body %q; want %d and %q", got.code, got.body, tc.wantCode, tc.wantBody)
			}
		})
	}
}

func TestHealthzAndMetrics(t *testing.T) {
	url, _ := start(t, testConfig())
	if got := do(t, http.MethodGet, url+"/healthz", ""); got.code != http.StatusOK || got.body != "ok" {
		t.Errorf("healthz: %d %q", got.code, got.body)
	}
	pod := readFile(t, scanTestdata+"kubesec/pod.json")
	for range 2 {
		do(t, http.MethodPost, url+"/scan", pod)
	}
	do(t, http.MethodGet, url+"/scan", "")
	do(t, http.MethodPost, url+"/scan", "")
	got := do(t, http.MethodGet, url+"/metrics", "")
	if got.code != http.StatusOK {
		t.Fatalf("metrics: %d %q", got.code, got.body)
	}
	for _, want := range []string{
		`palisade_serve_requests_total{code="200"} 2`,
		`palisade_serve_requests_total{code="400"} 1`,
		`palisade_serve_requests_total{code="405"} 1`,
		`palisade_serve_request_duration_seconds_count 4`,
		"go_goroutines ",
	} {
		if !strings.Contains(got.body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestConcurrent sends requests from several goroutines; run with -race.
func TestConcurrent(t *testing.T) {
	url, _ := start(t, testConfig())
	// Concurrent requests make the client dial connections it may then not
	// use; the server sees them as new, and Shutdown waits up to 5 s for a
	// new connection to send a request. Closing them first (cleanups run
	// last in, first out) keeps the shutdown prompt.
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	input := readFile(t, scanTestdata+"cluster/dump.yaml")
	want := map[string]string{
		"/scan":             cliKubesec(t, input),
		"/scan?output=json": do(t, http.MethodPost, url+"/scan?output=json", input).body,
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range cap(errs) {
		path := "/scan"
		if i%2 == 1 {
			path = "/scan?output=json"
		}
		wg.Go(func() {
			resp, err := client.Post(url+path, "application/yaml", strings.NewReader(input))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err == nil && (resp.StatusCode != http.StatusOK || string(b) != want[path]) {
				err = fmt.Errorf("%s: status %d, answer differs from the first one", path, resp.StatusCode)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// TestShutdown: a request in flight when the context ends is answered,
// then serve returns and the port is closed.
func TestShutdown(t *testing.T) {
	active := make(chan struct{})
	var once sync.Once
	cfg := testConfig()
	cfg.connState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateActive {
			once.Do(func() { close(active) })
		}
	}
	url, stop := start(t, cfg)

	body, w := io.Pipe()
	answered := make(chan response, 1)
	go func() {
		resp, err := http.Post(url+"/scan", "application/yaml", body)
		if err != nil {
			answered <- response{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answered <- response{code: resp.StatusCode, body: string(b)}
	}()
	pod := readFile(t, scanTestdata+"kubesec/pod.json")
	io.WriteString(w, pod[:10])
	<-active // the server is reading the request

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case err := <-stopped:
		t.Fatalf("serve returned with a request in flight: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	io.WriteString(w, pod[10:])
	w.Close()
	if got := <-answered; got.code != http.StatusOK || !strings.Contains(got.body, `"score"`) {
		t.Errorf("request in flight: status %d, %q", got.code, got.body)
	}
	if err := <-stopped; err != nil {
		t.Errorf("serve: %v", err)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("the server still answers after shutdown")
	}
}

func TestRecoverer(t *testing.T) {
	logs := &clitest.SyncBuffer{}
	h := recoverer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }), log.New(logs, "", 0))
	srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	got := do(t, http.MethodPost, "http://"+ln.Addr().String()+"/scan", "x")
	if got.code != http.StatusInternalServerError || !strings.Contains(got.body, "internal error") {
		t.Errorf("status %d, body %q", got.code, got.body)
	}
	if !strings.Contains(logs.String(), "panic serving POST /scan: boom") {
		t.Errorf("log %q", logs)
	}
}

func TestRun(t *testing.T) {
	tests := map[string]struct {
		args       []string
		want       int
		wantStdout string
		wantStderr string
	}{
		"help":                 {args: []string{"--help"}, want: 0, wantStdout: "Usage: palisade serve"},
		"positional argument":  {args: []string{"8080"}, want: 2, wantStderr: `unexpected argument "8080"`},
		"unknown flag":         {args: []string{"--port", "8080"}, want: 2, wantStderr: "unknown flag: --port"},
		"no body size":         {args: []string{"--max-body-bytes", "0"}, want: 2, wantStderr: "--max-body-bytes 0 is not positive"},
		"bad address":          {args: []string{"--addr", "127.0.0.1:99999"}, want: 2, wantStderr: "invalid port"},
		"starts and stops":     {args: []string{"--addr", "127.0.0.1:0"}, want: 0, wantStderr: "listening on 127.0.0.1:"},
		"bad shutdown timeout": {args: []string{"--shutdown-timeout", "-1s"}, want: 2, wantStderr: "--shutdown-timeout -1s is not positive"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // a server that starts stops at once
			var stdout, stderr bytes.Buffer
			if got := Run(ctx, tc.args, nil, &stdout, &stderr); got != tc.want {
				t.Errorf("exit code %d, want %d (stderr %q)", got, tc.want, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.wantStdout) || !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
			}
		})
	}
}

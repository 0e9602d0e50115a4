package probecmd_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-sec/palisade/internal/cli/clitest"
	"github.com/palisade-sec/palisade/internal/cli/probecmd"
	"github.com/palisade-sec/palisade/internal/probe"
)

// freePort returns a loopback TCP port nothing listens on (and, very
// likely, a UDP one).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestServeThenConnect runs `probe serve`, waits for /started, then runs
// `probe connect` against it and a closed port, and reads the termination
// log back.
func TestServeThenConnect(t *testing.T) {
	port, health, closed := freePort(t), freePort(t), freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	var serveErr clitest.SyncBuffer
	served := make(chan int, 1)
	go func() {
		served <- probecmd.Run(ctx, []string{"serve", "--host", "127.0.0.1",
			"--ports", fmt.Sprintf("%d/TCP,%d/UDP", port, port), "--health-port", fmt.Sprint(health)}, nil, new(bytes.Buffer), &serveErr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-served; code != 0 {
			t.Errorf("probe serve exited %d:\n%s", code, serveErr.String())
		}
	})
	waitStarted(t, fmt.Sprintf("http://127.0.0.1:%d/started", health))

	termLog := filepath.Join(t.TempDir(), "termination-log")
	targets := fmt.Sprintf("t=tcp://127.0.0.1:%d,u=udp://127.0.0.1:%d,c=tcp://127.0.0.1:%d", port, port, closed)
	var stdout, stderr bytes.Buffer
	code := probecmd.Run(context.Background(), []string{"connect", "--targets", targets, "--timeout", "5s", "--termination-log", termLog}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("probe connect exited %d: %s", code, stderr.String())
	}
	logged, err := os.ReadFile(termLog)
	if err != nil {
		t.Fatal(err)
	}
	if stdout.String() != string(logged) {
		t.Errorf("stdout %q differs from the termination log %q", stdout.String(), logged)
	}
	outcomes, err := probe.Decode(logged)
	if err != nil {
		t.Fatalf("Decode(%q): %v", logged, err)
	}
	got := map[string]probe.Code{}
	for _, o := range outcomes {
		got[o.ID] = o.Code
	}
	want := map[string]probe.Code{"t": probe.Connected, "u": probe.Connected, "c": probe.Refused}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes mismatch (-want +got):\n%s", diff)
	}
}

func waitStarted(t *testing.T, url string) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatalf("%s did not answer 200 within 10s", url)
}

func TestConnectTargetsFile(t *testing.T) {
	closed := freePort(t)
	file := filepath.Join(t.TempDir(), "targets")
	if err := os.WriteFile(file, []byte(fmt.Sprintf("a=tcp://127.0.0.1:%d\n", closed)), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := probecmd.Run(context.Background(), []string{"connect", "--targets", "@" + file, "--termination-log", ""}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("probe connect exited %d: %s", code, stderr.String())
	}
	outcomes, err := probe.Decode(stdout.Bytes())
	if err != nil {
		t.Fatalf("Decode(%q): %v", stdout.String(), err)
	}
	if len(outcomes) != 1 || outcomes[0].ID != "a" || outcomes[0].Code != probe.Refused {
		t.Errorf("outcomes = %+v, want a Refused", outcomes)
	}
}

func TestRunErrors(t *testing.T) {
	var many []string
	for i := range 100 {
		many = append(many, fmt.Sprintf("target-%03d=tcp://127.0.0.1:1", i))
	}
	tests := map[string]struct {
		args     []string
		wantCode int
		wantErr  string // in stderr
		wantOut  string // in stdout
	}{
		"no command":      {args: nil, wantCode: 1, wantErr: "Usage: palisade probe"},
		"help":            {args: []string{"help"}, wantCode: 0, wantOut: "Usage: palisade probe"},
		"unknown command": {args: []string{"scan"}, wantCode: 1, wantErr: `unknown command "scan"`},
		"serve -h":        {args: []string{"serve", "-h"}, wantCode: 0, wantOut: "--health-port"},
		"serve no ports":  {args: []string{"serve"}, wantCode: 1, wantErr: "--ports: no ports given"},
		"serve SCTP":      {args: []string{"serve", "--ports", "80/SCTP"}, wantCode: 1, wantErr: "SCTP is not supported"},
		"serve bad health": {
			args: []string{"serve", "--ports", "80", "--health-port", "0"}, wantCode: 1, wantErr: "--health-port 0",
		},
		"serve extra argument": {args: []string{"serve", "--ports", "80", "x"}, wantCode: 1, wantErr: `unexpected argument "x"`},
		"connect -h":           {args: []string{"connect", "-h"}, wantCode: 0, wantOut: "--termination-log"},
		"connect no targets":   {args: []string{"connect"}, wantCode: 1, wantErr: "--targets: no targets given"},
		"connect bad target":   {args: []string{"connect", "--targets", "a=icmp://h:1"}, wantCode: 1, wantErr: `kind "icmp"`},
		"connect missing file": {args: []string{"connect", "--targets", "@/nonexistent/targets"}, wantCode: 1, wantErr: "no such file"},
		"connect too many targets": {
			args: []string{"connect", "--targets", strings.Join(many, ","), "--termination-log", ""}, wantCode: 1, wantErr: "split them over more pods",
		},
		"connect bad timeout": {args: []string{"connect", "--targets", "a=tcp://h:1", "--timeout", "0s"}, wantCode: 1, wantErr: "must be positive"},
		"connect unwritable log": {
			args: []string{"connect", "--targets", fmt.Sprintf("a=tcp://127.0.0.1:%d", freePort(t)), "--termination-log", "/nonexistent/log"}, wantCode: 1, wantErr: "writing the termination log",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := probecmd.Run(context.Background(), tc.args, nil, &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.wantErr)
			}
			if !strings.Contains(stdout.String(), tc.wantOut) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tc.wantOut)
			}
			if n := strings.Count(stdout.String(), "Usage:"); n > 1 {
				t.Errorf("stdout has the usage %d times:\n%s", n, stdout.String())
			}
		})
	}
}

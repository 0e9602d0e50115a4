package probe_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-sec/palisade/internal/probe"
)

// The test network: a veth pair between this namespace (hostAddr) and one
// the test creates (nsAddr). No traffic leaves it.
const (
	hostAddr   = "10.123.45.1"
	nsAddr     = "10.123.45.2"
	prefixLen  = "/30"
	healthPort = 9999
)

// TestConnectNetns probes a probe server in a network namespace whose
// firewall drops port 81: Timeout there, Connected on the served port 80
// and Refused on the closed port 82, over TCP and UDP.
func TestConnectNetns(t *testing.T) {
	ns := newNetns(t)
	for _, proto := range []string{"tcp", "udp"} {
		ns.run(t, "iptables", "-w", "-A", "INPUT", "-p", proto, "--dport", "81", "-j", "DROP")
	}
	ns.serve(t, "80/TCP,80/UDP,81/TCP,81/UDP")

	targets := []probe.Target{
		{ID: "tcp-80", Host: nsAddr, Port: 80, Kind: probe.KindTCP},
		{ID: "tcp-81", Host: nsAddr, Port: 81, Kind: probe.KindTCP},
		{ID: "tcp-82", Host: nsAddr, Port: 82, Kind: probe.KindTCP},
		{ID: "udp-80", Host: nsAddr, Port: 80, Kind: probe.KindUDP},
		{ID: "udp-81", Host: nsAddr, Port: 81, Kind: probe.KindUDP},
		{ID: "udp-82", Host: nsAddr, Port: 82, Kind: probe.KindUDP},
		{ID: "http-81", Host: nsAddr, Port: 81, Kind: probe.KindHTTP},
	}
	const timeout = time.Second
	got := probe.Connect(context.Background(), targets, probe.ConnectOptions{AttemptTimeout: timeout, Settle: -1, MaxAttempts: 1})
	want := []result{
		{ID: "tcp-80", Code: probe.Connected},
		{ID: "tcp-81", Code: probe.Timeout},
		{ID: "tcp-82", Code: probe.Refused},
		{ID: "udp-80", Code: probe.Connected},
		{ID: "udp-81", Code: probe.Timeout},
		{ID: "udp-82", Code: probe.Refused},
		{ID: "http-81", Code: probe.Timeout},
	}
	if diff := cmp.Diff(want, results(got)); diff != "" {
		t.Errorf("Connect mismatch (-want +got):\n%s", diff)
	}
	for _, o := range got {
		if o.Code == probe.Timeout && o.Elapsed < timeout {
			t.Errorf("%s: Timeout after %v, before the attempt timeout of %v", o.ID, o.Elapsed, timeout)
		}
	}
}

// netns is a network namespace joined to this one by a veth pair.
type netns struct{ name string }

// newNetns creates the namespace and the veth pair, and removes both when
// the test ends. It skips the test without root or the ip and iptables
// commands, and holds a lock so that concurrent runs of the test do not
// fight over the addresses.
func newNetns(t *testing.T) *netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating a network namespace needs root")
	}
	for _, cmd := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(cmd); err != nil {
			t.Skipf("creating the test network needs the %s command: %v", cmd, err)
		}
	}
	lock(t, filepath.Join(os.TempDir(), "palisade-probe-netns.lock"))
	id := fmt.Sprint(os.Getpid())
	ns := &netns{name: "palisade-probe-" + id}
	hostIf, nsIf := "ppb"+id+"h", "ppb"+id+"n"
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", hostIf).Run()
		exec.Command("ip", "netns", "del", ns.name).Run()
	})
	if out, err := exec.Command("ip", "netns", "add", ns.name).CombinedOutput(); err != nil {
		if strings.Contains(string(out), "not permitted") {
			t.Skipf("creating a network namespace is not permitted here (root without CAP_SYS_ADMIN?): %s", out)
		}
		t.Fatalf("ip netns add %s: %v\n%s", ns.name, err, out)
	}
	run(t, "ip", "link", "add", hostIf, "type", "veth", "peer", "name", nsIf)
	run(t, "ip", "link", "set", nsIf, "netns", ns.name)
	run(t, "ip", "addr", "add", hostAddr+prefixLen, "dev", hostIf)
	run(t, "ip", "link", "set", hostIf, "up")
	ns.run(t, "ip", "addr", "add", nsAddr+prefixLen, "dev", nsIf)
	ns.run(t, "ip", "link", "set", nsIf, "up")
	ns.run(t, "ip", "link", "set", "lo", "up")
	return ns
}

// lock holds an exclusive lock on path until the test ends.
func lock(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() }) // closing releases the lock
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// run runs a command inside the namespace.
func (ns *netns) run(t *testing.T, name string, args ...string) {
	t.Helper()
	run(t, "ip", append([]string{"netns", "exec", ns.name, name}, args...)...)
}

// serve starts this test binary inside the namespace as a probe server of
// ports (see TestMain), waits until its health endpoint says it listens,
// and stops it when the test ends.
func (ns *netns) serve(t *testing.T, ports string) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns.name, os.Args[0])
	cmd.Env = append(os.Environ(), helperPorts+"="+ports, fmt.Sprintf("%s=%d", helperHealth, healthPort))
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed once the server has exited
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) // ip netns exec execs the helper: this is its PID
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("probe server output:\n%s", stderr.String())
		}
	})
	waitStarted(t, exited, fmt.Sprintf("http://%s:%d%s", nsAddr, healthPort, probe.StartedPath))
}

// waitStarted polls url until it answers 200, the server exits, or 15s
// pass.
func waitStarted(t *testing.T, exited <-chan struct{}, url string) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatal("probe server exited before it started")
		default:
		}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("probe server did not start within 15s (%s)", url)
}

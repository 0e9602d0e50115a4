package probe_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"testing"

	"github.com/palisade-sec/palisade/internal/probe"
)

// Environment of the helper process: the test binary run again, inside a
// network namespace, as a probe server.
const (
	helperPorts  = "PALISADE_PROBE_HELPER_PORTS"
	helperHealth = "PALISADE_PROBE_HELPER_HEALTH"
)

func TestMain(m *testing.M) {
	if ports := os.Getenv(helperPorts); ports != "" {
		os.Exit(runHelperServer(ports, os.Getenv(helperHealth)))
	}
	os.Exit(m.Run())
}

// runHelperServer serves the ports until SIGTERM.
func runHelperServer(portList, health string) int {
	ports, err := probe.ParsePorts(portList)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	h, err := strconv.ParseUint(health, 10, 16)
	if err != nil {
		fmt.Fprintf(os.Stderr, "health port %q: %v\n", health, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := probe.Serve(ctx, probe.ServeConfig{Ports: ports, HealthPort: int32(h), Log: os.Stderr}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

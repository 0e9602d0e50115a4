package netpolcmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/palisade-sec/palisade/internal/cli/cliflag"
	"github.com/palisade-sec/palisade/internal/netpol"
)

const checkSynopsis = `check -f FILE... --from NS/POD|IP --to NS/POD|IP --port N [--protocol TCP|UDP|SCTP] [-o text|json]

Say whether the NetworkPolicies allow one connection, and why. The text output's
first line is ALLOW, DENY or UNSPECIFIED (a pod to itself, or from its own node:
CNIs disagree, so no verdict is asserted); JSON has "verdict", "egress" and
"ingress". An IP that is a pod's stands for the pod; any other IP is outside
the cluster.`

func runCheck(ctx context.Context, args []string, e *env) error {
	var c common
	var from, to, protocol, family string
	var port int32
	fs := cliflag.NewFlagSet("check", "palisade netpol "+checkSynopsis, e.stdout)
	c.register(fs)
	fs.StringVar(&from, "from", "", "source: namespace/pod or IP address")
	fs.StringVar(&to, "to", "", "destination: namespace/pod or IP address")
	fs.Int32Var(&port, "port", 0, "destination port")
	fs.StringVar(&protocol, "protocol", "TCP", "TCP, UDP or SCTP")
	fs.StringVar(&family, "ip-family", "", "IPv4 or IPv6 (default: that of an IP given, else of the destination pod's primary IP)")
	if err := cliflag.Parse(fs, args); err != nil {
		return err
	}
	q, err := query(from, to, port, protocol, family)
	if err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	eng, err := c.engine(ctx, e)
	if err != nil {
		return err
	}
	v, err := eng.Check(q)
	if err != nil {
		return err
	}
	if c.output == "json" {
		return writeJSON(e.stdout, v)
	}
	return v.WriteText(e.stdout)
}

func query(from, to string, port int32, protocol, family string) (netpol.Query, error) {
	switch {
	case from == "":
		return netpol.Query{}, errors.New("--from is required")
	case to == "":
		return netpol.Query{}, errors.New("--to is required")
	case port == 0:
		return netpol.Query{}, errors.New("--port is required")
	}
	src, err := netpol.ParseEndpoint(from)
	if err != nil {
		return netpol.Query{}, fmt.Errorf("--from: %w", err)
	}
	dst, err := netpol.ParseEndpoint(to)
	if err != nil {
		return netpol.Query{}, fmt.Errorf("--to: %w", err)
	}
	q := netpol.Query{From: src, To: dst, Port: port, Protocol: corev1.Protocol(strings.ToUpper(protocol)), Family: corev1.IPFamily(family)}
	for _, f := range []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol} {
		if strings.EqualFold(family, string(f)) {
			q.Family = f
		}
	}
	return q, nil
}

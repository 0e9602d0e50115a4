package netpolcmd

import (
	"context"
	"encoding/json"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/palisade-sec/palisade/internal/cli/cliflag"
	"github.com/palisade-sec/palisade/internal/netpol"
)

const matrixSynopsis = `matrix -f FILE... [--ports 80,81] [--protocols TCP,UDP] [-n NS]... [-o text|json]

Print the truth table of every pod pair in scope, one table per port and
protocol: rows are sources, columns destinations; "." allowed, "X" denied,
"-" unspecified (a pod to itself). JSON, on one line, gives "pods" and, per
table, "verdicts"[i][j] from pods[i] to pods[j].`

func runMatrix(ctx context.Context, args []string, e *env) error {
	var c common
	var ports []int32
	var protocols, namespaces []string
	fs := cliflag.NewFlagSet("matrix", "palisade netpol "+matrixSynopsis, e.stdout)
	c.register(fs)
	fs.Int32SliceVar(&ports, "ports", []int32{80, 81}, "destination ports")
	fs.StringSliceVar(&protocols, "protocols", []string{"TCP"}, "protocols: TCP, UDP, SCTP")
	fs.StringSliceVarP(&namespaces, "namespace", "n", nil, "only pods of these namespaces (repeatable; default all)")
	if err := cliflag.Parse(fs, args); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	eng, err := c.engine(ctx, e)
	if err != nil {
		return err
	}
	opts := netpol.MatrixOptions{Namespaces: namespaces, Ports: ports}
	for _, p := range protocols {
		opts.Protocols = append(opts.Protocols, corev1.Protocol(strings.ToUpper(p)))
	}
	m, err := eng.Matrix(opts)
	if err != nil {
		return err
	}
	if c.output == "json" {
		// Compact: a matrix has a line per cell once indented.
		return json.NewEncoder(e.stdout).Encode(m)
	}
	return m.WriteText(e.stdout)
}

// Command demo is `make demo`: with no cluster at hand it starts a local
// control plane (the envtest kube-apiserver and etcd), installs Palisade's
// CRDs, runs the manager, applies sample workloads (some deliberately
// insecure) and SecurityScans, and prints the reports as
// `kubectl get scanreports -A` shows them, then their findings.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/cli/managercmd"
	"github.com/palisade-sec/palisade/internal/manifest"
	"github.com/palisade-sec/palisade/test/testenv"
)

const findingsShown = 12

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	fmt.Fprintln(out, "Starting a local control plane (kube-apiserver + etcd) with Palisade's CRDs...")
	env, cfg, err := testenv.Start()
	if err != nil {
		return err
	}
	defer env.Stop() //nolint:errcheck // best effort at exit

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: managercmd.Scheme(), Cache: managercmd.CacheOptions(), Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		return err
	}
	if err := managercmd.Setup(mgr, managercmd.DefaultNamespace, clock.RealClock{}); err != nil {
		return err
	}
	go func() { _ = mgr.Start(ctx) }()

	c, err := client.New(cfg, client.Options{Scheme: managercmd.Scheme()})
	if err != nil {
		return err
	}
	samples := filepath.Join(testenv.Root(), "config", "samples")
	fmt.Fprintln(out, "Running the Palisade manager; applying config/samples/demo-workloads.yaml and two SecurityScans...")
	if err := apply(ctx, c, filepath.Join(samples, "demo-workloads.yaml")); err != nil {
		return err
	}
	if err := apply(ctx, c, filepath.Join(samples, "security_v1alpha1_securityscan.yaml"), filepath.Join(samples, "security_v1alpha1_securityscan_team.yaml")); err != nil {
		return err
	}
	if err := waitForReports(ctx, c, 2); err != nil {
		return err
	}
	fmt.Fprintln(out, "\n$ kubectl get scanreports -A")
	if err := printTable(ctx, cfg, out, "/apis/security.palisade.dev/v1alpha1/scanreports"); err != nil {
		return err
	}
	fmt.Fprintln(out, "\n$ kubectl get securityscans -A")
	if err := printTable(ctx, cfg, out, "/apis/security.palisade.dev/v1alpha1/securityscans"); err != nil {
		return err
	}
	return printFindings(ctx, c, out)
}

// apply creates every object in the files; the operator's namespace is
// created first.
func apply(ctx context.Context, c client.Client, files ...string) error {
	objs, bad, err := manifest.ReadPaths(files, nil)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		return bad[0]
	}
	if err := ensureNamespace(ctx, c, managercmd.DefaultNamespace); err != nil {
		return err
	}
	for _, o := range objs {
		if err := client.IgnoreAlreadyExists(c.Create(ctx, o.Obj)); err != nil {
			return fmt.Errorf("%s: %w", o.Source, err)
		}
	}
	return nil
}

func ensureNamespace(ctx context.Context, c client.Client, name string) error {
	objs, _, err := manifest.Read(strings.NewReader("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "+name+"\n"), "namespace")
	if err != nil {
		return err
	}
	return client.IgnoreAlreadyExists(c.Create(ctx, objs[0].Obj))
}

func waitForReports(ctx context.Context, c client.Client, n int) error {
	for {
		list := &securityv1alpha1.ScanReportList{}
		if err := c.List(ctx, list); err != nil {
			return err
		}
		done := 0
		for _, r := range list.Items {
			if r.Status.Phase.Finished() {
				done++
			}
		}
		if done >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d finished reports: %w", n, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// printTable asks the API server for the server-side table that kubectl
// prints (the CRD's printer columns), and prints it the way kubectl does.
func printTable(ctx context.Context, cfg *rest.Config, out io.Writer, path string) error {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(cfg.Host, "/")+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	var table metav1.Table
	if err := json.NewDecoder(resp.Body).Decode(&table); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	header := []string{"NAMESPACE"}
	var cols []int
	for i, col := range table.ColumnDefinitions {
		if col.Priority == 0 {
			header = append(header, strings.ToUpper(col.Name))
			cols = append(cols, i)
		}
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, row := range table.Rows {
		var m metav1.PartialObjectMetadata
		_ = json.Unmarshal(row.Object.Raw, &m)
		cells := []string{m.Namespace}
		for _, i := range cols {
			cells = append(cells, cell(row.Cells[i]))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func cell(v any) string {
	if v == nil {
		return "<none>"
	}
	if f, ok := v.(float64); ok {
		return fmt.Sprintf("%d", int64(f))
	}
	return fmt.Sprint(v)
}

func printFindings(ctx context.Context, c client.Client, out io.Writer) error {
	list := &securityv1alpha1.ScanReportList{}
	if err := c.List(ctx, list); err != nil {
		return err
	}
	for _, r := range list.Items {
		s := r.Status.Summary
		fmt.Fprintf(out, "\nReport %s/%s: %d findings (%d critical, %d high, %d medium, %d low, %d info) on %d objects",
			r.Namespace, r.Name, s.Total, s.Critical, s.High, s.Medium, s.Low, s.Info, s.Resources)
		if ps := s.PodSecurity; ps != nil {
			fmt.Fprintf(out, "; Pod Security Standards: %d restricted, %d baseline, %d privileged", ps.Restricted, ps.Baseline, ps.Privileged)
		}
		fmt.Fprintln(out)
		tw := tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  SEVERITY\tRESOURCE\tID\tMESSAGE")
		shown := r.Status.Findings[:min(findingsShown, len(r.Status.Findings))]
		for _, f := range shown {
			fmt.Fprintf(tw, "  %s\t%s/%s/%s\t%s\t%s\n", f.Severity, f.Resource.Namespace, f.Resource.Kind, f.Resource.Name, f.ID, short(f.Message, 90))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if more := len(r.Status.Findings) - len(shown); more > 0 {
			fmt.Fprintf(out, "  ... %d more: kubectl get scanreport -n %s %s -o yaml\n", more, r.Namespace, r.Name)
		}
	}
	return nil
}

func short(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/test/testenv"
)

// ---------------------------------------------------------------- applying manifests

// decodeObjects splits a multi-document YAML stream into objects.
func decodeObjects(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// apply server-side applies the objects in order, waiting for each CRD to
// be established before going on.
func apply(objs []*unstructured.Unstructured) {
	for _, u := range objs {
		Expect(k8s.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(fieldOwner), client.ForceOwnership)).
			To(Succeed(), "applying %s %s", u.GetKind(), u.GetName())
		if u.GetKind() == "CustomResourceDefinition" {
			Eventually(func(g Gomega) {
				crd := &unstructured.Unstructured{}
				crd.SetGroupVersionKind(u.GroupVersionKind())
				g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(u), crd)).To(Succeed())
				conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
				established := false
				for _, c := range conds {
					m, _ := c.(map[string]any)
					if m["type"] == "Established" && m["status"] == "True" {
						established = true
					}
				}
				g.Expect(established).To(BeTrue(), "CRD %s established", u.GetName())
			}).WithTimeout(time.Minute).Should(Succeed())
		}
	}
}

func applyFile(path string) []*unstructured.Unstructured {
	data, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	objs, err := decodeObjects(data)
	Expect(err).NotTo(HaveOccurred())
	apply(objs)
	return objs
}

// deployPalisade applies `kustomize build DIR`.
func deployPalisade(dir string) {
	cmd := exec.Command(env.kustomize, "build", dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	Expect(err).NotTo(HaveOccurred(), "kustomize build %s: %s", dir, stderr.String())
	objs, err := decodeObjects(out)
	Expect(err).NotTo(HaveOccurred())
	Expect(objs).NotTo(BeEmpty())
	apply(objs)
}

func createNamespace(name string) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, ns))).To(Succeed())
	// A new namespace's default service account comes a moment later, and
	// pods cannot be created before it.
	Eventually(func() error {
		return k8s.Get(ctx, client.ObjectKey{Namespace: name, Name: "default"}, &corev1.ServiceAccount{})
	}).WithTimeout(30 * time.Second).Should(Succeed())
}

func deleteNamespace(name string) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	Expect(client.IgnoreNotFound(k8s.Delete(ctx, ns))).To(Succeed())
}

// ---------------------------------------------------------------- cluster state

func readyNodes() ([]string, error) {
	nodes := &corev1.NodeList{}
	if err := k8s.List(ctx, nodes); err != nil {
		return nil, err
	}
	var ready []string
	for _, n := range nodes.Items {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ready = append(ready, n.Name)
			}
		}
	}
	return ready, nil
}

func managerPods() []corev1.Pod {
	pods := &corev1.PodList{}
	err := k8s.List(ctx, pods, client.InNamespace(operatorNamespace),
		client.MatchingLabels{"app.kubernetes.io/name": "palisade", "app.kubernetes.io/component": "manager"})
	if err != nil {
		return nil
	}
	return pods.Items
}

// readyManager waits until the manager runs as one ready pod other than
// the one of UID not ("" for any), and returns it.
func readyManager(not types.UID) corev1.Pod {
	GinkgoHelper()
	var pod corev1.Pod
	Eventually(func(g Gomega) {
		pods := managerPods()
		g.Expect(pods).To(HaveLen(1))
		g.Expect(pods[0].UID).NotTo(Equal(not))
		g.Expect(podReady(&pods[0])).To(BeTrue())
		pod = pods[0]
	}).WithTimeout(2 * time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
	return pod
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podLogs(namespace, pod, container string, previous bool) (string, error) {
	req := clientset.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container, Previous: previous})
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	b, err := req.DoRaw(c)
	return string(b), err
}

// clusterScript runs hack/local-cluster/cluster.sh with ARGS.
func clusterScript(args ...string) {
	cmd := exec.Command(env.clusterScript, args...)
	out, err := cmd.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "%s %s: %s", env.clusterScript, strings.Join(args, " "), out)
}

// dumpDiagnostics writes what helps to understand a failure: the manager's
// pods and logs, and the cluster's own diagnostics.
func dumpDiagnostics() {
	w := GinkgoWriter
	for _, pod := range managerPods() {
		fmt.Fprintf(w, "\n===== manager pod %s: phase %s, ready %v\n", pod.Name, pod.Status.Phase, podReady(&pod))
		for _, cs := range pod.Status.ContainerStatuses {
			fmt.Fprintf(w, "container %s: restarts %d, state %+v, last %+v\n", cs.Name, cs.RestartCount, cs.State, cs.LastTerminationState)
		}
		if logs, err := podLogs(operatorNamespace, pod.Name, "manager", false); err == nil {
			fmt.Fprintf(w, "----- logs (last 60 lines)\n%s\n", lastLines(logs, 60))
		}
	}
	if out, err := exec.Command(env.clusterScript, "diag").CombinedOutput(); err == nil || len(out) > 0 {
		fmt.Fprintf(w, "%s\n", out)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ---------------------------------------------------------------- client pods

// runPod runs a one-shot pod with the e2e tools image and COMMAND (sh -c)
// to its end, and returns whether it succeeded and its log.
func runPod(namespace, name, command string) (bool, string) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			AutomountServiceAccountToken:  ptr.To(false),
			Containers: []corev1.Container{{
				Name:            "client",
				Image:           env.toolsImage,
				ImagePullPolicy: corev1.PullNever,
				Command:         []string{"/bin/sh", "-c", command},
			}},
		},
	}
	Expect(k8s.Create(ctx, pod)).To(Succeed())
	defer func() {
		Expect(client.IgnoreNotFound(k8s.Delete(ctx, pod, client.GracePeriodSeconds(0)))).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{}))
		}).WithTimeout(time.Minute).Should(BeTrue())
	}()
	Eventually(func(g Gomega) corev1.PodPhase {
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(pod), pod)).To(Succeed())
		return pod.Status.Phase
	}).WithTimeout(time.Minute).WithPolling(200 * time.Millisecond).Should(BeElementOf(corev1.PodSucceeded, corev1.PodFailed))
	logs, err := podLogs(namespace, name, "client", false)
	Expect(err).NotTo(HaveOccurred())
	return pod.Status.Phase == corev1.PodSucceeded, logs
}

// ---------------------------------------------------------------- figures

// figureLog collects the measured figures for the closing note.
type figureLog struct {
	mu    sync.Mutex
	lines []string
}

func (f *figureLog) add(name string, d time.Duration) {
	f.addText(name, d.Round(10*time.Millisecond).String())
}

func (f *figureLog) addText(name, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lines = append(f.lines, name+": "+value)
}

func (f *figureLog) print(w io.Writer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fmt.Fprintln(w, "\n===== e2e figures")
	for _, l := range f.lines {
		fmt.Fprintln(w, l)
	}
}

func (f *figureLog) write(path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.lines) == 0 {
		return nil
	}
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(fh, strings.Join(f.lines, "\n"))
	return errors.Join(err, fh.Close())
}

// ---------------------------------------------------------------- RSS

// rssSampler samples the resident set size of the processes whose command
// line is ARGV0 followed by ARG (the manager in its container, seen from
// the host's /proc), every 500ms.
type rssSampler struct {
	stopCh  chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	maxKiB  int64
	lastKiB int64
	samples int
}

func startRSSSampler(parent context.Context, argv0, arg string) *rssSampler {
	s := &rssSampler{stopCh: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			if kib, ok := processRSS(argv0, arg); ok {
				s.mu.Lock()
				s.samples++
				s.lastKiB = kib
				s.maxKiB = max(s.maxKiB, kib)
				s.mu.Unlock()
			}
			select {
			case <-parent.Done():
				return
			case <-s.stopCh:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() (maxKiB, lastKiB int64, samples int) {
	close(s.stopCh)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxKiB, s.lastKiB, s.samples
}

// processRSS sums VmRSS over the matching processes.
func processRSS(argv0, arg string) (int64, bool) {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var total int64
	found := false
	for _, d := range dirs {
		cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) < 2 || args[0] != argv0 || args[1] != arg {
			continue
		}
		f, err := os.Open(filepath.Join(d, "status"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
				if kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64); err == nil {
					total += kib
					found = true
				}
			}
		}
		f.Close()
	}
	return total, found
}

func formatKiB(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

// ---------------------------------------------------------------- scans

// applyTestdata applies test/e2e/testdata/NAME with the e2e tools image
// the suite was told to use.
func applyTestdata(name string) {
	data, err := os.ReadFile(filepath.Join(testenv.Root(), "test", "e2e", "testdata", name))
	Expect(err).NotTo(HaveOccurred())
	objs, err := decodeObjects([]byte(strings.ReplaceAll(string(data), "localhost/palisade-e2e-tools:dev", env.toolsImage)))
	Expect(err).NotTo(HaveOccurred())
	apply(objs)
}

// waitForFinishedReport waits for the named report in the operator's
// namespace to reach a final phase, whichever it is.
func waitForFinishedReport(name string, timeout time.Duration) *securityv1alpha1.ScanReport {
	report := &securityv1alpha1.ScanReport{}
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: name}, report)).To(Succeed())
		g.Expect(report.Status.Phase.Finished()).To(BeTrue(), "report %s is %q", name, report.Status.Phase)
	}).WithTimeout(timeout).WithPolling(200 * time.Millisecond).Should(Succeed())
	return report
}

// deleteScan deletes a SecurityScan and waits until nothing of it is left:
// its reports (the garbage collector deletes them through their owner
// reference), its benchmark Jobs and their pods.
func deleteScan(scan *securityv1alpha1.SecurityScan) {
	Expect(client.IgnoreNotFound(k8s.Delete(ctx, scan))).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(scan), &securityv1alpha1.SecurityScan{}))).To(BeTrue(), "the scan is still there")
		g.Expect(reportNames(scan.Name)).To(BeEmpty(), "reports")
		g.Expect(objectNames(&batchv1.JobList{}, scan.Name)).To(BeEmpty(), "benchmark Jobs")
		g.Expect(objectNames(&corev1.PodList{}, scan.Name)).To(BeEmpty(), "benchmark pods")
	}).WithTimeout(2*time.Minute).WithPolling(500*time.Millisecond).Should(Succeed(), "what is left of SecurityScan %s", scan.Name)
}

// objectNames lists the names of the objects of the list's kind in the
// operator's namespace that carry the scan's label.
func objectNames(list client.ObjectList, scan string) []string {
	Expect(k8s.List(ctx, list, client.InNamespace(operatorNamespace),
		client.MatchingLabels{securityv1alpha1.LabelScan: scan})).To(Succeed())
	names := []string{}
	Expect(meta.EachListItem(list, func(o runtime.Object) error {
		names = append(names, o.(client.Object).GetName())
		return nil
	})).To(Succeed())
	sort.Strings(names)
	return names
}

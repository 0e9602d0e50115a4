package controllers

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/analyzers/mtls"
	"github.com/palisade-sec/palisade/internal/clusterpolicy"
	"github.com/palisade-sec/palisade/internal/kube"
	"github.com/palisade-sec/palisade/internal/netpol"
	"github.com/palisade-sec/palisade/internal/netpol/cases"
	"github.com/palisade-sec/palisade/internal/probe"
	"github.com/palisade-sec/palisade/internal/probepods"
	"github.com/palisade-sec/palisade/internal/scan"
	"github.com/palisade-sec/palisade/internal/scope"
	"github.com/palisade-sec/palisade/internal/text"
)

// plan lays the run out from the namespaces, pods and NetworkPolicies in
// scope, read page by page from the API server: generated cases (each with
// the engine's verdict), explicit ones, and the pods that probe them. The
// plan goes into the report's status before any pod is created, so that a
// restarted operator carries on with the same cases and pod names.
func (r *PolicyProbeReconciler) plan(ctx context.Context, pp *securityv1alpha1.PolicyProbe, rep *securityv1alpha1.ScanReport, resolver scope.Resolver) error {
	sp, err := resolver.Resolve(ctx, pp.Namespace, pp.Spec.Namespaces)
	if err != nil {
		return fmt.Errorf("resolving namespaces: %w", err)
	}
	cl, err := r.readCluster(ctx, sp)
	if err != nil {
		return err
	}
	var clusterNote string
	if cl.ClusterPolicies, clusterNote, err = r.readClusterPolicies(ctx, pp); err != nil {
		var invalid *clusterpolicy.DecodeError
		if errors.As(err, &invalid) {
			failPlan(rep, err)
			return nil
		}
		return err
	}
	probeLabels := r.runOf(pp, rep, time.Time{}).Labels()
	in := probepods.PlanInput{Report: rep.Name}
	allowTemporary, own := r.mayCreateNamespaces(pp), temporaryNamespaceLabels(pp)
	if clusterNote != "" {
		in.Notes = append(in.Notes, clusterNote)
	}
	if pp.Spec.AllowTemporaryNamespaces && !allowTemporary {
		in.Notes = append(in.Notes, fmt.Sprintf("spec.allowTemporaryNamespaces is ignored: only PolicyProbes in the operator's namespace (%s) may create namespaces", r.OperatorNamespace))
	}
	if ptrOr(pp.Spec.Generate.Enabled, true) {
		eng, err := netpol.NewWithClusterPolicies(cl.Namespaces, cl.Pods, cl.Policies, cl.ClusterPolicies)
		if err == nil {
			in.Generated, err = cases.Generate(eng, cases.Options{Namespaces: cl.Namespaces, MaxCases: int(ptrOr(pp.Spec.Generate.MaxCases, cases.DefaultMaxCases)),
				ProbeLabels: probeLabels, TemporaryNamespaces: allowTemporary, TemporaryNamespaceLabels: own})
		}
		if err != nil {
			failPlan(rep, err)
			return nil
		}
		for _, t := range in.Generated.TemporaryNamespaces {
			in.TemporaryNamespaces = append(in.TemporaryNamespaces, securityv1alpha1.ProbeTemporaryNamespace{Name: t.Name, Labels: t.Labels})
		}
	}
	reasons, err := r.outOfScope(ctx, pp, sp)
	if err != nil {
		return err
	}
	if in.Explicit, err = probepods.Explicit(pp.Spec.Cases, cl, probeLabels, func(ns string) string { return reasons[ns] }); err != nil {
		failPlan(rep, err)
		return nil
	}
	if m := pp.Spec.MTLS; m != nil {
		if in.MTLS, err = r.planMTLS(ctx, pp, sp, cl); err != nil {
			return err
		}
	}
	res, err := probepods.NewPlan(in)
	if err != nil {
		return fmt.Errorf("planning the probe pods: %w", err)
	}
	if pp.Spec.RerunOnChange {
		if res.PolicyFingerprint, err = r.fingerprint(ctx, pp); err != nil {
			return err
		}
	}
	rep.Status.Probes = res
	rep.Status.Namespaces = int32(len(sp.Namespaces))
	log.FromContext(ctx).Info("Run planned", "report", rep.Name, "cases", len(res.Cases), "servers", len(res.Servers), "omitted", res.CasesOmitted)
	return nil
}

// planMTLS plans the plaintext probes of spec.mtls from the pods in scope
// and the PeerAuthentications of its namespaces and the mesh's root.
func (r *PolicyProbeReconciler) planMTLS(ctx context.Context, pp *securityv1alpha1.PolicyProbe, sp scope.Scope, cl probepods.Cluster) (*probepods.MTLSPlan, error) {
	m := pp.Spec.MTLS
	root := cmp.Or(m.RootNamespace, mtls.DefaultRootNamespace)
	raw, installed, err := scan.PeerAuthentications(ctx, scan.Target{Reader: r.APIReader, Scope: sp}, root)
	if err != nil {
		return nil, fmt.Errorf("reading PeerAuthentications: %w", err)
	}
	policies, bad := mtls.FromUnstructuredList(raw)
	why := map[string]string{}
	for _, ns := range m.Namespaces {
		if !sp.Contains(ns) {
			if why[ns], err = r.notInScope(ctx, pp, ns); err != nil {
				return nil, err
			}
		}
	}
	plan := probepods.MTLSCases(probepods.MTLSInput{
		Namespaces: m.Namespaces, Cluster: cl, Installed: installed, Policies: policies, RootNamespace: root,
		MaxWorkloads: int(ptrOr(m.MaxWorkloads, defaultMaxMeshWorkloads)), OutOfScope: func(ns string) string { return why[ns] },
	})
	for _, f := range bad {
		plan.Notes = append(plan.Notes, "mtls: "+f.Message)
	}
	return &plan, nil
}

// failPlan ends a run that cannot be planned (a policy the engine rejects).
func failPlan(rep *securityv1alpha1.ScanReport, err error) {
	reason := securityv1alpha1.ReasonFailed
	var invalid *netpol.InvalidPolicyError
	var undecodable *clusterpolicy.DecodeError
	switch {
	case errors.As(err, &invalid) || errors.As(err, &undecodable):
		reason = ReasonInvalidPolicies
	case strings.HasPrefix(err.Error(), ReasonRunTimeout+":"):
		reason = ReasonRunTimeout
	}
	rep.Status.Probes = &securityv1alpha1.ProbeResults{}
	setAnalyzerResult(rep, securityv1alpha1.AnalyzerResult{Name: AnalyzerProbe, Phase: securityv1alpha1.AnalyzerFailed, Reason: reason,
		Message: text.Cut(err.Error(), text.MaxField)})
}

// readCluster reads the namespaces, pods (probe pods left out) and
// NetworkPolicies in scope.
func (r *PolicyProbeReconciler) readCluster(ctx context.Context, sp scope.Scope) (probepods.Cluster, error) {
	var cl probepods.Cluster
	nsList := &corev1.NamespaceList{}
	err := kube.ListPages(ctx, r.APIReader, nsList, func() error {
		for i := range nsList.Items {
			if sp.Contains(nsList.Items[i].Name) && !isTemporaryNamespace(nsList.Items[i].Labels) {
				cl.Namespaces = append(cl.Namespaces, *nsList.Items[i].DeepCopy())
			}
		}
		return nil
	})
	if err != nil {
		return cl, fmt.Errorf("reading the namespaces in scope: %w", err)
	}
	pods := &corev1.PodList{}
	err = r.listInScope(ctx, sp, pods, func() {
		for i := range pods.Items {
			p := &pods.Items[i]
			if _, probe := p.Labels[securityv1alpha1.LabelProbe]; !probe || p.Labels[securityv1alpha1.LabelManagedBy] != securityv1alpha1.ManagedByValue {
				cl.Pods = append(cl.Pods, *p.DeepCopy())
			}
		}
	})
	if err != nil {
		return cl, fmt.Errorf("reading the pods in scope: %w", err)
	}
	policies := &networkingv1.NetworkPolicyList{}
	err = r.listInScope(ctx, sp, policies, func() {
		for i := range policies.Items {
			cl.Policies = append(cl.Policies, *policies.Items[i].DeepCopy())
		}
	})
	if err != nil {
		return cl, fmt.Errorf("reading the NetworkPolicies in scope: %w", err)
	}
	return cl, nil
}

// listInScope lists objects of the namespaces in scope, page by page: all
// at once when the scope is the whole cluster, else namespace by
// namespace.
func (r *PolicyProbeReconciler) listInScope(ctx context.Context, sp scope.Scope, list client.ObjectList, fn func()) error {
	page := func() error { fn(); return nil }
	if sp.Cluster {
		return kube.ListPages(ctx, r.APIReader, list, page)
	}
	for _, ns := range sp.Namespaces {
		if err := kube.ListPages(ctx, r.APIReader, list, page, client.InNamespace(ns)); err != nil {
			return err
		}
	}
	return nil
}

// outOfScope says, for the namespaces explicit cases name outside the
// scope, why they cannot be probed.
func (r *PolicyProbeReconciler) outOfScope(ctx context.Context, pp *securityv1alpha1.PolicyProbe, sp scope.Scope) (map[string]string, error) {
	reasons := map[string]string{}
	for _, c := range pp.Spec.Cases {
		for _, ns := range []string{c.From.Namespace, c.To.Namespace} {
			if ns == "" || sp.Contains(ns) || reasons[ns] != "" {
				continue
			}
			why, err := r.notInScope(ctx, pp, ns)
			if err != nil {
				return nil, err
			}
			reasons[ns] = why
		}
	}
	return reasons, nil
}

// notInScope says why namespace ns, which is not in the probe's scope,
// cannot be probed: the multi-tenancy rule, its absence, or the scope.
func (r *PolicyProbeReconciler) notInScope(ctx context.Context, pp *securityv1alpha1.PolicyProbe, ns string) (string, error) {
	if pp.Namespace != r.OperatorNamespace {
		return fmt.Sprintf("%s: a PolicyProbe outside the operator's namespace only probes its own namespace (%s), not %s", probepods.ReasonOutOfScope, pp.Namespace, ns), nil
	}
	err := r.APIReader.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Sprintf("%s: namespace %s does not exist", probepods.ReasonNamespaceNotFound, ns), nil
	case err != nil:
		return "", fmt.Errorf("getting namespace %s: %w", ns, err)
	default:
		return fmt.Sprintf("%s: namespace %s is not in spec.namespaces", probepods.ReasonOutOfScope, ns), nil
	}
}

// runOf is what the run's pods share.
func (r *PolicyProbeReconciler) runOf(pp *securityv1alpha1.PolicyProbe, rep *securityv1alpha1.ScanReport, now time.Time) probepods.Run {
	return probepods.Run{
		Report: rep, Probe: pp.Name, ProbeLabel: labelValue(pp.Name), ReportLabel: labelValue(rep.Name),
		Image: cmp.Or(pp.Spec.Image, r.ProbeImage), AttemptTimeout: attemptTimeout(pp),
		Deadline: runDeadline(pp, rep, now), Now: now,
	}
}

// advance is one pass over a planned run: pods no pending case needs are
// deleted, clients that finished have their outcomes judged, clients that
// failed make their cases Inconclusive, servers that ended make theirs
// Inconclusive, temporary namespaces are created, missing servers are
// created, and the clients whose servers all listen are created with the
// servers' addresses. wait is set while a temporary namespace is awaited:
// nothing else tells the controller when it is there, or gone.
func (r *PolicyProbeReconciler) advance(ctx context.Context, pp *securityv1alpha1.PolicyProbe, rep *securityv1alpha1.ScanReport) (wait bool, err error) {
	res := rep.Status.Probes
	run := r.runOf(pp, rep, r.Clock.Now())
	pods, err := r.runPods(ctx, rep)
	if err != nil {
		return false, err
	}
	if run.NamespaceUIDs, err = r.namespaceUIDs(ctx, rep, pods); err != nil {
		return false, err
	}
	created, waiting, err := r.namespacesReady(ctx, pp, rep)
	if err != nil {
		return false, err
	}
	maps.Copy(run.NamespaceUIDs, created)
	clients := clientGroups(res.Cases)
	// Pods whose cases all had their result when the status was last
	// written are done with: deleted now, not at the end of the run.
	for name, pod := range pods {
		if _, client := clients[name]; !client && !targeted(res.Cases, name) {
			if err := r.deletePod(ctx, pod); err != nil {
				return false, err
			}
			delete(pods, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(clients)) {
		if pod := pods[name]; pod != nil {
			readClient(res.Cases, clients[name], probepods.Client(pod))
		}
	}
	ips := map[string]string{}
	for i := range res.Servers {
		s := &res.Servers[i]
		if !targeted(res.Cases, s.Pod) {
			continue
		}
		pod := pods[s.Pod]
		if pod == nil && waiting[s.Namespace] {
			continue
		}
		if pod == nil {
			if err := r.createPod(ctx, rep, probepods.ServerPod(run, *s, res.Cases)); retryable(err) {
				return false, err
			} else if err != nil {
				failCases(res.Cases, func(c *securityv1alpha1.ProbeCase) bool { return c.Destination.Pod == s.Pod }, ReasonServerFailed+": "+err.Error())
			}
			continue
		}
		switch st := probepods.Server(pod); {
		case st.Failed != "":
			failCases(res.Cases, func(c *securityv1alpha1.ProbeCase) bool { return c.Destination.Pod == s.Pod }, ReasonServerFailed+": "+st.Failed)
		case st.IP != "":
			ips[s.Pod] = st.IP
		}
	}
	clients = clientGroups(res.Cases)
	for _, name := range slices.Sorted(maps.Keys(clients)) {
		if pods[name] != nil {
			continue
		}
		first := &res.Cases[clients[name][0]]
		if waiting[first.Source.Namespace] {
			continue
		}
		if targets, ok := clientTargets(res.Cases, clients[name], ips); ok {
			pod := probepods.ClientPod(run, name, first.Source.Namespace, first.Source.PodLabels, targets)
			if err := r.createPod(ctx, rep, pod); retryable(err) {
				return false, err
			} else if err != nil {
				failCases(res.Cases, func(c *securityv1alpha1.ProbeCase) bool { return c.Source.Pod == name }, ReasonClientFailed+": "+err.Error())
			}
		}
	}
	res.Counts = probepods.Count(res.Cases)
	return len(waiting) > 0, nil
}

// namespaceUIDs are the UIDs of the namespaces where the run's pods still
// to be created go (besides the report's), for their owner reference.
func (r *PolicyProbeReconciler) namespaceUIDs(ctx context.Context, rep *securityv1alpha1.ScanReport, pods map[string]*corev1.Pod) (map[string]types.UID, error) {
	res := rep.Status.Probes
	need := map[string]bool{}
	for _, c := range res.Cases {
		if c.Result != securityv1alpha1.ProbePending {
			continue
		}
		if pods[c.Source.Pod] == nil {
			need[c.Source.Namespace] = true
		}
		if c.Destination.Pod != "" && pods[c.Destination.Pod] == nil {
			need[c.Destination.Namespace] = true
		}
	}
	delete(need, rep.Namespace)
	out := map[string]types.UID{}
	for ns := range need {
		obj := &metav1.PartialObjectMetadata{}
		obj.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
		if err := r.Get(ctx, client.ObjectKey{Name: ns}, obj); client.IgnoreNotFound(err) != nil {
			return nil, fmt.Errorf("getting namespace %s: %w", ns, err)
		}
		out[ns] = obj.UID
	}
	return out, nil
}

// clientGroups are the indexes of the pending cases by client pod.
func clientGroups(cs []securityv1alpha1.ProbeCase) map[string][]int {
	out := map[string][]int{}
	for i := range cs {
		if cs[i].Result == securityv1alpha1.ProbePending && cs[i].Source.Pod != "" {
			out[cs[i].Source.Pod] = append(out[cs[i].Source.Pod], i)
		}
	}
	return out
}

// targeted tells whether some pending case targets the server.
func targeted(cs []securityv1alpha1.ProbeCase, server string) bool {
	return slices.ContainsFunc(cs, func(c securityv1alpha1.ProbeCase) bool {
		return c.Result == securityv1alpha1.ProbePending && c.Destination.Pod == server
	})
}

// clientTargets are what a client tries, once every server it targets
// listens with an address.
func clientTargets(cs []securityv1alpha1.ProbeCase, idx []int, ips map[string]string) ([]probe.Target, bool) {
	var out []probe.Target
	for _, i := range idx {
		c := &cs[i]
		host := ""
		if c.Destination.Pod != "" {
			if host = ips[c.Destination.Pod]; host == "" {
				return nil, false
			}
		}
		out = append(out, probepods.Target(c, i, host))
	}
	return out, true
}

// readClient records a client's outcomes, or its failure, in its cases.
func readClient(cs []securityv1alpha1.ProbeCase, idx []int, st probepods.ClientState) {
	switch {
	case st.Done:
		byID := map[string]probe.Outcome{}
		for _, o := range st.Outcomes {
			byID[o.ID] = o
		}
		for _, i := range idx {
			if o, ok := byID[probepods.TargetID(i)]; ok {
				probepods.Judge(&cs[i], o)
			} else {
				probepods.Inconclusive(&cs[i], ReasonClientFailed+": the client reported no outcome for this case")
			}
		}
	case st.Failed != "":
		for _, i := range idx {
			probepods.Inconclusive(&cs[i], ReasonClientFailed+": "+st.Failed)
		}
	}
}

func failCases(cs []securityv1alpha1.ProbeCase, match func(*securityv1alpha1.ProbeCase) bool, reason string) {
	for i := range cs {
		if match(&cs[i]) {
			probepods.Inconclusive(&cs[i], reason)
		}
	}
}

// createPod creates a probe pod. A pod of that name that the run made
// already (the cache had not seen it yet) is fine; an error the API server
// will give again (the namespace is gone or terminating, a quota or an
// admission policy forbids the pod) is returned, for the cases to say why
// they could not be probed; other errors are retried.
func (r *PolicyProbeReconciler) createPod(ctx context.Context, rep *securityv1alpha1.ScanReport, pod *corev1.Pod) error {
	err := r.Create(ctx, pod)
	switch {
	case err == nil:
		log.FromContext(ctx).V(1).Info("Created probe pod", "pod", klog.KObj(pod), "role", pod.Annotations[probepods.AnnotationRole])
		return nil
	case apierrors.IsAlreadyExists(err):
		existing := &corev1.Pod{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(pod), existing); client.IgnoreNotFound(err) != nil {
			return &retryError{fmt.Errorf("getting probe pod %s: %w", klog.KObj(pod), err)}
		}
		if existing.Annotations[probepods.AnnotationReportUID] != string(rep.UID) {
			log.FromContext(ctx).Info("A pod of the same name from another run is in the way; waiting for it to be deleted", "pod", klog.KObj(pod))
		}
		return nil
	case apierrors.IsNotFound(err) || apierrors.IsForbidden(err) || apierrors.IsInvalid(err):
		log.FromContext(ctx).Info("Cannot create probe pod", "pod", klog.KObj(pod), "error", err.Error())
		return fmt.Errorf("cannot create pod %s/%s: %w", pod.Namespace, pod.Name, err)
	default:
		return &retryError{fmt.Errorf("creating probe pod %s: %w", klog.KObj(pod), err)}
	}
}

// retryError is a failure worth retrying, not a case's outcome.
type retryError struct{ err error }

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

func retryable(err error) bool {
	var retry *retryError
	return errors.As(err, &retry)
}

// timeOut ends a run past its deadline: every pending case is
// Inconclusive, saying what it was waiting for.
func (r *PolicyProbeReconciler) timeOut(ctx context.Context, pp *securityv1alpha1.PolicyProbe, rep *securityv1alpha1.ScanReport) error {
	res := rep.Status.Probes
	pods, err := r.runPods(ctx, rep)
	if err != nil {
		return err
	}
	limit := runTimeout(pp)
	for i := range res.Cases {
		c := &res.Cases[i]
		if c.Result != securityv1alpha1.ProbePending {
			continue
		}
		waiting := ""
		if client := pods[c.Source.Pod]; client != nil {
			waiting = probepods.Client(client).Waiting
		} else if server := pods[c.Destination.Pod]; c.Destination.Pod != "" && server != nil {
			waiting = "the client waited for its servers; " + cmp.Or(probepods.Server(server).Waiting, "the server listens")
		} else {
			waiting = "its pods were not created"
		}
		probepods.Inconclusive(c, fmt.Sprintf("%s: the run did not finish within %s: %s", ReasonRunTimeout, limit, waiting))
	}
	res.Counts = probepods.Count(res.Cases)
	log.FromContext(ctx).Info("Run timed out", "report", rep.Name, "after", limit)
	return nil
}

// runPods are the run's pods, from the cache, by name.
func (r *PolicyProbeReconciler) runPods(ctx context.Context, rep *securityv1alpha1.ScanReport) (map[string]*corev1.Pod, error) {
	list := &corev1.PodList{}
	if err := r.List(ctx, list, client.MatchingLabels{probepods.LabelProbeNamespace: rep.Namespace, securityv1alpha1.LabelReport: labelValue(rep.Name)}); err != nil {
		return nil, fmt.Errorf("listing probe pods: %w", err)
	}
	out := map[string]*corev1.Pod{}
	for i := range list.Items {
		if p := &list.Items[i]; p.Annotations[probepods.AnnotationReportUID] == string(rep.UID) && p.DeletionTimestamp.IsZero() {
			out[p.Name] = p
		}
	}
	return out, nil
}

// fingerprint identifies, from the metadata cache, the NetworkPolicies
// (by UID and generation, which changes with the spec) and the namespaces
// with their labels in the probe's scope.
func (r *PolicyProbeReconciler) fingerprint(ctx context.Context, pp *securityv1alpha1.PolicyProbe) (string, error) {
	m, err := scope.Resolver{OperatorNamespace: r.OperatorNamespace}.Matcher(pp.Namespace, pp.Spec.Namespaces)
	if err != nil {
		return "", err
	}
	nsList := &metav1.PartialObjectMetadataList{}
	nsList.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NamespaceList"))
	if err := r.List(ctx, nsList); err != nil {
		return "", fmt.Errorf("listing namespaces' metadata: %w", err)
	}
	var lines []string
	in := map[string]bool{}
	for _, ns := range nsList.Items {
		if m.Matches(ns.Name, ns.Labels) && !isTemporaryNamespace(ns.Labels) {
			in[ns.Name] = true
			var lbls []string
			for _, k := range slices.Sorted(maps.Keys(ns.Labels)) {
				lbls = append(lbls, k+"="+ns.Labels[k])
			}
			lines = append(lines, "ns "+ns.Name+" "+strings.Join(lbls, ","))
		}
	}
	npList := &metav1.PartialObjectMetadataList{}
	npList.SetGroupVersionKind(networkingv1.SchemeGroupVersion.WithKind("NetworkPolicyList"))
	if err := r.List(ctx, npList); err != nil {
		return "", fmt.Errorf("listing NetworkPolicies' metadata: %w", err)
	}
	for _, np := range npList.Items {
		if in[np.Namespace] {
			lines = append(lines, fmt.Sprintf("np %s/%s %s %d", np.Namespace, np.Name, np.UID, np.Generation))
		}
	}
	slices.Sort(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:16]), nil
}

// probeOutcome is the probe's analyzer result: Failed when no case could
// be probed, Succeeded with a reason (which makes the run
// PartiallyComplete) when some could not, or when there was nothing to
// probe.
func probeOutcome(res *securityv1alpha1.ProbeResults, findings int) securityv1alpha1.AnalyzerResult {
	c := res.Counts
	out := securityv1alpha1.AnalyzerResult{Name: AnalyzerProbe, Phase: securityv1alpha1.AnalyzerSucceeded,
		Resources: c.Total - c.Inconclusive, Findings: int32(findings), Invalid: c.Inconclusive}
	switch {
	case c.Total == 0:
		out.Reason, out.Message = ReasonNoCases, "Nothing to probe: no NetworkPolicy in scope gave a case and spec.cases is empty"
		if len(res.Notes) > 0 {
			out.Message += "; " + strings.Join(res.Notes, "; ")
		}
	case c.Inconclusive == c.Total:
		out.Phase, out.Reason = securityv1alpha1.AnalyzerFailed, ReasonAllCasesInconclusive
		out.Message = "No case could be probed: " + listInconclusive(res.Cases)
	case c.Inconclusive > 0:
		out.Reason = ReasonCasesInconclusive
		out.Message = fmt.Sprintf("%d of %d cases are Inconclusive: %s", c.Inconclusive, c.Total, listInconclusive(res.Cases))
	}
	out.Message = text.Cut(out.Message, text.MaxField)
	return out
}

// listInconclusive names the first inconclusive cases with their reasons.
func listInconclusive(cs []securityv1alpha1.ProbeCase) string {
	var parts []string
	n := 0
	for _, c := range cs {
		if c.Result != securityv1alpha1.ProbeInconclusive {
			continue
		}
		if n++; n <= 3 {
			parts = append(parts, fmt.Sprintf("%s (%s)", c.Name, text.Cut(c.Reason, 200)))
		}
	}
	out := strings.Join(parts, "; ")
	if n > 3 {
		out += fmt.Sprintf(" and %d more", n-3)
	}
	return out
}

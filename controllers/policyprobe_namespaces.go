package controllers

import (
	"context"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	securityv1alpha1 "github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/kube"
	"github.com/palisade-sec/palisade/internal/probepods"
	"github.com/palisade-sec/palisade/internal/text"
)

// Reasons a case that needs a temporary namespace is Inconclusive.
const (
	ReasonTemporaryNamespaceTaken  = "TemporaryNamespaceTaken"
	ReasonTemporaryNamespaceFailed = "TemporaryNamespaceFailed"
	// ReasonTemporaryNamespaceChanged: something (an admission webhook,
	// a policy engine generating default NetworkPolicies) changed the
	// namespace the cases were planned for.
	ReasonTemporaryNamespaceChanged = "TemporaryNamespaceChanged"
)

// temporaryNamespaceLabels are the labels of the namespaces a probe's runs
// create: Palisade's, and the probe's, to find them again. Case generation
// accounts for them; which run created a namespace is an annotation.
func temporaryNamespaceLabels(pp *securityv1alpha1.PolicyProbe) map[string]string {
	return map[string]string{
		securityv1alpha1.LabelManagedBy: securityv1alpha1.ManagedByValue,
		probepods.LabelProbeNamespace:   pp.Namespace,
		securityv1alpha1.LabelProbe:     labelValue(pp.Name),
	}
}

// isTemporaryNamespace tells a namespace some PolicyProbe created from the
// namespaces it probes.
func isTemporaryNamespace(lbls map[string]string) bool {
	return lbls[securityv1alpha1.LabelManagedBy] == securityv1alpha1.ManagedByValue && lbls[probepods.LabelProbeNamespace] != ""
}

// mayCreateNamespaces tells whether the probe's runs may create
// namespaces: it asks to, and it is in the operator's namespace.
func (r *PolicyProbeReconciler) mayCreateNamespaces(pp *securityv1alpha1.PolicyProbe) bool {
	return pp.Spec.AllowTemporaryNamespaces && pp.Namespace == r.OperatorNamespace
}

// namespacesReady makes sure the temporary namespaces that pending cases
// need exist for this run: it creates those missing, deletes those an
// earlier run of the probe left, and makes the cases of a namespace that
// someone else owns, or that cannot be created, Inconclusive. It returns
// the UIDs of those ready and the names of those to wait for.
func (r *PolicyProbeReconciler) namespacesReady(ctx context.Context, pp *securityv1alpha1.PolicyProbe, rep *securityv1alpha1.ScanReport) (map[string]types.UID, map[string]bool, error) {
	res := rep.Status.Probes
	ready, waiting := map[string]types.UID{}, map[string]bool{}
	own := temporaryNamespaceLabels(pp)
	for _, tmp := range res.TemporaryNamespaces {
		uses := func(c *securityv1alpha1.ProbeCase) bool {
			return c.Source.Namespace == tmp.Name || c.Destination.Namespace == tmp.Name
		}
		if !slices.ContainsFunc(res.Cases, func(c securityv1alpha1.ProbeCase) bool { return c.Result == securityv1alpha1.ProbePending && uses(&c) }) {
			continue
		}
		ns := &corev1.Namespace{}
		err := r.APIReader.Get(ctx, client.ObjectKey{Name: tmp.Name}, ns)
		switch {
		case apierrors.IsNotFound(err):
			waiting[tmp.Name] = true
			if err := r.createNamespace(ctx, rep, tmp, own); err != nil && retryable(err) {
				return nil, nil, err
			} else if err != nil {
				failCases(res.Cases, uses, ReasonTemporaryNamespaceFailed+": "+err.Error())
			}
		case err != nil:
			return nil, nil, fmt.Errorf("getting namespace %s: %w", tmp.Name, err)
		case !ns.DeletionTimestamp.IsZero():
			waiting[tmp.Name] = true // an earlier run's, going away
		case ns.Annotations[probepods.AnnotationReportUID] == string(rep.UID):
			if changed, err := r.changed(ctx, ns, tmp, own); err != nil {
				return nil, nil, err
			} else if changed != "" {
				failCases(res.Cases, uses, fmt.Sprintf("%s: %s since the run created it, so its cases' expectations no longer hold", ReasonTemporaryNamespaceChanged, changed))
				continue
			}
			if ok, err := r.hasDefaultServiceAccount(ctx, ns.Name); err != nil {
				return nil, nil, err
			} else if !ok {
				waiting[tmp.Name] = true
				continue
			}
			ready[tmp.Name] = ns.UID
		case isTemporaryNamespace(ns.Labels) && ns.Labels[probepods.LabelProbeNamespace] == pp.Namespace && ns.Labels[securityv1alpha1.LabelProbe] == own[securityv1alpha1.LabelProbe]:
			waiting[tmp.Name] = true
			if deleted, err := r.deleteNamespace(ctx, ns); err != nil {
				return nil, nil, err
			} else if !deleted {
				delete(waiting, tmp.Name)
				failCases(res.Cases, uses, fmt.Sprintf("%s: namespace %s, which an earlier run created, now holds other pods, so it is neither used nor deleted", ReasonTemporaryNamespaceTaken, tmp.Name))
			}
		default:
			failCases(res.Cases, uses, fmt.Sprintf("%s: namespace %s exists and this PolicyProbe did not create it, so it is neither used nor deleted", ReasonTemporaryNamespaceTaken, tmp.Name))
		}
	}
	return ready, waiting, nil
}

// changed says how a temporary namespace differs from what its cases were
// planned for (its labels, and no NetworkPolicy in it); "" when it does
// not.
func (r *PolicyProbeReconciler) changed(ctx context.Context, ns *corev1.Namespace, tmp securityv1alpha1.ProbeTemporaryNamespace, own map[string]string) (string, error) {
	want := maps.Clone(tmp.Labels)
	if want == nil {
		want = map[string]string{}
	}
	maps.Copy(want, own)
	want[corev1.LabelMetadataName] = ns.Name
	if !maps.Equal(want, ns.Labels) {
		return fmt.Sprintf("namespace %s got other labels (%v, planned %v)", ns.Name, ns.Labels, want), nil
	}
	policies := &metav1.PartialObjectMetadataList{}
	policies.SetGroupVersionKind(networkingv1.SchemeGroupVersion.WithKind("NetworkPolicyList"))
	if err := r.APIReader.List(ctx, policies, client.InNamespace(ns.Name), client.Limit(1)); err != nil {
		return "", fmt.Errorf("listing the NetworkPolicies of namespace %s: %w", ns.Name, err)
	}
	if len(policies.Items) > 0 {
		return fmt.Sprintf("namespace %s got NetworkPolicy %s", ns.Name, policies.Items[0].Name), nil
	}
	return "", nil
}

// hasDefaultServiceAccount tells whether a namespace's default
// ServiceAccount exists: admission refuses pods until it does, even pods
// that mount no token, and a namespace created a moment ago may not have
// it yet.
func (r *PolicyProbeReconciler) hasDefaultServiceAccount(ctx context.Context, namespace string) (bool, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccountList"))
	if err := r.APIReader.List(ctx, list, client.InNamespace(namespace), client.MatchingFields{"metadata.name": "default"}); err != nil {
		return false, fmt.Errorf("listing the default ServiceAccount of namespace %s: %w", namespace, err)
	}
	return len(list.Items) > 0, nil
}

// createNamespace creates a temporary namespace for the run. Errors the
// API server will give again are returned as they are, others as
// retryable.
func (r *PolicyProbeReconciler) createNamespace(ctx context.Context, rep *securityv1alpha1.ScanReport, tmp securityv1alpha1.ProbeTemporaryNamespace, own map[string]string) error {
	lbls := maps.Clone(tmp.Labels)
	if lbls == nil {
		lbls = map[string]string{}
	}
	maps.Copy(lbls, own)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tmp.Name, Labels: lbls, Annotations: map[string]string{
		probepods.AnnotationReport: rep.Name, probepods.AnnotationReportUID: string(rep.UID),
	}}}
	err := r.Create(ctx, ns)
	switch {
	case err == nil:
		log.FromContext(ctx).Info("Created temporary namespace", "namespace", tmp.Name, "report", rep.Name)
		return nil
	case apierrors.IsAlreadyExists(err):
		return nil // looked at again on the next pass
	case apierrors.IsForbidden(err) || apierrors.IsInvalid(err):
		return fmt.Errorf("cannot create namespace %s: %s", tmp.Name, text.Cut(err.Error(), 300))
	default:
		return &retryError{fmt.Errorf("creating namespace %s: %w", tmp.Name, err)}
	}
}

// deleteNamespace deletes a temporary namespace a run created, unless
// something else moved in: a pod Palisade did not make (a namespace of
// that name applied by someone else since, whose labels Palisade's match),
// or the annotation Palisade puts on the namespaces it creates gone.
// deleted is false when it was left alone.
func (r *PolicyProbeReconciler) deleteNamespace(ctx context.Context, ns client.Object) (deleted bool, err error) {
	if ts := ns.GetDeletionTimestamp(); ts != nil && !ts.IsZero() {
		return true, nil
	}
	current := &corev1.Namespace{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(ns), current); err != nil {
		return client.IgnoreNotFound(err) == nil, client.IgnoreNotFound(err)
	}
	if why, err := r.inUse(ctx, current); err != nil || why != "" {
		if why != "" {
			log.FromContext(ctx).Info("Not deleting a temporary namespace: it is in use", "namespace", current.Name, "why", why)
		}
		return false, err
	}
	uid := current.UID
	err = r.Delete(ctx, current, client.Preconditions{UID: &uid})
	if client.IgnoreNotFound(err) != nil && !apierrors.IsConflict(err) {
		return false, fmt.Errorf("deleting temporary namespace %s: %w", current.Name, err)
	}
	log.FromContext(ctx).Info("Deleted temporary namespace", "namespace", current.Name)
	return true, nil
}

// inUse says why a namespace labelled as Palisade's is not only Palisade's
// any more; "" when it is.
func (r *PolicyProbeReconciler) inUse(ctx context.Context, ns *corev1.Namespace) (string, error) {
	if ns.Annotations[probepods.AnnotationReportUID] == "" {
		return "it lacks the annotation Palisade creates it with", nil
	}
	pods := &corev1.PodList{}
	why := ""
	err := kube.ListPages(ctx, r.APIReader, pods, func() error {
		for _, p := range pods.Items {
			if why == "" && p.Labels[securityv1alpha1.LabelManagedBy] != securityv1alpha1.ManagedByValue {
				why = "pod " + p.Name + " is not Palisade's"
			}
		}
		return nil
	}, client.InNamespace(ns.Name))
	if err != nil {
		return "", fmt.Errorf("listing the pods of namespace %s: %w", ns.Name, err)
	}
	return why, nil
}

// cleanupNamespaces deletes the probe's temporary namespaces that its run
// in progress (active, nil when there is none) no longer needs: all of
// them once no run is in progress or the probe is deleted.
func (r *PolicyProbeReconciler) cleanupNamespaces(ctx context.Context, namespace, name string, active *securityv1alpha1.ScanReport) error {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NamespaceList"))
	if err := r.List(ctx, list, client.MatchingLabels{securityv1alpha1.LabelManagedBy: securityv1alpha1.ManagedByValue,
		probepods.LabelProbeNamespace: namespace, securityv1alpha1.LabelProbe: labelValue(name)}); err != nil {
		return fmt.Errorf("listing temporary namespaces: %w", err)
	}
	for i := range list.Items {
		ns := &list.Items[i]
		if active != nil && active.Status.Probes != nil && needed(active.Status.Probes.Cases, ns.Name) {
			continue
		}
		if _, err := r.deleteNamespace(ctx, ns); err != nil {
			return err
		}
	}
	return nil
}

// needed tells whether a pending case has an end in namespace ns.
func needed(cs []securityv1alpha1.ProbeCase, ns string) bool {
	return slices.ContainsFunc(cs, func(c securityv1alpha1.ProbeCase) bool {
		return c.Result == securityv1alpha1.ProbePending && (c.Source.Namespace == ns || c.Destination.Namespace == ns)
	})
}

package scancmd

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-sec/palisade/api/v1alpha1"
	"github.com/palisade-sec/palisade/internal/analyzers/workloads"
	"github.com/palisade-sec/palisade/internal/manifest"
	"github.com/palisade-sec/palisade/internal/scan"
)

// Options choose what Scan reports.
type Options struct {
	// Workloads tune the workload analysis.
	Workloads workloads.Options
	// Analyzers names the analyzers to run (see AnalyzerNames); empty means
	// every analyzer that applies to the objects.
	Analyzers []string
}

// DefaultOptions are the options of `palisade scan` without flags: the
// restricted Pod Security Standards level, kubesec's advice, the analyzers
// that apply.
func DefaultOptions() Options {
	return Options{Workloads: workloads.Options{Level: v1alpha1.PodSecurityRestricted, Advice: true}}
}

// Report is what a scan found, in Palisade's JSON shape.
type Report struct {
	// Summary counts the findings by severity.
	Summary Summary `json:"summary"`
	// Analyzers are the outcomes of the analyzers that ran, in the order
	// they run (AnalyzerNames).
	Analyzers []v1alpha1.AnalyzerResult `json:"analyzers"`
	// Findings are every analyzer's findings, most severe first, then by
	// category, resource and ID, as in a ScanReport.
	Findings []v1alpha1.Finding `json:"findings"`
	// Objects are the objects read, in input order, then the documents
	// that could not be decoded.
	Objects []Object `json:"objects"`
}

// Summary counts the findings by severity.
type Summary struct {
	v1alpha1.SeverityCounts
	Total int32 `json:"total"`
}

// Object statuses in the JSON report.
const (
	statusScored      = "scored"
	statusOwned       = "owned"
	statusAnalyzed    = "analyzed"
	statusUnsupported = "unsupported"
	statusInvalid     = "invalid"
)

// Object is one object or document scanned.
type Object struct {
	// Source is where it was read: "file.yaml#2", "file.yaml#1[3]" for an
	// item of a List, "<stdin>#1".
	Source string `json:"source"`
	// Status is scored, owned (its pod template is scored through Owner),
	// analyzed (no pod template, read by another analyzer that ran: a
	// Role, a NetworkPolicy...), unsupported (no analyzer read it) or
	// invalid (not decoded).
	Status   string                `json:"status"`
	Resource *v1alpha1.ResourceRef `json:"resource,omitempty"`
	// Owner is the controller of an owned object, present in the input.
	Owner *v1alpha1.ResourceRef `json:"owner,omitempty"`
	// Score is the kubesec score of a scored object.
	Score            *int   `json:"score,omitempty"`
	PodSecurityLevel string `json:"podSecurityLevel,omitempty"`
	// Error says why the object was not scored.
	Error   string                  `json:"error,omitempty"`
	kubesec workloads.KubesecResult // the object's entry in -o kubesec
}

// Scan analyzes objs, manifests as manifest.Read decodes them (with their
// apiVersion and kind), offline: it scores each pod template once with
// kubesec's rules and the Pod Security Standards, then runs the selected
// analyzers through scan.Run, as a SecurityScan does, over an in-memory
// cluster holding objs. Bad documents are listed after the objects. The error is for a cancelled ctx or bad Options; an
// analyzer that fails is reported in Report.Analyzers.
func Scan(ctx context.Context, objs []manifest.Object, bad []*manifest.DocumentError, opts Options) (*Report, error) {
	if err := ValidateAnalyzers(opts.Analyzers); err != nil {
		return nil, err
	}
	present := presentObjects(objs)
	objects, scored, err := scoreObjects(ctx, objs, present, opts.Workloads)
	if err != nil {
		return nil, err
	}
	for _, d := range bad {
		objects = append(objects, invalid(d))
	}
	target, err := memoryTarget(objs)
	if err != nil {
		return nil, err
	}
	res := scan.NewResults(math.MaxInt32)
	scan.Run(ctx, target, selectAnalyzers(opts.Analyzers, present, scored), res)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	markAnalyzed(objects, res.Analyzers)
	counts := res.Findings.Counts()
	return &Report{
		Summary:   Summary{SeverityCounts: counts, Total: counts.Total()},
		Analyzers: inRunOrder(res.Analyzers),
		Findings:  res.Findings.Findings(),
		Objects:   objects,
	}, nil
}

// scoreObjects scores each object given on its own, except those whose pod
// template is scored through their controller (present holds the objects),
// and collects the workload findings.
func scoreObjects(ctx context.Context, objs []manifest.Object, present map[objectKey]bool, opts workloads.Options) ([]Object, *scoredWorkloads, error) {
	out := make([]Object, 0, len(objs))
	scored := &scoredWorkloads{}
	for _, o := range objs {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if owner := controllerIn(o.Obj, present); owner != nil {
			out = append(out, owned(o, owner))
			scored.owned++
			continue
		}
		obj, findings, err := analyze(o, opts)
		if err != nil {
			return nil, nil, err
		}
		if obj.Status == statusScored {
			scored.scored++
		}
		scored.findings = append(scored.findings, findings...)
		out = append(out, obj)
	}
	return out, scored, nil
}

// objectKey identifies an object by group, kind, namespace and name.
type objectKey struct {
	schema.GroupKind
	namespace, name string
}

func keyOf(ref v1alpha1.ResourceRef) objectKey {
	gk := schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind).GroupKind()
	return objectKey{gk, ref.Namespace, ref.Name}
}

// presentObjects is the set of objs.
func presentObjects(objs []manifest.Object) map[objectKey]bool {
	present := make(map[objectKey]bool, len(objs))
	for _, o := range objs {
		present[keyOf(workloads.Ref(o.Obj))] = true
	}
	return present
}

// controllerIn returns obj's controller when it is present and scores obj's
// pod template (a Deployment for its ReplicaSets, a ReplicaSet for its Pods,
// see workloads.IsTopLevel), or nil: then obj is scored as given.
func controllerIn(obj client.Object, present map[objectKey]bool) *v1alpha1.ResourceRef {
	if workloads.IsTopLevel(obj) {
		return nil
	}
	c := metav1.GetControllerOfNoCopy(obj)
	ref := v1alpha1.ResourceRef{APIVersion: c.APIVersion, Kind: c.Kind, Namespace: obj.GetNamespace(), Name: c.Name}
	if !present[keyOf(ref)] {
		return nil
	}
	return &ref
}

// owned records an object scored through its controller.
func owned(o manifest.Object, owner *v1alpha1.ResourceRef) Object {
	ref := workloads.Ref(o.Obj)
	return Object{
		Source:   o.Source,
		Status:   statusOwned,
		Resource: &ref,
		Owner:    owner,
		Error:    "its pod template is scored through its controller " + resourceName(*owner),
	}
}

// analyze scores one object; an unsupported kind is an object, not an
// error.
func analyze(o manifest.Object, opts workloads.Options) (Object, []v1alpha1.Finding, error) {
	ref := workloads.Ref(o.Obj)
	res, err := workloads.Analyze(o.Obj, opts)
	if errors.Is(err, workloads.ErrUnsupportedKind) {
		k := workloads.UnsupportedKubesecResult(ref)
		k.FileName = fileName(o.Source)
		return Object{Source: o.Source, Status: statusUnsupported, Resource: &ref, Error: err.Error(), kubesec: k}, nil, nil
	}
	if err != nil {
		return Object{}, nil, fmt.Errorf("%s: %w", o.Source, err)
	}
	res.Kubesec.FileName = fileName(o.Source)
	return Object{
		Source:           o.Source,
		Status:           statusScored,
		Resource:         &res.Resource,
		Score:            &res.Kubesec.Score,
		PodSecurityLevel: res.PodSecurityLevel,
		kubesec:          res.Kubesec,
	}, res.Findings, nil
}

// invalid records a document that could not be decoded; kubesec names such
// objects "Unknown".
func invalid(d *manifest.DocumentError) Object {
	return Object{
		Source: d.Source,
		Status: statusInvalid,
		Error:  d.Err.Error(),
		kubesec: workloads.KubesecResult{
			Object:   "Unknown",
			FileName: fileName(d.Source),
			Message:  d.Err.Error(),
		},
	}
}

// fileName is the file part of a manifest source ("deploy.yaml#2[0]"), as
// kubesec names it: "STDIN" for standard input.
func fileName(source string) string {
	if i := strings.LastIndexByte(source, '#'); i >= 0 {
		source = source[:i]
	}
	if source == "<stdin>" {
		return "STDIN"
	}
	return source
}

// Kubesec is the report as `kubesec scan` prints it: one entry per object
// scored, unsupported or invalid. Owned objects have none, since their pod
// template is their controller's entry.
func (r *Report) Kubesec() []workloads.KubesecResult {
	entries := make([]workloads.KubesecResult, 0, len(r.Objects))
	for _, o := range r.Objects {
		if o.Status != statusOwned {
			entries = append(entries, o.kubesec)
		}
	}
	return entries
}

// FailedAnalyzers lists the analyzers that failed, with their messages.
func (r *Report) FailedAnalyzers() []string {
	var out []string
	for _, a := range r.Analyzers {
		if a.Phase == v1alpha1.AnalyzerFailed {
			out = append(out, a.Name+": "+a.Message)
		}
	}
	return out
}

// scoresAtOrBelow reports whether a scored object's kubesec score is at or
// below limit.
func (r *Report) scoresAtOrBelow(limit int) bool {
	return slices.ContainsFunc(r.Objects, func(o Object) bool { return o.Score != nil && *o.Score <= limit })
}

package kube

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// MemoryReader is a client.Reader over a fixed set of objects, such as the
// manifests given to `palisade scan -f`, so that code written against the
// API server (package scan) runs unchanged on them.
//
// It answers as an API server holding exactly those objects would:
//   - List and Get match objects by group and kind, whatever the version
//     asked for, as an API server serves every object of a kind in each
//     version it serves. Typed objects are converted to the type asked for
//     (typed, or unstructured) through their JSON fields, without version
//     conversion.
//   - A kind client-go's scheme knows (Pods, Roles, NetworkPolicies, ...)
//     is always served: without objects its List is empty. Any other kind
//     is served only when the objects hold one of it; otherwise List and
//     Get return a *meta.NoKindMatchError, as for a CRD that is not
//     installed.
//   - Lists are ordered by namespace and name, honour client.InNamespace,
//     label selectors, field selectors on metadata.name and
//     metadata.namespace, and pagination (client.Limit, client.Continue).
//   - Of two objects with the same group, kind, namespace and name, the
//     later one replaces the earlier.
//
// It is safe for concurrent use: it never modifies the objects it holds
// and hands out copies.
type MemoryReader struct {
	scheme  *runtime.Scheme
	objects map[schema.GroupKind][]client.Object
}

var _ client.Reader = (*MemoryReader)(nil)

// NewMemoryReader holds objs, which the caller must not modify afterwards.
// Typed objects need not carry their TypeMeta when client-go's scheme knows
// their type; unstructured objects must.
func NewMemoryReader(objs []client.Object) (*MemoryReader, error) {
	m := &MemoryReader{scheme: scheme.Scheme, objects: map[schema.GroupKind][]client.Object{}}
	index := map[objectKey]int{}
	for _, obj := range objs {
		gvk, err := m.kindOf(obj)
		if err != nil {
			return nil, err
		}
		key := objectKey{gvk.GroupKind(), obj.GetNamespace(), obj.GetName()}
		if i, dup := index[key]; dup {
			m.objects[key.GroupKind][i] = obj
			continue
		}
		index[key] = len(m.objects[key.GroupKind])
		m.objects[key.GroupKind] = append(m.objects[key.GroupKind], obj)
	}
	for _, list := range m.objects {
		slices.SortFunc(list, func(a, b client.Object) int {
			return cmp.Or(cmp.Compare(a.GetNamespace(), b.GetNamespace()), cmp.Compare(a.GetName(), b.GetName()))
		})
	}
	return m, nil
}

// objectKey identifies an object the way the API server does.
type objectKey struct {
	schema.GroupKind
	Namespace, Name string
}

// Get implements client.Reader.
func (m *MemoryReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	gvk, err := m.kindOf(obj)
	if err != nil {
		return err
	}
	objs, err := m.served(gvk)
	if err != nil {
		return err
	}
	i, found := slices.BinarySearchFunc(objs, key, func(o client.Object, k client.ObjectKey) int {
		return cmp.Or(cmp.Compare(o.GetNamespace(), k.Namespace), cmp.Compare(o.GetName(), k.Name))
	})
	if !found {
		gr := schema.GroupResource{Group: gvk.Group, Resource: strings.ToLower(gvk.Kind)}
		return apierrors.NewNotFound(gr, key.Name)
	}
	out, err := m.convert(objs[i], gvk, obj)
	if err != nil {
		return err
	}
	reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(out).Elem())
	return nil
}

// List implements client.Reader.
func (m *MemoryReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	lo := (&client.ListOptions{}).ApplyOptions(opts)
	gvk, item, err := m.itemOf(list)
	if err != nil {
		return err
	}
	objs, err := m.served(gvk)
	if err != nil {
		return err
	}
	matched, err := filter(objs, lo)
	if err != nil {
		return err
	}
	page, cont, err := paginate(matched, lo.Limit, lo.Continue)
	if err != nil {
		return err
	}
	items := make([]runtime.Object, len(page))
	for i, obj := range page {
		if items[i], err = m.convert(obj, gvk, item); err != nil {
			return err
		}
	}
	if err := meta.SetList(list, items); err != nil {
		return err
	}
	list.SetContinue(cont)
	return nil
}

// served returns the objects of gvk's group and kind, or a NoKindMatchError
// when the kind is not served (see MemoryReader).
func (m *MemoryReader) served(gvk schema.GroupVersionKind) ([]client.Object, error) {
	objs, ok := m.objects[gvk.GroupKind()]
	if !ok && !m.scheme.Recognizes(gvk) {
		return nil, &meta.NoKindMatchError{GroupKind: gvk.GroupKind(), SearchedVersions: []string{gvk.Version}}
	}
	return objs, nil
}

// kindOf is obj's group, version and kind: from the scheme for typed
// objects, from TypeMeta otherwise.
func (m *MemoryReader) kindOf(obj runtime.Object) (schema.GroupVersionKind, error) {
	if _, ok := obj.(runtime.Unstructured); !ok {
		return apiutil.GVKForObject(obj, m.scheme)
	}
	gvk := obj.GetObjectKind().GroupVersionKind()
	if gvk.Kind == "" || gvk.Version == "" {
		return gvk, fmt.Errorf("unstructured %T without apiVersion and kind", obj)
	}
	return gvk, nil
}

// itemOf returns the kind of list's items and an empty item of the type
// list holds.
func (m *MemoryReader) itemOf(list client.ObjectList) (schema.GroupVersionKind, client.Object, error) {
	gvk, err := m.kindOf(list)
	if err != nil {
		return gvk, nil, err
	}
	if !strings.HasSuffix(gvk.Kind, "List") {
		return gvk, nil, fmt.Errorf("%s is not a list kind", gvk.Kind)
	}
	gvk.Kind = strings.TrimSuffix(gvk.Kind, "List")
	if _, ok := list.(*unstructured.UnstructuredList); ok {
		return gvk, &unstructured.Unstructured{}, nil
	}
	obj, err := m.scheme.New(gvk)
	if err != nil {
		return gvk, nil, err
	}
	item, ok := obj.(client.Object)
	if !ok {
		return gvk, nil, fmt.Errorf("%s is not an object", gvk)
	}
	return gvk, item, nil
}

// convert returns a copy of obj of like's Go type: for a typed like of
// another type than obj, of kind gvk.
func (m *MemoryReader) convert(obj client.Object, gvk schema.GroupVersionKind, like client.Object) (runtime.Object, error) {
	if reflect.TypeOf(obj) == reflect.TypeOf(like) {
		return obj.DeepCopyObject(), nil
	}
	fields, err := m.unstructured(obj)
	if err != nil {
		return nil, err
	}
	if _, ok := like.(*unstructured.Unstructured); ok {
		return &unstructured.Unstructured{Object: fields}, nil
	}
	out, err := m.scheme.New(gvk)
	if err != nil {
		return nil, err
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(fields, out); err != nil {
		return nil, fmt.Errorf("%s %s/%s as %s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), gvk.GroupVersion(), err)
	}
	out.GetObjectKind().SetGroupVersionKind(gvk)
	return out, nil
}

// unstructured returns obj's fields with its apiVersion and kind.
func (m *MemoryReader) unstructured(obj client.Object) (map[string]any, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u.DeepCopy().Object, nil
	}
	gvk, err := m.kindOf(obj)
	if err != nil {
		return nil, err
	}
	fields, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: fields}
	u.SetGroupVersionKind(gvk)
	return u.Object, nil
}

// filter keeps the objects in lo's namespace that match its selectors.
func filter(objs []client.Object, lo *client.ListOptions) ([]client.Object, error) {
	if err := checkFieldSelector(lo.FieldSelector); err != nil {
		return nil, err
	}
	var out []client.Object
	for _, obj := range objs {
		switch {
		case lo.Namespace != "" && obj.GetNamespace() != lo.Namespace:
		case lo.LabelSelector != nil && !lo.LabelSelector.Matches(labels.Set(obj.GetLabels())):
		case lo.FieldSelector != nil && !lo.FieldSelector.Matches(objectFields(obj)):
		default:
			out = append(out, obj)
		}
	}
	return out, nil
}

// checkFieldSelector rejects selectors on fields other than the object's
// name and namespace, rather than answer them wrongly.
func checkFieldSelector(sel fields.Selector) error {
	if sel == nil {
		return nil
	}
	for _, r := range sel.Requirements() {
		if !slices.Contains(selectableFields, r.Field) {
			return apierrors.NewBadRequest(fmt.Sprintf("field selector on %q is not supported: only metadata.name and metadata.namespace", r.Field))
		}
	}
	return nil
}

// selectableFields are the fields a field selector may name.
var selectableFields = []string{"metadata.name", "metadata.namespace"}

// objectFields are obj's selectableFields.
func objectFields(obj client.Object) fields.Set {
	return fields.Set{"metadata.name": obj.GetName(), "metadata.namespace": obj.GetNamespace()}
}

// paginate returns the page of objs that cont starts (an offset, "" for the
// first page) and limit bounds (0: no bound), and the token of the next
// page ("" after the last).
func paginate(objs []client.Object, limit int64, cont string) ([]client.Object, string, error) {
	start := 0
	if cont != "" {
		n, err := strconv.Atoi(cont)
		if err != nil || n < 0 || n > len(objs) {
			return nil, "", apierrors.NewBadRequest(fmt.Sprintf("invalid continue token %q", cont))
		}
		start = n
	}
	end := len(objs)
	if limit > 0 && int64(end-start) > limit {
		end = start + int(limit)
	}
	if end == len(objs) {
		return objs[start:end], "", nil
	}
	return objs[start:end], strconv.Itoa(end), nil
}

// Package manifest reads Kubernetes objects from YAML or JSON files:
// multi-document streams, `kind: List` (as `kubectl get -o yaml` writes), and
// single objects. Objects of kinds client-go knows are returned typed; others
// are returned as unstructured so that callers can say they are unsupported.
package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// MaxDocumentBytes bounds one YAML/JSON document.
const MaxDocumentBytes = 8 << 20

// Object is one decoded object and where it came from.
type Object struct {
	// Source is "file.yaml#3" (the document's index in the file, from 1),
	// with "[i]" appended for the i-th item of a List.
	Source string
	// Obj is typed for kinds client-go's scheme knows (Pods, Deployments,
	// NetworkPolicies, Roles, ...), otherwise *unstructured.Unstructured.
	Obj client.Object
}

// DocumentError is a document that could not be decoded.
type DocumentError struct {
	Source string
	Err    error
}

func (e *DocumentError) Error() string { return fmt.Sprintf("%s: %v", e.Source, e.Err) }

func (e *DocumentError) Unwrap() error { return e.Err }

var codecs = serializer.NewCodecFactory(scheme.Scheme)

// Read decodes every document in r. name labels the objects' Source. Bad
// documents are returned as errors beside the good objects; the error return
// is only for a stream that cannot be read at all.
func Read(r io.Reader, name string) ([]Object, []*DocumentError, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReaderSize(r, 64<<10))
	var objs []Object
	var bad []*DocumentError
	for i := 1; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs, bad, nil
		}
		if err != nil {
			return objs, bad, fmt.Errorf("reading %s: %w", name, err)
		}
		src := fmt.Sprintf("%s#%d", name, i)
		if len(doc) > MaxDocumentBytes {
			bad = append(bad, &DocumentError{Source: src, Err: fmt.Errorf("document is %d bytes, over the %d-byte limit", len(doc), MaxDocumentBytes)})
			continue
		}
		if isBlank(doc) {
			continue
		}
		o, b := decodeDocument(doc, src)
		objs = append(objs, o...)
		bad = append(bad, b...)
	}
}

// ReadPaths reads files, directories (every .yaml, .yml and .json file below
// them, in lexical order) and "-" for stdin.
func ReadPaths(paths []string, stdin io.Reader) ([]Object, []*DocumentError, error) {
	var objs []Object
	var bad []*DocumentError
	add := func(r io.Reader, name string) error {
		o, b, err := Read(r, name)
		objs = append(objs, o...)
		bad = append(bad, b...)
		return err
	}
	for _, p := range paths {
		if p == "-" {
			if err := add(stdin, "<stdin>"); err != nil {
				return objs, bad, err
			}
			continue
		}
		files, err := expand(p)
		if err != nil {
			return objs, bad, err
		}
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				return objs, bad, err
			}
			err = add(fh, f)
			fh.Close()
			if err != nil {
				return objs, bad, err
			}
		}
	}
	return objs, bad, nil
}

func expand(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() {
				files = append(files, path)
			}
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

func isBlank(doc []byte) bool {
	for _, line := range bytes.Split(doc, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("---")) {
			return false
		}
	}
	return true
}

func decodeDocument(doc []byte, src string) ([]Object, []*DocumentError) {
	jsonDoc, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, []*DocumentError{{Source: src, Err: fmt.Errorf("not valid YAML or JSON: %w", err)}}
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(jsonDoc); err != nil {
		return nil, []*DocumentError{{Source: src, Err: fmt.Errorf("not a Kubernetes object: %w", err)}}
	}
	if u.IsList() {
		list, err := u.ToList()
		if err != nil {
			return nil, []*DocumentError{{Source: src, Err: fmt.Errorf("reading list: %w", err)}}
		}
		var objs []Object
		var bad []*DocumentError
		for i := range list.Items {
			itemSrc := fmt.Sprintf("%s[%d]", src, i)
			o, err := typed(&list.Items[i])
			if err != nil {
				bad = append(bad, &DocumentError{Source: itemSrc, Err: err})
				continue
			}
			objs = append(objs, Object{Source: itemSrc, Obj: o})
		}
		return objs, bad
	}
	o, err := typed(u)
	if err != nil {
		return nil, []*DocumentError{{Source: src, Err: err}}
	}
	return []Object{{Source: src, Obj: o}}, nil
}

// typed converts u to client-go's type for its kind, or returns u itself
// when the kind is not one client-go knows.
func typed(u *unstructured.Unstructured) (client.Object, error) {
	gvk := u.GroupVersionKind()
	if gvk.Kind == "" {
		return nil, errors.New("object has no kind")
	}
	if gvk.Version == "" {
		return nil, fmt.Errorf("%s has no apiVersion", gvk.Kind)
	}
	if !scheme.Scheme.Recognizes(gvk) {
		return u, nil
	}
	data, err := u.MarshalJSON()
	if err != nil {
		return nil, err
	}
	obj, _, err := codecs.UniversalDeserializer().Decode(data, &gvk, nil)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", gvk.Kind, u.GetName(), err)
	}
	co, ok := obj.(client.Object)
	if !ok {
		return nil, fmt.Errorf("%s is not an object", gvk.Kind)
	}
	co.GetObjectKind().SetGroupVersionKind(gvk)
	return co, nil
}

var _ runtime.Object = (*unstructured.Unstructured)(nil)

// Command imagebuild builds a single-layer container image from local files,
// without Docker, and writes it as a docker-archive tarball (which
// `ctr images import` and `docker load` both read). hack/image/build.sh uses
// it for Palisade's image, the kube-bench image, the e2e tools image and the
// local cluster's pause image.
//
//	imagebuild -tag localhost/palisade:dev -out palisade.tar \
//	  -add bin/palisade:/palisade -user 65532:65532 -entrypoint /palisade
//
// The layer is reproducible: entries are sorted, owned by root, and carry a
// fixed modification time. /etc/passwd and /etc/group (root and nonroot,
// 65532) are written unless -add provides them.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// epoch is the modification time of every entry and the image's creation
// time, so that the same inputs give the same image digest.
var epoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

// entry is one file, directory or symlink of the layer.
type entry struct {
	mode   int64
	typ    byte
	src    string // file contents come from here
	data   []byte // or from here
	target string // symlink target
}

func main() {
	var adds, dirs, links, envs, entrypoint, cmd list
	tag := flag.String("tag", "", "image reference, e.g. localhost/palisade:dev")
	out := flag.String("out", "", "docker-archive tarball to write")
	user := flag.String("user", "", "user[:group] the image runs as")
	workdir := flag.String("workdir", "/", "working directory")
	flag.Var(&adds, "add", "SRC:DST[:MODE] a file, or a directory copied recursively (repeatable)")
	flag.Var(&dirs, "dir", "DST[:MODE] an empty directory (repeatable)")
	flag.Var(&links, "symlink", "LINK=TARGET a symbolic link (repeatable)")
	flag.Var(&envs, "env", "KEY=VALUE in the image's environment (repeatable)")
	flag.Var(&entrypoint, "entrypoint", "one entrypoint argument (repeatable)")
	flag.Var(&cmd, "cmd", "one default argument (repeatable)")
	flag.Parse()
	if *tag == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: imagebuild -tag REF -out FILE [-add SRC:DST[:MODE]]... [-entrypoint ARG]...")
		os.Exit(2)
	}
	entries := map[string]*entry{}
	err := collect(entries, adds, dirs, links)
	if err == nil {
		err = build(entries, *tag, *out, v1.Config{
			Entrypoint: entrypoint,
			Cmd:        cmd,
			Env:        envs,
			WorkingDir: *workdir,
			User:       *user,
		})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
}

func collect(entries map[string]*entry, adds, dirs, links []string) error {
	for _, a := range adds {
		parts := strings.Split(a, ":")
		if len(parts) < 2 || len(parts) > 3 {
			return fmt.Errorf("-add %q: want SRC:DST[:MODE]", a)
		}
		mode := int64(-1)
		if len(parts) == 3 {
			m, err := strconv.ParseInt(parts[2], 8, 32)
			if err != nil {
				return fmt.Errorf("-add %q: %w", a, err)
			}
			mode = m
		}
		if err := addPath(entries, parts[0], clean(parts[1]), mode); err != nil {
			return err
		}
	}
	for _, d := range dirs {
		dst, mode := d, int64(0o755)
		if i := strings.LastIndex(d, ":"); i > 0 {
			m, err := strconv.ParseInt(d[i+1:], 8, 32)
			if err != nil {
				return fmt.Errorf("-dir %q: %w", d, err)
			}
			dst, mode = d[:i], m
		}
		entries[clean(dst)] = &entry{typ: tar.TypeDir, mode: mode}
	}
	for _, l := range links {
		link, target, ok := strings.Cut(l, "=")
		if !ok {
			return fmt.Errorf("-symlink %q: want LINK=TARGET", l)
		}
		entries[clean(link)] = &entry{typ: tar.TypeSymlink, mode: 0o777, target: target}
	}
	if _, ok := entries["etc/passwd"]; !ok {
		entries["etc/passwd"] = &entry{typ: tar.TypeReg, mode: 0o644, data: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")}
	}
	if _, ok := entries["etc/group"]; !ok {
		entries["etc/group"] = &entry{typ: tar.TypeReg, mode: 0o644, data: []byte("root:x:0:\nnonroot:x:65532:\n")}
	}
	// Every parent directory gets an entry of its own.
	for p := range entries {
		for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
			if _, ok := entries[d]; !ok {
				entries[d] = &entry{typ: tar.TypeDir, mode: 0o755}
			}
		}
	}
	return nil
}

// addPath adds a file, a symlink or a whole directory tree at dst.
func addPath(entries map[string]*entry, src, dst string, mode int64) error {
	info, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return addOne(entries, src, dst, info, mode)
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return addOne(entries, p, clean(path.Join(dst, filepath.ToSlash(rel))), info, -1)
	})
}

func addOne(entries map[string]*entry, src, dst string, info fs.FileInfo, mode int64) error {
	if mode < 0 {
		mode = int64(info.Mode().Perm())
	}
	switch {
	case info.IsDir():
		entries[dst] = &entry{typ: tar.TypeDir, mode: mode}
	case info.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		entries[dst] = &entry{typ: tar.TypeSymlink, mode: 0o777, target: target}
	case info.Mode().IsRegular():
		entries[dst] = &entry{typ: tar.TypeReg, mode: mode, src: src}
	default:
		return fmt.Errorf("%s: not a regular file, directory or symlink", src)
	}
	return nil
}

// clean turns an image path into the relative form tar entries use.
func clean(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

func build(entries map[string]*entry, tag, out string, cfg v1.Config) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	layerTar, err := layer(entries)
	if err != nil {
		return err
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.Architecture = runtime.GOARCH
	cf.OS = "linux"
	cf.Created = v1.Time{Time: epoch}
	cf.Config = cfg
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := tarball.WriteToFile(tmp, ref, img); err != nil {
		return errors.Join(err, os.Remove(tmp))
	}
	return os.Rename(tmp, out)
}

func layer(entries map[string]*entry) ([]byte, error) {
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		e := entries[n]
		hdr := &tar.Header{Name: n, Mode: e.mode, Typeflag: e.typ, ModTime: epoch, Format: tar.FormatPAX}
		var data []byte
		switch e.typ {
		case tar.TypeDir:
			hdr.Name += "/"
		case tar.TypeSymlink:
			hdr.Linkname = e.target
		case tar.TypeReg:
			data = e.data
			if e.src != "" {
				b, err := os.ReadFile(e.src)
				if err != nil {
					return nil, err
				}
				data = b
			}
			hdr.Size = int64(len(data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

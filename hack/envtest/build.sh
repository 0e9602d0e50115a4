#!/usr/bin/env bash
# Builds the envtest control plane (kube-apiserver, etcd) from the Go module
# proxy, for machines where setup-envtest cannot download its tarballs.
# Usage: hack/envtest/build.sh <dest-dir>
# The binaries are cached: an existing, matching binary is not rebuilt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:?usage: build.sh DEST}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
k8s_version=v1.37.2
stamp="$dest/.built"
want="kube-apiserver=$k8s_version etcd=$(awk '/etcd\/server/ {print $2}' "$here/etcd/go.mod")"
if [[ -x $dest/kube-apiserver && -x $dest/etcd && -f $stamp && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=37"
done
echo "Building etcd into $dest (once; cached afterwards)" >&2
(cd "$here/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dest/etcd" .)
echo "Building kube-apiserver $k8s_version into $dest (about 4 minutes on 2 cores, once)" >&2
(cd "$here/apiserver" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$dest/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)
echo "$want" > "$stamp"

#!/usr/bin/env bash
# Puts kube-apiserver and etcd for envtest into DEST. It tries setup-envtest's
# download first; on an air-gapped machine (no release bucket reachable) it
# builds them from the Go module proxy instead (hack/envtest/build.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:?usage: get.sh DEST}
if [[ -x $dest/kube-apiserver && -x $dest/etcd ]]; then
  exit 0
fi
mkdir -p "$dest"
bin=$(cd "$dest/.." && pwd)
if [[ -z ${PALISADE_ENVTEST_BUILD:-} ]]; then
  if [[ ! -x $bin/setup-envtest ]]; then
    GOBIN=$bin go install sigs.k8s.io/controller-runtime/tools/setup-envtest@latest >/dev/null 2>&1 || true
  fi
  if [[ -x $bin/setup-envtest ]]; then
    if dir=$(timeout 60 "$bin/setup-envtest" use 1.37.x --bin-dir "$bin/setup-envtest-cache" -p path 2>/dev/null) && [[ -x $dir/kube-apiserver ]]; then
      cp "$dir/kube-apiserver" "$dir/etcd" "$dest/"
      exit 0
    fi
  fi
  echo "setup-envtest could not download the envtest binaries; building them from the Go module proxy" >&2
fi
exec "$here/build.sh" "$dest"

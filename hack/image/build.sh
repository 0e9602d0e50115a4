#!/usr/bin/env bash
# Builds container images without Docker (go-containerregistry, see
# main.go) as docker-archive tarballs in bin/images/, and loads them into the
# local cluster's containerd when it is running (hack/local-cluster).
#
#   hack/image/build.sh [palisade|kube-bench|e2e-tools]...   (default: all three)
#
#   palisade    $IMG (localhost/palisade:dev): the static palisade binary,
#               non-root (65532), no shell.
#   kube-bench  $KUBE_BENCH_IMG (localhost/kube-bench:v0.15.6): kube-bench built
#               from the Go module proxy, its cfg/ from the module, a static
#               busybox (Debian busybox-static) for the shell tools its audits
#               run, and GNU ps (busybox's lacks -C) with its libraries.
#   e2e-tools   $E2E_TOOLS_IMG (localhost/palisade-e2e-tools:dev): busybox
#               only, for the end-to-end tests' client and server pods.
#
# LOAD=0 builds without loading. `make docker-build` (the Dockerfile) stays
# the way to build Palisade's image for users who have Docker.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${LC_IMAGES:-$repo/bin/images}
IMG=${IMG:-localhost/palisade:dev}
KUBE_BENCH_IMG=${KUBE_BENCH_IMG:-localhost/kube-bench:v0.15.6}
E2E_TOOLS_IMG=${E2E_TOOLS_IMG:-localhost/palisade-e2e-tools:dev}
kube_bench_version=v0.15.6
work=$out/work
mkdir -p "$work"
export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"

log() { printf 'image: %s\n' "$*" >&2; }

(cd "$here" && go build -trimpath -ldflags "-s -w" -o "$work/imagebuild" .)
imagebuild() { "$work/imagebuild" "$@"; }

# busybox_static puts Debian's static busybox at $work/busybox (the .deb
# is kept, so this runs apt-get once).
busybox_static() {
  [[ -x $work/busybox ]] && return 0
  local deb
  deb=$(ls "$work"/busybox-static_*.deb 2>/dev/null | head -1 || true)
  if [[ -z $deb ]]; then
    command -v apt-get >/dev/null || { log "busybox-static needs apt-get (Debian)"; exit 1; }
    (cd "$work" && { apt-get download -q busybox-static >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 && apt-get download -q busybox-static >/dev/null; }; })
    deb=$(ls "$work"/busybox-static_*.deb | head -1)
  fi
  rm -rf "$work/busybox-deb"
  dpkg-deb -x "$deb" "$work/busybox-deb"
  cp "$work/busybox-deb/bin/busybox" "$work/busybox"
  rm -rf "$work/busybox-deb"
}

# busybox_args prints imagebuild arguments for busybox and a symlink per
# applet, except SKIP (a space-separated list of applet names).
busybox_args() {
  local skip=" $1 " applet
  echo "-add=$work/busybox:/bin/busybox:0755"
  for applet in $("$work/busybox" --list-full); do
    [[ $skip == *" ${applet##*/} "* || $applet == bin/busybox ]] && continue
    echo "-symlink=/$applet=/bin/busybox"
  done
}

build_palisade() {
  log "building $IMG"
  (cd "$repo" && go build -trimpath -ldflags "-s -w" -o "$work/palisade" .)
  imagebuild -tag "$IMG" -out "$out/palisade.tar" \
    -add "$work/palisade:/palisade:0755" -dir /tmp:1777 \
    -user 65532:65532 -entrypoint /palisade
}

build_kube_bench() {
  log "building $KUBE_BENCH_IMG"
  busybox_static
  local mod src
  mod=$here/kube-bench
  (cd "$mod" && go build -trimpath \
    -ldflags "-s -w -X github.com/aquasecurity/kube-bench/cmd.KubeBenchVersion=$kube_bench_version" \
    -o "$work/kube-bench" github.com/aquasecurity/kube-bench)
  src=$(cd "$mod" && go list -m -f '{{.Dir}}' github.com/aquasecurity/kube-bench)
  rm -rf "$work/kube-bench-cfg"
  cp -r "$src/cfg" "$work/kube-bench-cfg"
  chmod -R u+w,go+rX "$work/kube-bench-cfg"

  # GNU ps and the shared libraries it loads, at the paths it loads them from.
  local ps_args=() lib
  command -v ldd >/dev/null && [[ -x /usr/bin/ps ]] || { log "GNU ps needs procps and ldd (libc-bin)"; exit 1; }
  ps_args+=("-add=/usr/bin/ps:/bin/ps:0755")
  for lib in $(ldd /usr/bin/ps | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
    ps_args+=("-add=$(readlink -f "$lib"):$lib:0755")
  done

  # shellcheck disable=SC2046
  imagebuild -tag "$KUBE_BENCH_IMG" -out "$out/kube-bench.tar" \
    -add "$work/kube-bench:/usr/local/bin/kube-bench:0755" \
    -add "$work/kube-bench-cfg:/opt/kube-bench/cfg" \
    $(busybox_args ps) "${ps_args[@]}" -dir /tmp:1777 \
    -env PATH=/usr/local/mount-from-host/bin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    -workdir /opt/kube-bench -entrypoint /usr/local/bin/kube-bench
}

build_e2e_tools() {
  log "building $E2E_TOOLS_IMG"
  busybox_static
  # shellcheck disable=SC2046
  imagebuild -tag "$E2E_TOOLS_IMG" -out "$out/e2e-tools.tar" \
    $(busybox_args "") -dir /tmp:1777 -env PATH=/usr/sbin:/usr/bin:/sbin:/bin -cmd /bin/sh
}

targets=("$@")
((${#targets[@]})) || targets=(palisade kube-bench e2e-tools)
tars=()
for t in "${targets[@]}"; do
  case $t in
    palisade) build_palisade ;;
    kube-bench) build_kube_bench ;;
    e2e-tools) build_e2e_tools ;;
    *)
      log "unknown image $t (palisade, kube-bench, e2e-tools)"
      exit 2
      ;;
  esac
  tars+=("$out/$t.tar")
done
log "wrote ${tars[*]}"

if [[ ${LOAD:-1} != 0 ]]; then
  if [[ -S ${LC_STATE:-/var/lib/palisade-lc}/containerd/containerd.sock ]]; then
    "$repo/hack/local-cluster/cluster.sh" load "${tars[@]}"
  else
    log "the local cluster is not running: not loaded (make cluster-up, then make image)"
  fi
fi

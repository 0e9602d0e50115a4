#!/usr/bin/env bash
# `make e2e`: Palisade's end-to-end tests on a real single-node cluster.
#
#  1. skips (exit 0, with the reason) where the cluster cannot run: not Linux,
#     not root, or a missing kernel feature;
#  2. installs the Debian packages it needs, builds the cluster's binaries and
#     the images (cached under ./bin; ~10-15 minutes from an empty Go build
#     cache on 2 cores, seconds when cached);
#  3. starts a fresh cluster, loads the images, runs test/e2e (Ginkgo), then
#     restarts the cluster once more to time a warm bring-up;
#  4. always tears the cluster down (E2E_KEEP_CLUSTER=1 leaves it running),
#     prints diagnostics on failure, and prints the measured figures.
#
# Environment: KUSTOMIZE (default ./bin/kustomize), E2E_GO_TEST_FLAGS (extra
# `go test` flags, e.g. -ginkgo.focus=NetworkPolicy), LC_STATE and LC_BIN
# (see cluster.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cluster=$here/cluster.sh
export LC_STATE=${LC_STATE:-/var/lib/palisade-lc}
figures=$(mktemp "${TMPDIR:-/tmp}/palisade-e2e-figures.XXXXXX")

say() { printf 'e2e: %s\n' "$*" >&2; }

if ! why=$("$cluster" check 2>&1); then
  say "SKIPPED: this machine cannot run the local cluster: $(echo $why)"
  say "(the end-to-end tests need Linux, root, veth/bridge/overlay and br_netfilter; make test does not)"
  rm -f "$figures"
  exit 0
fi

# One run at a time on a machine, from whichever checkout: the cluster's
# addresses and paths are fixed. cluster.sh takes the same lock for up/down
# unless PALISADE_LC_LOCKED says this run already holds it.
exec 9>"${PALISADE_LC_LOCK:-/run/palisade-local-cluster.lock}"
flock -w 3600 9 || { say "another run holds the local cluster's lock"; exit 1; }
export PALISADE_LC_LOCKED=1

started=0
finish() {
  local rc=$?
  set +e
  if ((rc != 0 && started)); then
    say "FAILED (exit $rc): cluster diagnostics follow"
    "$cluster" diag >&2
  fi
  if ((started)) && [[ ${E2E_KEEP_CLUSTER:-} != 1 ]]; then
    "$cluster" down
  fi
  if [[ -s $figures ]]; then
    echo
    echo "===== e2e figures"
    cat "$figures"
  fi
  rm -f "$figures"
  exit $rc
}
trap finish EXIT
trap 'exit 130' INT TERM

figure() { echo "$1: $2" >> "$figures"; }

export KUSTOMIZE=${KUSTOMIZE:-$repo/bin/kustomize}
make -s -C "$repo" kustomize KUSTOMIZE="$KUSTOMIZE"

binaries=$( [[ -x ${LC_BIN:-$repo/bin/local-cluster}/kubelet ]] && echo "already in bin/" || echo "bin/ empty" )
t=$SECONDS
"$here/build.sh"
figure "cluster binaries build ($binaries)" "$((SECONDS - t))s"

t=$SECONDS
IMG=localhost/palisade:dev LOAD=0 "$repo/hack/image/build.sh"
figure "images build (palisade, kube-bench, e2e-tools)" "$((SECONDS - t))s"

started=1
t=$SECONDS
"$cluster" up
figure "cluster bring-up, first start after build (to node Ready)" "$(cat "$LC_STATE/startup-seconds")s ($((SECONDS - t))s with cleanup and checks)"

say "running test/e2e"
t=$SECONDS
# shellcheck disable=SC2086
(cd "$repo" && PALISADE_E2E_KUBECONFIG=$LC_STATE/kubeconfig PALISADE_E2E_CLUSTER=$cluster \
  PALISADE_E2E_KUSTOMIZE=$KUSTOMIZE PALISADE_E2E_FIGURES=$figures \
  go test ./test/e2e/ -count=1 -timeout 30m -v -ginkgo.v ${E2E_GO_TEST_FLAGS:-})
figure "e2e suite" "$((SECONDS - t))s"
figure "cluster RSS after the suite (every process in its cgroups, pods included)" "$("$cluster" rss)"

# A warm bring-up: everything built, a fresh state directory.
"$cluster" down
t=$SECONDS
"$cluster" up
figure "cluster bring-up, warm (down, then up to node Ready)" "$(cat "$LC_STATE/startup-seconds")s ($((SECONDS - t))s with cleanup and checks)"

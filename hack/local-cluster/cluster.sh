#!/usr/bin/env bash
# A real single-node Kubernetes cluster without Docker (root, Linux): etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler and kubelet
# (k8s.io/kubernetes v1.37), containerd 2.x, runc and the CNI plugins from
# Debian, and kube-router as the NetworkPolicy enforcer. See
# README.md beside this file.
#
#   cluster.sh up             clear leftovers, build (cached), start, wait for a Ready node,
#                             load the images in bin/images (hack/image/build.sh)
#   cluster.sh down           stop and remove everything `up` created; safe to run twice
#   cluster.sh status         what is running
#   cluster.sh load TAR...    import docker-archive tarballs into the cluster's containerd
#   cluster.sh enforcer stop  stop kube-router and remove its iptables rules and ipsets
#   cluster.sh enforcer start start kube-router again
#   cluster.sh diag           component log tails, nodes, pods, events (for failures)
#   cluster.sh rss            resident memory of every process in the cluster, containers included
#   cluster.sh check          exit 3 with the reason when this machine cannot run it
#
# Everything lives in LC_STATE (default /var/lib/palisade-lc): data, logs,
# sockets, mounts, kubeconfig ($LC_STATE/kubeconfig). Processes listen on
# loopback, on the node IP of a veth pair the script creates, or on the pod
# bridge; all processes run in the cgroup tree LC_CGROUP (default
# /palisade-lc), which is how `down` finds every one of them, containers
# included.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

LC_STATE=${LC_STATE:-/var/lib/palisade-lc}
LC_BIN=${LC_BIN:-$repo/bin/local-cluster}
LC_CGROUP=${LC_CGROUP:-palisade-lc}
LC_IMAGES=${LC_IMAGES:-$repo/bin/images}
node=palisade-node
node_ip=10.254.254.1
node_if=plc-node    # holds the node IP; its peer is plc-peer
bridge=plc-br0
pod_cidr=10.244.0.0/24
pod_gw=10.244.0.1
cluster_cidr=10.244.0.0/16
service_cidr=10.96.0.0/16
service_ip=10.96.0.1
etcd_port=23790
etcd_peer_port=23800
api_port=6443
pause_image=localhost/pause:lc
k8s_packages=(runc containernetworking-plugins ipset iptables)

pki=$LC_STATE/pki
logs=$LC_STATE/logs
run=$LC_STATE/run
kubeconfig=$LC_STATE/kubeconfig
ctr_sock=$LC_STATE/containerd/containerd.sock
# Host paths that the kubelet, containerd or CNI create outside LC_STATE
# whatever they are told; `down` removes those that did not exist before `up`.
host_paths=(/var/lib/kubelet /var/log/containers /var/log/pods /var/lib/cni /etc/cdi /run/cdi /var/run/cdi
  /run/containerd /var/lib/containerd /etc/containerd /opt/containerd /run/netns /etc/kubernetes /run/mount
  /usr/libexec/kubernetes)
# kube-router's iptables chains and ipsets.
router_chains='^(KUBE-ROUTER-|KUBE-NWPLCY-|KUBE-POD-FW-|KUBE-SRC-|KUBE-DST-)'

log() { printf 'local-cluster: %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}
kubectl() { "$LC_BIN/kubectl" --kubeconfig "$kubeconfig" --cache-dir "$LC_STATE/kubectl-cache" "$@"; }
ctr() { "$LC_BIN/ctr" --address "$ctr_sock" --namespace k8s.io "$@"; }

# ---------------------------------------------------------------- checks

# check prints why this machine cannot run the cluster, and fails, or
# succeeds silently.
check() {
  local why=()
  [[ $(uname -s) == Linux ]] || why+=("not Linux")
  ((EUID == 0)) || why+=("not root (the cluster needs to create interfaces, mounts, cgroups and iptables rules)")
  if [[ $(uname -s) == Linux ]]; then
    grep -qw overlay /proc/filesystems || why+=("no overlay filesystem in the kernel")
    [[ -d /sys/fs/cgroup ]] || why+=("no cgroup filesystem")
    [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] || modprobe br_netfilter 2>/dev/null ||
      [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] || why+=("no br_netfilter (net.bridge.bridge-nf-call-iptables)")
    if ((EUID == 0)); then
      if ip link add plc-probe0 type veth peer name plc-probe1 2>/dev/null; then
        ip link del plc-probe0 2>/dev/null || true
      else
        why+=("cannot create veth interfaces")
      fi
    fi
  fi
  if ((${#why[@]})); then
    printf '%s\n' "${why[@]}"
    return 3
  fi
}

# ensure_packages installs the Debian packages the cluster uses, if missing.
ensure_packages() {
  local missing=()
  [[ -x /usr/sbin/runc ]] || missing+=(runc)
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || missing+=(containernetworking-plugins)
  command -v ipset >/dev/null || missing+=(ipset)
  command -v iptables >/dev/null || missing+=(iptables)
  ((${#missing[@]})) || return 0
  command -v apt-get >/dev/null || die "missing ${missing[*]} (install: ${k8s_packages[*]})"
  log "installing ${missing[*]} (apt-get)"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >"${TMPDIR:-/tmp}/lc-apt.log" 2>&1; then
    apt-get update -q >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >"${TMPDIR:-/tmp}/lc-apt.log" 2>&1 ||
      die "apt-get install ${missing[*]} failed: see ${TMPDIR:-/tmp}/lc-apt.log"
  fi
}

# ---------------------------------------------------------------- cgroups

# cgroup_roots lists every cgroup hierarchy's mount point (v1 controllers,
# named hierarchies and the v2 unified one).
cgroup_roots() { awk '$3 == "cgroup" || $3 == "cgroup2" {print $2}' /proc/self/mounts | sort -u; }

# track_dir is where the harness's own processes go: the pids hierarchy on
# cgroup v1, the unified hierarchy on v2. Its children (containerd's shims)
# follow them there; the kubelet puts pods under $LC_CGROUP/kubepods.
track_dir() {
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    echo "/sys/fs/cgroup/$LC_CGROUP/harness"
  else
    echo "/sys/fs/cgroup/pids/$LC_CGROUP/harness"
  fi
}

setup_cgroups() {
  local root
  for root in $(cgroup_roots); do
    [[ $root == /sys/fs/cgroup/unified ]] && continue # hybrid mode: the kubelet uses v1
    mkdir -p "$root/$LC_CGROUP"
    if [[ -f $root/cpuset.cpus ]]; then
      # A new v1 cpuset has no CPUs or memory nodes until it is given some.
      [[ -n $(cat "$root/$LC_CGROUP/cpuset.cpus") ]] || cat "$root/cpuset.cpus" > "$root/$LC_CGROUP/cpuset.cpus"
      [[ -n $(cat "$root/$LC_CGROUP/cpuset.mems") ]] || cat "$root/cpuset.mems" > "$root/$LC_CGROUP/cpuset.mems"
    fi
  done
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    # cgroup v2: hand the controllers down to the kubelet's subtree.
    local c
    for c in $(cat /sys/fs/cgroup/cgroup.subtree_control); do
      echo "+$c" > "/sys/fs/cgroup/$LC_CGROUP/cgroup.subtree_control" 2>/dev/null || true
    done
  fi
  mkdir -p "$(track_dir)"
}

# cgroup_pids lists every process in the cluster's cgroup trees.
cgroup_pids() {
  local root
  for root in $(cgroup_roots); do
    [[ -d $root/$LC_CGROUP ]] || continue
    find "$root/$LC_CGROUP" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -un
}

remove_cgroups() {
  local root
  for root in $(cgroup_roots); do
    [[ -d $root/$LC_CGROUP ]] || continue
    find "$root/$LC_CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [[ ! -d $root/$LC_CGROUP ]] || log "could not remove cgroup $root/$LC_CGROUP"
  done
}

# ---------------------------------------------------------------- processes

# start NAME CMD...: runs CMD detached, in the tracking cgroup, with its
# output in $logs/NAME.log and its pid in $run/NAME.pid.
start() {
  local name=$1
  shift
  local cg
  cg=$(track_dir)
  (
    echo "$BASHPID" > "$cg/cgroup.procs"
    exec setsid "$@"
  ) >>"$logs/$name.log" 2>&1 </dev/null &
  echo $! > "$run/$name.pid"
}

pid_of() { [[ -f $run/$1.pid ]] && cat "$run/$1.pid"; }
alive() {
  local pid
  pid=$(pid_of "$1") && [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

# stop_proc NAME: TERM, then KILL after a few seconds.
stop_proc() {
  local pid i
  pid=$(pid_of "$1") || return 0
  if kill -TERM "$pid" 2>/dev/null; then
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$run/$1.pid"
}

# stray_pids lists processes started from the cluster's binaries that are
# not (or no longer) in its cgroups.
stray_pids() {
  local p exe
  for p in /proc/[0-9]*; do
    exe=$(readlink "$p/exe" 2>/dev/null) || continue
    [[ $exe == "$LC_BIN"/* ]] && echo "${p#/proc/}"
  done
  return 0
}

kill_all() {
  local i pids
  for ((i = 0; i < 50; i++)); do
    pids=$( (cgroup_pids; stray_pids) | grep -vx "$$" | sort -un || true)
    [[ -n $pids ]] || return 0
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.2
  done
  log "processes still running: $(echo $pids)"
}

# ---------------------------------------------------------------- mounts, network, host state

unmount_all() {
  local i mnts m
  for ((i = 0; i < 10; i++)); do
    # Deepest first; mountinfo escapes spaces as \040.
    mnts=$(awk -v s="$LC_STATE" '$5 == s || index($5, s "/") == 1 {print $5}' /proc/self/mountinfo | sort -r)
    [[ -n $mnts ]] || return 0
    for m in $mnts; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
  done
  log "mounts left under $LC_STATE: $(echo $mnts)"
}

remove_links() {
  local l
  # Pod veths on the bridge go away with their network namespaces; any left
  # behind go with the bridge's ports.
  for l in $(ip -o link show master "$bridge" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link del "$l" 2>/dev/null || true
  done
  for l in "$bridge" "$node_if"; do
    ip link del "$l" 2>/dev/null || true
  done
}

# iptables_cleanup PATTERN: deletes the rules that jump to chains matching
# PATTERN and the chains themselves, in every table, for iptables and
# ip6tables (nft and legacy back ends).
iptables_cleanup() {
  local pattern=$1 tool table rules
  for tool in iptables ip6tables iptables-legacy ip6tables-legacy; do
    command -v "$tool-save" >/dev/null || continue
    # Reading a legacy table instantiates it: look only at existing ones.
    [[ $tool != iptables-legacy || -s /proc/net/ip_tables_names ]] || continue
    [[ $tool != ip6tables-legacy || -s /proc/net/ip6_tables_names ]] || continue
    for table in filter nat mangle raw; do
      rules=$("$tool-save" -t "$table" 2>/dev/null) || continue
      local script
      script=$(awk -v pat="$pattern" -v table="$table" '
        /^:/ { name = substr($1, 2); if (name ~ pat) chains[++n] = name; next }
        /^-A / {
          for (i = 1; i < NF; i++) if (($i == "-j" || $i == "-g") && $(i+1) ~ pat) { sub(/^-A /, "-D "); rules[++m] = $0; break }
        }
        END {
          if (n == 0 && m == 0) exit
          print "*" table
          for (i = 1; i <= m; i++) print rules[i]
          for (i = 1; i <= n; i++) print "-F " chains[i]
          for (i = 1; i <= n; i++) print "-X " chains[i]
          print "COMMIT"
        }' <<<"$rules")
      [[ -n $script ]] || continue
      "$tool-restore" --noflush <<<"$script" 2>/dev/null || log "$tool: could not remove chains matching $pattern in $table"
    done
  done
}

ipset_cleanup() {
  command -v ipset >/dev/null || return 0
  local s
  for s in $(ipset list -n 2>/dev/null | grep -E '^(inet6:)?(KUBE-|kube-router)' || true); do
    ipset destroy "$s" 2>/dev/null || log "could not destroy ipset $s"
  done
}

# save_host_state records what `down` must restore: sysctls and whether the
# host paths existed. It keeps an earlier record (an earlier run that was
# never torn down changed them already).
save_host_state() {
  local f=$LC_STATE/host-state p
  [[ -f $f ]] && return 0
  {
    echo "ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"
    echo "bridge_nf_call_iptables=$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo 0)"
    for p in "${host_paths[@]}"; do
      [[ -e $p || -L $p ]] && echo "existed=$p"
    done
  } > "$f.tmp"
  mv "$f.tmp" "$f"
}

restore_host_state() {
  local f=$LC_STATE/host-state p line
  [[ -f $f ]] || return 0
  while IFS= read -r line; do
    case $line in
      ip_forward=*) echo "${line#*=}" > /proc/sys/net/ipv4/ip_forward ;;
      bridge_nf_call_iptables=*) [[ ! -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] ||
        echo "${line#*=}" > /proc/sys/net/bridge/bridge-nf-call-iptables ;;
    esac
  done < "$f"
  for p in "${host_paths[@]}"; do
    grep -qxF "existed=$p" "$f" && continue
    [[ -e $p || -L $p ]] || continue
    if awk -v p="$p" '$5 == p || index($5, p "/") == 1 {found = 1} END {exit !found}' /proc/self/mountinfo; then
      log "not removing $p: something is mounted there"
      continue
    fi
    rm -rf --one-file-system "$p"
  done
  rm -f "$f"
}

# ---------------------------------------------------------------- down

down() {
  [[ -d $LC_STATE ]] || [[ -n $(cgroup_pids) ]] || ip link show "$node_if" >/dev/null 2>&1 ||
    ip link show "$bridge" >/dev/null 2>&1 || [[ -n $(stray_pids) ]] || {
    # Nothing of ours: leave the iptables rules and ipsets of whatever else
    # runs here alone.
    remove_cgroups
    return 0
  }
  log "stopping the local cluster ($LC_STATE)"
  kill_all
  unmount_all
  remove_links
  iptables_cleanup '^(KUBE-|CNI-)'
  ipset_cleanup
  remove_cgroups
  restore_host_state
  if [[ -d $LC_STATE ]]; then
    rm -rf --one-file-system "$LC_STATE" 2>/dev/null || true
    [[ ! -e $LC_STATE ]] || log "could not remove all of $LC_STATE"
  fi
}

# ---------------------------------------------------------------- up

write_kubeconfig() { # FILE USER TOKEN-FILE
  cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority: $pki/ca.crt
users:
- name: $2
  user:
    token: $(cat "$3")
contexts:
- name: local
  context: {cluster: local, user: $2}
current-context: local
EOF
  chmod 600 "$1"
}

write_configs() {
  "$LC_BIN/pki" -dir "$pki" -node-name "$node" -node-ip "$node_ip" -service-ip "$service_ip"
  write_kubeconfig "$kubeconfig" admin "$pki/admin.token"
  write_kubeconfig "$LC_STATE/controller-manager.kubeconfig" controller-manager "$pki/controller-manager.token"
  write_kubeconfig "$LC_STATE/scheduler.kubeconfig" scheduler "$pki/scheduler.token"
  write_kubeconfig "$LC_STATE/kubelet.kubeconfig" kubelet "$pki/kubelet.token"

  mkdir -p "$LC_STATE/cni/net.d" "$LC_STATE/cni/ipam"
  cat > "$LC_STATE/cni/net.d/10-palisade-lc.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "palisade-lc",
  "plugins": [{
    "type": "bridge",
    "bridge": "$bridge",
    "isGateway": true,
    "isDefaultGateway": false,
    "ipMasq": false,
    "hairpinMode": true,
    "ipam": {
      "type": "host-local",
      "dataDir": "$LC_STATE/cni/ipam",
      "ranges": [[{"subnet": "$pod_cidr", "gateway": "$pod_gw"}]]
    }
  }]
}
EOF

  # Pods get no DNS server outside their own network namespace.
  printf 'nameserver 127.0.0.1\noptions ndots:1\n' > "$LC_STATE/resolv.conf"

  local c=$LC_STATE/containerd
  mkdir -p "$c"
  # Config version 3 (containerd migrates it at start): version 4 moves the
  # socket addresses into per-server plugin sections.
  cat > "$c/config.toml" <<EOF
version = 3
root = "$c/root"
state = "$c/state"
temp = "$c/tmp"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.snapshotter.v1.erofs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$c/containerd.sock"
[ttrpc]
  address = "$c/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[plugins]
  [plugins.'io.containerd.internal.v1.opt']
    path = "$c/opt"
  [plugins.'io.containerd.nri.v1.nri']
    disable = true
  [plugins.'io.containerd.shim.v1.manager']
    socket_dir = "$c/s"
  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "overlayfs"
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = "$pause_image"
  [plugins.'io.containerd.cri.v1.runtime']
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    cdi_spec_dirs = ["$c/cdi"]
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ["/usr/lib/cni"]
      conf_dir = "$LC_STATE/cni/net.d"
      max_conf_num = 1
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = "runc"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = "/usr/sbin/runc"
          Root = "$c/runc"
          SystemdCgroup = false
EOF

  mkdir -p "$LC_STATE/kubelet" "$LC_STATE/kubelet-pod-logs"
  cat > "$LC_STATE/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $node_ip
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $pki/kubelet.crt
tlsPrivateKeyFile: $pki/kubelet.key
containerRuntimeEndpoint: unix://$c/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: /$LC_CGROUP
failCgroupV1: false
failSwapOn: false
resolvConf: $LC_STATE/resolv.conf
podLogsDir: $LC_STATE/kubelet-pod-logs
volumePluginDir: $LC_STATE/kubelet-volume-plugins
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 50Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
evictionPressureTransitionPeriod: 10s
serializeImagePulls: false
maxPods: 110
shutdownGracePeriod: 0s
EOF
}

wait_for() { # WHAT TIMEOUT-SECONDS COMMAND...
  local what=$1 timeout=$2 deadline
  shift 2
  deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "timed out after ${timeout}s waiting for $what"
      return 1
    fi
    sleep 0.2
  done
}

api_ready() {
  curl -sf --max-time 2 --cacert "$pki/ca.crt" -H "Authorization: Bearer $(cat "$pki/admin.token")" \
    "https://127.0.0.1:$api_port/readyz" | grep -qx ok
}
node_ready() {
  [[ $(kubectl get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}
port_free() { ! (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

start_enforcer() {
  start kube-router "$LC_BIN/kube-router" --run-firewall=true --run-router=false --run-service-proxy=false \
    --kubeconfig="$kubeconfig" --hostname-override="$node" --service-cluster-ip-range="$service_cidr" \
    --health-port=0 --metrics-port=0
}

up() {
  local t0=$SECONDS
  check >&2 || die "this machine cannot run the local cluster (see above)"
  ensure_packages
  down
  "$here/build.sh"
  local tstart=$SECONDS
  local p
  for p in "$api_port" "$etcd_port" "$etcd_peer_port" 10257 10259 10248; do
    port_free 127.0.0.1 "$p" || die "127.0.0.1:$p is in use: is another cluster running?"
  done

  mkdir -p "$LC_STATE" "$logs" "$run"
  chmod 700 "$LC_STATE"
  save_host_state
  write_configs

  # The node IP lives on a veth pair of ours: the kernel has no dummy
  # interfaces and the kubelet refuses a loopback node IP.
  ip link add "$node_if" type veth peer name plc-peer
  ip addr add "$node_ip/32" dev "$node_if"
  ip link set plc-peer up
  ip link set "$node_if" up
  # Pod traffic through the bridge must meet the NetworkPolicy rules.
  echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables
  setup_cgroups

  start etcd "$LC_BIN/etcd" --name "$node" --data-dir "$LC_STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "$node=http://127.0.0.1:$etcd_peer_port" \
    --quota-backend-bytes 2147483648 --log-level warn
  wait_for etcd 60 curl -sf --max-time 2 "http://127.0.0.1:$etcd_port/health" || fail_up

  start kube-apiserver "$LC_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --secure-port "$api_port" --advertise-address "$node_ip" \
    --cert-dir "$LC_STATE/apiserver" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" --token-auth-file "$pki/tokens.csv" \
    --authorization-mode Node,RBAC --allow-privileged=true \
    --enable-admission-plugins NodeRestriction \
    --service-cluster-ip-range "$service_cidr" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$pki/ca.crt" \
    --kubelet-preferred-address-types InternalIP \
    --profiling=false
  wait_for kube-apiserver 120 api_ready || fail_up

  start kube-controller-manager "$LC_BIN/kube-controller-manager" \
    --kubeconfig "$LC_STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$LC_STATE/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$LC_STATE/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 10257 --cert-dir "$LC_STATE/controller-manager" \
    --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --allocate-node-cidrs=true --cluster-cidr "$cluster_cidr" --node-cidr-mask-size 24 \
    --service-cluster-ip-range "$service_cidr" --profiling=false
  start kube-scheduler "$LC_BIN/kube-scheduler" \
    --kubeconfig "$LC_STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig "$LC_STATE/scheduler.kubeconfig" \
    --authorization-kubeconfig "$LC_STATE/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 10259 --cert-dir "$LC_STATE/scheduler" \
    --leader-elect=false --profiling=false

  start containerd "$LC_BIN/containerd" --config "$LC_STATE/containerd/config.toml" --log-level warn
  wait_for containerd 60 ctr version || fail_up
  # The pause image, and every image hack/image/build.sh built before.
  build_pause_image
  import_images "$LC_IMAGES"/*.tar || fail_up

  start kubelet "$LC_BIN/kubelet" --config "$LC_STATE/kubelet.yaml" --kubeconfig "$LC_STATE/kubelet.kubeconfig" \
    --root-dir "$LC_STATE/kubelet" --cert-dir "$LC_STATE/kubelet/pki" \
    --hostname-override "$node" --node-ip "$node_ip"
  wait_for "node $node to be Ready" 120 node_ready || fail_up
  kubectl label node "$node" node-role.kubernetes.io/control-plane= --overwrite >/dev/null

  start_enforcer
  wait_for "the default service account" 60 kubectl -n default get serviceaccount default || fail_up
  sleep 1
  alive kube-router || fail_up

  local total=$((SECONDS - t0)) startup=$((SECONDS - tstart))
  echo "$startup" > "$LC_STATE/startup-seconds"
  log "node $node Ready: ${startup}s to start (${total}s with build check and cleanup)"
  log "export KUBECONFIG=$kubeconfig   (kubectl: $LC_BIN/kubectl)"
}

# import_images TAR...: loads docker-archive tarballs (ctr's cgroup v1
# deprecation warning is dropped).
import_images() {
  local f out
  for f in "$@"; do
    if ! out=$(ctr images import --local "$f" 2>&1); then
      log "importing $f: $out"
      return 1
    fi
    log "loaded $f"
  done
}

build_pause_image() {
  [[ -f $LC_IMAGES/pause.tar && $LC_IMAGES/pause.tar -nt $LC_BIN/pause ]] && return 0
  "$LC_BIN/imagebuild" -tag "$pause_image" -out "$LC_IMAGES/pause.tar" \
    -add "$LC_BIN/pause:/pause:0755" -user 65535:65535 -entrypoint /pause
}

fail_up() {
  diag >&2 || true
  die "cluster-up failed; it is left running for inspection: run 'make cluster-down' (or $0 down)"
}

# ---------------------------------------------------------------- other commands

status() {
  local n
  for n in etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-router; do
    if alive "$n"; then echo "$n: running (pid $(pid_of "$n"))"; else echo "$n: stopped"; fi
  done
  [[ -f $kubeconfig ]] && kubectl get nodes -o wide 2>/dev/null || true
}

rss() {
  local pids
  pids=$(cgroup_pids | paste -sd, -)
  [[ -n $pids ]] || die "the local cluster is not running"
  ps -o rss= -p "$pids" | awk '{s += $1} END {printf "%.0f MiB\n", s / 1024}'
}

load() {
  [[ -S $ctr_sock ]] || die "the local cluster is not running (no $ctr_sock)"
  import_images "$@" || die "could not load $*"
}

enforcer() {
  case ${1:-} in
    stop)
      stop_proc kube-router
      iptables_cleanup "$router_chains"
      ipset_cleanup
      ;;
    start)
      alive kube-router && return 0
      start_enforcer
      sleep 1
      alive kube-router || die "kube-router did not start: $(tail -5 "$logs/kube-router.log")"
      ;;
    *) die "usage: $0 enforcer stop|start" ;;
  esac
}

diag() {
  local n
  echo "===== local cluster diagnostics ($LC_STATE)"
  status || true
  for n in etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-router; do
    [[ -f $logs/$n.log ]] || continue
    echo "----- $n.log (last 40 lines)"
    tail -n 40 "$logs/$n.log"
  done
  if [[ -f $kubeconfig ]] && api_ready; then
    echo "----- kubectl get pods -A -o wide"
    kubectl get pods -A -o wide 2>&1 || true
    echo "----- kubectl describe pods -A (not Running/Succeeded)"
    kubectl get pods -A --no-headers 2>/dev/null | awk '$4 != "Running" && $4 != "Completed" {print $1, $2}' |
      head -10 | while read -r ns pod; do kubectl -n "$ns" describe pod "$pod" 2>&1 | tail -n 30; done
    echo "----- kubectl get events -A (last 30)"
    kubectl get events -A --sort-by=.lastTimestamp 2>&1 | tail -n 30 || true
  fi
}

# lock_cluster serialises everything that starts or stops the cluster on
# this machine, whichever checkout it runs from: addresses and paths are
# fixed, so two clusters cannot coexist. e2e.sh holds the lock for its whole
# run and says so in PALISADE_LC_LOCKED.
lock_cluster() {
  [[ -n ${PALISADE_LC_LOCKED:-} ]] && return 0
  exec 8>"${PALISADE_LC_LOCK:-/run/palisade-local-cluster.lock}"
  flock -w 3600 8 || { log "another run holds the local cluster's lock"; exit 1; }
  export PALISADE_LC_LOCKED=1
}

case ${1:-} in
  up)
    lock_cluster
    up
    ;;
  down)
    check >/dev/null || { log "nothing to do: $(check | head -1)"; exit 0; }
    lock_cluster
    down
    ;;
  status) status ;;
  load)
    shift
    load "$@"
    ;;
  enforcer)
    shift
    enforcer "$@"
    ;;
  diag) diag ;;
  rss) rss ;;
  check) check ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 2
    ;;
esac

#!/usr/bin/env bash
# burst-memory.sh — what a connection burst leaves behind in capsule-proxy: RSS, open fds, pooled upstream
# connections and sockets in CLOSE-WAIT, sampled before, right after and for a while after the burst, while the
# upstream (kube-sim over TLS, as in every real cluster) closes idle keep-alive connections the way kube-apiserver
# and load balancers do.
#
#   perf/burst-memory.sh [--connections 2000] [--duration 5s] [--cores 2] [--watch 60] [--sim-idle 30s]
#                        [--proxy-bin PATH] [--no-build]
#
# Needs wrk and openssl (apt-get install -y wrk openssl). Builds the release binaries unless --no-build;
# --proxy-bin measures another build of capsule-proxy (an older commit, say) against the same kube-sim.
# Prints one line per sample: seconds since the burst ended, VmRSS (KiB), fds, idle pooled connections (from
# /metrics), and the proxy's sockets to kube-sim that are ESTABLISHED and in CLOSE-WAIT.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
connections=2000
duration=5s
cores=2
watch=60
sim_idle=30s
proxy_bin=$repo/target/release/capsule-proxy
build=1
while [ $# -gt 0 ]; do
  case $1 in
    --connections) connections=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --cores) cores=$2; shift 2 ;;
    --watch) watch=$2; shift 2 ;;
    --sim-idle) sim_idle=$2; shift 2 ;;
    --proxy-bin) proxy_bin=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 2; }
if [ "$build" = 1 ]; then
  (cd "$repo" && cargo build --release -p capsule-proxy -p kube-sim --bins)
fi
sim_bin=$repo/target/release/kube-sim

tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

wait_for() { # file pattern
  for _ in $(seq 1 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "timed out waiting for '$2' in $1" >&2; exit 1
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=burst \
  -addext 'subjectAltName=IP:127.0.0.1' -keyout "$tmp/tls.key" -out "$tmp/tls.crt" 2>/dev/null

"$sim_bin" serve --fixture "$repo/kube-sim/fixtures/demo.yaml" --addr 127.0.0.1:0 --state-dir "$tmp/sim" \
  --idle-timeout "$sim_idle" >"$tmp/sim.out" 2>"$tmp/sim.err" &
pids+=($!)
wait_for "$tmp/sim.out" 'kube-sim ready on'
sim_port=$(sed -n 's/^kube-sim ready on https:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/sim.out" | head -1)

NAMESPACE=capsule-system RUST_LOG=warn "$proxy_bin" --listening-address=127.0.0.1 --listening-port=0 \
  --health-probe-addr=127.0.0.1:0 --metrics-addr=127.0.0.1:0 --cores="$cores" \
  --kubeconfig "$tmp/sim/capsule-proxy.kubeconfig" --auth-preferred-types=BearerToken \
  --ssl-cert-path "$tmp/tls.crt" --ssl-key-path "$tmp/tls.key" >"$tmp/proxy.out" 2>"$tmp/proxy.err" &
proxy_pid=$!
pids+=("$proxy_pid")
wait_for "$tmp/proxy.out" 'capsule-proxy ready on'
line=$(head -1 "$tmp/proxy.out")
proxy_addr=$(sed -n 's/.*ready on https:\/\/\([^ ]*\) .*/\1/p' <<<"$line")
metrics_addr=$(sed -n 's/.*metrics http:\/\/\([^ ),]*\).*/\1/p' <<<"$line")

sockets() { # state code (01 ESTABLISHED, 08 CLOSE-WAIT) of the proxy's connections to kube-sim
  local hex; hex=$(printf '%04X' "$sim_port")
  awk -v port=":$hex" -v st="$1" '$3 ~ port"$" && $4 == st' /proc/net/tcp /proc/net/tcp6 | wc -l
}
idle() { curl -s "http://$metrics_addr/metrics" | awk '/^capsule_proxy_upstream_idle_connections /{print $2}'; }
sample() { # label
  printf '%-12s rss_kib=%-8s fds=%-6s idle_pooled=%-5s upstream_established=%-5s upstream_close_wait=%s\n' "$1" \
    "$(awk '/VmRSS/{print $2}' "/proc/$proxy_pid/status")" "$(ls "/proc/$proxy_pid/fd" | wc -l)" "$(idle)" \
    "$(sockets 01)" "$(sockets 08)"
}

url="https://$proxy_addr/api/v1/namespaces/oil-dev/pods/web"
wrk -t2 -c20 -d2s -H 'Authorization: Bearer alice-token' "$url" >/dev/null
sleep 2
echo "capsule-proxy $("$proxy_bin" --version 2>/dev/null || echo "$proxy_bin"), $cores cores, kube-sim idle timeout $sim_idle"
sample baseline
wrk -t2 -c"$connections" -d"$duration" -H 'Authorization: Bearer alice-token' "$url" | grep -E 'Requests/sec|requests in|errors' || true
start=$(date +%s)
while :; do
  now=$(( $(date +%s) - start ))
  sample "+${now}s"
  [ "$now" -ge "$watch" ] && break
  sleep 5
done

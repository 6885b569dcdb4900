#!/usr/bin/env bash
# ab-cpu.sh — two builds of capsule-proxy side by side in one run: CPU per request on the pass-through and the
# filtered path, rounds alternating so machine noise hits both alike. Use it to show a change costs nothing.
#
# What it does
#   1. Starts kube-sim (plain HTTP, demo fixture) as the one upstream, and two instances of each build against
#      it with the same flags, cores and serving certificate (openssl, EC P-256), started in the order
#      before, after, after, before: on a shared machine an instance can cost a few % more than its twin for
#      no reason of its own (an A/A run of one build showed 4 %), and this order cancels the start order out.
#   2. Checks every instance answers 200 on both paths, then runs R rounds; each round runs every (instance,
#      path) pair once, the instance order reversed every other round:
#        wrk --latency -t1 -c64 -d<duration> -H 'Authorization: Bearer alice-token' https://127.0.0.1:PORT<path>
#      pass-through: GET /api/v1/namespaces/oil-dev/pods/web (alice's pod: forwarded as the caller);
#      filtered:     GET /api/v1/namespaces (alice's namespaces: reviewed token, cached; selector added).
#   3. Per run: req/s and the proxy's CPU per completed request (utime+stime of the whole process from
#      /proc/<pid>/stat, read before and after). At the end, per path: the median over all runs of each build,
#      and the after/before ratio of each round (both instances of a build averaged) as median, min and max —
#      a round's two builds ran within seconds of each other, so the paired ratio shrugs off slow drift.
#
# Usage
#   perf/ab-cpu.sh --before BIN --after BIN [--rounds 8] [--duration 5s] [--cores 1] [--connections 64]
#   Needs wrk, openssl and curl (Debian packages); kube-sim is built when missing (`cargo build --release`).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
before= after= rounds=8 duration=5s cores=1 connections=64
while [ $# -gt 0 ]; do
  case $1 in
    --before) before=$2; shift 2 ;;
    --after) after=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --cores) cores=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    *) sed -n '/^# Usage/,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
die() { echo "ab-cpu: $*" >&2; exit 1; }
[ -x "$before" ] && [ -x "$after" ] || die "--before and --after must name executables"
for tool in wrk openssl curl; do command -v $tool >/dev/null || die "$tool is not installed (apt-get install -y $tool)"; done

target_dir=$(cd "$repo" && cargo metadata --format-version 1 --no-deps 2>/dev/null \
  | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
sim_bin=${target_dir:-$repo/target}/release/kube-sim
[ -x "$sim_bin" ] || (cd "$repo" && cargo build --release -p kube-sim)

tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

wait_for_line() {  # file pattern pid what
  for _ in $(seq 600); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { cat "$1" "${1%.out}.err" >&2 2>/dev/null || true; die "$4 exited"; }
    sleep 0.1
  done
  die "$4 did not become ready within 60 s"
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=ab-cpu \
  -addext 'subjectAltName=IP:127.0.0.1' -keyout "$tmp/tls.key" -out "$tmp/tls.crt" 2>/dev/null
"$sim_bin" serve --fixture "$repo/kube-sim/fixtures/demo.yaml" --addr 127.0.0.1:0 --state-dir "$tmp/sim" \
  --plain-http >"$tmp/sim.out" 2>"$tmp/sim.err" &
pids+=($!)
wait_for_line "$tmp/sim.out" 'kube-sim ready on' "${pids[0]}" kube-sim

instances=(before-1 after-1 after-2 before-2)
declare -A port pid
for instance in "${instances[@]}"; do
  build=${instance%-*}
  bin=${!build}
  NAMESPACE=capsule-system RUST_LOG=warn "$bin" --listening-address=127.0.0.1 --listening-port=0 \
    --health-probe-addr=127.0.0.1:0 --metrics-addr=127.0.0.1:0 --cores="$cores" \
    --kubeconfig "$tmp/sim/capsule-proxy.kubeconfig" --auth-preferred-types=BearerToken \
    --ssl-cert-path "$tmp/tls.crt" --ssl-key-path "$tmp/tls.key" >"$tmp/$instance.out" 2>"$tmp/$instance.err" &
  pid[$instance]=$!
  pids+=($!)
  wait_for_line "$tmp/$instance.out" 'capsule-proxy ready on' "${pid[$instance]}" "capsule-proxy ($instance)"
  addr=$(sed -n 's/.*ready on https:\/\/\([^ ]*\) .*/\1/p' "$tmp/$instance.out" | head -1)
  port[$instance]=${addr##*:}
done

declare -A path=([pass-through]=/api/v1/namespaces/oil-dev/pods/web [filtered]=/api/v1/namespaces)
for instance in "${instances[@]}"; do
  for kind in pass-through filtered; do
    url="https://127.0.0.1:${port[$instance]}${path[$kind]}"
    # The first filtered answers wait for the control plane's first snapshot.
    for _ in $(seq 100); do
      code=$(curl -sk -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer alice-token' "$url" || true)
      [ "$code" = 200 ] && break
      sleep 0.1
    done
    [ "$code" = 200 ] || die "$instance answered $code to ${path[$kind]}"
  done
done

hz=$(getconf CLK_TCK)
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
declare -A results round_sum
ratios_pass=() ratios_filtered=()
printf '%-6s %-9s %-13s %10s %12s\n' round instance path 'req/s' 'cpu us/req'
for round in $(seq "$rounds"); do
  order="${instances[*]}"; [ $((round % 2)) = 0 ] && order="before-2 after-2 after-1 before-1"
  round_sum=()
  for instance in $order; do
    build=${instance%-*}
    for kind in pass-through filtered; do
      t0=$(ticks "${pid[$instance]}")
      out=$(wrk --latency -t1 -c"$connections" -d"$duration" -H 'Authorization: Bearer alice-token' \
        "https://127.0.0.1:${port[$instance]}${path[$kind]}")
      t1=$(ticks "${pid[$instance]}")
      reqs=$(awk '/requests in/{print $1}' <<<"$out")
      rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
      grep -qE 'Non-2xx|Socket errors' <<<"$out" && echo "  $(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr '\n' ' ')" >&2
      cpu=$(awk -v a="$t0" -v b="$t1" -v n="$reqs" -v hz="$hz" 'BEGIN{ printf "%.2f", (b-a)*1e6/hz/n }')
      printf '%-6s %-9s %-13s %10s %12s\n' "$round" "$instance" "$kind" "$rps" "$cpu"
      results[$build,$kind]+="$cpu "
      round_sum[$build,$kind]=$(awk -v s="${round_sum[$build,$kind]:-0}" -v c="$cpu" 'BEGIN{print s + c}')
    done
  done
  ratios_pass+=("$(awk -v a="${round_sum[after,pass-through]}" -v b="${round_sum[before,pass-through]}" 'BEGIN{printf "%.3f", a/b}')")
  ratios_filtered+=("$(awk -v a="${round_sum[after,filtered]}" -v b="${round_sum[before,filtered]}" 'BEGIN{printf "%.3f", a/b}')")
done

median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
spread() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk 'NR==1{lo=$1} {hi=$1} END {print lo "-" hi}'; }
echo
printf '%-13s %14s %14s %14s %20s\n' path 'before us/req' 'after us/req' 'after/before' 'per round: median'
for kind in pass-through filtered; do
  b=$(median "${results[before,$kind]}"); a=$(median "${results[after,$kind]}")
  if [ "$kind" = pass-through ]; then r="${ratios_pass[*]}"; else r="${ratios_filtered[*]}"; fi
  printf '%-13s %14s %14s %14s %20s\n' "$kind" "$b" "$a" "$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.3f", a/b}')" \
    "$(median "$r") ($(spread "$r"))"
done

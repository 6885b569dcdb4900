#!/usr/bin/env bash
# passthrough-vs-nginx.sh — pass-through GET over TLS: capsule-proxy versus nginx, same upstream, same cert.
#
# What it does
#   1. Installs wrk, nginx (Debian `nginx-light`, else `nginx`), openssl and curl with apt-get when missing.
#   2. Builds the release binaries: `cargo build --release -p capsule-proxy -p kube-sim`.
#   3. In a mktemp directory: one self-signed serving certificate (openssl, EC P-256, SAN 127.0.0.1/localhost)
#      used by every proxy; kube-sim in --plain-http mode as the shared upstream (demo fixture); capsule-proxy
#      (TLS, --cores=N, upstream from the kube-sim-written capsule-proxy.kubeconfig, and
#      --auth-preferred-types=BearerToken: the plain-HTTP kubeconfig has no CA for client certificates, and wrk
#      sends a token); nginx (N workers, same cert, TLS 1.2 + 1.3, proxy_pass to kube-sim through an upstream
#      keepalive pool, HTTP/1.1 upstream, access_log off). With --with-legacy, a second capsule-proxy with
#      --io-driver=legacy (epoll) is a third contender.
#   4. Checks that the request path answers 200 through kube-sim directly and through every proxy (curl), and
#      prints the TLS version and cipher each proxy negotiates (openssl s_client).
#   5. Waits until the 1-minute load average is below --load-max and a 3 s sample of /proc/stat shows the cores
#      less than --quiet-max % busy (polling up to --max-wait seconds; measures anyway, with a warning, if the
#      machine never quietens), runs one short unrecorded warm-up per contender, then R rounds. Before each
#      later round it waits up to --round-wait seconds for the cores to be under --quiet-max % busy again.
#      Each round runs every contender once, the order rotated every round so machine noise hits all of them:
#        wrk --latency -t1 -c64 -d8s -H 'Authorization: Bearer alice-token' https://127.0.0.1:PORT<path>
#   6. Per run it reports:
#      - req/s, p50, p99 and wrk's non-2xx / socket error lines;
#      - cpu µs/req: CPU (utime+stime from /proc/<pid>/stat, read before and after the run) of the proxy per
#        completed request; capsule-proxy is one process (all threads), nginx is the master + every worker;
#      - sim µs/req: the same for kube-sim;
#      - box µs/req: the whole machine's busy CPU (/proc/stat) per request: proxy + kube-sim + wrk + kernel;
#      - VmRSS (KiB) of the proxy before and after the run;
#      - other%: CPU used by anything else (busy minus proxy, kube-sim and wrk), in % of all cores; ~0 is quiet.
#      It ends with medians per contender, the ours/nginx ratios of CPU per request (proxy and whole box; of the
#      medians, and per round), and the warnings and errors in the proxies' and kube-sim's logs.
#   Everything it starts is stopped on exit (trap); the temp directory is removed unless --keep.
#
# Usage
#   perf/passthrough-vs-nginx.sh [--rounds 3] [--cores 2] [--duration 8s] [--connections 64] [--threads 1]
#                                [--path /api/v1/namespaces/oil-dev/pods/web] [--token alice-token]
#                                [--with-legacy] [--load-max 1.0] [--max-wait 900] [--quiet-max 10]
#                                [--round-wait 120] [--no-build] [--no-install] [--keep] [--out DIR]
#   --out DIR copies the raw wrk outputs, logs, nginx.conf and the summary to DIR.
#
# Notes
#   * All processes share the machine: wrk, kube-sim and the proxy under test compete for the same cores, so
#     req/s is bounded by the whole box; CPU per request is the figure that compares proxies.
#   * /proc/<pid>/stat counts in clock ticks (usually 10 ms): an 8 s run of ~200k requests resolves to ~0.1%.
#   * nginx gets keepalive_requests/keepalive_timeout raised (client side and upstream pool) so neither proxy
#     recycles connections during a run; capsule-proxy keeps connections for its 10 min idle timeout.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

rounds=3
cores=2
duration=8s
connections=64
threads=1
req_path=/api/v1/namespaces/oil-dev/pods/web
token=alice-token
with_legacy=0
load_max=1.0
max_wait=900
quiet_max=10
round_wait=120
build=1
install=1
keep=0
out_dir=

usage() { sed -n '/^# Usage/,/^# Notes/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --cores) cores=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --path) req_path=$2; shift 2 ;;
    --token) token=$2; shift 2 ;;
    --with-legacy) with_legacy=1; shift ;;
    --load-max) load_max=$2; shift 2 ;;
    --max-wait) max_wait=$2; shift 2 ;;
    --quiet-max) quiet_max=$2; shift 2 ;;
    --round-wait) round_wait=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-install) install=0; shift ;;
    --keep) keep=1; shift ;;
    --out) out_dir=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# --- tools ---------------------------------------------------------------------------------------------------
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  [ $install = 1 ] || die "missing tools: ${missing[*]} (and --no-install was given)"
  command -v apt-get >/dev/null 2>&1 || die "missing tools: ${missing[*]}; install them (no apt-get here)"
  sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  pkgs=()
  for t in "${missing[@]}"; do [ "$t" = nginx ] && pkgs+=(nginx-light) || pkgs+=("$t"); done
  log "installing ${pkgs[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  if ! $sudo apt-get install -y -q "${pkgs[@]}"; then
    # nginx-light is gone in newer Debian releases; plain `nginx` has what we need.
    $sudo apt-get install -y -q "${pkgs[@]/nginx-light/nginx}"
  fi
fi
nginx_bin=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)

# --- binaries ------------------------------------------------------------------------------------------------
if [ $build = 1 ]; then
  log "cargo build --release -p capsule-proxy -p kube-sim"
  (cd "$repo" && cargo build --release -p capsule-proxy -p kube-sim)
fi
target_dir=${CARGO_TARGET_DIR:-$repo/target}
case $target_dir in /*) ;; *) target_dir=$repo/$target_dir ;; esac
proxy_bin=$target_dir/release/capsule-proxy
sim_bin=$target_dir/release/kube-sim
[ -x "$proxy_bin" ] && [ -x "$sim_bin" ] || die "release binaries not found in $target_dir/release"

# --- scratch directory and cleanup ---------------------------------------------------------------------------
tmp=$(mktemp -d -t passthrough-vs-nginx.XXXXXX)
started=()   # pids of every process this script started
cleanup() {
  local rc=$? p
  trap - EXIT INT TERM
  for p in "${started[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${started[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [ -n "$out_dir" ] && [ -d "$tmp/results" ]; then
    mkdir -p "$out_dir" && cp -r "$tmp/results/." "$out_dir/" && log "results copied to $out_dir"
  fi
  if [ $keep = 1 ]; then log "kept $tmp"; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$tmp/results" "$tmp/sim" "$tmp/nginx/tmp"

# Waits (up to 60 s) until `file` contains `pattern`, failing if process `pid` exits first.
wait_for_line() {
  local file=$1 pattern=$2 pid=$3 what=$4
  for _ in $(seq 600); do
    grep -q -- "$pattern" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$file" "${file%.out}.err" >&2 2>/dev/null || true; die "$what exited"; }
    sleep 0.1
  done
  die "$what did not become ready within 60 s (see $file)"
}

# A TCP port on 127.0.0.1 with nothing listening (for nginx, which cannot report an ephemeral port).
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  die "no free port found"
}

# --- serving certificate -------------------------------------------------------------------------------------
log "generating the serving certificate"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=capsule-proxy-bench -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
  -keyout "$tmp/tls.key" -out "$tmp/tls.crt" 2>/dev/null
chmod 644 "$tmp/tls.key"   # nginx reads it as root before dropping privileges; the directory itself is 0700

# --- kube-sim ------------------------------------------------------------------------------------------------
log "starting kube-sim (plain HTTP)"
"$sim_bin" serve --fixture "$repo/kube-sim/fixtures/demo.yaml" --addr 127.0.0.1:0 --state-dir "$tmp/sim" \
  --plain-http >"$tmp/results/kube-sim.out" 2>"$tmp/results/kube-sim.err" &
sim_pid=$!
started+=("$sim_pid")
wait_for_line "$tmp/results/kube-sim.out" 'kube-sim ready on' "$sim_pid" kube-sim
sim_url=$(sed -n 's/^kube-sim ready on \(http:\/\/[^ ]*\).*/\1/p' "$tmp/results/kube-sim.out" | head -1)
sim_hostport=${sim_url#http://}
[ -f "$tmp/sim/capsule-proxy.kubeconfig" ] || die "kube-sim wrote no capsule-proxy.kubeconfig"

# --- contenders ----------------------------------------------------------------------------------------------
# Parallel arrays, one entry per contender.
names=(); ports=(); mains=(); descr=()

start_capsule_proxy() {
  local name=$1; shift
  log "starting capsule-proxy ($name: --cores=$cores $*)"
  NAMESPACE=capsule-system RUST_LOG=${RUST_LOG:-info} "$proxy_bin" --listening-address=127.0.0.1 --listening-port=0 \
    --health-probe-addr=127.0.0.1:0 --metrics-addr=127.0.0.1:0 --cores="$cores" \
    --kubeconfig "$tmp/sim/capsule-proxy.kubeconfig" --auth-preferred-types=BearerToken \
    --ssl-cert-path "$tmp/tls.crt" --ssl-key-path "$tmp/tls.key" "$@" \
    >"$tmp/results/$name.out" 2>"$tmp/results/$name.err" &
  local pid=$!
  started+=("$pid")
  wait_for_line "$tmp/results/$name.out" 'capsule-proxy ready on' "$pid" "capsule-proxy ($name)"
  local line addr
  line=$(grep -m1 'capsule-proxy ready on' "$tmp/results/$name.out")
  addr=$(sed -n 's/.*ready on https:\/\/\([^ ]*\) .*/\1/p' <<<"$line")
  [ -n "$addr" ] || die "cannot parse the address from: $line"
  names+=("$name"); ports+=("${addr##*:}"); mains+=("$pid"); descr+=("${line#capsule-proxy ready on }")
}

start_nginx() {
  local port conf=$tmp/nginx/nginx.conf user_line=
  port=$(free_port)
  [ "$(id -u)" = 0 ] && user_line='user root root;'   # workers must read the 0700 scratch directory
  cat >"$conf" <<EOF
# Generated by perf/passthrough-vs-nginx.sh.
$user_line
worker_processes $cores;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/results/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $tmp/nginx/tmp/body;
    proxy_temp_path $tmp/nginx/tmp/proxy;
    fastcgi_temp_path $tmp/nginx/tmp/fastcgi;
    uwsgi_temp_path $tmp/nginx/tmp/uwsgi;
    scgi_temp_path $tmp/nginx/tmp/scgi;

    upstream kube_sim {
        server $sim_hostport;
        keepalive 128;
        keepalive_requests 1000000;
        keepalive_timeout 600s;
    }
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $tmp/tls.crt;
        ssl_certificate_key $tmp/tls.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        keepalive_requests 1000000;
        keepalive_timeout 600s;
        location / {
            proxy_pass http://kube_sim;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
  cp "$conf" "$tmp/results/nginx.conf"
  "$nginx_bin" -t -q -p "$tmp/nginx" -e "$tmp/results/nginx-error.log" -c "$conf" \
    || die "nginx rejected $conf"
  log "starting nginx ($cores workers, port $port)"
  "$nginx_bin" -p "$tmp/nginx" -e "$tmp/results/nginx-error.log" -c "$conf" \
    >"$tmp/results/nginx.out" 2>"$tmp/results/nginx.err" &
  local pid=$!
  started+=("$pid")
  for _ in $(seq 100); do
    [ "$(worker_pids "$pid" | wc -w)" -ge "$cores" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/results/nginx-error.log" >&2 || true; die "nginx exited"; }
    sleep 0.1
  done
  names+=(nginx); ports+=("$port"); mains+=("$pid")
  descr+=("127.0.0.1:$port ($cores workers, $("$nginx_bin" -v 2>&1 | sed 's/.*: //'), upstream $sim_url)")
}

worker_pids() { cat /proc/"$1"/task/*/children 2>/dev/null || true; }

# Every pid of a contender: capsule-proxy is one process; nginx is the master plus its workers.
pids_of() {
  local i=$1
  if [ "${names[$i]}" = nginx ]; then echo "${mains[$i]} $(worker_pids "${mains[$i]}")"; else echo "${mains[$i]}"; fi
}

start_capsule_proxy ours
start_nginx
if [ $with_legacy = 1 ]; then start_capsule_proxy ours-epoll --io-driver=legacy; fi
n=${#names[@]}

# --- measurement helpers -------------------------------------------------------------------------------------
hz=$(getconf CLK_TCK)
TIMEFORMAT='%3U %3S'   # `time wrk ...` prints wrk's user and system seconds
# utime+stime (ticks) summed over pids; the comm field may hold spaces, so fields are counted after ") ".
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12+$13}'))); done; echo $t; }
rss_kib() { local t=0 p; for p in "$@"; do t=$((t + $(awk '/^VmRSS:/{print $2}' "/proc/$p/status"))); done; echo $t; }
# wrk latency (e.g. 850.00us, 1.23ms, 1.02s, 1.5m) to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN{ n=v+0; u=v; sub(/^[0-9.]+/, "", u);
    if (u=="us") n/=1000; else if (u=="s") n*=1000; else if (u=="m") n*=60000; else if (u=="h") n*=3600000;
    printf "%.3f", n }'
}
# "BUSY TOTAL" ticks of the whole machine from /proc/stat (busy excludes idle and iowait).
machine_ticks() { awk '/^cpu /{ t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat; }
url_of() { echo "https://127.0.0.1:${ports[$1]}$req_path"; }

# --- functional check ----------------------------------------------------------------------------------------
log "checking $req_path answers 200 (direct and through every proxy)"
code=$(curl -s -o "$tmp/results/direct.body" -w '%{http_code}' -H "Authorization: Bearer $token" "$sim_url$req_path")
[ "$code" = 200 ] || die "kube-sim answered $code to $req_path"
printf '  %-12s %s %s bytes\n' kube-sim "$code" "$(wc -c <"$tmp/results/direct.body")" >&2
for ((i = 0; i < n; i++)); do
  code=$(curl -sk -o "$tmp/results/${names[$i]}.body" -w '%{http_code}' -H "Authorization: Bearer $token" "$(url_of "$i")")
  [ "$code" = 200 ] || die "${names[$i]} answered $code to $req_path"
  tls=$(openssl s_client -connect "127.0.0.1:${ports[$i]}" -servername localhost </dev/null 2>/dev/null \
    | sed -n 's/^New, \(.*\)$/\1/p' | head -1 || true)
  printf '  %-12s %s %s bytes, %s\n' "${names[$i]}" "$code" "$(wc -c <"$tmp/results/${names[$i]}.body")" "$tls" >&2
done

# --- wait for a quiet machine --------------------------------------------------------------------------------
# busy_pct: how busy all cores were over a 3-second sample, in %.
busy_pct() {
  local b0 t0 b1 t1
  read -r b0 t0 < <(machine_ticks); sleep 3; read -r b1 t1 < <(machine_ticks)
  awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) 'BEGIN{ if (t > 0) printf "%.0f", 100 * b / t; else print 0 }'
}
lt() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a < b)}'; }
load_note="1-min load average below $load_max and cores under ${quiet_max}% busy before measuring"
waited=0
while :; do
  load=$(cut -d' ' -f1 /proc/loadavg)
  busy=$(busy_pct)
  lt "$load" "$load_max" && lt "$busy" "$quiet_max" && break
  if [ "$waited" -ge "$max_wait" ]; then
    load_note="WARNING: machine still busy after ${max_wait}s (load average $load, ${busy}% busy); measured anyway"
    log "$load_note"
    break
  fi
  [ $((waited % 65)) = 0 ] && log "load average $load (need < $load_max), cores ${busy}% busy (need < $quiet_max);" \
    "waiting (${waited}s of ${max_wait}s)"
  sleep 10; waited=$((waited + 13))
done
[ "$waited" -gt 0 ] && log "waited ${waited}s for a quiet machine (load average now $(cut -d' ' -f1 /proc/loadavg))"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# --- runs ----------------------------------------------------------------------------------------------------
rss_start=()
for ((i = 0; i < n; i++)); do
  # shellcheck disable=SC2046
  rss_start+=("$(rss_kib $(pids_of "$i"))")
done

log "warm-up (2 s per contender, not recorded)"
for ((i = 0; i < n; i++)); do
  wrk -t"$threads" -c"$connections" -d2s -H "Authorization: Bearer $token" "$(url_of "$i")" >/dev/null
done

results=$tmp/results/runs.tsv
printf 'round\tcontender\treq_s\tp50_ms\tp99_ms\tcpu_us_req\tsim_us_req\tbox_us_req\trss_before_kib\trss_after_kib\tother_pct\terrors\n' >"$results"
row_fmt='%-5s %-11s %8s %7s %7s %10s %10s %10s %10s %10s %6s  %s\n'
# shellcheck disable=SC2059
printf "\n$row_fmt" round contender 'req/s' 'p50 ms' 'p99 ms' 'cpu µs/req' 'sim µs/req' 'box µs/req' \
  'RSS before' 'RSS after' other% errors
per_req() { awk -v d="$1" -v n="$2" -v hz="$hz" 'BEGIN{ if (n > 0) printf "%.2f", d * 1e6 / hz / n; else print "nan" }'; }
for ((r = 1; r <= rounds; r++)); do
  # Someone else's burst (a build, a test run) ruins a round for everyone: give it up to --round-wait to pass.
  if [ "$r" -gt 1 ]; then
    waited=0
    while busy=$(busy_pct) && ! lt "$busy" "$quiet_max" && [ "$waited" -lt "$round_wait" ]; do
      log "round $r: cores ${busy}% busy before the round; waiting (${waited}s of ${round_wait}s)"
      sleep 5; waited=$((waited + 8))
    done
  fi
  for ((k = 0; k < n; k++)); do
    i=$(((k + r - 1) % n))          # rotate the order every round
    name=${names[$i]}
    pids=$(pids_of "$i")
    # shellcheck disable=SC2086
    rss0=$(rss_kib $pids)
    # shellcheck disable=SC2086
    t0=$(ticks $pids); s0=$(ticks "$sim_pid"); read -r busy0 total0 < <(machine_ticks)
    { time wrk --latency -t"$threads" -c"$connections" -d"$duration" -H "Authorization: Bearer $token" \
        "$(url_of "$i")" >"$tmp/wrk.out" 2>"$tmp/wrk.err"; } 2>"$tmp/wrk.time"
    read -r busy1 total1 < <(machine_ticks)
    # shellcheck disable=SC2086
    t1=$(ticks $pids); s1=$(ticks "$sim_pid")
    # shellcheck disable=SC2086
    rss1=$(rss_kib $pids)
    wrk_out=$(cat "$tmp/wrk.out" "$tmp/wrk.err")
    printf '%s\n' "$wrk_out" >"$tmp/results/wrk-r$r-$name.txt"
    reqs=$(awk '/requests in/{print $1}' <<<"$wrk_out")
    rps=$(awk '/^Requests\/sec/{printf "%.0f", $2}' <<<"$wrk_out")
    p50=$(to_ms "$(awk '$1=="50%"{print $2}' <<<"$wrk_out")")
    p99=$(to_ms "$(awk '$1=="99%"{print $2}' <<<"$wrk_out")")
    errs=$(grep -E 'Non-2xx|Socket errors' <<<"$wrk_out" | sed 's/^ *//' | paste -sd';' - || true)
    cpu=$(per_req $((t1 - t0)) "${reqs:-0}")
    scpu=$(per_req $((s1 - s0)) "${reqs:-0}")
    # The whole machine's busy CPU per request: proxy + kube-sim + wrk + kernel work charged to anyone. Loopback
    # TCP work is charged to whichever process is running when it happens, so this is the cross-check on the
    # split between proxy and kube-sim.
    box=$(per_req $((busy1 - busy0)) "${reqs:-0}")
    # CPU used by everything else (other users, builds), in % of all cores: busy minus proxy, kube-sim and wrk.
    other=$(awk -v busy=$((busy1 - busy0)) -v total=$((total1 - total0)) -v p=$((t1 - t0 + s1 - s0)) -v hz="$hz" \
      -v w="$(tail -1 "$tmp/wrk.time")" 'BEGIN{ split(w, u, " ");
        if (total > 0) printf "%.1f", 100 * (busy - p - (u[1] + u[2]) * hz) / total; else print "nan" }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$name" "$rps" "$p50" "$p99" "$cpu" "$scpu" \
      "$box" "$rss0" "$rss1" "$other" "${errs:--}" >>"$results"
    # shellcheck disable=SC2059
    printf "$row_fmt" "$r" "$name" "$rps" "$p50" "$p99" "$cpu" "$scpu" "$box" "$rss0" "$rss1" "$other" "${errs:--}"
    sleep 1
  done
done

# --- summary -------------------------------------------------------------------------------------------------
# median FORMAT: the median of the numbers on stdin (mean of the middle two for an even count).
median() {
  sort -g | awk -v f="$1" '{v[NR]=$1} END{ if (NR==0) print "nan"; else if (NR%2) printf f "\n", v[(NR+1)/2];
    else printf f "\n", (v[NR/2]+v[NR/2+1])/2 }'
}
# col_median CONTENDER COLUMN FORMAT: median of one runs.tsv column over the contender's runs.
col_median() { awk -F'\t' -v c="$1" -v col="$2" 'NR>1 && $2==c {print $col}' "$results" | median "$3"; }
# round_ratios CONTENDER COLUMN: CONTENDER / nginx for one column, per round (same round = same conditions).
round_ratios() {
  awk -F'\t' -v c="$1" -v col="$2" 'NR>1 && $2==c {a[$1]=$col} NR>1 && $2=="nginx" {b[$1]=$col}
    END{ for (r = 1; r in a; r++) if (b[r] > 0) printf "%.3f ", a[r] / b[r]; print "" }' "$results"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.3f", a / b; else print "nan" }'; }
{
  sum_fmt='%-11s %8s %7s %7s %10s %10s %10s %10s %10s %6s\n'
  printf '\n== medians over %s rounds (%s; load average at start %s, at end %s)\n' "$rounds" "$load_note" \
    "$load_start" "$(cut -d' ' -f1-3 /proc/loadavg)"
  # shellcheck disable=SC2059
  printf "$sum_fmt" contender 'req/s' 'p50 ms' 'p99 ms' 'cpu µs/req' 'sim µs/req' 'box µs/req' 'RSS start' \
    'RSS after' other%
  for ((i = 0; i < n; i++)); do
    c=${names[$i]}
    # shellcheck disable=SC2059
    printf "$sum_fmt" "$c" "$(col_median "$c" 3 %.0f)" "$(col_median "$c" 4 %.3f)" "$(col_median "$c" 5 %.3f)" \
      "$(col_median "$c" 6 %.2f)" "$(col_median "$c" 7 %.2f)" "$(col_median "$c" 8 %.2f)" "${rss_start[$i]}" \
      "$(col_median "$c" 10 %.0f)" "$(col_median "$c" 11 %.1f)"
  done
  for c in ours ours-epoll; do
    [ -n "$(col_median "$c" 6 %.2f | grep -v nan)" ] || continue
    rr=$(round_ratios "$c" 6)
    printf '\nCPU per request (proxy), %s / nginx: %s  (medians); per round: %s(median %s)\n' "$c" \
      "$(ratio "$(col_median "$c" 6 %.4f)" "$(col_median nginx 6 %.4f)")" "$rr" \
      "$(tr ' ' '\n' <<<"$rr" | grep . | median %.3f)"
    rr=$(round_ratios "$c" 8)
    printf 'CPU per request (whole box), %s / nginx: %s  (medians); per round: %s(median %s)\n' "$c" \
      "$(ratio "$(col_median "$c" 8 %.4f)" "$(col_median nginx 8 %.4f)")" "$rr" \
      "$(tr ' ' '\n' <<<"$rr" | grep . | median %.3f)"
  done
  disturbed=$(awk -F'\t' 'NR>1 && $11+0 > 5 {printf "round %s %s (%s%%); ", $1, $2, $11}' "$results")
  if [ -n "$disturbed" ]; then
    printf '\nDISTURBED (other%% > 5: something else used the machine; read those runs with care): %s\n' "$disturbed"
  fi
  printf '\ncontenders:\n'
  for ((i = 0; i < n; i++)); do printf '  %-11s %s\n' "${names[$i]}" "${descr[$i]}"; done
  printf '  %-11s %s\n' kube-sim "$sim_url (pid $sim_pid)"
  printf 'request: wrk --latency -t%s -c%s -d%s -H "Authorization: Bearer %s" https://127.0.0.1:PORT%s\n' \
    "$threads" "$connections" "$duration" "$token" "$req_path"
  printf 'machine: nproc %s, kernel %s, %s\n' "$(nproc)" "$(uname -r)" "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf '\nproxy log warnings/errors:\n'
  found=0
  for f in "$tmp"/results/ours*.err "$tmp/results/nginx-error.log" "$tmp/results/nginx.err" "$tmp/results/kube-sim.err"; do
    [ -f "$f" ] || continue
    # Timestamps, pids and connection numbers stripped, identical messages counted.
    lines=$(grep -aiE 'warn|error|crit|alert|emerg|panic' "$f" | sed -E 's/\x1b\[[0-9;]*m//g;
      s/^[0-9]{4}-[0-9-]+T[0-9:.]+Z +//; s/^[0-9]{4}\/[0-9\/]+ [0-9:]+ //; s/[0-9]+#[0-9]+: (\*[0-9]+ )?//' \
      | sort | uniq -c | sort -rn || true)
    [ -n "$lines" ] || continue
    found=1
    printf '  %s (count, message):\n' "$(basename "$f")"; sed 's/^ */    /' <<<"$lines" | head -20
  done
  [ $found = 1 ] || printf '  none\n'
} | tee "$tmp/results/summary.txt"

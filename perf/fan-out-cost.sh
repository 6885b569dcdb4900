#!/usr/bin/env bash
# fan-out-cost.sh — what one all-namespaces list (`GET /api/v1/pods`, `kubectl get pods -A`) costs a tenant owner
# of 1, 10, 100 and 1,000 namespaces, with the cluster-wide list of a cluster admin (one pass-through request) as
# the baseline.
#
# What it does
#   1. Builds the release binaries: `cargo build --release -p capsule-proxy -p kube-sim` (--no-build skips it).
#   2. In a mktemp directory: kube-sim in --plain-http mode with the demo fixture, and capsule-proxy in front of it
#      over TLS (a throw-away EC P-256 certificate), --cores=N, --auth-preferred-types=BearerToken, upstream from
#      the kube-sim-written capsule-proxy.kubeconfig; arguments after `--` go to capsule-proxy unchanged.
#   3. Makes alice the owner of exactly the namespaces it creates: the demo's oil-dev and oil-prod are deleted and
#      tenant oil's status.namespaces emptied (kube-sim only knows the fixture's identities, so the owner is
#      alice and the tenant is oil). Then, for each size N (ascending), it grows tenant oil to N namespaces, with
#      the admin token straight against kube-sim (curl --parallel, JSON POSTs):
#        - namespaces oil-n<i>, labelled capsule.clastix.io/tenant=oil and projectcapsule.dev/tenant=oil, with
#          the controller ownerReference to the Tenant, as Capsule creates them;
#        - in each, RoleBinding capsule-oil-0-admin (ClusterRole admin to User alice) and P pods;
#        - a merge patch of the Tenant's status subresource: status.namespaces = oil-n1..oil-nN, status.size = N
#          (the proxy takes a tenant's namespaces from its status);
#      and polls (0.2 s, up to --poll-timeout) until alice's `GET /api/v1/namespaces` through the proxy lists N.
#   4. Waits up to --max-wait seconds for a quiet machine (a 3 s sample of /proc/stat under --quiet-max % busy),
#      then measures, through the proxy, one curl per request kind and caller: 1 warm-up + K requests on one
#      keep-alive TLS connection (the warm-up takes the TLS handshake and any TokenReview). Before each such row
#      it samples the cores for 1 s and waits up to --row-wait seconds for them to be under --quiet-max % busy:
#        list       GET /api/v1/pods
#        limit=500  GET /api/v1/pods?limit=500                         (the JSON page kubectl asks for)
#        table      GET /api/v1/pods?limit=500, Accept: Table v1, Table v1beta1, JSON (`kubectl get pods -A`)
#      as alice (the tenant owner: the fan-out once it lands) and as admin (pass-through of the cluster-wide list).
#   5. Per row: items (JSON items or Table rows of the warm-up's answer, checked against what kube-sim holds:
#      alice N*P, admin every pod in the cluster; limit=500 pages at most 500 and must carry a continue token when
#      more are left; anything else prints MISMATCH), p50/p99 latency over the K measured requests (curl
#      time_total; p99 is the nearest rank, with K=20 the slowest), proxy and kube-sim CPU µs per request (on-CPU
#      time summed over their threads from /proc/<pid>/task/*/schedstat, before/after the curl, divided by K+1),
#      answer KiB (uncompressed; curl sends no Accept-Encoding), proxy VmRSS before -> after the curl.
#      The summary lists the population times and, as DISTURBED, rows measured on busy cores.
#   Everything it starts is stopped on exit (trap); the temp directory is removed unless --keep.
#
# Usage
#   perf/fan-out-cost.sh [--sizes "1 10 100 1000"] [--pods-per-namespace 5] [--requests 20] [--cores 2]
#                        [--parallel 16] [--poll-timeout 300] [--quiet-max 25] [--max-wait 120] [--row-wait 30]
#                        [--proxy-bin PATH] [--no-build] [--no-install] [--keep] [--out DIR]
#                        [-- CAPSULE-PROXY-ARGS...]
#   --proxy-bin measures another build of capsule-proxy (an older commit, say) against this tree's kube-sim.
#   --out DIR copies the table (table.txt, table.md), the raw rows (rows.tsv), the per-request curl outputs,
#   the population logs and the proxy's and kube-sim's logs to DIR.
#   e.g. perf/fan-out-cost.sh --sizes "1 10 100" -- --all-namespaces-concurrency=32
#
# Notes
#   * CPU comes from schedstat (nanoseconds), not /proc/<pid>/stat (10 ms ticks): a batch at N=1 costs the proxy
#     about a millisecond. The tick figures are kept in rows.tsv as a cross-check (threads that exit during a
#     batch drop out of the schedstat sum, not out of the ticks).
#   * The one TLS handshake of each batch is in the CPU figures, spread over the K+1 requests.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

sizes="1 10 100 1000"
pods_per_ns=5
requests=20
cores=2
parallel=16
poll_timeout=300
quiet_max=25
max_wait=120
row_wait=30
build=1
install=1
keep=0
out_dir=
proxy_bin=
proxy_args=()

usage() { sed -n '/^# Usage/,/^# Notes/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case $1 in
    --sizes) sizes=$2; shift 2 ;;
    --pods-per-namespace) pods_per_ns=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --cores) cores=$2; shift 2 ;;
    --parallel) parallel=$2; shift 2 ;;
    --poll-timeout) poll_timeout=$2; shift 2 ;;
    --quiet-max) quiet_max=$2; shift 2 ;;
    --max-wait) max_wait=$2; shift 2 ;;
    --row-wait) row_wait=$2; shift 2 ;;
    --proxy-bin) proxy_bin=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-install) install=0; shift ;;
    --keep) keep=1; shift ;;
    --out) out_dir=$2; shift 2 ;;
    --) shift; proxy_args=("$@"); break ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
for v in "$pods_per_ns" "$requests" "$cores" "$parallel" "$poll_timeout" "$quiet_max" "$max_wait" "$row_wait"; do
  is_uint "$v" || die "not a whole number: $v"
done
[ "$requests" -ge 1 ] || die "--requests must be at least 1"
read -r -a size_list <<<"$sizes"
[ ${#size_list[@]} -gt 0 ] || die "--sizes is empty"
for v in "${size_list[@]}"; do
  if ! is_uint "$v" || [ "$v" -lt 1 ]; then die "not a size: $v"; fi
done
# Ascending and without repeats: each size grows the tenant from the previous one.
mapfile -t size_list < <(printf '%s\n' "${size_list[@]}" | sort -un)

# --- tools ---------------------------------------------------------------------------------------------------
missing=()
for t in curl jq openssl; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
if [ ${#missing[@]} -gt 0 ]; then
  [ $install = 1 ] || die "missing tools: ${missing[*]} (and --no-install was given)"
  command -v apt-get >/dev/null 2>&1 || die "missing tools: ${missing[*]}; install them (no apt-get here)"
  sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  log "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q "${missing[@]}"
fi
# curl --parallel needs 7.66.
curl --help all 2>/dev/null | grep -q -- '--parallel-max' || die "curl is too old for --parallel (needs 7.66+)"

# --- binaries ------------------------------------------------------------------------------------------------
if [ $build = 1 ]; then
  log "cargo build --release -p capsule-proxy -p kube-sim"
  (cd "$repo" && cargo build --release -p capsule-proxy -p kube-sim)
fi
target_dir=${CARGO_TARGET_DIR:-$repo/target}
case $target_dir in /*) ;; *) target_dir=$repo/$target_dir ;; esac
proxy_bin=${proxy_bin:-$target_dir/release/capsule-proxy}
case $proxy_bin in /*) ;; *) proxy_bin=$PWD/$proxy_bin ;; esac
sim_bin=$target_dir/release/kube-sim
[ -x "$proxy_bin" ] || die "$proxy_bin not found (build it or drop --no-build)"
[ -x "$sim_bin" ] || die "$sim_bin not found (build it or drop --no-build)"

# --- scratch directory and cleanup ---------------------------------------------------------------------------
tmp=$(mktemp -d -t fan-out-cost.XXXXXX)
res=$tmp/results
started=()   # pids of every process this script started
cleanup() {
  local rc=$? p i
  trap - EXIT INT TERM
  # Newest first: the proxy stops before kube-sim, so its log does not end with broken watches.
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do
    p=${started[$i]}
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [ -n "$out_dir" ] && [ -d "$res" ]; then
    mkdir -p "$out_dir" && cp -r "$res/." "$out_dir/" && log "results copied to $out_dir"
  fi
  if [ $keep = 1 ]; then log "kept $tmp"; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$res/curl" "$res/populate" "$tmp/sim" "$tmp/bodies"
script_start=$(date +%s)

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

# --- serving certificate, kube-sim, capsule-proxy ------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=capsule-proxy-bench -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
  -keyout "$tmp/tls.key" -out "$tmp/tls.crt" 2>/dev/null

log "starting kube-sim (plain HTTP, demo fixture)"
"$sim_bin" serve --fixture "$repo/kube-sim/fixtures/demo.yaml" --addr 127.0.0.1:0 --state-dir "$tmp/sim" \
  --plain-http >"$res/kube-sim.out" 2>"$res/kube-sim.err" &
sim_pid=$!
started+=("$sim_pid")
wait_for_line "$res/kube-sim.out" 'kube-sim ready on' "$sim_pid" kube-sim
sim_url=$(sed -n 's/^kube-sim ready on \(http:\/\/[^ ]*\).*/\1/p' "$res/kube-sim.out" | head -1)
[ -f "$tmp/sim/capsule-proxy.kubeconfig" ] || die "kube-sim wrote no capsule-proxy.kubeconfig"

log "starting capsule-proxy (--cores=$cores${proxy_args[*]:+ ${proxy_args[*]}})"
NAMESPACE=capsule-system RUST_LOG=${RUST_LOG:-info} "$proxy_bin" --listening-address=127.0.0.1 --listening-port=0 \
  --health-probe-addr=127.0.0.1:0 --metrics-addr=127.0.0.1:0 --cores="$cores" \
  --kubeconfig "$tmp/sim/capsule-proxy.kubeconfig" --auth-preferred-types=BearerToken \
  --ssl-cert-path "$tmp/tls.crt" --ssl-key-path "$tmp/tls.key" ${proxy_args[@]+"${proxy_args[@]}"} \
  >"$res/proxy.out" 2>"$res/proxy.err" &
proxy_pid=$!
started+=("$proxy_pid")
wait_for_line "$res/proxy.out" 'capsule-proxy ready on' "$proxy_pid" capsule-proxy
proxy_line=$(grep -m1 'capsule-proxy ready on' "$res/proxy.out")
proxy_addr=$(sed -n 's/.*ready on https:\/\/\([^ ]*\) .*/\1/p' <<<"$proxy_line")
[ -n "$proxy_addr" ] || die "cannot parse the address from: $proxy_line"
proxy_url=https://$proxy_addr

# --- helpers -------------------------------------------------------------------------------------------------
admin_h='Authorization: Bearer admin-token'
alice_h='Authorization: Bearer alice-token'
table_accept='Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'
tenant_path=/apis/capsule.clastix.io/v1beta2/tenants/oil

# sim_get PATH: admin GET straight to kube-sim.
sim_get() { curl -sf -H "$admin_h" "$sim_url$1"; }

# A curl config entry POSTing JSON to kube-sim as admin (config strings escape " with \).
post_entry() {
  local path=$1 json=$2
  printf 'url = "%s%s"\nheader = "%s"\nheader = "Content-Type: application/json"\ndata = "%s"\n' \
    "$sim_url" "$path" "$admin_h" "${json//\"/\\\"}"
  printf 'output = "/dev/null"\nwrite-out = "%%{http_code} %%{url_effective}\\n"\n'
}
# run_config NAME FILE: runs the POSTs of FILE (entries separated by `next`), --parallel; all must answer 201.
run_config() {
  local name=$1 file=$2 want got bad
  curl -s --no-progress-meter --parallel --parallel-max "$parallel" -K "$file" \
    >"$res/populate/$name.codes" 2>"$res/populate/$name.err" || true
  want=$(grep -c '^url = ' "$file")
  got=$(awk '$1 == 201' "$res/populate/$name.codes" | wc -l)
  bad=$(awk '$1 != 201' "$res/populate/$name.codes" | head -1)
  [ "$got" = "$want" ] || die "$name: $got of $want POSTs answered 201 (${bad:+first failure: $bad; }see $res/populate/)"
}
# join_entries: separates the entries on stdin (each starting with `url = `) with `next` lines.
join_entries() { awk '/^url = / && NR > 1 {print "next"} {print}'; }

# How many namespaces alice's GET /api/v1/namespaces through the proxy lists (-1 on an error answer).
alice_ns_count() {
  curl -skf -H "$alice_h" "$proxy_url/api/v1/namespaces" 2>/dev/null \
    | jq -r 'if .items then (.items | length) else -1 end' 2>/dev/null || echo -1
}
# wait_for_ownership N: polls until the proxy shows alice N namespaces; prints the seconds it took.
wait_for_ownership() {
  local want=$1 start now got
  start=$(date +%s.%N)
  while :; do
    got=$(alice_ns_count)
    now=$(date +%s.%N)
    [ "$got" = "$want" ] && { awk -v a="$start" -v b="$now" 'BEGIN{printf "%.1f", b - a}'; return 0; }
    awk -v a="$start" -v b="$now" -v t="$poll_timeout" 'BEGIN{exit !(b - a > t)}' \
      && die "after ${poll_timeout}s alice still sees $got namespaces through the proxy, not $want"
    kill -0 "$proxy_pid" 2>/dev/null || die "capsule-proxy exited (see $res/proxy.err)"
    sleep 0.2
  done
}

hz=$(getconf CLK_TCK)
TIMEFORMAT='%3U %3S'   # `time curl ...` prints curl's user and system seconds
# On-CPU nanoseconds of a process, summed over its threads (schedstat's first field).
cpu_ns() {
  local t=0 f v
  for f in /proc/"$1"/task/*/schedstat; do
    read -r v _ <"$f" 2>/dev/null || continue
    t=$((t + v))
  done
  echo "$t"
}
# utime+stime ticks from /proc/<pid>/stat (counts exited threads too); fields after the ") " of comm.
ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12+$13}'; }
rss_kib() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
# "BUSY TOTAL" ticks of the whole machine from /proc/stat (busy excludes idle and iowait).
machine_ticks() { awk '/^cpu /{ t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat; }
busy_pct() {   # busy_pct [SECONDS]: how busy all cores were over a sample (3 s unless told), in %
  local b0 t0 b1 t1
  read -r b0 t0 < <(machine_ticks); sleep "${1:-3}"; read -r b1 t1 < <(machine_ticks)
  awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) 'BEGIN{ if (t > 0) printf "%.0f", 100 * b / t; else print 0 }'
}
wait_quiet() {   # sets quiet_note
  local waited=0 busy
  while busy=$(busy_pct); [ "$busy" -ge "$quiet_max" ]; do
    if [ "$waited" -ge "$max_wait" ]; then
      log "WARNING: cores still ${busy}% busy after ${max_wait}s; measuring anyway"
      quiet_note="cores ${busy}% busy after waiting ${waited}s: measured anyway"
      return 0
    fi
    log "cores ${busy}% busy (need < ${quiet_max}%); waiting (${waited}s of ${max_wait}s)"
    sleep 5; waited=$((waited + 8))
  done
  quiet_note="cores ${busy}% busy before measuring (waited ${waited}s)"
}
# Before each row: a 1 s sample, and up to --row-wait seconds for someone else's burst to pass; sets row_busy.
wait_quiet_row() {
  local waited=0
  while row_busy=$(busy_pct 1); [ "$row_busy" -ge "$quiet_max" ] && [ "$waited" -lt "$row_wait" ]; do
    sleep 2; waited=$((waited + 3))
  done
}

# --- start state: alice owns nothing -------------------------------------------------------------------------
tenant_uid=$(sim_get "$tenant_path" | jq -r '.metadata.uid // empty')
[ -n "$tenant_uid" ] || die "cannot read tenant oil from kube-sim"
log "proxy on $proxy_url, kube-sim on $sim_url; making alice the owner of no namespace"
sim_get /api/v1/namespaces/oil-dev >/dev/null && wait_for_ownership 2 >/dev/null   # the proxy has its snapshot
for ns in oil-dev oil-prod; do
  curl -sf -X DELETE -H "$admin_h" "$sim_url/api/v1/namespaces/$ns" >/dev/null || die "cannot delete namespace $ns"
done
patch_status() {   # patch_status JSON-ARRAY SIZE
  curl -sf -X PATCH -H "$admin_h" -H 'Content-Type: application/merge-patch+json' \
    --data-binary "{\"status\":{\"namespaces\":$1,\"size\":$2}}" "$sim_url$tenant_path/status" >/dev/null \
    || die "cannot patch tenant oil's status"
}
patch_status '[]' 0
wait_for_ownership 0 >/dev/null

# --- measurement ---------------------------------------------------------------------------------------------
rows=$res/rows.tsv
printf 'size\tcaller\trequest\titems\twant\tcontinue\tcheck\tp50_ms\tp99_ms\tproxy_us_req\tsim_us_req\tproxy_ticks_us_req\tsim_ticks_us_req\tanswer_bytes\trss_before_kib\trss_after_kib\tother_pct\tbusy_before_pct\tnew_connections\tcodes\n' >"$rows"
row_fmt='%6s  %-16s %7s %9s %9s %13s %11s %11s %17s  %s\n'
table_txt=$res/table.txt
# shellcheck disable=SC2059
printf "$row_fmt" size request items 'p50 ms' 'p99 ms' 'proxy µs/req' 'sim µs/req' 'answer KiB' 'proxy RSS KiB' check \
  | tee "$table_txt"
table_md=$res/table.md
printf '| size | request | items | p50 ms | p99 ms | proxy µs/req | sim µs/req | answer KiB | proxy RSS KiB | check |\n|---:|---|---:|---:|---:|---:|---:|---:|---|---|\n' >"$table_md"

# measure SIZE CALLER KIND WANT_TOTAL
measure() {
  local size=$1 caller=$2 kind=$3 total=$4 header query accept=() args=() k label
  case $caller in alice) header=$alice_h ;; admin) header=$admin_h ;; esac
  case $kind in
    list) query= ;;
    limit=500) query='?limit=500' ;;
    table) query='?limit=500'; accept=(-H "$table_accept") ;;
  esac
  label="$caller $kind"
  local base=$res/curl/n$size-$caller-$kind body=$tmp/bodies/n$size-$caller-$kind.json
  args=(-o "$body" "$proxy_url/api/v1/pods$query")
  for ((k = 0; k < requests; k++)); do args+=(-o /dev/null "$proxy_url/api/v1/pods$query"); done
  local p0 s0 pt0 st0 r0 b0 m0 p1 s1 pt1 st1 r1 b1 m1 curl_cpu
  wait_quiet_row
  r0=$(rss_kib "$proxy_pid")
  read -r b0 m0 < <(machine_ticks)
  p0=$(cpu_ns "$proxy_pid"); s0=$(cpu_ns "$sim_pid"); pt0=$(ticks "$proxy_pid"); st0=$(ticks "$sim_pid")
  { time curl -sk --http1.1 -H "$header" ${accept[@]+"${accept[@]}"} \
      -w '%{http_code} %{time_total} %{size_download} %{num_connects}\n' "${args[@]}" >"$base.txt"; } 2>"$tmp/curl.time"
  p1=$(cpu_ns "$proxy_pid"); s1=$(cpu_ns "$sim_pid"); pt1=$(ticks "$proxy_pid"); st1=$(ticks "$sim_pid")
  read -r b1 m1 < <(machine_ticks)
  r1=$(rss_kib "$proxy_pid")
  curl_cpu=$(awk '{print $1 + $2}' "$tmp/curl.time")

  local n=$((requests + 1)) codes items=-1 cont=no got_kind=none want want_cont want_kind check
  local p50 p99 pcpu scpu ptk stk bytes other conns
  codes=$(awk '{print $1}' "$base.txt" | sort | uniq -c | awk '{printf "%s%s×%s", (NR > 1 ? "," : ""), $2, $1}')
  conns=$(awk '{c += $4} END{print c + 0}' "$base.txt")
  if [ -s "$body" ]; then
    read -r got_kind items cont < <(jq -r '[.kind // "none",
        (if .kind == "Table" then (.rows // [] | length) else (.items // [] | length) end),
        (if (.metadata.continue // "") != "" then "yes" else "no" end)] | @tsv' "$body" 2>/dev/null \
      || echo "unparsable -1 no")
  fi
  want=$total; want_cont=no; want_kind=PodList
  if [ "$kind" != list ] && [ "$total" -gt 500 ]; then want=500; want_cont=yes; fi
  if [ "$kind" = table ]; then want_kind=Table; fi
  check=ok
  if [ "$codes" != "200×$n" ]; then
    check="MISMATCH: HTTP $codes"
  elif [ "$got_kind" != "$want_kind" ]; then
    check="MISMATCH: a $got_kind, want a $want_kind"
  elif [ "$items" != "$want" ] || [ "$cont" != "$want_cont" ]; then
    check="MISMATCH: want $want"
    if [ "$want_cont" = yes ]; then check+=" + continue"; fi
    if [ "$cont" = yes ] && [ "$want_cont" = no ]; then check+=" without continue"; fi
    if [ "$cont" = no ] && [ "$want_cont" = yes ]; then check+=" (no continue token)"; fi
  fi
  read -r p50 p99 < <(tail -n +2 "$base.txt" | awk '{print $2 * 1000}' | sort -g | awk '{v[NR] = $1}
    END{ i = int(NR * 0.99); if (i < NR * 0.99) i++; printf "%.2f %.2f\n", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[i] }')
  pcpu=$(awk -v d=$((p1 - p0)) -v n=$n 'BEGIN{printf "%.0f", d / 1000 / n}')
  scpu=$(awk -v d=$((s1 - s0)) -v n=$n 'BEGIN{printf "%.0f", d / 1000 / n}')
  ptk=$(awk -v d=$((pt1 - pt0)) -v n=$n -v hz="$hz" 'BEGIN{printf "%.0f", d * 1e6 / hz / n}')
  stk=$(awk -v d=$((st1 - st0)) -v n=$n -v hz="$hz" 'BEGIN{printf "%.0f", d * 1e6 / hz / n}')
  bytes=$(wc -c <"$body" 2>/dev/null || echo 0)
  # CPU of everything else during the batch, in % of all cores: busy minus proxy, kube-sim and curl. /proc/stat
  # counts ticks, so only a batch of at least 100 ticks per core says anything ("-" otherwise).
  other=$(awk -v busy=$((b1 - b0)) -v total=$((m1 - m0)) -v hz="$hz" -v p=$((p1 - p0 + s1 - s0)) -v c="$curl_cpu" \
    -v cpus="$(nproc)" 'BEGIN{ if (total >= 100 * cpus) printf "%.1f", 100 * (busy / hz - p / 1e9 - c) / (total / hz);
      else print "-" }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$caller" "$kind" \
    "$items" "$want" "$cont" "$check" "$p50" "$p99" "$pcpu" "$scpu" "$ptk" "$stk" "$bytes" "$r0" "$r1" "$other" \
    "$row_busy" "$conns" "$codes" >>"$rows"
  local kib
  kib=$(awk -v b="$bytes" 'BEGIN{printf "%.1f", b / 1024}')
  # shellcheck disable=SC2059
  printf "$row_fmt" "$size" "$label" "$items" "$p50" "$p99" "$pcpu" "$scpu" "$kib" "$r0->$r1" "$check" \
    | tee -a "$table_txt"
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s → %s | %s |\n' "$size" "$label" "$items" "$p50" "$p99" \
    "$pcpu" "$scpu" "$kib" "$r0" "$r1" "$check" >>"$table_md"
}

# --- sizes ---------------------------------------------------------------------------------------------------
have=0
notes=()
for size in "${size_list[@]}"; do
  log "size $size: creating namespaces oil-n$((have + 1))..oil-n$size with $pods_per_ns pods each"
  t0=$(date +%s.%N)
  pc0=$(cpu_ns "$proxy_pid")
  for ((i = have + 1; i <= size; i++)); do
    post_entry /api/v1/namespaces "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"oil-n$i\",\"labels\":{\"capsule.clastix.io/tenant\":\"oil\",\"projectcapsule.dev/tenant\":\"oil\"},\"ownerReferences\":[{\"apiVersion\":\"capsule.clastix.io/v1beta2\",\"kind\":\"Tenant\",\"name\":\"oil\",\"uid\":\"$tenant_uid\",\"controller\":true,\"blockOwnerDeletion\":true}]}}"
  done | join_entries >"$tmp/namespaces.cfg"
  run_config "n$size-namespaces" "$tmp/namespaces.cfg"
  for ((i = have + 1; i <= size; i++)); do
    post_entry "/apis/rbac.authorization.k8s.io/v1/namespaces/oil-n$i/rolebindings" "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"RoleBinding\",\"metadata\":{\"name\":\"capsule-oil-0-admin\",\"namespace\":\"oil-n$i\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"admin\"},\"subjects\":[{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"User\",\"name\":\"alice\"}]}"
    for ((j = 1; j <= pods_per_ns; j++)); do
      post_entry "/api/v1/namespaces/oil-n$i/pods" "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-$j\",\"namespace\":\"oil-n$i\",\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"7c9d8f5b6\"}},\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"nginx:1.27\",\"ports\":[{\"containerPort\":80}]}]}}"
    done
  done | join_entries >"$tmp/objects.cfg"
  [ -s "$tmp/objects.cfg" ] && run_config "n$size-objects" "$tmp/objects.cfg"
  patch_status "$(seq 1 "$size" | jq -R '"oil-n" + .' | jq -cs .)" "$size"
  t1=$(date +%s.%N)
  have=$size
  populate_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b - a}')
  seen_s=$(wait_for_ownership "$size")
  absorb_ms=$(awk -v d=$(($(cpu_ns "$proxy_pid") - pc0)) 'BEGIN{printf "%.0f", d / 1e6}')
  # What kube-sim holds: every pod (the admin's list) and the pods in the tenant's namespaces (alice's).
  sim_get /api/v1/pods >"$tmp/all-pods.json"
  all_pods=$(jq '.items | length' "$tmp/all-pods.json")
  owned=$(sim_get "$tenant_path" | jq -c .status.namespaces)
  alice_pods=$(jq --argjson ns "$owned" '[.items[] | select(.metadata.namespace as $n | $ns | index($n))] | length' \
    "$tmp/all-pods.json")
  [ "$alice_pods" = $((size * pods_per_ns)) ] || die "kube-sim holds $alice_pods pods in alice's namespaces, not $((size * pods_per_ns))"
  note="size $size: populated in ${populate_s}s, the proxy showed alice $size namespaces ${seen_s}s later (proxy CPU meanwhile ${absorb_ms} ms); kube-sim holds $all_pods pods, $alice_pods of them in alice's namespaces"
  log "$note"
  wait_quiet
  notes+=("$note; $quiet_note")
  for kind in list limit=500 table; do
    measure "$size" alice "$kind" "$alice_pods"
    measure "$size" admin "$kind" "$all_pods"
  done
done

# --- summary -------------------------------------------------------------------------------------------------
{
  printf '\n'
  for note in "${notes[@]}"; do printf '%s\n' "$note"; done
  disturbed=$(awk -F'\t' -v q="$quiet_max" 'NR > 1 && ($17 + 0 > 10 || $18 + 0 >= q) {
    printf "%s %s %s (%s%% busy before%s); ", $1, $2, $3, $18, ($17 == "-" ? "" : ", other " $17 "%")}' "$rows")
  [ -z "$disturbed" ] || printf 'DISTURBED (cores >= %s%% busy just before the row, or other%% > 10 during it): %s\n' \
    "$quiet_max" "$disturbed"
  mism=$(awk -F'\t' 'NR > 1 && $7 != "ok"' "$rows" | wc -l)
  [ "$mism" = 0 ] || printf '%s of %s rows MISMATCH (expected for alice with Go'"'"'s -A: a build before the fan-out, or ProxyAllNamespaced=false)\n' \
    "$mism" "$(($(wc -l <"$rows") - 1))"
  # Tick-based CPU well above the schedstat sum means threads came and went during a batch.
  awk -F'\t' -v hz="$hz" 'NR > 1 { tick = 1e6 / hz / ('"$requests"' + 1);
      if ($12 > $10 * 1.25 + 2 * tick || $13 > $11 * 1.25 + 2 * tick)
        printf "note: %s %s %s: /proc/<pid>/stat says %s / %s µs/req (proxy / sim), schedstat %s / %s\n",
          $1, $2, $3, $12, $13, $10, $11 }' "$rows"
  printf 'proxy: %s%s\n  %s\n' "$proxy_bin" "${proxy_args[*]:+ ${proxy_args[*]}}" "${proxy_line#capsule-proxy ready on }"
  printf 'requests: curl --http1.1, 1 warm-up + %s measured per row on one keep-alive TLS connection; %s pods per namespace\n' \
    "$requests" "$pods_per_ns"
  printf 'machine: nproc %s, kernel %s, load average %s, %s; run took %ss\n' "$(nproc)" "$(uname -r)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(($(date +%s) - script_start))"
  printf '\nproxy log warnings/errors (count, message):\n'
  lines=$(grep -aE '"level":"(warn|error)"|WARN|ERROR|panic' "$res/proxy.err" \
    | sed -E 's/"ts":"[^"]*",//' | sort | uniq -c | sort -rn | head -20 || true)
  if [ -n "$lines" ]; then printf '%s\n' "$lines"; else printf '  none\n'; fi
} | tee "$res/summary.txt"

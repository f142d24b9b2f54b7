#!/bin/bash
# Switchyard vs nginx vs HAProxy: header routing on loopback, perf.md §2.
#
#   bench/run.sh                      S1: UserName: admin -> green, else blue
#   SCENARIOS="S1 tenants" bench/run.sh
#   DURATION=5 TENANTS="1 1000" SCENARIOS=tenants bench/run.sh
#
# Layout (2 cores): wrk and the backend nginx on cpu0, the proxy under test
# alone on cpu1 (PIN=0 turns pinning off).  Every proxy has one worker; wrk
# runs -t1 -c50 -d${DURATION}s --latency after a 1 s warm-up.  The table
# gives req/s, p50, p99, subj% (CPU of the process under test, from
# /proc/PID/task/*/schedstat), cpu0%/cpu1% (core busy incl. steal, from
# /proc/stat), req/s per busy core (req/s / subj%) and its inverse, CPU
# microseconds per request (us/req), peak RSS (VmHWM), wrk
# errors, new backend connections (keep-alive check) and the ratios to
# HAProxy (same header case) and to the backend direct: a1 = backend worker
# alone on cpu1, a2 = backend on cpu0 beside wrk (the layout's cap).
#
# Ports from BENCH_PORT_BASE (default 18180, away from `make run`'s 18081/2):
# +1/+2 backends blue/green, +9 backend stub_status, +10 nginx, +20 HAProxy,
# +30 Switchyard; the tenant variants use +11.., +21.., +31..
# Generated files go to bench/gen/ (git-ignored).  Every process started is
# stopped by PID on exit; the whole run is bounded by MAX_SECONDS.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MAX_SECONDS=${MAX_SECONDS:-420}
. "$ROOT/bench/lib.sh"
bench_bound "$@"

DURATION=${DURATION:-10}
CONNS=${CONNS:-50}
SCENARIOS=${SCENARIOS:-S1}
TENANTS=${TENANTS:-1 1000 100000}
PIN=${PIN:-1}
BIN=${SWITCHYARD_BIN:-$ROOT/build/switchyard}
GEN=$ROOT/bench/gen
LOGS=$GEN/logs
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$GEN/results-$STAMP.txt
WRKLOG=$LOGS/wrk-$STAMP.log

BASE=${BENCH_PORT_BASE:-18180}
P_BLUE=$((BASE + 1)) P_GREEN=$((BASE + 2)) P_STATUS=$((BASE + 9))
P_NGINX=$((BASE + 10)) P_HAPROXY=$((BASE + 20)) P_SY=$((BASE + 30))

mkdir -p "$GEN" "$LOGS" "$GEN/nginx-backend" "$GEN/nginx-proxy"
: > "$OUT"

bench_traps

say() { echo "$*" | tee -a "$OUT"; }
die() { say "bench: $*"; exit 1; }


for t in nginx haproxy wrk curl taskset; do
    command -v "$t" >/dev/null || die "$t missing (make deps)"
done
[ -x "$BIN" ] || die "$BIN not built (make)"

TENANT_SETS_ALL=""
case " $SCENARIOS " in *" tenants "*) TENANT_SETS_ALL=$TENANTS ;; esac
port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
for p in $P_BLUE $P_GREEN $P_STATUS $P_NGINX $P_HAPROXY $P_SY \
         $(i=0; for n in $TENANT_SETS_ALL; do i=$((i + 1)); echo $((P_NGINX + i)) $((P_HAPROXY + i)) $((P_SY + i)); done); do
    port_busy "$p" && die "port $p already in use"
done

wait_port() {  # wait_port PORT PID
    local i
    for i in $(seq 1 100); do
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/" && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# ---------- configs ----------
tenant_name() { printf 't%05d' "$1"; }

gen_tenant_maps() {  # odd tenants -> green, even -> blue
    local n
    for n in $TENANT_SETS; do
        [ -f "$GEN/tenants-$n.map" ] && continue
        awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++) printf "t%05d %s\n", i, (i % 2 ? "green" : "blue") }' \
            > "$GEN/tenants-$n.map"
    done
}

write_backend_conf() {
    cat > "$GEN/nginx-backend.conf" <<EOF
worker_processes 1;
daemon off;
pid $GEN/nginx-backend/nginx.pid;
error_log $LOGS/nginx-backend-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path $GEN/nginx-backend/body;
    proxy_temp_path $GEN/nginx-backend/proxy;
    fastcgi_temp_path $GEN/nginx-backend/fastcgi;
    uwsgi_temp_path $GEN/nginx-backend/uwsgi;
    scgi_temp_path $GEN/nginx-backend/scgi;
    default_type text/plain;
    server { listen 127.0.0.1:$P_BLUE backlog=4096;  location / { return 200 "blue\n"; } }
    server { listen 127.0.0.1:$P_GREEN backlog=4096; location / { return 200 "green\n"; } }
    server { listen 127.0.0.1:$P_STATUS; location / { stub_status; } }
}
EOF
}

write_nginx_conf() {
    local maps="" servers="" i=0 n
    for n in $TENANT_SETS; do
        i=$((i + 1))
        maps="$maps
    map \$http_x_tenant \$tenant_pool_$n {
        default blue;
        include $GEN/tenants-$n.nginx;
    }"
        awk '{ printf "        %s %s;\n", $1, $2 }' "$GEN/tenants-$n.map" > "$GEN/tenants-$n.nginx"
        servers="$servers
    server { listen 127.0.0.1:$((P_NGINX + i)) backlog=4096; location / { proxy_pass http://\$tenant_pool_$n; } }"
    done
    cat > "$GEN/nginx-proxy.conf" <<EOF
worker_processes 1;
daemon off;
pid $GEN/nginx-proxy/nginx.pid;
error_log $LOGS/nginx-proxy-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path $GEN/nginx-proxy/body;
    proxy_temp_path $GEN/nginx-proxy/proxy;
    fastcgi_temp_path $GEN/nginx-proxy/fastcgi;
    uwsgi_temp_path $GEN/nginx-proxy/uwsgi;
    scgi_temp_path $GEN/nginx-proxy/scgi;
    map_hash_max_size 262144;
    map_hash_bucket_size 64;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    upstream blue  { server 127.0.0.1:$P_BLUE;  keepalive 128; keepalive_requests 1000000; }
    upstream green { server 127.0.0.1:$P_GREEN; keepalive 128; keepalive_requests 1000000; }
    map \$http_username \$pool { default blue; admin green; }
    server { listen 127.0.0.1:$P_NGINX backlog=4096; location / { proxy_pass http://\$pool; } }$maps$servers
}
EOF
}

write_haproxy_conf() {
    local i=0 n
    cat > "$GEN/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 4096
    pidfile $GEN/haproxy.pid
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
backend blue
    server b1 127.0.0.1:$P_BLUE
backend green
    server g1 127.0.0.1:$P_GREEN
frontend s1
    bind 127.0.0.1:$P_HAPROXY
    acl is_admin hdr(UserName) -m str admin
    use_backend green if is_admin
    default_backend blue
EOF
    for n in $TENANT_SETS; do
        i=$((i + 1))
        cat >> "$GEN/haproxy.cfg" <<EOF
frontend tenants_$n
    bind 127.0.0.1:$((P_HAPROXY + i))
    use_backend %[req.hdr(X-Tenant),map_str($GEN/tenants-$n.map,blue)]
EOF
    done
}

sy_header() {  # sy_header PORT
    sy_bench_config "$1" off ""
}

policy() {  # policy NAME CONDITION UPSTREAM
    cat <<EOF
      - strategy_name: $1
        strategy_weight: 50
        condition: "$2"
        backend_type: UPSTREAM
        backend_config: {ServiceType: HTTP, ServiceConfig: {Product: upstream, UpstreamId: $3, Path: /, Method: ANY}}
EOF
}

attach() {
    cat <<EOF
    Attachments: [{ServiceId: service-bench, EnvironmentName: release, ApiIds: [api-root]}]
EOF
}

write_sy_s1() {
    {
        sy_header "$P_SY"
        echo "Plugins:"
        echo "  - PluginId: plugin-canary"
        echo "    PluginName: canary"
        echo "    PluginType: Routing"
        echo "    PluginData:"
        policy admin "header.UserName = 'admin'" upstream-green
        attach
    } > "$GEN/switchyard-s1.yaml"
}

write_sy_tenants() {  # write_sy_tenants N PORT
    { sy_header "$2"; sy_tenant_plugin "$1"; } > "$GEN/switchyard-tenants-$1.yaml"
}

write_lua() {
    cat > "$GEN/done.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
EOF
    cat > "$GEN/tenants.lua" <<'EOF'
-- Pre-builds 8192 requests with uniformly random tenants in 1..TENANT_N.
local n = tonumber(os.getenv("TENANT_N") or "1")
local reqs = {}
init = function(args)
  math.randomseed(12345)
  for i = 1, 8192 do
    local t = math.random(1, n)
    reqs[i] = wrk.format("GET", "/release/", { ["X-Tenant"] = string.format("t%05d", t) })
  end
end
local i = 0
request = function()
  i = i % 8192 + 1
  return reqs[i]
end
EOF
    cat "$GEN/done.lua" >> "$GEN/tenants.lua"
}

# ---------- measuring ----------
# On-CPU time of every thread, ns (utime/stime read ~0 on some VM kernels;
# schedstat is exact).
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
# "busy total" jiffies of cpu0 and cpu1 (busy counts steal, not idle/iowait)
core_busy() { awk '/^cpu[01] / { t = 0; for (i = 2; i <= NF; i++) t += $i; printf "%d %d ", t - $5 - $6, t }' /proc/stat; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
accepts() { curl -s --max-time 2 "http://127.0.0.1:$P_STATUS/" | awk 'NR == 3 { print $1 }'; }

# run_wrk LABEL SUBJECT_PID URL [wrk args...]  -> appends a row to $ROWS
ROWS=$GEN/rows-$STAMP.tsv
: > "$ROWS"
run_wrk() {
    local label=$1 pid=$2 url=$3; shift 3
    if ! kill -0 "$pid" 2>/dev/null; then
        local st=""
        for p in $PIDS; do [ "$p" = "$pid" ] && { wait "$pid"; st=" with status $?"; }; done
        say "bench: $label: the process under test ($pid) is gone$st; skipped"
        return
    fi
    on_cpu 0 timeout 25 wrk -t1 -c"$CONNS" -d1s "$@" "$url" >> "$WRKLOG" 2>&1
    local a0 c0 t0 a1 c1 t1 res k0 k1
    a0=$(accepts); c0=$(cpu_ns "$pid"); k0=$(core_busy); t0=$(date +%s%N)
    echo "## $label $url $*" >> "$WRKLOG"
    res=$(on_cpu 0 timeout $((DURATION + 20)) wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$@" "$url" 2>&1)
    t1=$(date +%s%N); c1=$(cpu_ns "$pid"); k1=$(core_busy); a1=$(accepts)
    echo "$res" >> "$WRKLOG"
    local line
    line=$(echo "$res" | grep '^RESULT' | tail -n 1)
    if [ -z "$line" ]; then
        say "bench: wrk gave no result for $label (see $WRKLOG)"
        return
    fi
    echo "$label $pid $line cpu_ns=$((c1 - c0)) wall_ns=$((t1 - t0)) $(echo $k0 $k1 | awk '{ printf "core0=%.0f core1=%.0f", 100 * ($5 - $1) / ($6 - $2 + 1e-9), 100 * ($7 - $3) / ($8 - $4 + 1e-9) }') newconn=$((a1 - a0)) hwm_kb=$(hwm_kb "$pid")" >> "$ROWS"
}

print_table() {  # print_table TITLE PREFIX
    say ""
    say "## $1"
    awk -v prefix="$2" '
    function kv(s,   a, i, n, p) { n = split(s, a, " "); for (i = 1; i <= n; i++) { split(a[i], p, "="); v[p[1]] = p[2] } }
    index($1, prefix) == 1 {
        delete v; kv($0)
        name = substr($1, length(prefix) + 1)
        rps = v["requests"] / (v["duration_us"] / 1e6)
        cpu = 100 * v["cpu_ns"] / v["wall_ns"]
        per = cpu > 0 ? rps / (cpu / 100) : 0
        errs = v["connect"] + v["read"] + v["write"] + v["status"] + v["timeout"]
        names[++n] = name; R[name] = rps; P50[name] = v["p50_us"] / 1000; P99[name] = v["p99_us"] / 1000
        CPU[name] = cpu; PER[name] = per; C0[name] = v["core0"]; C1[name] = v["core1"]; RSS[name] = v["hwm_kb"] / 1024; ERR[name] = errs; NC[name] = v["newconn"]
    }
    END {
        printf "%-22s %8s %6s %6s %5s %5s %5s %10s %6s %6s %5s %6s %8s %8s %8s\n", "run", "req/s", "p50ms", "p99ms", "subj%", "cpu0%", "cpu1%", "req/s/core", "us/req", "rssMB", "errs", "newcon", "/haproxy", "/directA1", "/directA2"
        for (i = 1; i <= n; i++) {
            k = names[i]; h = k
            sub(/^[a-z]+/, "haproxy", h)
            rh = (h in R && R[h] > 0 && k !~ /^direct/) ? sprintf("%.2f", R[k] / R[h]) : "-"
            a1 = ("direct-a1" in R && k !~ /^direct/) ? sprintf("%.2f", R[k] / R["direct-a1"]) : "-"
            a2 = ("direct-a2" in R && k !~ /^direct/) ? sprintf("%.2f", R[k] / R["direct-a2"]) : "-"
            printf "%-22s %8.0f %6.2f %6.2f %5.0f %5.0f %5.0f %10.0f %6.1f %6.1f %5d %6d %8s %8s %8s\n", k, R[k], P50[k], P99[k], CPU[k], C0[k], C1[k], PER[k], (PER[k] > 0 ? 1e6 / PER[k] : 0), RSS[k], ERR[k], NC[k], rh, a1, a2
        }
    }' "$ROWS" | tee -a "$OUT"
}

check_route() {  # check_route NAME URL WANT [curl header args]
    local name=$1 url=$2 want=$3; shift 3
    local got
    got=$(curl -s --max-time 3 "$@" "$url")
    if [ "$got" = "$want" ]; then
        say "  ok   $name: $* -> $got"
        return 0
    fi
    say "  FAIL $name: $* -> '$got' (want '$want')"
    return 1
}

# ---------- start ----------
TENANT_SETS=""
case " $SCENARIOS " in *" tenants "*) TENANT_SETS=$TENANTS ;; esac
[ -n "$TENANT_SETS" ] && gen_tenant_maps
write_backend_conf; write_nginx_conf; write_haproxy_conf; write_sy_s1; write_lua

say "# bench/run.sh $STAMP"
say "# host: $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
say "# $(nginx -v 2>&1), $(haproxy -v | head -n1 | cut -d' ' -f1-3), $(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2)"
say "# switchyard: $("$BIN" --version 2>&1 | head -n1)"
say "# loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
say "# pinning: PIN=$PIN load(wrk+backend)=cpu0 proxy=cpu1; wrk -t1 -c$CONNS -d${DURATION}s (+1s warm-up)"

"$BIN" -t -c "$GEN/switchyard-s1.yaml" > "$LOGS/switchyard-check.log" 2>&1 || {
    cat "$LOGS/switchyard-check.log" | tee -a "$OUT"
    die "the generated Switchyard config does not validate"
}

spawn 0 "$LOGS/nginx-backend.out" nginx -e "$LOGS/nginx-backend-error.log" -p "$GEN/nginx-backend" -c "$GEN/nginx-backend.conf"
BACKEND=$SPAWNED
wait_port $P_BLUE $BACKEND || die "backend nginx did not start ($LOGS/nginx-backend-error.log)"
BACKEND_W=$(pgrep -P "$BACKEND" | head -n1)
[ -n "$BACKEND_W" ] || die "no backend nginx worker under $BACKEND"

spawn 1 "$LOGS/switchyard.log" "$BIN" -c "$GEN/switchyard-s1.yaml"
SY=$SPAWNED
wait_port $P_SY $SY || die "switchyard did not start ($LOGS/switchyard.log)"

spawn 1 "$LOGS/nginx-proxy.out" nginx -e "$LOGS/nginx-proxy-error.log" -p "$GEN/nginx-proxy" -c "$GEN/nginx-proxy.conf"
NGX=$SPAWNED
wait_port $P_NGINX $NGX || die "nginx proxy did not start ($LOGS/nginx-proxy-error.log)"
NGX_W=$(pgrep -P "$NGX" | head -n1)
[ -n "$NGX_W" ] || die "no nginx proxy worker under $NGX"

spawn 1 "$LOGS/haproxy.log" haproxy -db -f "$GEN/haproxy.cfg"
HAP=$SPAWNED
wait_port $P_HAPROXY $HAP || die "haproxy did not start ($LOGS/haproxy.log)"

say ""
say "## routing checks"
SY_OK=1
check_route direct "http://127.0.0.1:$P_BLUE/" blue
check_route direct "http://127.0.0.1:$P_GREEN/" green
for p in "nginx $P_NGINX" "haproxy $P_HAPROXY" "switchyard $P_SY"; do
    set -- $p
    ok=1
    check_route "$1" "http://127.0.0.1:$2/release/" blue || ok=0
    check_route "$1" "http://127.0.0.1:$2/release/" green -H "UserName: admin" || ok=0
    check_route "$1" "http://127.0.0.1:$2/release/" blue -H "UserName: bob" || ok=0
    [ "$1" = switchyard ] && [ $ok = 0 ] && SY_OK=0
done
[ $SY_OK = 1 ] || say "  (Switchyard routes wrongly: its numbers below are not comparable)"

case " $SCENARIOS " in *" S1 "*)
    say ""
    say "(S1 runs: $((8 * (DURATION + 1)))s)"
    if [ "$PIN" = 1 ] && [ -n "$BACKEND_W" ]; then
        taskset -p -c 1 "$BACKEND_W" > /dev/null
        run_wrk "s1:direct-a1" "$BACKEND_W" "http://127.0.0.1:$P_BLUE/release/" -s "$GEN/done.lua"
        taskset -p -c 0 "$BACKEND_W" > /dev/null
    fi
    run_wrk "s1:direct-a2" "$BACKEND_W" "http://127.0.0.1:$P_BLUE/release/" -s "$GEN/done.lua"
    for hdr in "" "admin"; do
        suf=""; args=(-s "$GEN/done.lua")
        [ -n "$hdr" ] && { suf="+hdr"; args+=(-H "UserName: admin"); }
        run_wrk "s1:haproxy$suf" "$HAP" "http://127.0.0.1:$P_HAPROXY/release/" "${args[@]}"
        run_wrk "s1:nginx$suf" "$NGX_W" "http://127.0.0.1:$P_NGINX/release/" "${args[@]}"
        run_wrk "s1:switchyard$suf" "$SY" "http://127.0.0.1:$P_SY/release/" "${args[@]}"
    done
    print_table "S1 header routing, -c$CONNS (UserName: admin -> green; +hdr = header sent)" "s1:"
    ;;
esac

case " $SCENARIOS " in *" tenants "*)
    say ""
    say "## tenant routing checks"
    i=0
    for n in $TENANT_SETS; do
        i=$((i + 1))
        write_sy_tenants "$n" $((P_SY + i))
        spawn 1 "$LOGS/switchyard-tenants-$n.log" "$BIN" -c "$GEN/switchyard-tenants-$n.yaml"
        pid=$SPAWNED
        wait_port $((P_SY + i)) $pid || { say "  switchyard with $n policies did not start (see $LOGS/switchyard-tenants-$n.log)"; continue; }
        for pp in "nginx $((P_NGINX + i))" "haproxy $((P_HAPROXY + i))" "switchyard $((P_SY + i))"; do
            set -- $pp
            check_route "$1/$n" "http://127.0.0.1:$2/release/" green -H "X-Tenant: t00001"
            [ "$n" -ge 2 ] && check_route "$1/$n" "http://127.0.0.1:$2/release/" blue -H "X-Tenant: t00002"
            [ "$n" -ge 3 ] && check_route "$1/$n" "http://127.0.0.1:$2/release/" "$([ $((n % 2)) = 1 ] && echo green || echo blue)" -H "X-Tenant: $(tenant_name "$n")"
            check_route "$1/$n" "http://127.0.0.1:$2/release/" blue -H "X-Tenant: t99999999"
        done
        export TENANT_N=$n
        run_wrk "tn:direct-$n" "$BACKEND_W" "http://127.0.0.1:$P_BLUE/release/" -s "$GEN/tenants.lua"
        run_wrk "tn:haproxy-$n" "$HAP" "http://127.0.0.1:$((P_HAPROXY + i))/release/" -s "$GEN/tenants.lua"
        run_wrk "tn:nginx-$n" "$NGX_W" "http://127.0.0.1:$((P_NGINX + i))/release/" -s "$GEN/tenants.lua"
        run_wrk "tn:switchyard-$n" "$pid" "http://127.0.0.1:$((P_SY + i))/release/" -s "$GEN/tenants.lua"
        kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    done
    print_table "Tenant routing (X-Tenant uniform over N; odd -> green), -c$CONNS" "tn:"
    say "(direct-N rows are the load-side baseline with the same Lua script; /haproxy compares the same N)"
    ;;
esac

say ""
say "# results: $OUT   raw wrk output: $WRKLOG"

#!/bin/bash
# Memory and connection efficiency: Switchyard vs HAProxy vs nginx (issue 10).
#
#   bench/mem.sh                          every scenario (~4 min)
#   SCENARIOS="idle burst" bench/mem.sh   some of them
#   N_IDLE=2000 N_TLS=1000 bench/mem.sh   smaller runs
#
# Scenarios (one worker per proxy, the proxy on cpu1, the backend nginx and
# the client on cpu0; PIN=0 turns pinning off):
#   idle      N_IDLE keep-alive client connections (default 8,000), each
#             made one request then idles: the proxy's RSS added per
#             connection, over HTTP/1.1, h2c (prior knowledge) and TLS
#             (N_TLS connections, TLS 1.3, ECDSA P-256: handshakes are the
#             slow part of the run).
#   burst     8 bursts of 4,000 connections (each one request, then all
#             closed); RSS 5 s after each burst (a ratchet shows).
#   policies  100,000 tenant rules (X-Tenant: tNNNNN -> odd green, even
#             blue): resident memory once serving, peak while loading
#             (VmHWM), time from start to the first answer; Switchyard also
#             `switchyard -t` (load + compile, no sockets).
#   admin     one admin API change on a running 100,000-policy Switchyard:
#             adding one policy (POST /v1/plugins/ID/policies), a PATCH of
#             an upstream (policies untouched) and a PATCH of the plugin's
#             Description, wall time and CPU of each request.
#
# Fair configs: every proxy keeps client connections idle for 75 s
# (nginx keepalive_timeout, HAProxy timeout http-keep-alive / client,
# Switchyard IdleTimeout), pools backend connections (nginx upstream
# keepalive 128, HAProxy http-reuse always, Switchyard's per-worker pool)
# and allows ~10,000 client connections (HAProxy maxconn 9900: two fds per
# connection within the 20,000-fd limit).  HAProxy's tenants use map_str with a
# dynamic use_backend, nginx's a `map` (hash), Switchyard's a Routing
# plugin with 100,000 policies `header.X-Tenant = 'tNNNNN'` (indexed).
#
# Ports from BENCH_PORT_BASE (default 18280): +1/+2 backends, +10.. nginx,
# +20.. HAProxy, +30.. Switchyard (+0 plain/h2c, +1 h2c for nginx/HAProxy,
# +2 TLS, +5 tenants, +6 admin).  Files go to bench/gen/mem/.  Every process
# started is stopped by PID on exit; the run is bounded by MAX_SECONDS.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MAX_SECONDS=${MAX_SECONDS:-900}
. "$ROOT/bench/lib.sh"
bench_bound "$@"

SCENARIOS=${SCENARIOS:-idle burst policies admin}
N_IDLE=${N_IDLE:-8000}
N_TLS=${N_TLS:-4000}
N_BURST=${N_BURST:-4000}
BURSTS=${BURSTS:-8}
N_POLICIES=${N_POLICIES:-100000}
PIN=${PIN:-1}
BIN=${SWITCHYARD_BIN:-$ROOT/build/switchyard}
PY=/usr/bin/python3
GEN=$ROOT/bench/gen/mem
LOGS=$GEN/logs
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$GEN/results-$STAMP.txt
BASE=${BENCH_PORT_BASE:-18280}
P_BLUE=$((BASE + 1)) P_GREEN=$((BASE + 2))
P_NGINX=$((BASE + 10)) P_HAPROXY=$((BASE + 20)) P_SY=$((BASE + 30))
mkdir -p "$LOGS" "$GEN/nginx-backend" "$GEN/nginx-proxy" "$GEN/nginx-tenants"
: > "$OUT"

bench_traps

say() { echo "$*" | tee -a "$OUT"; }
die() { say "bench/mem.sh: $*"; exit 1; }
for t in nginx haproxy curl taskset openssl; do
    command -v $t >/dev/null || die "$t missing (scripts/deps.sh)"
done
[ -x "$BIN" ] || die "$BIN not built (make)"
has() { case " $SCENARIOS " in *" $1 "*) return 0 ;; esac; return 1; }

wait_port() {  # wait_port PORT PID [SECONDS]
    local i
    for i in $(seq 1 $((${3:-5} * 20))); do
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/" && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
nginx_worker() { pgrep -P "$1" | head -n1; }

# ---------- certificate (ECDSA P-256: cheap handshakes for thousands of conns) ----------
if [ ! -f "$GEN/cert.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$GEN/key.pem" -out "$GEN/cert.pem" -days 30 -subj "/CN=bench.test" \
        -addext "subjectAltName=DNS:bench.test,IP:127.0.0.1" 2>/dev/null || die "openssl failed"
fi
cat "$GEN/cert.pem" "$GEN/key.pem" > "$GEN/haproxy.pem"

nginx_temp_paths() {  # nginx_temp_paths DIR
    local d
    for d in body proxy fastcgi uwsgi scgi; do echo "    ${d/body/client_body}_temp_path $1/$d;"; done
}

# ---------- backend ----------
cat > "$GEN/nginx-backend.conf" <<EOF
worker_processes 1;
daemon off;
pid $GEN/nginx-backend/nginx.pid;
error_log $LOGS/nginx-backend.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 20000; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
$(nginx_temp_paths "$GEN/nginx-backend")
    default_type text/plain;
    server { listen 127.0.0.1:$P_BLUE backlog=4096;  location / { return 200 "blue\n"; } }
    server { listen 127.0.0.1:$P_GREEN backlog=4096; location / { return 200 "green\n"; } }
}
EOF

# ---------- proxies ----------
gen_maps() {
    [ -f "$GEN/tenants-$N_POLICIES.map" ] && return
    awk -v n="$N_POLICIES" 'BEGIN { for (i = 1; i <= n; i++) printf "t%05d %s\n", i, (i % 2 ? "green" : "blue") }' \
        > "$GEN/tenants-$N_POLICIES.map"
    awk '{ printf "        %s %s;\n", $1, $2 }' "$GEN/tenants-$N_POLICIES.map" > "$GEN/tenants-$N_POLICIES.nginx"
}

write_nginx() {  # write_nginx NAME SERVERS-AND-MAPS
    cat > "$GEN/nginx-$1.conf" <<EOF
worker_processes 1;
daemon off;
pid $GEN/nginx-$1/nginx.pid;
error_log $LOGS/nginx-$1.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 20000; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
$(nginx_temp_paths "$GEN/nginx-$1")
    map_hash_max_size 262144;
    map_hash_bucket_size 64;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    upstream blue  { server 127.0.0.1:$P_BLUE;  keepalive 128; keepalive_requests 1000000; }
    upstream green { server 127.0.0.1:$P_GREEN; keepalive 128; keepalive_requests 1000000; }
$2
}
EOF
}

write_haproxy() {  # write_haproxy NAME FRONTENDS
    cat > "$GEN/haproxy-$1.cfg" <<EOF
global
    nbthread 1
    maxconn 9900
    pidfile $GEN/haproxy-$1.pid
    ssl-default-bind-options ssl-min-ver TLSv1.3
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 75s
    timeout server 60s
    timeout http-keep-alive 75s
backend blue
    server b1 127.0.0.1:$P_BLUE
backend green
    server g1 127.0.0.1:$P_GREEN
$2
EOF
}

sy_config() {  # sy_config PORT EXTRA-GATEWAY-LINES ADMIN
    sy_bench_config "$1" "$3" "  MaxConnections: 20000
  IdleTimeout: 75${2:+
$2}"
}

say "# bench/mem.sh $STAMP"
say "# host: $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
say "# $(nginx -v 2>&1), $(haproxy -v | head -n1 | cut -d' ' -f1-3); switchyard: $("$BIN" --version 2>&1 | head -n1)"
say "# loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg); pinning PIN=$PIN (proxy cpu1, client+backend cpu0)"

spawn 0 "$LOGS/nginx-backend.out" nginx -e "$LOGS/nginx-backend.log" -p "$GEN/nginx-backend" -c "$GEN/nginx-backend.conf"
BACKEND=$SPAWNED
wait_port $P_BLUE $BACKEND || die "backend nginx did not start ($LOGS/nginx-backend.log)"

conns() { on_cpu 0 timeout 300 $PY "$ROOT/bench/conns.py" "$@"; }
field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }

# ---------- idle and burst: the S1-like proxies ----------
if has idle || has burst; then
    write_nginx proxy "    server { listen 127.0.0.1:$P_NGINX backlog=4096; location / { proxy_pass http://blue; } }
    server { listen 127.0.0.1:$((P_NGINX + 1)) http2 backlog=4096; location / { proxy_pass http://blue; } }
    server { listen 127.0.0.1:$((P_NGINX + 2)) ssl backlog=4096; ssl_certificate $GEN/cert.pem;
             ssl_certificate_key $GEN/key.pem; ssl_protocols TLSv1.3; location / { proxy_pass http://blue; } }"
    write_haproxy proxy "frontend s1
    bind 127.0.0.1:$P_HAPROXY
    bind 127.0.0.1:$((P_HAPROXY + 1)) proto h2
    bind 127.0.0.1:$((P_HAPROXY + 2)) ssl crt $GEN/haproxy.pem alpn http/1.1
    default_backend blue"
    sy_config $P_SY "  Http2Cleartext: true
  TlsListen: [\"127.0.0.1:$((P_SY + 2))\"]
  DefaultCertificate: {CertificateFile: $GEN/cert.pem, KeyFile: $GEN/key.pem}
  Tls: {MinVersion: TLSv1.3}" off > "$GEN/switchyard-proxy.yaml"
    "$BIN" -t -c "$GEN/switchyard-proxy.yaml" > "$LOGS/sy-check.log" 2>&1 || { cat "$LOGS/sy-check.log"; die "switchyard config invalid"; }

    spawn 1 "$LOGS/nginx-proxy.out" nginx -e "$LOGS/nginx-proxy.log" -p "$GEN/nginx-proxy" -c "$GEN/nginx-proxy.conf"
    NGX=$SPAWNED
    wait_port $P_NGINX $NGX || die "nginx proxy did not start"
    NGX_W=$(nginx_worker $NGX)
    spawn 1 "$LOGS/haproxy-proxy.log" haproxy -db -f "$GEN/haproxy-proxy.cfg"
    HAP=$SPAWNED
    wait_port $P_HAPROXY $HAP || die "haproxy did not start"
    spawn 1 "$LOGS/switchyard-proxy.log" "$BIN" -c "$GEN/switchyard-proxy.yaml"
    SY=$SPAWNED
    wait_port $P_SY $SY || die "switchyard did not start"
    # h2c on Switchyard shares the plain port (the preface decides).
    declare -A PORT_H1=([switchyard]=$P_SY [haproxy]=$P_HAPROXY [nginx]=$P_NGINX)
    declare -A PORT_H2=([switchyard]=$P_SY [haproxy]=$((P_HAPROXY + 1)) [nginx]=$((P_NGINX + 1)))
    declare -A PORT_TLS=([switchyard]=$((P_SY + 2)) [haproxy]=$((P_HAPROXY + 2)) [nginx]=$((P_NGINX + 2)))
    declare -A PID_OF=([switchyard]=$SY [haproxy]=$HAP [nginx]=$NGX_W)
fi

if has idle; then
    say ""
    say "## idle keep-alive connections: RSS added per connection (KiB); one request each, then idle"
    printf "%-11s %-6s %7s %6s %12s %12s %10s\n" proxy proto conns errors rss_before_MB rss_after_MB KiB/conn | tee -a "$OUT"
    for proto in h1 h2c tls; do
        n=$N_IDLE; [ $proto = tls ] && n=$N_TLS
        for px in switchyard haproxy nginx; do
            case $proto in h1) port=${PORT_H1[$px]} ;; h2c) port=${PORT_H2[$px]} ;; tls) port=${PORT_TLS[$px]} ;; esac
            r=$(conns idle --pid "${PID_OF[$px]}" --port "$port" --n "$n" --proto $proto | grep '^RESULT')
            [ -n "$r" ] || { say "  $px $proto: no result"; continue; }
            printf "%-11s %-6s %7s %6s %12.1f %12.1f %10s\n" $px $proto "$(field "$r" conns)" "$(field "$r" errors)" \
                "$(echo "$(field "$r" rss_before_kb) / 1024" | bc -l)" "$(echo "$(field "$r" rss_after_kb) / 1024" | bc -l)" \
                "$(field "$r" per_conn_kib)" | tee -a "$OUT"
        done
    done
fi

if has burst; then
    say ""
    say "## burst and idle: $BURSTS bursts of $N_BURST connections (one request each, all closed), RSS MB 5 s after each"
    for px in switchyard haproxy nginx; do
        rows=$(conns burst --pid "${PID_OF[$px]}" --port "${PORT_H1[$px]}" --n "$N_BURST" --bursts "$BURSTS" --settle 5 | grep '^RESULT')
        line=$(echo "$rows" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                 if (v["burst"] == 0) printf "before %.1f |", v["rss_kb"] / 1024;
                 else printf " %.1f", v["rss_kb"] / 1024;
                 if (v["rss_full_kb"] > peak) peak = v["rss_full_kb"]; errs += v["errors"] }
                 END { printf " | peak with %s open %.1f | errors %d", "'"$N_BURST"'", peak / 1024, errs }')
        printf "%-11s %s\n" $px "$line" | tee -a "$OUT"
    done
fi

if has idle || has burst; then
    kill -TERM $SY $HAP $NGX 2>/dev/null
    wait $SY $HAP $NGX 2>/dev/null
fi

# ---------- 100,000 policies ----------
if has policies || has admin; then
    gen_maps
    sy_config $((P_SY + 5)) "" "127.0.0.1:$((P_SY + 6))" > "$GEN/switchyard-tenants.yaml"
    sy_tenant_plugin "$N_POLICIES" >> "$GEN/switchyard-tenants.yaml"
fi

ready_ms() {  # ready_ms T0_NS PORT PID -> ms until the port answers, or -1
    wait_port "$2" "$3" 60 || { echo -1; return; }
    echo $((($(date +%s%N) - $1) / 1000000))
}

if has policies; then
    say ""
    say "## $N_POLICIES tenant policies: resident MB once serving, peak MB (VmHWM), start-to-first-answer"
    printf "%-11s %12s %9s %10s %s\n" proxy resident_MB peak_MB ready_ms note | tee -a "$OUT"
    check() { curl -s --max-time 3 -H "X-Tenant: $2" "http://127.0.0.1:$1/release/"; }

    t0=$(date +%s%N)
    /usr/bin/time -f "%e %U %S %M" -o "$LOGS/sy-t.time" "$BIN" -t -c "$GEN/switchyard-tenants.yaml" > "$LOGS/sy-t.log" 2>&1
    read -r t_s t_u t_sys t_kb < "$LOGS/sy-t.time"
    t0=$(date +%s%N)
    spawn 1 "$LOGS/switchyard-tenants.log" "$BIN" -c "$GEN/switchyard-tenants.yaml"
    pid=$SPAWNED
    ms=$(ready_ms "$t0" $((P_SY + 5)) $pid)
    sleep 2
    ok="$(check $((P_SY + 5)) t00001)/$(check $((P_SY + 5)) t00002)"
    printf "%-11s %12.1f %9.1f %10s %s\n" switchyard "$(echo "$(status_kb $pid VmRSS) / 1024" | bc -l)" \
        "$(echo "$(status_kb $pid VmHWM) / 1024" | bc -l)" "$ms" "routes t00001/t00002 -> $ok; switchyard -t: ${t_s}s wall, $(echo "$t_u + $t_sys" | bc) s CPU, peak $((t_kb / 1024)) MB" | tee -a "$OUT"
    if ! has admin; then kill -TERM $pid; wait $pid 2>/dev/null; fi
    SY_T=$pid

    write_haproxy tenants "frontend tenants
    bind 127.0.0.1:$((P_HAPROXY + 5))
    use_backend %[req.hdr(X-Tenant),map_str($GEN/tenants-$N_POLICIES.map,blue)]"
    t0=$(date +%s%N)
    spawn 1 "$LOGS/haproxy-tenants.log" haproxy -db -f "$GEN/haproxy-tenants.cfg"
    pid=$SPAWNED
    ms=$(ready_ms "$t0" $((P_HAPROXY + 5)) $pid)
    sleep 2
    ok="$(check $((P_HAPROXY + 5)) t00001)/$(check $((P_HAPROXY + 5)) t00002)"
    printf "%-11s %12.1f %9.1f %10s %s\n" haproxy "$(echo "$(status_kb $pid VmRSS) / 1024" | bc -l)" \
        "$(echo "$(status_kb $pid VmHWM) / 1024" | bc -l)" "$ms" "map_str; routes -> $ok" | tee -a "$OUT"
    kill -TERM $pid; wait $pid 2>/dev/null

    write_nginx tenants "    map \$http_x_tenant \$tenant_pool { default blue; include $GEN/tenants-$N_POLICIES.nginx; }
    server { listen 127.0.0.1:$((P_NGINX + 5)) backlog=4096; location / { proxy_pass http://\$tenant_pool; } }"
    t0=$(date +%s%N)
    spawn 1 "$LOGS/nginx-tenants.out" nginx -e "$LOGS/nginx-tenants.log" -p "$GEN/nginx-tenants" -c "$GEN/nginx-tenants.conf"
    pid=$SPAWNED
    ms=$(ready_ms "$t0" $((P_NGINX + 5)) $pid)
    sleep 2
    w=$(nginx_worker $pid)
    ok="$(check $((P_NGINX + 5)) t00001)/$(check $((P_NGINX + 5)) t00002)"
    printf "%-11s %12.1f %9.1f %10s %s\n" nginx "$(echo "$(status_kb $w VmRSS) / 1024" | bc -l)" \
        "$(echo "$(status_kb $pid VmHWM) / 1024" | bc -l)" "$ms" "map (hash); worker RSS, master peak; master RSS $(($(status_kb $pid VmRSS) / 1024)) MB; routes -> $ok" | tee -a "$OUT"
    kill -TERM $pid; wait $pid 2>/dev/null
fi

# ---------- admin change at 100,000 policies ----------
if has admin; then
    say ""
    say "## one admin change on a running $N_POLICIES-policy Switchyard (wall time of the request)"
    if [ -z "${SY_T:-}" ] || ! kill -0 "$SY_T" 2>/dev/null; then
        spawn 1 "$LOGS/switchyard-tenants.log" "$BIN" -c "$GEN/switchyard-tenants.yaml"
        SY_T=$SPAWNED
        wait_port $((P_SY + 5)) $SY_T 60 || die "switchyard with $N_POLICIES policies did not start"
    fi
    A="http://127.0.0.1:$((P_SY + 6))"
    cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
    admin_time() {  # admin_time LABEL METHOD PATH BODY
        local r c0 c1
        c0=$(cpu_ns $SY_T)
        r=$(curl -s -o "$LOGS/admin-$1.json" -w "%{http_code} %{time_total}" --max-time 120 -X "$2" "$A$3" \
            -H 'Content-Type: application/json' -d "$4")
        c1=$(cpu_ns $SY_T)
        printf "%-26s status %s  %6.3f s wall  %6.3f s CPU  RSS after %.1f MB  peak %.1f MB\n" "$1" ${r% *} ${r#* } \
            "$(echo "($c1 - $c0) / 1000000000" | bc -l)" \
            "$(echo "$(status_kb $SY_T VmRSS) / 1024" | bc -l)" "$(echo "$(status_kb $SY_T VmHWM) / 1024" | bc -l)" | tee -a "$OUT"
    }
    pol='{"strategy_name": "tnew", "strategy_weight": 50, "condition": "header.X-Tenant = '"'tnew'"'", "backend_type": "UPSTREAM",
          "backend_config": {"ServiceType": "HTTP", "ServiceConfig": {"Product": "upstream", "UpstreamId": "upstream-green", "Path": "/", "Method": "ANY"}}}'
    admin_time "POST one policy" POST /v1/plugins/plugin-tenants/policies "$pol"
    got=$(curl -s --max-time 3 -H "X-Tenant: tnew" "http://127.0.0.1:$((P_SY + 5))/release/")
    say "  the new policy routes: X-Tenant: tnew -> $got"
    # Leaves every policy alone: they are taken over, not dumped and parsed.
    admin_time "PATCH upstream Retries" PATCH /v1/upstreams/upstream-green '{"Retries": 2}'
    # The answer shows the plugin, all its policies (a JSON body of ~20 MB).
    admin_time "PATCH plugin Description" PATCH /v1/plugins/plugin-tenants '{"Description": "changed"}'
    kill -TERM $SY_T; wait $SY_T 2>/dev/null
fi

say ""
say "# loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)"
say "# results: $OUT"

#!/bin/bash
# TLS and HTTP/2 termination: Switchyard vs nginx vs HAProxy, same
# certificate (RSA 2048, generated here), same plain HTTP/1.1 backend.
#
#   bench/tls.sh                   all three measurements
#   DURATION=5 CONNS=50 bench/tls.sh
#
# Measurements (one worker per proxy, the proxy alone on cpu1, wrk/h2load
# and the backend nginx on cpu0; PIN=0 turns pinning off):
#   https-ka    wrk -c$CONNS over HTTPS keep-alive: requests/s
#   handshake   wrk with "Connection: close": every request a new TLS
#               handshake (TLS 1.3, ECDHE + RSA 2048): handshakes/s
#   h2          h2load -c10 -m10 over TLS with ALPN h2: requests/s
# Ports from BENCH_PORT_BASE (default 18480): +1 backend, +10 nginx,
# +20 HAProxy, +30 Switchyard.  Files go to bench/gen/tls/; every process
# started is stopped by PID on exit; the run is bounded by MAX_SECONDS.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MAX_SECONDS=${MAX_SECONDS:-400}
. "$ROOT/bench/lib.sh"
bench_bound "$@"

DURATION=${DURATION:-8}
CONNS=${CONNS:-50}
PIN=${PIN:-1}
BIN=${SWITCHYARD_BIN:-$ROOT/build/switchyard}
GEN=$ROOT/bench/gen/tls
BASE=${BENCH_PORT_BASE:-18480}
P_BACK=$((BASE + 1)) P_NGINX=$((BASE + 10)) P_HAPROXY=$((BASE + 20)) P_SY=$((BASE + 30))
mkdir -p "$GEN/logs" "$GEN/nginx-backend" "$GEN/nginx-proxy"
OUT=$GEN/results-$(date -u +%Y%m%dT%H%M%SZ).txt
: > "$OUT"

bench_traps

for t in nginx haproxy wrk h2load openssl curl; do
    command -v $t >/dev/null || { echo "bench/tls.sh: $t is missing (scripts/deps.sh)" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "bench/tls.sh: $BIN not built" >&2; exit 1; }

# ---- certificate ----
if [ ! -f "$GEN/cert.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$GEN/key.pem" -out "$GEN/cert.pem" -days 30 \
        -subj "/CN=bench.test" -addext "subjectAltName=DNS:bench.test,IP:127.0.0.1" 2>/dev/null
fi
cat "$GEN/cert.pem" "$GEN/key.pem" > "$GEN/haproxy.pem"

# ---- backend: nginx, plain HTTP/1.1, 32-byte answer ----
cat > "$GEN/nginx-backend.conf" <<EOF
worker_processes 1;
pid $GEN/nginx-backend/nginx.pid;
error_log $GEN/logs/nginx-backend.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $GEN/nginx-backend/body;
    proxy_temp_path $GEN/nginx-backend/proxy;
    fastcgi_temp_path $GEN/nginx-backend/fastcgi;
    uwsgi_temp_path $GEN/nginx-backend/uwsgi;
    scgi_temp_path $GEN/nginx-backend/scgi;
    keepalive_requests 1000000;
    server { listen 127.0.0.1:$P_BACK; location / { return 200 "hello from the backend, 32 b..\n"; } }
}
EOF
spawn 0 "$GEN/logs/nginx-backend.out" nginx -c "$GEN/nginx-backend.conf" -g "daemon off;"

# ---- proxies ----
cat > "$GEN/nginx-proxy.conf" <<EOF
worker_processes 1;
pid $GEN/nginx-proxy/nginx.pid;
error_log $GEN/logs/nginx-proxy.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $GEN/nginx-proxy/body;
    proxy_temp_path $GEN/nginx-proxy/proxy;
    fastcgi_temp_path $GEN/nginx-proxy/fastcgi;
    uwsgi_temp_path $GEN/nginx-proxy/uwsgi;
    scgi_temp_path $GEN/nginx-proxy/scgi;
    keepalive_requests 1000000;
    upstream back { server 127.0.0.1:$P_BACK; keepalive 64; }
    server {
        listen 127.0.0.1:$P_NGINX ssl http2;
        ssl_certificate $GEN/cert.pem;
        ssl_certificate_key $GEN/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_tickets on;
        location / { proxy_pass http://back; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}
EOF
cat > "$GEN/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 4000
    tune.ssl.default-dh-param 2048
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option http-keep-alive
frontend fe
    bind 127.0.0.1:$P_HAPROXY ssl crt $GEN/haproxy.pem alpn h2,http/1.1
    default_backend be
backend be
    http-reuse always
    server b 127.0.0.1:$P_BACK
EOF
cat > "$GEN/switchyard.yaml" <<EOF
Gateway:
  Listen: ["127.0.0.1:$((P_SY + 1))"]
  TlsListen: ["127.0.0.1:$P_SY"]
  AdminListen: "off"
  Workers: 1
  AccessLog: "off"
  LogLevel: warn
  MaxKeepaliveRequests: 1000000
  DefaultCertificate: {CertificateFile: $GEN/cert.pem, KeyFile: $GEN/key.pem}
Services:
  - ServiceId: bench
    Environments: [release]
    Domains: [{DomainName: "*", PathMappings: [{Path: /, Environment: release}]}]
    Apis:
      - {ApiId: all, Path: /, ServiceConfig: {Url: "http://127.0.0.1:$P_BACK", Path: /}}
EOF

spawn 1 "$GEN/logs/nginx-proxy.out" nginx -c "$GEN/nginx-proxy.conf" -g "daemon off;"
spawn 1 "$GEN/logs/haproxy.log" haproxy -f "$GEN/haproxy.cfg" -db
spawn 1 "$GEN/logs/switchyard.log" "$BIN" -c "$GEN/switchyard.yaml"
sleep 1
for p in $P_NGINX $P_HAPROXY $P_SY; do
    curl -sk -o /dev/null -w "" "https://127.0.0.1:$p/" || { echo "proxy on $p does not answer" >&2; exit 1; }
done

rps() { awk '/Requests\/sec/ { print int($2) }'; }
p99() { awk '$1 == "99%" { print $2 }'; }

row() { printf "%-12s %-10s %10s %10s %8s\n" "$@" | tee -a "$OUT"; }
row scenario proxy req/s p99 errors
for name in nginx haproxy switchyard; do
    case $name in nginx) p=$P_NGINX ;; haproxy) p=$P_HAPROXY ;; switchyard) p=$P_SY ;; esac
    url=https://127.0.0.1:$p/
    on_cpu 0 wrk -t1 -c"$CONNS" -d1s "$url" > /dev/null 2>&1
    out=$(on_cpu 0 wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$url" 2>&1)
    errs=$(echo "$out" | awk '/Non-2xx|Socket errors/ { s = s $0 " " } END { print (s ? "yes" : "0") }')
    row https-ka "$name" "$(echo "$out" | rps)" "$(echo "$out" | p99)" "$errs"
    out=$(on_cpu 0 wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -H "Connection: close" "$url" 2>&1)
    errs=$(echo "$out" | awk '/Non-2xx/ { s = s $0 " " } END { print (s ? "yes" : "0") }')
    row handshake "$name" "$(echo "$out" | rps)" "$(echo "$out" | p99)" "$errs"
    n=$((DURATION * 15000))
    out=$(on_cpu 0 h2load -n "$n" -c 10 -m 10 "$url" 2>&1)
    r=$(echo "$out" | awk '/^finished in/ { gsub(",", "", $4); print int($4) }')
    f=$(echo "$out" | awk '/^requests:/ { print $10 }')
    proto=$(echo "$out" | awk '/Application protocol/ { print $3 }')
    row "h2($proto)" "$name" "$r" "-" "${f:-?}"
done
echo "results: $OUT"

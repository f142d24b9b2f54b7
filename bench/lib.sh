# Shared by bench/run.sh and bench/tls.sh (sourced, not run).
#
#   bench_bound "$@"     re-run the calling script under `timeout MAX_SECONDS`
#   bench_traps          stop every spawned process, by PID, on any exit
#   spawn CPU LOG cmd... start cmd in the background pinned to CPU (no
#                        pinning when PIN=0), output to LOG; sets SPAWNED
#   on_cpu CPU cmd...    run cmd in the foreground pinned to CPU
#   sy_bench_config ...  the common Switchyard config (see below)

bench_bound() {
    if [ -z "${SY_BENCH_INNER:-}" ]; then
        export SY_BENCH_INNER=1
        exec timeout -s TERM -k 15 "$MAX_SECONDS" "$0" "$@"
    fi
}

PIDS=""
bench_cleanup() {
    trap - EXIT INT TERM
    local p c
    for p in $PIDS; do
        for c in $(pgrep -P "$p" 2>/dev/null); do kill -TERM "$c" 2>/dev/null; done
        kill -TERM "$p" 2>/dev/null
    done
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        local alive=""
        for p in $PIDS; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ -z "$alive" ] && break
        sleep 0.5
    done
    for p in $PIDS; do
        for c in $(pgrep -P "$p" 2>/dev/null); do kill -KILL "$c" 2>/dev/null; done
        kill -KILL "$p" 2>/dev/null
    done
    wait 2>/dev/null
}

bench_traps() {
    trap bench_cleanup EXIT
    trap 'exit 143' TERM
    trap 'exit 130' INT
}

on_cpu() {
    local cpu=$1; shift
    if [ "$PIN" = 1 ]; then taskset -c "$cpu" "$@"; else "$@"; fi
}

# The subshell execs taskset, which execs cmd: $! is the process itself, so
# the exit trap can stop it by PID.
spawn() {
    local cpu=$1 log=$2; shift 2
    if [ "$PIN" = 1 ]; then
        (exec taskset -c "$cpu" "$@" > "$log" 2>&1) &
    else
        (exec "$@" > "$log" 2>&1) &
    fi
    SPAWNED=$!
    PIDS="$PIDS $SPAWNED"
}

# sy_bench_config PORT ADMIN EXTRA-GATEWAY-LINES: the Switchyard config every
# bench proxies with (one worker, no access log, upstreams blue/green on
# $P_BLUE/$P_GREEN, one API at / in release); plugins are appended after.
sy_bench_config() {
    cat <<EOF2
Gateway:
  Listen: ["127.0.0.1:$1"]
  AdminListen: "$2"
  Workers: 1
  AccessLog: "off"
  LogLevel: warn
  MaxKeepaliveRequests: 1000000${3:+
$3}
Upstreams:
  - UpstreamId: upstream-blue
    UpstreamName: blue
    Scheme: HTTP
    Algorithm: ROUND-ROBIN
    Nodes: [{Host: 127.0.0.1, Port: $P_BLUE, Weight: 100}]
  - UpstreamId: upstream-green
    UpstreamName: green
    Scheme: HTTP
    Algorithm: ROUND-ROBIN
    Nodes: [{Host: 127.0.0.1, Port: $P_GREEN, Weight: 100}]
Services:
  - ServiceId: service-bench
    ServiceName: bench
    Environments: [release]
    Apis:
      - ApiId: api-root
        ApiName: root
        Path: /
        Method: ANY
        ServiceType: HTTP
        ServiceTimeout: 15
        ServiceConfig: {Product: upstream, UpstreamId: upstream-blue, Path: /, Method: ANY}
EOF2
}

# sy_tenant_plugin N: a Routing plugin with N policies
# `header.X-Tenant = 'tNNNNN'` (odd -> upstream-green, even -> blue),
# attached to the API of sy_bench_config.
sy_tenant_plugin() {
    echo "Plugins:"
    echo "  - PluginId: plugin-tenants"
    echo "    PluginName: tenants"
    echo "    PluginType: Routing"
    echo "    PluginData:"
    awk -v n="$1" 'BEGIN {
        for (i = 1; i <= n; i++) {
            t = sprintf("t%05d", i)
            printf "      - strategy_name: %s\n        strategy_weight: 50\n", t
            printf "        condition: \"header.X-Tenant = '\''%s'\''\"\n", t
            printf "        backend_type: UPSTREAM\n"
            printf "        backend_config: {ServiceType: HTTP, ServiceConfig: {Product: upstream, UpstreamId: %s, Path: /, Method: ANY}}\n", (i % 2 ? "upstream-green" : "upstream-blue")
        }
    }'
    echo "    Attachments: [{ServiceId: service-bench, EnvironmentName: release, ApiIds: [api-root]}]"
}

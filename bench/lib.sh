# Shared by bench/run.sh and bench/tls.sh (sourced, not run).
#
#   bench_bound "$@"     re-run the calling script under `timeout MAX_SECONDS`
#   bench_traps          stop every spawned process, by PID, on any exit
#   spawn CPU LOG cmd... start cmd in the background pinned to CPU (no
#                        pinning when PIN=0), output to LOG; sets SPAWNED
#   on_cpu CPU cmd...    run cmd in the foreground pinned to CPU

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

#!/bin/sh
# `make run`: start the demo backends an example needs, then Switchyard on
# it, print some requests to try, and stop everything on Ctrl-C.
#
#   EXAMPLE=examples/other.yaml ./scripts/run-example.sh
#
# Backends: every 127.0.0.1 port the example names in a Url or an upstream
# node (18081..18083 for the TKE example) gets a demo backend.  An example
# can list the requests to try as comment lines starting with "#   curl".
#
# The gateway runs on a working copy under the state folder
# (SWITCHYARD_STATE, default ./run, git-ignored): admin API writes change
# the copy, never the tracked example.  The copy is made when it is
# missing or the example is newer; `rm -r run` starts over.  The tips
# printed come from the running configuration (`switchyard routes`).
set -u
cd "$(dirname "$0")/.."
SRC=${EXAMPLE:-examples/tke-conditional-routing.yaml}
BIN=${SWITCHYARD_BIN:-build/switchyard}
PY=${PYTHON:-python3}
STATE=${SWITCHYARD_STATE:-run}

[ -x "$BIN" ] || { echo "run-example: $BIN not built (run make)" >&2; exit 1; }
[ -f "$SRC" ] || { echo "run-example: no such file $SRC" >&2; exit 1; }

"$BIN" -t -c "$SRC" || { echo "run-example: $SRC does not validate" >&2; exit 1; }
mkdir -p "$STATE" || exit 1
EXAMPLE=$STATE/$(basename "$SRC")
if [ ! -f "$EXAMPLE" ] || [ "$SRC" -nt "$EXAMPLE" ]; then
    cp "$SRC" "$EXAMPLE" || exit 1
    echo "run-example: working copy $EXAMPLE (from $SRC)"
else
    echo "run-example: working copy $EXAMPLE kept (admin changes stay; rm -r $STATE to start over)"
fi
"$BIN" -t -c "$EXAMPLE" || { echo "run-example: $EXAMPLE does not validate (rm -r $STATE to start over)" >&2; exit 1; }

pids=""
cleanup() {
    trap - INT TERM EXIT
    for p in $pids; do
        kill "$p" 2>/dev/null
    done
    for p in $pids; do
        wait "$p" 2>/dev/null
    done
    echo
    echo "run-example: stopped"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Backend ports: the Port of each upstream node and of each Url on 127.0.0.1.
ports=$(
    { sed 's/#.*//' "$EXAMPLE" | grep -oE 'Port:[[:space:]]*[0-9]+' | grep -oE '[0-9]+$'
      sed 's/#.*//' "$EXAMPLE" | grep -oE 'http://(127\.0\.0\.1|localhost):[0-9]+' | grep -oE '[0-9]+$'
    } | sort -un
)
[ -n "$ports" ] || ports="18081 18082"
i=0
for port in $ports; do
    i=$((i + 1))
    case $i in 1) name=blue ;; 2) name=green ;; *) name=demo$i ;; esac
    "$PY" examples/demo_backend.py --port "$port" --name "$name" &
    pids="$pids $!"
done

# The backends first, so the first request tried does not meet a 502.
for port in $ports; do
    n=0
    until curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; do
        n=$((n + 1))
        [ $n -gt 100 ] && { echo "run-example: demo backend on $port did not start" >&2; exit 1; }
        sleep 0.1
    done
done

"$BIN" -c "$EXAMPLE" &
gw=$!
pids="$pids $gw"

# The first Gateway.Listen address ("127.0.0.1:8080" in the quickstart),
# flow or block list; comments ignored.  0.0.0.0 is reached on 127.0.0.1.
listen=$(sed 's/#.*//' "$EXAMPLE" | awk '
    /^[[:space:]]*Listen:/ { on = 1 }
    on && match($0, /[0-9.]+:[0-9]+/) { print substr($0, RSTART, RLENGTH); exit }
    on && /^[[:space:]]*[A-Za-z]+:/ && !/^[[:space:]]*Listen:/ { exit }')
listen=${listen:-127.0.0.1:8080}
listen=$(echo "$listen" | sed 's/^0\.0\.0\.0:/127.0.0.1:/')

n=0
until curl -s -o /dev/null "http://$listen/" 2>/dev/null; do
    n=$((n + 1))
    if [ $n -gt 50 ] || ! kill -0 "$gw" 2>/dev/null; then
        echo "run-example: switchyard did not start on $listen" >&2
        exit 1
    fi
    sleep 0.1
done

# Tips from what the gateway runs: one curl per API, one per header
# policy (`header.Name = 'value'`); other policies as comments.
tips=$("$BIN" routes -c "$EXAMPLE" | awk -v base="http://$listen" '
    /^[a-z]+ / {
        path = $3; gsub(/\{[^}]*\}/, "1", path)
        host = ($5 == "-") ? "" : "-H '\''Host: " $5 "'\'' "
        m = ($2 == "ANY" || $2 == "GET") ? "" : "-X " $2 " "
        url = base path
        printf "curl -i %s%s%s    # %s -> %s %s\n", m, host, url, $7, $9, $10
        next
    }
    /^    policy / {
        cond = $0; sub(/^.* if /, "", cond); sub(/ -> .*$/, "", cond)
        to = $0; sub(/^.* -> /, "", to)
        if (match(cond, /^header\.[A-Za-z0-9_-]+ = '\''[^'\'']*'\''$/)) {
            name = cond; sub(/^header\./, "", name); sub(/ = .*$/, "", name)
            val = cond; sub(/^[^'\'']*'\''/, "", val); sub(/'\''$/, "", val)
            printf "curl -i %s-H '\''%s: %s'\'' %s    # policy %s -> %s\n", m, name, val, url, $2, to
        } else {
            printf "#   policy %s if %s -> %s\n", $2, cond, to
        }
    }')
[ -n "$tips" ] || tips="# (the configuration serves no API yet)"

cat <<EOF

Switchyard is running on http://$listen with $EXAMPLE
(demo backends on ports: $(echo $ports)).  Try:

$(echo "$tips" | sed 's/^/  /')
  kill -HUP $gw                                  # reload $EXAMPLE
  $BIN routes -c $EXAMPLE                        # what it serves
  $BIN explain -c $EXAMPLE -H 'UserName: admin' GET /release/orders

Ctrl-C stops everything.
EOF

wait "$gw"
rc=$?
echo "run-example: switchyard exited with $rc" >&2
exit $rc

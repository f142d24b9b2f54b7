#!/bin/sh
# `make run`: start the demo backends an example needs, then Switchyard on
# it, print some requests to try, and stop everything on Ctrl-C.
#
#   EXAMPLE=examples/other.yaml ./scripts/run-example.sh
#
# Backends: every 127.0.0.1 port the example names in a Url or an upstream
# node (18081..18083 for the TKE example) gets a demo backend.  An example
# can list the requests to try as comment lines starting with "#   curl".
set -u
cd "$(dirname "$0")/.."
EXAMPLE=${EXAMPLE:-examples/tke-conditional-routing.yaml}
BIN=${SWITCHYARD_BIN:-build/switchyard}
PY=${PYTHON:-python3}

[ -x "$BIN" ] || { echo "run-example: $BIN not built (run make)" >&2; exit 1; }
[ -f "$EXAMPLE" ] || { echo "run-example: no such file $EXAMPLE" >&2; exit 1; }

"$BIN" -t -c "$EXAMPLE" || { echo "run-example: $EXAMPLE does not validate" >&2; exit 1; }

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

tips=$(grep '^#[[:space:]]*curl ' "$EXAMPLE" | sed 's/^#[[:space:]]*//' | sed "s#127.0.0.1:8080#$listen#g")
if [ -z "$tips" ]; then
    tips="curl -i http://$listen/release/orders              # API orders -> upstream-blue (round robin)
curl -i http://$listen/release/orders/42?x=1        # prefix match, path and query forwarded
curl -i http://$listen/release/users/7              # {id} -> backend /v1/users/7
curl -i http://$listen/release/ping                 # MOCK API
curl -i http://$listen/prepub/orders                # environment not released -> 404
curl -i -X DELETE http://$listen/release/users/7    # wrong method -> 405"
fi

cat <<EOF

Switchyard is running on http://$listen with $EXAMPLE
(demo backends on ports: $(echo $ports)).  Try:

$(echo "$tips" | sed 's/^/  /')
  kill -HUP $gw                                  # reload $EXAMPLE
  $BIN explain -c $EXAMPLE -H 'UserName: admin' GET /release/orders

Ctrl-C stops everything.
EOF

wait "$gw"
rc=$?
echo "run-example: switchyard exited with $rc" >&2
exit $rc

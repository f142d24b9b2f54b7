#!/bin/sh
# Rewrite the generated Gateway key reference in doc/config.md (between the
# gateway-keys markers) from `switchyard config-keys`.
#   scripts/config-doc.sh BIN DOC
set -eu
bin=$1
doc=$2
tmp=$(mktemp)
"$bin" config-keys > "$tmp.keys"
awk -v keys="$tmp.keys" '
    /^<!-- gateway-keys:/ { print; while ((getline l < keys) > 0) print l; skip = 1; next }
    /^<!-- \/gateway-keys -->/ { skip = 0 }
    !skip { print }
' "$doc" > "$tmp"
mv "$tmp" "$doc"
rm -f "$tmp.keys"

#!/bin/sh
# Install the Debian packages Switchyard needs to build, test, run and
# benchmark, but only those missing, so a second run is quick and offline.
set -e
PKGS="build-essential pkg-config node-llhttp libyaml-dev libjansson-dev libpcre2-dev
libxxhash-dev libssl-dev libnghttp2-dev libcmocka-dev python3 python3-pytest curl dnsmasq-base
nghttp2-client openssl iproute2 procps libcurl4-openssl-dev python3-kubernetes python3-yaml
wrk nginx-light haproxy clang etcd-server etcd-client prometheus chromium chromium-driver
python3-selenium systemd logrotate clang-format"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "switchyard: missing Debian packages:$missing (run as root, or apt-get install them)" >&2
    exit 1
fi
echo "switchyard: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d keeps the packaged nginx/haproxy services from starting on
# install: the benchmark starts its own instances on loopback ports.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing

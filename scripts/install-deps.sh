#!/usr/bin/env bash
# Installs the Debian packages spawn needs to build and test, skipping those already present.
set -euo pipefail

packages=(build-essential cmake pkg-config postgresql-15 postgresql-server-dev-15
  postgresql-client-15 libsodium-dev libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev
  postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl googletest libgtest-dev
  python3 python3-psycopg2 bc nlohmann-json3-dev clang clang-tidy libclang-rt-14-dev libcurl4-openssl-dev
  postgresql-15-plproxy postgresql-15-auto-failover libmicrohttpd-dev python3-prometheus-client
  wrk)
# The test actor host (test/hosts) runs on Node; a node already installed (e.g. from
# NodeSource) is kept.
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

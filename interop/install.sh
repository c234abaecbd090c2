#!/usr/bin/env bash
# Installs the clients of the interoperability matrix: Debian packages (kcat, confluent-kafka-python, kafka-python and
# its optional codecs, Go with Sarama 1.22 and kafka-go 0.2.1, librdkafka-dev, protoc with the well-known types (libprotobuf-dev: --no-install-recommends leaves them out) for the registry's descriptor
# test, util-linux-extra's fincore for the page-cache test, chromium for the web console's browser tests, systemd's
# systemd-analyze for the service unit's check) and node-rdkafka built against Debian's librdkafka. Idempotent and quick when everything is there: apt-get
# runs only for missing packages.
set -euo pipefail
cd "$(dirname "$0")"

packages=(
  kcat
  python3-confluent-kafka
  python3-kafka python3-snappy python3-lz4 python3-zstandard
  golang-go golang-github-shopify-sarama-dev golang-github-segmentio-kafka-go-dev
  librdkafka-dev build-essential python3 python3-requests
  protobuf-compiler libprotobuf-dev
  util-linux-extra
  chromium
  systemd
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
  echo "interop/install.sh: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# node-rdkafka: npm's install scripts are not run by default here, so build the addon explicitly, against Debian's
# librdkafka (BUILD_LIBRDKAFKA=0) rather than its bundled copy. About 20 s on 2 cores.
if [[ ! -f node_modules/node-rdkafka/build/Release/node-librdkafka.node ]]; then
  echo "interop/install.sh: building node-rdkafka against Debian's librdkafka"
  log=$(mktemp)
  # node-gyp downloads Node's headers from nodejs.org unless told where they are: Debian's nodejs ships them under
  # /usr/include/node (without this, the build needed a ~/.npmrc with nodedir, and failed with an empty HOME).
  nodedir=()
  [[ -f /usr/include/node/node.h && "$(command -v node)" == /usr/bin/node ]] && nodedir=(--nodedir=/usr)
  if ! (BUILD_LIBRDKAFKA=0 npm install --no-audit --no-fund --no-package-lock --ignore-scripts &&
        cd node_modules/node-rdkafka && BUILD_LIBRDKAFKA=0 npx --yes node-gyp rebuild "${nodedir[@]}") >"$log" 2>&1; then
    tail -20 "$log"
    echo "interop/install.sh: node-rdkafka did not build (log: $log)" >&2
    exit 1
  fi
  rm -f "$log"
fi

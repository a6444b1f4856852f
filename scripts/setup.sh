#!/usr/bin/env bash
# Installs every Debian package QMS needs to build, test and run its demo.
# Idempotent: safe to run again. Needs root (or sudo) on Debian 12.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git clang libclang-rt-14-dev
  libsqlite3-dev sqlite3
  libcjson-dev
  libmosquitto-dev mosquitto mosquitto-clients libssl-dev
  libcmocka-dev
  libsdl2-dev libsdl2-ttf-dev libsdl2-image-dev
  libserialport-dev
  libqrencode-dev libzbar-dev
  espeak-ng sox
  socat tmux
  fonts-noto-core fonts-noto-mono
  python3
  # tests that read what people see (issue: tests that see)
  tesseract-ocr tesseract-ocr-vie zbar-tools imagemagick libglib2.0-dev fonts-dejavu-core
  # firmware, the RS-485 bus and its gateway
  gcc-arm-none-eabi picolibc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
  libmodbus-dev mbpoll
  # provisioning (CA, certificates), packaging
  openssl dpkg-dev file
  # the browser side: headless chromium for the tests
  chromium
)
# node + npm for the browser bundles: Debian's, unless the machine has a node
# already (a NodeSource nodejs conflicts with Debian's npm package).
if ! command -v npm >/dev/null 2>&1; then PKGS+=(nodejs npm); fi

# The browser side's npm packages (dashboard/package-lock.json): MQTT.js and
# uPlot bundles the build copies into build/dashboard/, puppeteer-core for the
# browser tests (it drives Debian's chromium; no browser is downloaded).
npm_step() {
  local here
  here=$(cd "$(dirname "$0")/.." && pwd)
  if [ -f "$here/dashboard/package-lock.json" ] && command -v npm >/dev/null 2>&1; then
    if [ ! -d "$here/dashboard/node_modules" ] ||
       [ "$here/dashboard/package-lock.json" -nt "$here/dashboard/node_modules/.package-lock.json" ]; then
      echo "setup: npm ci in dashboard/"
      (cd "$here/dashboard" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund)
    fi
  fi
}

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PKGS[@]} packages already installed"
  npm_step
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
# The broker is started by our own scripts on a loopback port; the Debian
# package's system-wide service is not needed and must not hold port 1883
# in tests. We leave it as the package set it up.
npm_step
echo "setup: done"

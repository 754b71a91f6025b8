#!/usr/bin/env bash
# Installs everything the tests need on a fresh machine: Debian's Chromium (browser tests) and
# Fashion-MNIST (image page), then the pinned Python packages and the project itself.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(chromium chromium-driver dataset-fashion-mnist)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
python -m pip install -q --disable-pip-version-check --no-deps -e .
# plotly's cartesian chart bundle (pinned, checked); without npm the app serves the full bundle
python -m app.vendor --fetch

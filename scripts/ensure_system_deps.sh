#!/usr/bin/env bash
# Install the Debian packages the project needs, when they are missing.
# Usage: scripts/ensure_system_deps.sh [--with-browser]
# As root it installs them; with sudo it uses sudo; otherwise it stops and prints the exact command.
set -euo pipefail
packages=()
command -v tesseract >/dev/null 2>&1 || packages+=(tesseract-ocr)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || packages+=(fonts-dejavu-core)
if [ "${1:-}" = "--with-browser" ] && [ ! -x /usr/bin/chromium ]; then packages+=(chromium); fi
[ ${#packages[@]} -eq 0 ] && exit 0
cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${packages[*]}"
if [ "$(id -u)" -eq 0 ]; then
  echo "Installing system packages: ${packages[*]}" >&2
  bash -c "$cmd"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  echo "Installing system packages with sudo: ${packages[*]}" >&2
  sudo bash -c "$cmd"
else
  echo "Missing system packages: ${packages[*]}" >&2
  echo "Run this as root, then try again:" >&2
  echo "  sudo bash -c '$cmd'" >&2
  exit 1
fi

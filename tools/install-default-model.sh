#!/usr/bin/env bash
# Copies the committed default text-to-video model (models/reel-t2v-default,
# diffusers' Wan layout) into the model store, where reeld finds it by name.
# Store: $REEL_MODELS, else $XDG_DATA_HOME/reel/models, else ~/.local/share/reel/models.
# Idempotent: a copy whose manifest matches is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
store="${REEL_MODELS:-${XDG_DATA_HOME:-$HOME/.local/share}/reel/models}"
src=models/reel-t2v-default
dst="$store/reel-t2v-default"
if [ -f "$dst/manifest.json" ] && cmp -s "$src/manifest.json" "$dst/manifest.json"; then
  echo "reel-t2v-default: up to date in $store"
  exit 0
fi
mkdir -p "$store"
tmp="$(mktemp -d "$store/.reel-t2v-default.XXXXXX")"
cp -r "$src/." "$tmp/"
rm -rf "$dst"
mv "$tmp" "$dst"
echo "reel-t2v-default: installed into $store"

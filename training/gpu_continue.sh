#!/usr/bin/env bash
# Continue the default model on one GPU inside a fixed wall-clock budget (a lent machine's few minutes).
#
#   training/gpu_continue.sh RUN_DIR MINILM BUDGET_SECONDS [CLIPS] [FROM]
#
# Two trainings share the GPU at once, both started from FROM (default models/reel-t2v-default) with its
# encoder frozen, so their halves fit together afterwards:
#   RUN_DIR/dit  the transformer on the frozen encoder's latents (flow matching shifted toward noise, bf16);
#   RUN_DIR/dec  the decoder on whole clips the frozen encoder encodes as they are drawn; its weights'
#                moving average is exported (VAE_EMA, default 0.995: a ~200-step memory for a few-minute run).
# Each is one run_all.py (checkpointed; its log beside it). RUN_DIR/export is the combined model: dec's
# autoencoder with dit's transformer, the manifest naming both. Neither process alone keeps the GPU busy (small
# kernels, Python between them), which is why they run side by side rather than one after the other.
# COMMIT names the training code's commit in the manifests where the tree has no .git (a device's copy).
# For the PSNR target, train the encoder too: `run_all` with --vae-steps (docs/models.md, "What is missing");
# here the encoder stays frozen, which is what lets the two halves train at once.
set -euo pipefail
R=$1 MINILM=$2 BUDGET=$3 CLIPS=${4:-8192} FROM=${5:-models/reel-t2v-default}
WORKERS=${WORKERS:-$(nproc)}
export DECODER_BATCH=${DECODER_BATCH:-32}     # the manifest below records it too
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
t0=$(date +%s)
elapsed() { echo $(( $(date +%s) - t0 )); }
mkdir -p "$R/dit/cache" "$R/dec"
[ -e "$R/dec/cache" ] || ln -s ../dit/cache "$R/dec/cache"

# 1. the clips, rendered once for both (cached: a rerun skips this)
python3 -c "
from pathlib import Path
from training.data import load_or_build
from training.world import WorldConfig
f, c = load_or_build(Path('$R/dit/cache'), 1, $CLIPS, WorldConfig(), $WORKERS)
print('data:', f.shape, flush=True)"
echo "[gpu_continue] data ready after $(elapsed) s"

# 2. both trainings; the transformer first spends ~30 s on caption embeddings and latents
left=$(( BUDGET - $(elapsed) - 45 ))
common=(--minilm "$MINILM" --clips "$CLIPS" --init-from "$FROM" --vae-steps 0 --export-partial
        --flow-shift 3 --guidance 5 --eval-limit 0 --log-every 10 --ckpt-every 1000000 --commit "$COMMIT")
python3 -m training.run_all --run-dir "$R/dit" --export "$R/dit/export" "${common[@]}" \
    --dit-steps 100000 --dit-batch "${DIT_BATCH:-1024}" --dit-lr "${DIT_LR:-4e-4}" --dit-t-shift 3 \
    --dit-ema 0.998 --dit-bf16 --decoder-steps 0 --joint-budget $(( left - 30 )) > "$R/dit/log.txt" 2>&1 &
pd=$!
python3 -m training.run_all --run-dir "$R/dec" --export "$R/dec/export" "${common[@]}" \
    --dit-steps 0 --decoder-steps 100000 --decoder-online --decoder-window 0 --decoder-crop 0 \
    --decoder-batch "$DECODER_BATCH" --vae-lr "${VAE_LR:-4e-4}" --vae-ema "${VAE_EMA:-0.995}" \
    --joint-budget "$left" \
    > "$R/dec/log.txt" 2>&1 &
pv=$!
rc=0
wait $pd || rc=$?
wait $pv || rc=$?
echo "[gpu_continue] trainings ended after $(elapsed) s (rc $rc)"
tail -n 3 "$R/dit/log.txt" "$R/dec/log.txt"
[ $rc -eq 0 ] || exit $rc

# 3. the combined export: the decoder's autoencoder, the transformer's transformer
rm -rf "$R/export"
cp -r "$R/dec/export" "$R/export"
rm -rf "$R/export/transformer"
cp -r "$R/dit/export/transformer" "$R/export/transformer"
python3 - "$R" <<'EOF'
import json, os, sys
from pathlib import Path
from training.export import write_manifest
r = Path(sys.argv[1])
dit = json.loads((r / "dit/export/manifest.json").read_text())["training"]
dec = json.loads((r / "dec/export/manifest.json").read_text())["training"]
training = {**dit, "decoder_steps": dec["decoder_steps"], "decoder_batch": int(os.environ["DECODER_BATCH"]),
            "wall_seconds": {"transformer": dit["wall_seconds"].get("joint"), "decoder": dec["wall_seconds"].get("joint")},
            "note": "transformer and decoder trained side by side on one GPU from init_from, its encoder frozen"}
m = write_manifest(r / "export", training, "reel-t2v-default")
print("export:", len(m["files"]), "files; dit steps", training["dit_steps"], "decoder steps", training["decoder_steps"])
EOF
echo "[gpu_continue] done after $(elapsed) s"

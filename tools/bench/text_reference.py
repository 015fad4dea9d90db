#!/usr/bin/env python3
"""Reference timings for `reel-bench text`: the same prompts through transformers (torch CPU) on the same
number of threads, printed as one JSON line so reel-bench can put each figure beside its own in the same run.

  minilm      the fetched all-MiniLM-L6-v2, encoded as training/text_encoder.py does (HF fast tokenizer,
              padding to the batch's longest, truncation at 48, BertModel last hidden state)
  umt5        a UMT5EncoderModel directory, encoded as diffusers' WanPipeline does (padding to 512, truncation,
              attention mask, last hidden state)
  make-umt5   write a random UMT5EncoderModel of a given size, with the test fixtures' Unigram tokenizer, in the
              diffusers layout (text_encoder/, tokenizer/), for both sides to load

Seconds are wall-clock for all prompts (median of --runs after one warm-up), tokenization included;
`tokenize_seconds` is the tokenizer alone.

  python3 tools/bench/text_reference.py minilm --prompts 64 --batch 16 --threads 2
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROMPTS = ROOT.parent / "shared" / "data" / "moviegenbench-prompts-dev.txt"


def prompts(n):
    lines = [l for l in PROMPTS.read_text(encoding="utf-8").split("\n") if l]
    return [lines[i % len(lines)] for i in range(n)]


def timed(runs, body):
    body()
    out = []
    for _ in range(max(runs, 1)):
        t = time.perf_counter()
        body()
        out.append(time.perf_counter() - t)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("case", choices=["minilm", "umt5", "make-umt5"])
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--model-dir", type=Path)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--width", type=int, default=512)
    a = ap.parse_args()

    import torch
    import transformers
    torch.set_num_threads(a.threads)
    ref = f"transformers {transformers.__version__}, torch {torch.__version__} CPU fp32"

    if a.case == "make-umt5":
        from transformers import UMT5Config, UMT5EncoderModel
        tok = ROOT / "Tests" / "TextEncoderTests" / "Fixtures" / "umt5-tiny" / "tokenizer"
        vocab = len(json.loads((tok / "tokenizer.json").read_text())["model"]["vocab"])
        torch.manual_seed(0)
        heads = max(a.width // 64, 1)
        cfg = UMT5Config(vocab_size=vocab, d_model=a.width, d_kv=64, num_heads=heads, d_ff=a.width * 5 // 2,
                         num_layers=a.layers, feed_forward_proj="gated-gelu", dropout_rate=0.0)
        UMT5EncoderModel(cfg).save_pretrained(str(a.model_dir / "text_encoder"), safe_serialization=True)
        shutil.copytree(tok, a.model_dir / "tokenizer", dirs_exist_ok=True)
        print(json.dumps({"written": str(a.model_dir)}))
        return

    texts = prompts(a.prompts)
    if a.case == "minilm":
        from safetensors.torch import load_file
        from transformers import AutoTokenizer, BertConfig, BertModel
        d = a.model_dir
        tok = AutoTokenizer.from_pretrained(str(d))
        model = BertModel(BertConfig.from_pretrained(str(d)), add_pooling_layer=False).eval()
        model.load_state_dict({k.removeprefix("bert."): v.float() for k, v in load_file(str(d / "model.safetensors")).items()},
                              strict=False)

        def tokenize():
            for i in range(0, len(texts), a.batch):
                tok(texts[i:i + a.batch], padding=True, truncation=True, max_length=48, return_tensors="pt")

        def encode():
            with torch.no_grad():
                for i in range(0, len(texts), a.batch):
                    t = tok(texts[i:i + a.batch], padding=True, truncation=True, max_length=48, return_tensors="pt")
                    h = model(**t).last_hidden_state * t["attention_mask"][..., None]
    else:
        from transformers import PreTrainedTokenizerFast, UMT5EncoderModel
        tok = PreTrainedTokenizerFast(tokenizer_file=str(a.model_dir / "tokenizer" / "tokenizer.json"),
                                      eos_token="</s>", pad_token="<pad>", unk_token="<unk>")
        model = UMT5EncoderModel.from_pretrained(str(a.model_dir / "text_encoder")).eval().float()

        def tokenize():
            for i in range(0, len(texts), a.batch):
                tok(texts[i:i + a.batch], padding="max_length", max_length=512, truncation=True,
                    add_special_tokens=True, return_attention_mask=True, return_tensors="pt")

        def encode():
            with torch.no_grad():
                for i in range(0, len(texts), a.batch):
                    t = tok(texts[i:i + a.batch], padding="max_length", max_length=512, truncation=True,
                            add_special_tokens=True, return_attention_mask=True, return_tensors="pt")
                    model(t.input_ids, t.attention_mask)

    tok_runs = timed(a.runs, tokenize)
    runs = timed(a.runs, encode)
    print(json.dumps({"reference": ref, "seconds": statistics.median(runs), "runs": runs,
                      "tokenize_seconds": statistics.median(tok_runs)}))


if __name__ == "__main__":
    sys.exit(main())

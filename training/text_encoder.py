"""The frozen text encoder: all-MiniLM-L6-v2 (BERT, 384 wide), token embeddings of its last hidden state.

The convention the Swift side reproduces: lower-cased WordPiece tokens `[CLS] ... [SEP]`, truncated to
`max_sequence_length`, run through BERT with no padding, last hidden state of the real tokens, then zero rows
up to `max_sequence_length` (as diffusers' Wan pipeline pads UMT5's output). Unconditional = the empty prompt.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

MAX_SEQUENCE_LENGTH = 48
TEXT_DIM = 384


class MiniLM:
    def __init__(self, model_dir: str | Path, device: str = "cpu", dtype=torch.float32):
        from transformers import AutoTokenizer, BertConfig, BertModel
        from safetensors.torch import load_file
        model_dir = Path(model_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        config = BertConfig.from_pretrained(str(model_dir))
        self.model = BertModel(config, add_pooling_layer=False)
        state = load_file(str(model_dir / "model.safetensors"))
        state = {k.removeprefix("bert."): v.float() for k, v in state.items()}
        # a pruned store keeps only the world's vocabulary rows; `token_map.json` maps full ids to rows
        self.token_map = None
        if (model_dir / "token_map.json").exists():
            ids = json.loads((model_dir / "token_map.json").read_text())["ids"]
            self.token_map = torch.full((config.vocab_size,), -1, dtype=torch.long)
            self.token_map[torch.tensor(ids)] = torch.arange(len(ids))
            rows = state.pop("embeddings.word_embeddings.weight")
            full = torch.zeros(config.vocab_size, config.hidden_size)
            full[torch.tensor(ids)] = rows
            state["embeddings.word_embeddings.weight"] = full
        missing, unexpected = self.model.load_state_dict(state, strict=False)
        missing = [k for k in missing if "position_ids" not in k]
        if missing:
            raise RuntimeError(f"MiniLM weights lack {missing[:5]}")
        self.model.eval().to(device=device, dtype=dtype)
        self.device, self.dtype = device, dtype
        self.unknown_tokens = 0

    @torch.no_grad()
    def encode(self, prompts: list[str], max_len: int = MAX_SEQUENCE_LENGTH, batch: int = 512) -> torch.Tensor:
        """(len(prompts), max_len, 384) float32 on the encoder's device; zero rows past each prompt's tokens."""
        out = []
        for i in range(0, len(prompts), batch):
            tok = self.tokenizer(prompts[i:i + batch], padding=True, truncation=True, max_length=max_len,
                                 return_tensors="pt")
            ids, mask = tok["input_ids"], tok["attention_mask"]
            if self.token_map is not None:
                unknown = (self.token_map[ids] < 0) & (mask > 0)
                self.unknown_tokens += int(unknown.sum())
                ids = torch.where(unknown, torch.full_like(ids, self.tokenizer.unk_token_id), ids)
            h = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).last_hidden_state
            h = h.float() * mask.to(self.device)[..., None]
            pad = torch.zeros(h.shape[0], max_len - h.shape[1], h.shape[2], device=h.device)
            out.append(torch.cat([h, pad], 1))
        return torch.cat(out)


def prune(src: Path, dst: Path, texts: list[str], dtype=torch.float16) -> dict:
    """Write a copy of MiniLM holding only the vocabulary rows `texts` use (to carry it to a GPU machine)."""
    from safetensors.torch import load_file, save_file
    from transformers import AutoTokenizer
    import shutil
    dst.mkdir(parents=True, exist_ok=True)
    tok = AutoTokenizer.from_pretrained(str(src))
    ids = sorted({i for t in texts for i in tok(t)["input_ids"]} | {0, 100, 101, 102, 103})
    state = load_file(str(src / "model.safetensors"))
    key = [k for k in state if k.endswith("word_embeddings.weight")][0]
    state[key] = state[key][torch.tensor(ids)]
    save_file({k: v.to(dtype).contiguous() for k, v in state.items()}, str(dst / "model.safetensors"))
    for f in ("config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(src / f, dst / f)
    (dst / "token_map.json").write_text(json.dumps({"ids": ids}))
    return {"tokens": len(ids)}

"""Compares two scored runs on the same prompts and seeds, clip by clip.

Two models sampled from the same prompts with the same seeds (and the same sampler) differ only where the
models differ, so the fair test between them is paired: count the clips that one reads right and the other
wrong, each way, and ask how likely so lopsided a split is by chance (the exact two-sided sign test). Two
accuracies alone cannot tell a model's difference from the draw: 100 prompts leave each a standard error of
about 4 points near 85%, while the paired count uses only the clips on which the two disagree.

    python -m training.eval.paired docs/models/eval-default.json R/eval/results.json     # training.eval.benchmark
    python -m training.eval.paired docs/t2v-eval.json R/swift.json                        # tools/eval/t2v_heldout.py

Either file may be a benchmark result (its rows under "generated") or a t2v_heldout result (rows at the top),
one row per prompt and seed (`--seeds K` in both); rows pair by prompt id and seed. Pair runs of one sampler:
diffusers' and the Swift plugin's noise differ, so their clips differ one by one.
"""
from __future__ import annotations

import argparse
import json
from math import comb
from pathlib import Path

from ..world import eval_prompts

KEYS = ("colour", "motion", "shape")


def rows_of(path: Path) -> dict:
    d = json.loads(path.read_text())
    rows = d["generated"]["rows"] if "generated" in d else d["rows"]
    own_seed = {p["id"]: p["seed"] for p in eval_prompts()}     # benchmark rows before --seeds had no seed
    return {(r["id"], r.get("seed", own_seed[r["id"]])): r for r in rows}


def sign_test(won: int, lost: int) -> float:
    """Two-sided exact binomial p of a split at least this lopsided among won + lost discordant pairs."""
    n = won + lost
    if n == 0:
        return 1.0
    tail = sum(comb(n, k) for k in range(0, min(won, lost) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def compare(a: dict, b: dict) -> dict:
    shared = sorted(set(a) & set(b))
    out = {"pairs": len(shared)}
    for key in KEYS:
        pairs = [(a[k][f"ok_{key}"], b[k][f"ok_{key}"]) for k in shared
                 if a[k][f"ok_{key}"] is not None and b[k][f"ok_{key}"] is not None]
        won = sum(1 for x, y in pairs if y and not x)
        lost = sum(1 for x, y in pairs if x and not y)
        out[key] = {"n": len(pairs), "a": sum(x for x, _ in pairs) / max(1, len(pairs)),
                    "b": sum(y for _, y in pairs) / max(1, len(pairs)), "b_won": won, "b_lost": lost,
                    "p": sign_test(won, lost)}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", type=Path, help="the baseline's scored run")
    ap.add_argument("b", type=Path, help="the candidate's scored run")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    a, b = rows_of(args.a), rows_of(args.b)
    result = compare(a, b)
    if not result["pairs"]:
        ap.error("the two runs share no (prompt, seed) rows")
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['pairs']} clips paired by prompt and seed (A = {args.a}, B = {args.b})")
    for key in KEYS:
        r = result[key]
        print(f"{key:7s} A {100 * r['a']:5.1f}%  B {100 * r['b']:5.1f}%  B won {r['b_won']:3d}  lost {r['b_lost']:3d}"
              f"  sign test p = {r['p']:.3f}")


if __name__ == "__main__":
    main()

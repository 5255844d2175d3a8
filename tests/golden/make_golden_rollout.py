#!/usr/bin/env python3
# Independent numpy reference for the derived attention views of engine/analysis/attention_views:
# attention rollout (Abnar & Zuidema 2020), per-head entropy, average attention distance and the
# share of attention on special tokens, computed from the golden transformers attention
# probabilities that make_golden.py stored (<case>/forward.safetensors attn.<layer> [B,H,T,T],
# batch0 of <case>/batches.safetensors). Needs only python3 + numpy (safetensors read by hand).
#
# Run (CPU is enough; also fine on the GPU machine):
#   python3 tests/golden/make_golden_rollout.py --data tests/golden/data [--out DIR]
# It writes <out>/<case>/attention_views.safetensors (default out = data), per sequence b:
#   key_valid [B,T] f32 (1 = real token), special [B,T] f32 (1 = special token),
#   rollout [B,L,T,T] f32 (rollout through layers 0..l), entropy / distance / special_share [B,L,H] f32.
# Conventions (the same as the engine): statistics average over real query rows only; padding keys
# are dropped; a padding query row of the rollout is the identity row. Special tokens: GPT-2
# <|endoftext|> (id 0); BERT [CLS] (1) and [SEP] (2), as make_golden.py builds its batches.
import argparse
import json
import os
import struct
import sys

import numpy as np

CASES = {"gpt2": [0], "bert_cls": [1, 2], "bert_mlm": [1, 2]}
DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        lo, hi = info["data_offsets"]
        arr = np.frombuffer(blob[8 + n + lo:8 + n + hi], dtype=DTYPES[info["dtype"]])
        out[name] = arr.reshape(info["shape"])
    return out


def write_safetensors(path, tensors, metadata):
    names = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, arr in tensors.items():
        data = np.ascontiguousarray(arr).tobytes()
        header[name] = {"dtype": names[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def rollout(attn, valid):
    """attn [L,H,T,T] f64, valid [T] bool -> [L,T,T]: R_l = A_l' @ ... @ A_0'."""
    L, _, T, _ = attn.shape
    eye = np.eye(T)
    out, r = [], None
    for l in range(L):
        a = attn[l].mean(axis=0) * valid[None, :] + eye
        a = a / a.sum(axis=-1, keepdims=True)
        a[~valid] = eye[~valid]
        r = a if r is None else a @ r
        out.append(r)
    return np.stack(out)


def head_stats(attn, valid, special):
    """attn [L,H,T,T] f64 -> entropy, distance, special share, each [L,H]."""
    T = attn.shape[-1]
    p = attn * valid[None, None, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    dist = np.abs(np.arange(T)[:, None] - np.arange(T)[None, :])
    per_row = {
        "entropy": -plogp.sum(-1),
        "distance": (p * dist).sum(-1),
        "special_share": (p * special[None, None, None, :]).sum(-1),
    }
    return {k: v[:, :, valid].mean(-1) for k, v in per_row.items()}  # mean over real queries


def run_case(data, out, case, special_ids):
    fwd = read_safetensors(os.path.join(data, case, "forward.safetensors"))
    batches = read_safetensors(os.path.join(data, case, "batches.safetensors"))
    ids = batches["batch0.input_ids"]
    B, T = ids.shape
    mask = batches.get("batch0.attention_mask", np.ones((B, T), dtype=np.int64))
    n_layer = len([k for k in fwd if k.startswith("attn.")])
    attn = np.stack([fwd[f"attn.{l}"] for l in range(n_layer)], axis=1).astype(np.float64)  # [B,L,H,T,T]
    special = np.isin(ids, special_ids) & (mask != 0)
    res = {"key_valid": mask.astype(np.float32), "special": special.astype(np.float32)}
    rolls, stats = [], {"entropy": [], "distance": [], "special_share": []}
    for b in range(B):
        valid = mask[b] != 0
        rolls.append(rollout(attn[b], valid))
        for k, v in head_stats(attn[b], valid, special[b].astype(np.float64)).items():
            stats[k].append(v)
    res["rollout"] = np.stack(rolls).astype(np.float32)
    for k, v in stats.items():
        res[k] = np.stack(v).astype(np.float32)
    os.makedirs(os.path.join(out, case), exist_ok=True)
    meta = {"source": "tests/golden/make_golden_rollout.py", "special_ids": json.dumps(special_ids),
            "numpy": np.__version__}
    write_safetensors(os.path.join(out, case, "attention_views.safetensors"), res, meta)
    print(f"{case}: B={B} L={n_layer} T={T} rollout[0,-1,0,:4]={res['rollout'][0, -1, 0, :4]} "
          f"entropy[0]={res['entropy'][0].ravel()[:4]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "data"))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    for case, special_ids in CASES.items():
        if not os.path.exists(os.path.join(args.data, case, "forward.safetensors")):
            sys.exit(f"{args.data}/{case}/forward.safetensors: missing (run make_golden.py first)")
        run_case(args.data, args.out or args.data, case, special_ids)


if __name__ == "__main__":
    main()

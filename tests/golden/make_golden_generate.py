#!/usr/bin/env python3
# Golden generation files from transformers for the models make_golden.py saved: greedy
# continuations of the golden GPT-2 (model.generate(do_sample=False), its own EOS from
# generation_config.json) and the fill-mask top-k of the golden BERT-mlm (softmax at each
# mask, torch.topk: what the fill-mask pipeline ranks). Read by tests/engine/generate_loop.
#
# Run on the GPU machine (python3, torch, transformers; no network), from the repo root:
#   python3 tests/golden/make_golden_generate.py --data tests/golden/data --out $OUT/golden
# then copy $OUT/golden/gpt2/generate.json and $OUT/golden/bert_mlm/fill_mask.json into
# tests/golden/data/ (same sub-folders) and commit them. Torch runs on the CPU in float32.
import argparse
import json
import os

import torch
from transformers import BertForMaskedLM, GPT2LMHeadModel

# Prompts (ids < 512, the golden vocabulary); prompt + MAX_NEW <= n_positions (32).
PROMPTS = [[1, 2, 3], [100, 7, 42, 300, 5, 9, 11], [5, 6], [400, 401, 402, 403],
           [17, 250, 3, 3, 3, 99, 480, 12, 64, 7]]
MAX_NEW = 16
MASK_ID = 4
FILL_IDS = [2, 17, MASK_ID, 33, 90, MASK_ID, 3]
TOP_K = 5


def greedy(data, out):
    model = GPT2LMHeadModel.from_pretrained(os.path.join(data, "gpt2", "model"),
                                            dtype=torch.float32).eval()
    eos = model.generation_config.eos_token_id
    eos = [] if eos is None else (eos if isinstance(eos, list) else [eos])
    cases = []
    for p in PROMPTS:
        ids = torch.tensor([p], dtype=torch.long)
        with torch.no_grad():
            seq = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                 max_new_tokens=MAX_NEW, pad_token_id=eos[0] if eos else 0)
        cases.append({"prompt": p, "max_new_tokens": MAX_NEW, "generated": seq[0, len(p):].tolist()})
    os.makedirs(os.path.join(out, "gpt2"), exist_ok=True)
    with open(os.path.join(out, "gpt2", "generate.json"), "w") as f:
        json.dump({"eos_token_ids": eos, "greedy": cases}, f, indent=1)


def fill_mask(data, out):
    model = BertForMaskedLM.from_pretrained(os.path.join(data, "bert_mlm", "model"),
                                            dtype=torch.float32).eval()
    ids = torch.tensor([FILL_IDS], dtype=torch.long)
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0]
    masks = []
    for pos in [i for i, t in enumerate(FILL_IDS) if t == MASK_ID]:
        probs = logits[pos].double().softmax(-1)
        values, pred = probs.topk(TOP_K)
        masks.append({"position": pos, "ids": pred.tolist(), "probs": values.tolist()})
    os.makedirs(os.path.join(out, "bert_mlm"), exist_ok=True)
    with open(os.path.join(out, "bert_mlm", "fill_mask.json"), "w") as f:
        json.dump({"ids": FILL_IDS, "mask_id": MASK_ID, "top_k": TOP_K, "masks": masks}, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="tests/golden/data", help="folder with gpt2/ and bert_mlm/")
    ap.add_argument("--out", required=True, help="output folder (e.g. $OUT/golden)")
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    greedy(a.data, a.out)
    fill_mask(a.data, a.out)
    print("wrote", os.path.join(a.out, "gpt2", "generate.json"), "and",
          os.path.join(a.out, "bert_mlm", "fill_mask.json"))


if __name__ == "__main__":
    main()

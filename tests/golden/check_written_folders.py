#!/usr/bin/env python3
"""Folders that llmwb writes load in transformers and give llmwb's logits.

Runs on the GPU machine (PyTorch + transformers, the bundle's llmwb on PATH). For each
supported family it lets `llmwb model init` write a Hugging Face folder (config.json +
model.safetensors, through the same Model::save as every other folder llmwb writes), runs
`llmwb forward` on a padded batch, loads the folder with transformers' from_pretrained and
compares the logits (max-abs difference over max-abs value, positions the mask keeps).

    python3 tests/golden/check_written_folders.py --out DIR [--llmwb PATH]

Prints one line a case and a summary; exits 1 when any case differs by more than 1e-4.
"""
import argparse
import json
import os
import subprocess
import sys

import torch
import transformers
from safetensors.torch import load_file, save_file

TOL = 1e-4
CASES = {
    "bert-mlm": ("bert", {"vocab_size": 120, "hidden_size": 64, "num_hidden_layers": 2,
                          "num_attention_heads": 4, "intermediate_size": 128,
                          "max_position_embeddings": 32}),
    "bert-cls": ("bert", {"architectures": ["BertForSequenceClassification"], "vocab_size": 120,
                          "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                          "intermediate_size": 128, "max_position_embeddings": 32,
                          "id2label": {"0": "neg", "1": "pos", "2": "neutral"},
                          "label2id": {"neg": 0, "pos": 1, "neutral": 2}}),
    "bert-ner": ("bert", {"architectures": ["BertForTokenClassification"], "vocab_size": 120,
                          "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                          "intermediate_size": 128, "max_position_embeddings": 32,
                          "id2label": {"0": "O", "1": "B-PER", "2": "I-PER"},
                          "label2id": {"O": 0, "B-PER": 1, "I-PER": 2}}),
    "gpt2": ("gpt2", {"vocab_size": 120, "n_positions": 32, "n_embd": 64, "n_layer": 2, "n_head": 4}),
    "llama-gqa": ("llama", {"vocab_size": 120, "hidden_size": 64, "intermediate_size": 96,
                            "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                            "max_position_embeddings": 32, "rope_theta": 10000.0}),
    "qwen2-bias-untied": ("llama", {"model_type": "qwen2", "vocab_size": 120, "hidden_size": 64,
                                    "intermediate_size": 96, "num_hidden_layers": 2,
                                    "num_attention_heads": 4, "num_key_value_heads": 2,
                                    "max_position_embeddings": 32, "rope_theta": 1000000.0,
                                    "tie_word_embeddings": False}),
    "mistral": ("llama", {"model_type": "mistral", "vocab_size": 120, "hidden_size": 64,
                          "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4,
                          "num_key_value_heads": 1, "max_position_embeddings": 32,
                          "rope_theta": 10000.0}),
}


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def check(llmwb, out, name, arch, cfg):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    cfg_path = os.path.join(d, "config_in.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    folder = os.path.join(d, "model")
    run([llmwb, "model", "init", "--arch", arch, "--config", cfg_path, "--out", folder, "--seed", "3"])
    g = torch.Generator().manual_seed(5)
    B, T = 2, 12
    ids = torch.randint(4, cfg["vocab_size"], (B, T), generator=g, dtype=torch.int64)
    mask = torch.ones(B, T, dtype=torch.int64)
    causal = arch != "bert"
    if causal:
        mask[1, :3] = 0  # left padding, as batched generation pads
    else:
        mask[1, 9:] = 0  # right padding, as BERT batches pad
    ids[mask == 0] = 0
    inputs = os.path.join(d, "inputs.safetensors")
    save_file({"input_ids": ids, "attention_mask": mask}, inputs)
    ours_path = os.path.join(d, "ours.safetensors")
    run([llmwb, "forward", "--model", folder, "--inputs", inputs, "--dump", "logits", "--out", ours_path,
         "--device", "cpu", "--dtype", "f32"])
    ours = load_file(ours_path)["logits"].float()
    config = transformers.AutoConfig.from_pretrained(folder)
    cls = getattr(transformers, config.architectures[0])
    model = cls.from_pretrained(folder, attn_implementation="eager").float().eval()
    with torch.no_grad():
        theirs = model(input_ids=ids, attention_mask=mask).logits.float()
    if theirs.dim() == 3:  # per position: compare the positions the mask keeps
        keep = mask.bool()
        ours_k, theirs_k = ours[keep], theirs[keep]
    else:
        ours_k, theirs_k = ours, theirs
    rel = ((ours_k - theirs_k).abs().max() / theirs_k.abs().max()).item()
    labels = getattr(config, "id2label", None)
    return {"case": name, "architecture": config.architectures[0], "shape": list(theirs.shape),
            "rel_diff": rel, "ok": rel <= TOL, "id2label": labels if "cls" in name or "ner" in name else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--llmwb", default="llmwb")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    results, bad = [], 0
    for name, (arch, cfg) in CASES.items():
        try:
            r = check(a.llmwb, a.out, name, arch, cfg)
        except Exception as e:  # one broken case must not hide the others
            r = {"case": name, "ok": False, "error": str(e)}
        bad += not r["ok"]
        results.append(r)
        print(json.dumps(r))
    with open(os.path.join(a.out, "written_folders.json"), "w") as f:
        json.dump({"transformers": transformers.__version__, "torch": torch.__version__,
                   "tolerance": TOL, "results": results}, f, indent=2)
    print(f"written folders: {len(results) - bad} of {len(results)} load in transformers "
          f"{transformers.__version__} with llmwb's logits (rel <= {TOL})")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

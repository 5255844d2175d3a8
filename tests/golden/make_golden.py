#!/usr/bin/env python3
# Golden files from the real thing: small random-weight GPT-2 and BERT models built with
# PyTorch + transformers, their batches, 20 AdamW steps (every loss, first-step gradients,
# final weights) and forward outputs, which our engine's CPU f32 and CUDA tests must match.
#
# Run on the GPU machine (python3, torch, transformers, safetensors, numpy; no network):
#   python3 tests/golden/make_golden.py --out $OUT/golden
# then copy $OUT/golden/* to tests/golden/data/ and commit it. The torch part runs on the CPU in
# float32 (deterministic algorithms, one thread): it is the oracle for our CPU f32 path.
#
# Layout of --out (one folder per case: gpt2, bert_cls, bert_mlm):
#   <case>/model/             save_pretrained folder (config.json + model.safetensors), initial weights
#   <case>/batches.safetensors  batch<i>.input_ids [B,T] i64, batch<i>.attention_mask [B,T] i64 (BERT),
#                               batch<i>.labels [B,T] (causal-lm, mlm; -100 = ignore) or [B] (classify)
#   <case>/train.json         task, optimizer state (lr, betas, eps, weight_decay), steps, every loss,
#                             the attention key-bias slices whose true gradient is zero
#   <case>/grads0.safetensors gradient of every parameter at step 0 (named_parameters names)
#   <case>/final.safetensors  every parameter after the last step (named_parameters names)
#   <case>/forward.safetensors  initial weights on batch0: logits, last_hidden (hidden_states[-1]),
#                               attn.<layer> [B,H,T,T] attention probabilities
#   manifest.json             versions and the cases
# Step s trains on batch (s mod num_batches); the loss of step s is computed before its update.
import argparse
import json
import os
import sys

NUM_STEPS = 20
NUM_BATCHES = 4
B, T = 4, 16
VOCAB = 512
# eps 1e-6, not torch's default 1e-8: Adam's first step is lr * g / (|g| + eps), i.e. lr * sign(g)
# when eps is negligible, so any weight whose first gradient sits at roundoff level (8e-9 against
# a max of 3e-2 in BERT-mlm's layer-0 intermediate.dense.weight with 1e-8) takes an arbitrary
# +-lr step, and no two correct implementations agree on it. With 1e-6 such a weight moves by
# about lr * g / eps instead, and the comparison measures our engine, not the roundoff.
OPTIM = {"lr": 1e-3, "betas": [0.9, 0.95], "eps": 1e-6, "weight_decay": 0.01}

try:
    import numpy as np
    import torch
    import transformers
    from safetensors.torch import save_file
except ImportError as e:  # the build machine has no torch: say where to run this
    sys.exit(f"make_golden.py: {e}. It needs torch, transformers, safetensors and numpy; "
             "run it on the GPU machine: python3 tests/golden/make_golden.py --out $OUT/golden")


def set_determinism(seed):
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)


def eager(config):
    # The eager attention path computes softmax explicitly and returns the probabilities.
    config._attn_implementation = "eager"
    return config


def randomize(model, seed):
    """Every parameter random (not just HF's init: biases 0 and LayerNorm 1/0 would hide bugs)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if "LayerNorm" in name or ".ln_" in name or name.startswith("ln_") or ".ln_f" in name:
                p.copy_((1.0 + 0.1 * noise) if name.endswith("weight") else 0.05 * noise)
            elif name.endswith("bias"):
                p.copy_(0.02 * noise)
            else:
                p.copy_(0.05 * noise)


def save_tensors(path, tensors, metadata=None):
    save_file({k: v.detach().clone().contiguous() for k, v in tensors.items()}, path,
              metadata=metadata)


def gpt2_batches(g):
    batches = []
    for _ in range(NUM_BATCHES):
        ids = torch.randint(0, VOCAB, (B, T), generator=g, dtype=torch.int64)
        labels = ids.clone()
        labels[1, T - 3:] = -100  # exercises ignore_index
        batches.append({"input_ids": ids, "labels": labels})
    return batches


def bert_batches(g, task, pad, cls, sep, mask_id):
    batches = []
    for _ in range(NUM_BATCHES):
        ids = torch.full((B, T), pad, dtype=torch.int64)
        attn = torch.zeros((B, T), dtype=torch.int64)
        lengths = [T, T - 5, T - 2, 7]  # padding in three of four rows
        for b, n in enumerate(lengths):
            ids[b, 0] = cls
            ids[b, 1:n - 1] = torch.randint(4, VOCAB, (n - 2,), generator=g, dtype=torch.int64)
            ids[b, n - 1] = sep
            attn[b, :n] = 1
        if task == "classify":
            labels = torch.randint(0, 3, (B,), generator=g, dtype=torch.int64)
        else:
            labels = torch.full((B, T), -100, dtype=torch.int64)
            for b, n in enumerate(lengths):
                pick = torch.rand(n - 2, generator=g) < 0.25
                pick[torch.randint(0, n - 2, (1,), generator=g)] = True  # at least one per row
                pos = torch.nonzero(pick).flatten() + 1
                labels[b, pos] = ids[b, pos]
                ids[b, pos] = mask_id
        batches.append({"input_ids": ids, "attention_mask": attn, "labels": labels})
    return batches


def make_gpt2():
    cfg = eager(transformers.GPT2Config(
        vocab_size=VOCAB, n_positions=32, n_embd=64, n_layer=2, n_head=4, n_inner=None,
        activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        layer_norm_epsilon=1e-5, initializer_range=0.02, tie_word_embeddings=True,
        bos_token_id=0, eos_token_id=0))
    model = transformers.GPT2LMHeadModel(cfg)
    C = cfg.n_embd
    key_bias = [{"name": f"transformer.h.{l}.attn.c_attn.bias", "start": C, "end": 2 * C}
                for l in range(cfg.n_layer)]
    return model, "causal-lm", key_bias


def make_bert(task):
    cfg = eager(transformers.BertConfig(
        vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=256, hidden_act="gelu", hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0, max_position_embeddings=32, type_vocab_size=2,
        initializer_range=0.02, layer_norm_eps=1e-12, pad_token_id=0, num_labels=3,
        classifier_dropout=None, tie_word_embeddings=True))
    if task == "classify":
        cfg.problem_type = "single_label_classification"
        model = transformers.BertForSequenceClassification(cfg)
    else:
        model = transformers.BertForMaskedLM(cfg)
    key_bias = [{"name": f"bert.encoder.layer.{l}.attention.self.key.bias", "start": 0, "end": 64}
                for l in range(cfg.num_hidden_layers)]
    return model, task, key_bias


def model_inputs(batch):
    return {k: v for k, v in batch.items() if k != "labels"}


def forward_outputs(model, batch):
    model.eval()
    with torch.no_grad():
        out = model(**model_inputs(batch), output_hidden_states=True, output_attentions=True)
    if out.attentions is None or any(a is None for a in out.attentions):
        sys.exit("make_golden.py: transformers returned no attention probabilities "
                 "(the eager attention path was not taken)")
    result = {"logits": out.logits.float(), "last_hidden": out.hidden_states[-1]}
    for l, a in enumerate(out.attentions):
        result[f"attn.{l}"] = a
    return result


def check_reload(model, folder, batch, expected_logits):
    """The saved folder must give the same logits when transformers loads it back."""
    cls = type(model)
    back = cls.from_pretrained(folder, attn_implementation="eager")
    back.eval()
    with torch.no_grad():
        logits = back(**model_inputs(batch)).logits
    diff = (logits - expected_logits).abs().max().item()
    if diff > 1e-6:
        sys.exit(f"make_golden.py: {folder} reloads with different logits (max diff {diff})")


def train(model, batches):
    opt = torch.optim.AdamW(model.parameters(), lr=OPTIM["lr"], betas=tuple(OPTIM["betas"]),
                            eps=OPTIM["eps"], weight_decay=OPTIM["weight_decay"], foreach=False)
    model.train()
    losses, grads0 = [], None
    for step in range(NUM_STEPS):
        batch = batches[step % NUM_BATCHES]
        opt.zero_grad(set_to_none=True)
        out = model(**batch)
        out.loss.backward()
        if step == 0:
            grads0 = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
        losses.append(out.loss.item())
        opt.step()
    return losses, grads0


def run_case(out_dir, name, seed, build):
    set_determinism(seed)
    model, task, key_bias = build()
    randomize(model, seed + 1)
    g = torch.Generator().manual_seed(seed + 2)
    if task == "causal-lm":
        batches = gpt2_batches(g)
    else:
        batches = bert_batches(g, task, pad=0, cls=1, sep=2, mask_id=3)

    case_dir = os.path.join(out_dir, name)
    os.makedirs(case_dir, exist_ok=True)
    model_dir = os.path.join(case_dir, "model")
    model.save_pretrained(model_dir, safe_serialization=True)

    flat = {}
    for i, batch in enumerate(batches):
        for k, v in batch.items():
            flat[f"batch{i}.{k}"] = v
    save_tensors(os.path.join(case_dir, "batches.safetensors"), flat)

    fwd = forward_outputs(model, batches[0])
    save_tensors(os.path.join(case_dir, "forward.safetensors"), fwd)
    check_reload(model, model_dir, batches[0], fwd["logits"])

    losses, grads0 = train(model, batches)
    save_tensors(os.path.join(case_dir, "grads0.safetensors"), grads0)
    save_tensors(os.path.join(case_dir, "final.safetensors"), dict(model.named_parameters()))
    info = {"task": task, "architecture": type(model).__name__, "steps": NUM_STEPS,
            "num_batches": NUM_BATCHES, "batch_size": B, "seq_len": T, **OPTIM,
            "losses": losses, "zero_grad_slices": key_bias,
            "parameters": {n: list(p.shape) for n, p in model.named_parameters()}}
    with open(os.path.join(case_dir, "train.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(f"{name}: {task}, losses {losses[0]:.6f} -> {losses[-1]:.6f}")
    return {"name": name, "task": task, "architecture": type(model).__name__}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True, help="output folder (e.g. $OUT/golden)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    cases = [
        run_case(args.out, "gpt2", 1234, make_gpt2),
        run_case(args.out, "bert_cls", 2345, lambda: make_bert("classify")),
        run_case(args.out, "bert_mlm", 3456, lambda: make_bert("mlm")),
    ]
    manifest = {"torch": torch.__version__, "transformers": transformers.__version__,
                "compute": "cpu float32, deterministic, 1 thread", "cases": cases}
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# Golden files for the LLaMA family (LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM):
# small random-weight models built with PyTorch + transformers, a padded input batch and the
# forward outputs (logits, hidden_states[-1], eager attention probabilities), plus a 20-step AdamW
# trajectory for the LLaMA case. A separate script so tests/golden/data stays as it is.
#
# Run on the GPU machine (python3, torch, transformers, safetensors, numpy; no network):
#   python3 tests/golden/make_golden_llama.py --out $OUT/data_llama
# then copy $OUT/data_llama/* to tests/golden/data_llama/ and commit it. The torch part runs on
# the CPU in float32 (deterministic algorithms, one thread): the oracle for our CPU f32 path.
#
# Layout of --out (one folder per case: llama, qwen2, mistral):
#   <case>/model/               save_pretrained folder (config.json + safetensors; mistral is
#                               sharded through model.safetensors.index.json), initial weights
#   <case>/inputs.safetensors   input_ids [B,T] i64 and attention_mask [B,T] i64, right padding
#                               (rows of length T, T-5, T-2, 7; pad id 0) — an `llmwb forward` input
#   <case>/forward.safetensors  initial weights on inputs: logits [B,T,V], last_hidden
#                               (hidden_states[-1]), attn.<layer> [B,H,T,T], and base_last_hidden
#                               (the base model's last_hidden_state, for reference)
#   llama/batches.safetensors   batch<i>.input_ids [B,T] i64, batch<i>.labels [B,T] (-100 = ignore)
#   llama/train.json            as in make_golden.py: task, optimizer, steps, every loss, parameters
#   llama/grads0.safetensors    gradient of every parameter at step 0 (named_parameters names)
#   llama/final.safetensors     every parameter after the last step
#   manifest.json               versions, the cases, and each case's rope theta
# Step s trains on batch (s mod num_batches); the loss of step s is computed before its update.
import argparse
import inspect
import json
import os
import sys

NUM_STEPS = 20
NUM_BATCHES = 4
B, T = 4, 16
VOCAB = 512
PAD = 0
LENGTHS = [T, T - 5, T - 2, 7]  # right padding in three of four rows
# Same optimizer settings as make_golden.py (eps 1e-6: see the note there).
OPTIM = {"lr": 1e-3, "betas": [0.9, 0.95], "eps": 1e-6, "weight_decay": 0.01}

try:
    import numpy as np
    import torch
    import transformers
    from safetensors.torch import save_file
except ImportError as e:  # the build machine has no torch: say where to run this
    sys.exit(f"make_golden_llama.py: {e}. It needs torch, transformers, safetensors and numpy; "
             "run it on the GPU machine: python3 tests/golden/make_golden_llama.py "
             "--out $OUT/data_llama")


def set_determinism(seed):
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)


def rope_kwargs(config_cls, theta):
    """transformers 5 takes rope_parameters; older releases take rope_theta at the top level."""
    params = inspect.signature(config_cls.__init__).parameters
    if "rope_parameters" in params:
        return {"rope_parameters": {"rope_type": "default", "rope_theta": theta}}
    return {"rope_theta": theta, "rope_scaling": None}


def effective_theta(config):
    rp = getattr(config, "rope_parameters", None)
    if isinstance(rp, dict) and "rope_theta" in rp:
        return float(rp["rope_theta"])
    return float(config.rope_theta)


def common(theta, config_cls, **kw):
    cfg = config_cls(
        vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, hidden_act="silu", max_position_embeddings=64,
        initializer_range=0.02, rms_norm_eps=1e-6, attention_dropout=0.0, pad_token_id=None,
        bos_token_id=1, eos_token_id=2, use_cache=False, **rope_kwargs(config_cls, theta), **kw)
    cfg._attn_implementation = "eager"  # explicit softmax: returns the probabilities
    if abs(effective_theta(cfg) - theta) > 1e-6 * theta:
        sys.exit(f"make_golden_llama.py: {config_cls.__name__} kept rope theta "
                 f"{effective_theta(cfg)}, asked for {theta}")
    return cfg


def make_llama():
    cfg = common(10000.0, transformers.LlamaConfig, num_key_value_heads=2,
                 tie_word_embeddings=False, attention_bias=False, mlp_bias=False)
    return transformers.LlamaForCausalLM(cfg)


def make_qwen2():
    # Qwen2 always has q/k/v biases (o_proj none); tied embeddings; full multi-head attention.
    cfg = common(1000000.0, transformers.Qwen2Config, num_key_value_heads=4,
                 tie_word_embeddings=True, use_sliding_window=False)
    return transformers.Qwen2ForCausalLM(cfg)


def make_mistral():
    # One key/value head (multi-query); the sliding window (4096) is longer than T.
    cfg = common(500000.0, transformers.MistralConfig, num_key_value_heads=1,
                 tie_word_embeddings=False, sliding_window=4096)
    return transformers.MistralForCausalLM(cfg)


def randomize(model, seed):
    """Every parameter random (HF's ones for norms and zero biases would hide bugs)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if "norm" in name:
                p.copy_(1.0 + 0.1 * noise)
            elif name.endswith("bias"):
                p.copy_(0.02 * noise)
            else:
                p.copy_(0.05 * noise)


def save_tensors(path, tensors, metadata=None):
    save_file({k: v.detach().clone().contiguous() for k, v in tensors.items()}, path,
              metadata=metadata)


def padded_inputs(g):
    ids = torch.full((B, T), PAD, dtype=torch.int64)
    mask = torch.zeros((B, T), dtype=torch.int64)
    for b, n in enumerate(LENGTHS):
        ids[b, :n] = torch.randint(3, VOCAB, (n,), generator=g, dtype=torch.int64)
        mask[b, :n] = 1
    return {"input_ids": ids, "attention_mask": mask}


def train_batches(g):
    batches = []
    for _ in range(NUM_BATCHES):
        ids = torch.randint(0, VOCAB, (B, T), generator=g, dtype=torch.int64)
        labels = ids.clone()
        labels[1, T - 3:] = -100  # exercises ignore_index
        batches.append({"input_ids": ids, "labels": labels})
    return batches


def forward_outputs(model, inputs):
    model.eval()
    with torch.no_grad():
        out = model(**inputs, output_hidden_states=True, output_attentions=True)
        base = model.model(**inputs).last_hidden_state
    if out.attentions is None or any(a is None for a in out.attentions):
        sys.exit("make_golden_llama.py: transformers returned no attention probabilities "
                 "(the eager attention path was not taken)")
    result = {"logits": out.logits.float(), "last_hidden": out.hidden_states[-1],
              "base_last_hidden": base}
    for l, a in enumerate(out.attentions):
        result[f"attn.{l}"] = a
    return result


def check_reload(model, folder, inputs, expected_logits):
    """The saved folder must give the same logits when transformers loads it back."""
    back = type(model).from_pretrained(folder, attn_implementation="eager")
    back.float()
    back.eval()
    with torch.no_grad():
        logits = back(**inputs).logits
    diff = (logits - expected_logits).abs().max().item()
    if diff > 1e-6:
        sys.exit(f"make_golden_llama.py: {folder} reloads with different logits (max diff {diff})")


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


def run_case(out_dir, name, seed, build, shard=None, do_train=False):
    set_determinism(seed)
    model = build()
    model.float()
    randomize(model, seed + 1)
    g = torch.Generator().manual_seed(seed + 2)
    inputs = padded_inputs(g)

    case_dir = os.path.join(out_dir, name)
    os.makedirs(case_dir, exist_ok=True)
    model_dir = os.path.join(case_dir, "model")
    if shard:
        model.save_pretrained(model_dir, safe_serialization=True, max_shard_size=shard)
        if not os.path.exists(os.path.join(model_dir, "model.safetensors.index.json")):
            sys.exit(f"make_golden_llama.py: {name} was not saved sharded (max_shard_size {shard})")
    else:
        model.save_pretrained(model_dir, safe_serialization=True)
    save_tensors(os.path.join(case_dir, "inputs.safetensors"), inputs)

    fwd = forward_outputs(model, inputs)
    save_tensors(os.path.join(case_dir, "forward.safetensors"), fwd)
    check_reload(model, model_dir, inputs, fwd["logits"])
    hidden_is_base = bool(torch.equal(fwd["last_hidden"], fwd["base_last_hidden"]))
    info = {"name": name, "architecture": type(model).__name__,
            "rope_theta": effective_theta(model.config),
            "num_key_value_heads": model.config.num_key_value_heads,
            "tie_word_embeddings": bool(model.config.tie_word_embeddings),
            "sharded": bool(shard), "lengths": LENGTHS,
            "last_hidden_is_base_last_hidden_state": hidden_is_base}

    if do_train:
        batches = train_batches(g)
        flat = {}
        for i, batch in enumerate(batches):
            for k, v in batch.items():
                flat[f"batch{i}.{k}"] = v
        save_tensors(os.path.join(case_dir, "batches.safetensors"), flat)
        losses, grads0 = train(model, batches)
        save_tensors(os.path.join(case_dir, "grads0.safetensors"), grads0)
        save_tensors(os.path.join(case_dir, "final.safetensors"), dict(model.named_parameters()))
        train_info = {"task": "causal-lm", "architecture": type(model).__name__,
                      "steps": NUM_STEPS, "num_batches": NUM_BATCHES, "batch_size": B,
                      "seq_len": T, **OPTIM, "losses": losses, "zero_grad_slices": [],
                      "parameters": {n: list(p.shape) for n, p in model.named_parameters()}}
        with open(os.path.join(case_dir, "train.json"), "w") as f:
            json.dump(train_info, f, indent=1)
        info["losses"] = [losses[0], losses[-1]]
        print(f"{name}: losses {losses[0]:.6f} -> {losses[-1]:.6f}")
    print(f"{name}: {info}")
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True, help="output folder (e.g. $OUT/data_llama)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    cases = [
        run_case(args.out, "llama", 4567, make_llama, do_train=True),
        run_case(args.out, "qwen2", 5678, make_qwen2),
        run_case(args.out, "mistral", 6789, make_mistral, shard="200KB"),
    ]
    manifest = {"torch": torch.__version__, "transformers": transformers.__version__,
                "compute": "cpu float32, deterministic, 1 thread", "cases": cases}
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()

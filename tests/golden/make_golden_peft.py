#!/usr/bin/env python3
# Golden files for prompt tuning and p-tuning: PEFT's PromptTuningConfig (random and text init)
# and PromptEncoderConfig (MLP and LSTM) on the golden GPT-2 (tests/golden/data/gpt2/model),
# trained for a few AdamW steps on fixed batches with dropout 0, plus a load check of a PEFT
# adapter folder that llmwb exported (tests/golden/data_peft/llmwb_adapter). Our CPU f32 path
# must reproduce every step's loss within 1e-4 relative from the same initial weights.
#
# Run on the GPU machine (python3, torch, transformers, tokenizers, peft, safetensors; no network):
#   python3 tests/golden/make_golden_peft.py --out $OUT/data_peft
# then copy $OUT/data_peft/* to tests/golden/data_peft/ and commit it. Torch runs on the CPU in
# float32 (deterministic algorithms, one thread).
#
# Layout of --out:
#   tokenizer/                 a byte-level BPE tokenizer with 512 ids (the golden GPT-2's
#                              vocabulary) trained here on a fixed corpus; PEFT's text init uses it
#   batches.safetensors        batch<i>.input_ids [B,T] i64, batch<i>.labels [B,T] i64 (-100 =
#                              ignore; the virtual tokens are prepended by PEFT, not in here)
#   <case>.safetensors         init.<name>: the prompt encoder's initial parameters (PEFT names:
#                              embedding.weight, mlp_head.N.weight, lstm_head.weight_ih_l0, ...);
#                              final.prompt_embeddings: the materialized prompt after training
#   peft.json                  versions, optimizer, steps, and per case: the PEFT config, every
#                              step's loss (computed before that step's update), text-init ids
#   adapter_check.safetensors  (when the llmwb adapter exists) input_ids [1,T] and the logits
#                              [1,n+T,V] of PeftModel.from_pretrained(base, llmwb_adapter)
# Step s trains on batch (s mod num_batches).
import argparse
import json
import os
import sys

NUM_STEPS = 6
NUM_BATCHES = 3
B, T = 4, 12
VOCAB = 512
N_VIRTUAL = 8
ENCODER_HIDDEN = 32
INIT_TEXT = "Classify the sentiment of this review as positive or negative"
OPTIM = {"lr": 3e-2, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01}
CORPUS = [
    "The movie was wonderful and the acting was great.",
    "I did not like the food; it was cold and bland.",
    "Classify the sentiment of this review as positive or negative.",
    "Great phone, excellent value, would buy again.",
    "The battery died after two days, a terrible product.",
    "positive negative neutral sentiment review answer question",
] * 20

try:
    import torch
    import transformers
    import peft
    import tokenizers
    from safetensors.torch import save_file
except ImportError as e:
    sys.exit(f"make_golden_peft.py: {e}. It needs torch, transformers, tokenizers, peft and "
             "safetensors; run it on the GPU machine: python3 tests/golden/make_golden_peft.py "
             "--out $OUT/data_peft")


def make_tokenizer(out_dir):
    tok = tokenizers.ByteLevelBPETokenizer()
    tok.train_from_iterator(CORPUS, vocab_size=VOCAB, min_frequency=2,
                            special_tokens=["<|endoftext|>"], show_progress=False)
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok._tokenizer,
                                                eos_token="<|endoftext|>",
                                                bos_token="<|endoftext|>",
                                                unk_token="<|endoftext|>")
    path = os.path.join(out_dir, "tokenizer")
    fast.save_pretrained(path)
    assert len(fast) <= VOCAB, len(fast)
    return path, fast


def make_batches():
    g = torch.Generator().manual_seed(1234)
    batches = []
    for i in range(NUM_BATCHES):
        ids = torch.randint(1, VOCAB, (B, T), generator=g)
        labels = ids.clone()
        labels[:, : T // 2] = -100  # an answer-only style mask on the first half
        if i == 1:
            labels = ids.clone()  # one batch with the loss on every token
        batches.append((ids, labels))
    return batches


def case_configs(tok_path):
    C = peft.TaskType.CAUSAL_LM
    return {
        "prompt_random": peft.PromptTuningConfig(
            task_type=C, num_virtual_tokens=N_VIRTUAL,
            prompt_tuning_init=peft.PromptTuningInit.RANDOM),
        "prompt_text": peft.PromptTuningConfig(
            task_type=C, num_virtual_tokens=N_VIRTUAL,
            prompt_tuning_init=peft.PromptTuningInit.TEXT, prompt_tuning_init_text=INIT_TEXT,
            tokenizer_name_or_path=tok_path),
        "ptuning_mlp": peft.PromptEncoderConfig(
            task_type=C, num_virtual_tokens=N_VIRTUAL, encoder_hidden_size=ENCODER_HIDDEN,
            encoder_reparameterization_type="MLP", encoder_dropout=0.0),
        "ptuning_lstm": peft.PromptEncoderConfig(
            task_type=C, num_virtual_tokens=N_VIRTUAL, encoder_hidden_size=ENCODER_HIDDEN,
            encoder_reparameterization_type="LSTM", encoder_num_layers=2, encoder_dropout=0.0),
    }


def run_case(name, cfg, model_dir, batches, out_dir, seed):
    torch.manual_seed(seed)
    base = transformers.GPT2LMHeadModel.from_pretrained(model_dir, torch_dtype=torch.float32)
    model = peft.get_peft_model(base, cfg)
    model.train()  # every dropout probability is 0 (config and encoder)
    enc = model.prompt_encoder["default"]
    init = {f"init.{k}": v.detach().clone().contiguous() for k, v in enc.state_dict().items()}
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=OPTIM["lr"], betas=tuple(OPTIM["betas"]), eps=OPTIM["eps"],
                            weight_decay=OPTIM["weight_decay"])
    losses = []
    for step in range(NUM_STEPS):
        ids, labels = batches[step % len(batches)]
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels)
        losses.append(out.loss.item())
        out.loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    model.eval()
    with torch.no_grad():
        final = model.get_prompt_embedding_to_save("default").detach().clone().contiguous()
    tensors = dict(init)
    tensors["final.prompt_embeddings"] = final
    save_file(tensors, os.path.join(out_dir, f"{name}.safetensors"))
    info = {"config": {k: (v.value if hasattr(v, "value") else v)
                       for k, v in cfg.to_dict().items() if isinstance(v, (int, float, str, bool, type(None)))
                       or hasattr(v, "value")},
            "losses": losses, "trainable": [k for k, p in model.named_parameters() if p.requires_grad]}
    return info


def adapter_check(model_dir, adapter_dir, out_dir):
    base = transformers.GPT2LMHeadModel.from_pretrained(model_dir, torch_dtype=torch.float32)
    model = peft.PeftModel.from_pretrained(base, adapter_dir)
    model.eval()
    ids = torch.tensor([[5, 17, 250, 3, 99, 400, 12, 7]], dtype=torch.int64)
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
    save_file({"input_ids": ids, "logits": logits.contiguous()},
              os.path.join(out_dir, "adapter_check.safetensors"))
    return {"adapter": adapter_dir, "logits_shape": list(logits.shape)}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", default=os.path.join(here, "data", "gpt2", "model"))
    ap.add_argument("--adapter", default=os.path.join(here, "data_peft", "llmwb_adapter"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    tok_path, tok = make_tokenizer(args.out)
    batches = make_batches()
    bt = {}
    for i, (ids, labels) in enumerate(batches):
        bt[f"batch{i}.input_ids"] = ids
        bt[f"batch{i}.labels"] = labels
    save_file(bt, os.path.join(args.out, "batches.safetensors"))
    manifest = {"versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                             "peft": peft.__version__, "tokenizers": tokenizers.__version__},
                "optimizer": OPTIM, "steps": NUM_STEPS, "num_batches": NUM_BATCHES,
                "num_virtual_tokens": N_VIRTUAL, "encoder_hidden": ENCODER_HIDDEN,
                "init_text": INIT_TEXT,
                "init_text_ids": tok(INIT_TEXT)["input_ids"], "cases": {}}
    for seed, (name, cfg) in enumerate(case_configs(tok_path).items()):
        manifest["cases"][name] = run_case(name, cfg, args.model, batches, args.out, 100 + seed)
        print(name, manifest["cases"][name]["losses"])
    if os.path.isdir(args.adapter):
        manifest["adapter_check"] = adapter_check(args.model, args.adapter, args.out)
        print("adapter check", manifest["adapter_check"])
    else:
        print("no llmwb adapter at", args.adapter, "- adapter check skipped")
    with open(os.path.join(args.out, "peft.json"), "w") as f:
        json.dump(manifest, f, indent=2)


if __name__ == "__main__":
    main()

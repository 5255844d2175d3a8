#!/usr/bin/env python3
# Golden fine-tuning trajectories through the full data pipeline: a small TSV (intents) and a
# small CoNLL file (slots) tokenized by transformers' BertTokenizerFast, batched in file order
# (padding to the longest in the batch, truncation at MAX_LEN, NER labels on each word's first
# sub-token, -100 elsewhere), then BertForSequenceClassification / BertForTokenClassification
# trained with torch.optim.AdamW (no decay on biases and LayerNorm weights),
# get_linear_schedule_with_warmup (warm-up ceil(ratio * total)), clip_grad_norm_ 1.0, dropout 0.
# Our engine must reproduce every step's loss (tests/engine/train_loop/test_finetune_golden.cpp)
# from the same files through `lw::api::run_finetune` with shuffle off.
# Also: expected entity scores for a fixed set of predictions (seqeval strict mode when the
# package is installed, else the independent implementation below; seqeval_source says which).
#
# Run on the GPU machine (CPU float32 is the oracle; no network needed):
#   python3 tests/golden/make_golden_finetune.py --out $OUT/data_finetune
# then copy $OUT/data_finetune/* to tests/golden/data_finetune/ and commit.
# Check that transformers loads one of OUR checkpoints (after `llmwb train ...`):
#   python3 tests/golden/make_golden_finetune.py --check-checkpoint DIR
import argparse
import json
import math
import os
import sys

MAX_LEN = 16
BATCH = 4
EPOCHS = 2
OPTIM = {"lr": 2e-3, "betas": [0.9, 0.999], "eps": 1e-6, "weight_decay": 0.01, "warmup_ratio": 0.2,
         "clip_norm": 1.0}
WORDS = ["play", "music", "by", "the", "beatles", "book", "a", "table", "for", "two", "in", "paris",
         "what", "is", "weather", "london", "tomorrow", "rate", "this", "novel", "five", "stars",
         "add", "song", "to", "my", "playlist", "jazz", "rome", "sunny"]
INTENTS = [("play music by the beatles", "music"), ("play jazzy tunes by Queen", "music"),
           ("add song to my playlist", "music"), ("book a table for two in paris", "book"),
           ("book a table in rome, tomorrow!", "book"), ("what is the weather in london tomorrow", "weather"),
           ("is it sunny in Zürich", "weather"), ("rate this novel five stars", "rate"),
           ("what's the weather like in paris?", "weather"),
           ("play the extremely long and winding road by the beatles in my playlist for two", "music")]
SLOTS = [[("play", "O"), ("music", "O"), ("by", "O"), ("the", "B-artist"), ("beatles", "I-artist")],
         [("book", "O"), ("a", "O"), ("table", "O"), ("in", "O"), ("paris", "B-city")],
         [("what", "O"), ("is", "O"), ("weather", "O"), ("in", "O"), ("londonderry", "B-city"), ("tomorrow", "B-date")],
         [("play", "O"), ("jazz", "B-genre"), ("in", "O"), ("rome", "B-city")],
         [("rate", "O"), ("Bleak", "B-book"), ("House", "I-book"), ("five", "B-rating"), ("stars", "O")],
         [("add", "O"), ("Für", "B-song"), ("Elise", "I-song"), ("to", "O"), ("my", "O"), ("playlist", "O")]]


def write_data(out):
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + list("!,?'")
    for c in "abcdefghijklmnopqrstuvwxyz":
        vocab += [c, "##" + c]
    with open(os.path.join(out, "vocab.txt"), "w") as f:
        f.write("\n".join(vocab) + "\n")
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer"}, f)
    rows = [INTENTS[i % len(INTENTS)] for i in range(22)]
    with open(os.path.join(out, "train.tsv"), "w") as f:
        f.write("text\tlabel\n" + "".join(f"{t}\t{l}\n" for t, l in rows))
    with open(os.path.join(out, "dev.tsv"), "w") as f:
        f.write("text\tlabel\n" + "".join(f"{t}\t{l}\n" for t, l in INTENTS[:6]))
    sents = [SLOTS[i % len(SLOTS)] for i in range(14)]
    for name, ss in (("train.conll", sents), ("dev.conll", SLOTS)):
        with open(os.path.join(out, name), "w") as f:
            f.write("-DOCSTART-\tO\n\n" + "".join("".join(f"{w}\t{t}\n" for w, t in s) + "\n" for s in ss))
    return rows, sents, len(vocab)


def tag_map(sents):
    types = sorted({t[2:] for s in sents for _, t in s if t != "O"})
    return ["O"] + [p + x for x in types for p in ("B-", "I-")]


def train(task, model, tok, rows, sents, labels):
    import torch
    from transformers import get_linear_schedule_with_warmup
    batches = []
    n = len(rows) if task == "classify" else len(sents)
    for b0 in range(0, n, BATCH):
        if task == "classify":
            chunk = rows[b0:b0 + BATCH]
            enc = tok([t for t, _ in chunk], truncation=True, max_length=MAX_LEN, padding="longest", return_tensors="pt")
            enc["labels"] = torch.tensor([labels.index(l) for _, l in chunk])
        else:
            chunk = sents[b0:b0 + BATCH]
            enc = tok([[w for w, _ in s] for s in chunk], is_split_into_words=True, truncation=True,
                      max_length=MAX_LEN, padding="longest", return_tensors="pt")
            lab = []
            for i, s in enumerate(chunk):
                prev, row = None, []
                for wid in enc.word_ids(i):
                    row.append(-100 if wid is None or wid == prev else labels.index(s[wid][1]))
                    prev = wid
                lab.append(row)
            enc["labels"] = torch.tensor(lab)
        batches.append(dict(enc))
    total = EPOCHS * len(batches)
    decay = [p for n_, p in model.named_parameters() if not (n_.endswith("bias") or "LayerNorm.weight" in n_)]
    no_decay = [p for n_, p in model.named_parameters() if n_.endswith("bias") or "LayerNorm.weight" in n_]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": OPTIM["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=OPTIM["lr"], betas=tuple(OPTIM["betas"]), eps=OPTIM["eps"])
    sched = get_linear_schedule_with_warmup(opt, math.ceil(total * OPTIM["warmup_ratio"]), total)
    model.train()
    losses, lrs = [], []
    for step in range(total):
        batch = batches[step % len(batches)]
        lrs.append(opt.param_groups[0]["lr"])
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), OPTIM["clip_norm"])
        opt.step()
        sched.step()
        opt.zero_grad()
        losses.append(loss.item())
    return {"losses": losses, "lrs": lrs, "steps": total,
            "input_ids": [b["input_ids"].tolist() for b in batches],
            "batch_labels": [b["labels"].tolist() for b in batches]}


def entities(tags, scheme):
    # seqeval strict: IOB2 B-x I-x*; BIOES S-x | B-x I-x* E-x; anything else yields nothing.
    out, i = [], 0
    while i < len(tags):
        p, t = (tags[i][0], tags[i][2:]) if tags[i] != "O" else ("O", "")
        if scheme == "IOB2" and p == "B":
            j = i + 1
            while j < len(tags) and tags[j] == "I-" + t:
                j += 1
            out.append((t, i, j)); i = j; continue
        if scheme == "BIOES" and p == "S":
            out.append((t, i, i + 1))
        if scheme == "BIOES" and p == "B":
            j = i + 1
            while j < len(tags) and tags[j] == "I-" + t:
                j += 1
            if j < len(tags) and tags[j] == "E-" + t:
                out.append((t, i, j + 1)); i = j + 1; continue
        i += 1
    return out


def entity_scores(y_true, y_pred, scheme):
    try:
        from seqeval.metrics import classification_report
        from seqeval.scheme import IOB2, IOBES
        import seqeval
        rep = classification_report(y_true, y_pred, mode="strict", scheme=IOB2 if scheme == "IOB2" else IOBES,
                                    output_dict=True, zero_division=0)
        norm = lambda d: {"precision": d["precision"], "recall": d["recall"], "f1": d["f1-score"],
                          "support": int(d["support"])}
        return {"source": "seqeval " + getattr(seqeval, "__version__", "?"),
                "micro": norm(rep["micro avg"]), "macro": norm(rep["macro avg"]),
                "per_type": {k: norm(v) for k, v in rep.items() if "avg" not in k}}
    except ImportError:
        pass
    T = {(k, s) + e for k, s_ in enumerate(y_true) for s in [0] for e in entities(s_, scheme)}
    P = {(k, s) + e for k, s_ in enumerate(y_pred) for s in [0] for e in entities(s_, scheme)}
    def prf(tp, np_, nt):
        p = tp / np_ if np_ else 0.0
        r = tp / nt if nt else 0.0
        return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "support": nt}
    types = sorted({e[2] for e in T | P})
    per = {t: prf(len({e for e in T & P if e[2] == t}), len({e for e in P if e[2] == t}),
                  len({e for e in T if e[2] == t})) for t in types}
    macro = {k: sum(per[t][k] for t in types) / len(types) for k in ("precision", "recall", "f1")}
    return {"source": "independent (make_golden_finetune.py)", "micro": prf(len(T & P), len(P), len(T)),
            "macro": macro, "per_type": per}


SEQEVAL_CASES = {
    "IOB2": ([["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG", "I-ORG", "O"], ["B-LOC", "I-LOC", "B-LOC", "O"]],
             [["B-PER", "I-PER", "O", "B-ORG"], ["O", "I-ORG", "I-ORG", "I-ORG", "O"], ["B-LOC", "I-LOC", "B-LOC", "B-PER"]]),
    "BIOES": ([["S-PER", "O", "B-LOC", "E-LOC"], ["B-ORG", "I-ORG", "E-ORG", "O", "S-LOC"]],
              [["S-PER", "O", "B-LOC", "I-LOC"], ["B-ORG", "I-ORG", "E-ORG", "O", "S-PER"]]),
}


def check_checkpoint(path):
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer
    cfg = AutoConfig.from_pretrained(path)
    cls = AutoModelForTokenClassification if cfg.architectures[0].endswith("TokenClassification") else AutoModelForSequenceClassification
    model = cls.from_pretrained(path).eval()
    tok = AutoTokenizer.from_pretrained(path)
    import torch
    enc = tok(["play music by the beatles"], return_tensors="pt")
    with torch.no_grad():
        logits = model(**enc).logits
    print(json.dumps({"architecture": cfg.architectures[0], "id2label": cfg.id2label,
                      "argmax": logits.argmax(-1).tolist()}, indent=1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--check-checkpoint")
    a = ap.parse_args()
    if a.check_checkpoint:
        return check_checkpoint(a.check_checkpoint)
    import torch
    import transformers
    from transformers import BertConfig, BertForSequenceClassification, BertForTokenClassification, BertTokenizerFast
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    rows, sents, vocab_size = write_data(a.out)
    tok = BertTokenizerFast(os.path.join(a.out, "vocab.txt"), do_lower_case=True)
    result = {"versions": {"torch": torch.__version__, "transformers": transformers.__version__},
              "max_len": MAX_LEN, "batch": BATCH, "epochs": EPOCHS, "optim": OPTIM}
    for task, cls_, labels in (("classify", BertForSequenceClassification, sorted({l for _, l in rows})),
                               ("ner", BertForTokenClassification, tag_map(sents))):
        torch.manual_seed(1234)
        cfg = BertConfig(vocab_size=vocab_size, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                         intermediate_size=128, max_position_embeddings=64, hidden_dropout_prob=0.0,
                         attention_probs_dropout_prob=0.0, num_labels=len(labels),
                         id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})
        model = cls_(cfg)
        folder = os.path.join(a.out, "bert_" + task)
        model.save_pretrained(folder, safe_serialization=True)
        tok.save_pretrained(folder)
        result[task] = train(task, model, tok, rows, sents, labels)
        result[task]["labels"] = labels
    result["seqeval"] = {s: {"y_true": yt, "y_pred": yp, "expected": entity_scores(yt, yp, s)}
                         for s, (yt, yp) in SEQEVAL_CASES.items()}
    with open(os.path.join(a.out, "golden.json"), "w") as f:
        json.dump(result, f, indent=1)
    print("wrote", a.out, "seqeval:", result["seqeval"]["IOB2"]["expected"]["source"])


if __name__ == "__main__":
    sys.exit(main())

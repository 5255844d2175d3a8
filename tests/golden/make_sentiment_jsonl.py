#!/usr/bin/env python3
"""Prompt-tuning data for ../shared/data/cls/uci-sentiment (the three *_labelled.txt files:
"sentence<TAB>0|1"): a seeded split into train.jsonl / dev.jsonl, the training sentences alone
(train_sentences.txt, unlabelled in-domain text for `llmwb train lm`; never a dev sentence),
two task files and summary.json (counts, dev majority baseline).

Each JSONL line holds {"sentence", "label": "positive"|"negative", "answer": " positive"|...,
"word": " good"|" bad"}.
tasks_plain.json uses the issue's template "<|VIRTUAL_PROMPT_0|> {sentence} sentiment: {label}";
our layout tokenizes every template part on its own, so its answer starts after a lone " "
token (GPT-2 BPE never makes that from real text: a word after a space is one token " word").
tasks.json puts the space into the answer ("sentiment:{answer}" -> ":", " positive"), the
tokens a GPT-2 tokenizer gives for the same text. Exact match trims both sides, so the label
compared is the same word. tasks_verbal.json (and tasks_verbal_100.json, 100 virtual tokens)
asks the model for a word it has seen after reviews, "<|VIRTUAL_PROMPT_0|>{sentence} It
was{word}" with " good" / " bad" for positive / negative (a verbalizer, as in PET / LM-BFF):
the same two-way decision, scored by exact match of the word. Standard library only.

  python3 tests/golden/make_sentiment_jsonl.py --data ../shared/data/cls/uci-sentiment --out DIR
"""
import argparse
import json
import os
import random

LABELS = {"0": "negative", "1": "positive"}
WORDS = {"0": " bad", "1": " good"}
FILES = ["amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt"]


def read_examples(data_dir):
    out = []
    for name in FILES:
        path = os.path.join(data_dir, name)
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                sentence, sep, score = line.rpartition("\t")
                score = score.strip()
                if not sep or score not in LABELS:
                    raise SystemExit(f"{path}:{n}: expected 'sentence<TAB>0|1', got {line[:60]!r}")
                out.append({"sentence": " ".join(sentence.split()), "label": LABELS[score],
                            "answer": " " + LABELS[score], "word": WORDS[score],
                            "source": name.split("_")[0]})
    return out


def task(template, answer_field, n_virtual):
    return {"taskname": "sentiment", "prompt_template": template, "total_virtual_tokens": n_virtual,
            "virtual_token_splits": [n_virtual], "truncate_field": "sentence",
            "answer_only_loss": True, "answer_field": answer_field}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder with the *_labelled.txt files")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dev-fraction", type=float, default=0.2)
    ap.add_argument("--virtual-tokens", type=int, default=20)
    a = ap.parse_args()
    exs = read_examples(a.data)
    random.Random(a.seed).shuffle(exs)
    n_dev = round(len(exs) * a.dev_fraction)
    dev, train = exs[:n_dev], exs[n_dev:]
    dev_sentences = {e["sentence"] for e in dev}
    os.makedirs(a.out, exist_ok=True)
    for name, rows in (("train.jsonl", train), ("dev.jsonl", dev)):
        with open(os.path.join(a.out, name), "w", encoding="utf-8") as f:
            for e in rows:
                f.write(json.dumps({k: e[k] for k in ("sentence", "label", "answer", "word")}, ensure_ascii=False) + "\n")
    # Unlabelled training sentences for pretraining; a sentence that also occurs in dev
    # (the data has a few duplicates) is left out.
    with open(os.path.join(a.out, "train_sentences.txt"), "w", encoding="utf-8") as f:
        for e in train:
            if e["sentence"] not in dev_sentences:
                f.write(e["sentence"] + "\n")
    n = a.virtual_tokens
    with open(os.path.join(a.out, "tasks_plain.json"), "w") as f:
        json.dump({"tasks": [task("<|VIRTUAL_PROMPT_0|> {sentence} sentiment: {label}", "label", n)]}, f, indent=2)
    with open(os.path.join(a.out, "tasks.json"), "w") as f:
        json.dump({"tasks": [task("<|VIRTUAL_PROMPT_0|> {sentence} sentiment:{answer}", "answer", n)]}, f, indent=2)
    for name, k in (("tasks_verbal.json", n), ("tasks_verbal_100.json", 100)):
        with open(os.path.join(a.out, name), "w") as f:
            json.dump({"tasks": [task("<|VIRTUAL_PROMPT_0|>{sentence} It was{word}", "word", k)]}, f, indent=2)
    counts = {s: {lab: sum(e["label"] == lab for e in rows) for lab in ("positive", "negative")}
              for s, rows in (("train", train), ("dev", dev))}
    majority = max(counts["dev"].values()) / len(dev)
    summary = {"seed": a.seed, "train": len(train), "dev": len(dev), "counts": counts,
               "dev_majority_label": max(counts["dev"], key=counts["dev"].get),
               "dev_majority_accuracy": majority}
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

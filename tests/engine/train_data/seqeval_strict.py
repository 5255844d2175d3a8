#!/usr/bin/env python3
# Cross-check of the hand-computed numbers in test_metrics.cpp. Uses seqeval (mode="strict")
# when it is installed; otherwise a transcription of seqeval's strict algorithm (its
# start/inside/end patterns per scheme, written independently of our C++). Prints the
# numbers and exits non-zero on a mismatch. Run: python3 seqeval_strict.py
import sys

IOB2_T = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "I-ORG", "O"], ["O", "B-MISC", "I-MISC"],
          ["B-PER", "I-PER"], ["O", "O", "B-LOC"], ["B-LOC", "B-LOC", "O"]]
IOB2_P = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "O", "O"], ["O", "I-MISC", "I-MISC"],
          ["B-PER", "I-LOC"], ["O", "B-LOC", "B-LOC"], ["B-LOC", "I-LOC", "O"]]
BIOES_T = [["S-PER", "O", "B-LOC", "I-LOC", "E-LOC"], ["B-ORG", "E-ORG", "S-LOC"], ["O", "S-MISC"]]
BIOES_P = [["S-PER", "O", "B-LOC", "I-LOC", "I-LOC"], ["B-ORG", "E-ORG", "S-LOC"], ["E-MISC", "S-MISC"]]
# (precision, recall, f1, macro f1, weighted f1) as asserted in test_metrics.cpp
EXPECTED = {"IOB2": (3 / 7, 3 / 8, 0.4, 0.25, 0.375),
            "IOBES": (1.0, 0.8, 8 / 9, (1 + 2 / 3 + 1 + 1) / 4, None)}

START = {"IOB2": {"B"}, "IOBES": {"B", "S"}}
INSIDE = {"IOB2": {("B", "I"), ("I", "I")}, "IOBES": {("B", "I"), ("B", "E"), ("I", "I"), ("I", "E")}}
END_OK = {"IOB2": lambda prev, tok: True, "IOBES": lambda prev, tok: prev[0] in ("S", "E")}


def split(tag):
    return ("O", "") if tag == "O" else (tag[0], tag[2:])


def entities(tags, scheme):
    toks = [split(t) for t in tags] + [("O", "")]
    out, i = [], 0
    while i < len(tags):
        if toks[i][0] in START[scheme]:
            j, prev = i + 1, toks[i]
            while (prev[0], toks[j][0]) in INSIDE[scheme] and toks[j][1] == prev[1]:
                prev, j = toks[j], j + 1
            if END_OK[scheme](toks[j - 1], toks[j]):
                out.append((toks[i][1], i, j))
            i = j
        else:
            i += 1
    return out


def scores(y_true, y_pred, scheme):
    t = {(s, *e) for s, tags in enumerate(y_true) for e in entities(tags, scheme)}
    p = {(s, *e) for s, tags in enumerate(y_pred) for e in entities(tags, scheme)}
    f = lambda c, a, b: (c / a if a else 0.0, c / b if b else 0.0)
    prec, rec = f(len(t & p), len(p), len(t))
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    types = sorted({e[1] for e in t | p})
    per = []
    for ty in types:
        tt, pp = {e for e in t if e[1] == ty}, {e for e in p if e[1] == ty}
        a, b = f(len(tt & pp), len(pp), len(tt))
        per.append((2 * a * b / (a + b) if a + b else 0.0, len(tt)))
    macro = sum(x for x, _ in per) / len(per)
    weighted = sum(x * n for x, n in per) / sum(n for _, n in per)
    return prec, rec, f1, macro, weighted


def main():
    ok = True
    for scheme, (yt, yp) in {"IOB2": (IOB2_T, IOB2_P), "IOBES": (BIOES_T, BIOES_P)}.items():
        got = scores(yt, yp, scheme)
        try:
            from seqeval import metrics, scheme as sch
            kw = dict(mode="strict", scheme=getattr(sch, scheme))
            got = (metrics.precision_score(yt, yp, **kw), metrics.recall_score(yt, yp, **kw),
                   metrics.f1_score(yt, yp, **kw), metrics.f1_score(yt, yp, average="macro", **kw),
                   metrics.f1_score(yt, yp, average="weighted", **kw))
            source = "seqeval"
        except ImportError:
            source = "transcription"
        for name, g, e in zip(("precision", "recall", "f1", "macro_f1", "weighted_f1"), got, EXPECTED[scheme]):
            match = e is None or abs(g - e) < 1e-12
            ok &= match
            print(f"{scheme:5} {name:11} {g:.6f} ({source}) {'ok' if match else f'MISMATCH, test has {e}'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

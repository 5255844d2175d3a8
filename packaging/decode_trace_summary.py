#!/usr/bin/env python3
"""Summarises an LW_DECODE_TRACE file (the last decode step's %globaltimer stamps per block).

Per kernel: release = its first block's return from the wait minus the previous kernel's
last block end (the hand-over); body = its last block end minus that first release; ready =
median time from a block's release to its input being ready (GEMV: input loaded and
normalised); tail = the last block end minus the median block end. Averaged over the layers per kind of kernel, with the step's total.
usage: decode_trace_summary.py TRACE.csv
"""
import collections
import csv
import statistics
import sys


def main(path):
    blocks = collections.defaultdict(list)
    labels = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            k = int(r["kernel"])
            labels[k] = r["label"]
            blocks[k].append([int(r[c]) for c in ("start_ns", "waited_ns", "ready_ns", "end_ns")])
    order = sorted(blocks)
    rows = []
    prev_end = None
    for k in order:
        b = blocks[k]
        starts = [x[0] for x in b]
        waits = [x[1] for x in b if x[1]]
        # An end stamp older than its block's start is left from an earlier step (attention's
        # and argmax's non-last blocks do not stamp an end; which block is last varies).
        ends = [x[3] for x in b if x[3] >= x[0]] or [x[2] for x in b if x[2] >= x[0]]
        readies = [x[2] - x[1] for x in b if x[2] and x[1]]
        first_wait = min(waits) if waits else min(starts)
        end = max(ends) if ends else first_wait
        release = first_wait - prev_end if prev_end is not None else 0
        rows.append((labels[k], len(b), min(starts) - (prev_end or min(starts)), release,
                     end - first_wait, statistics.median(readies) if readies else 0,
                     end - statistics.median(ends) if ends else 0))
        prev_end = end
    kind = collections.defaultdict(list)
    for r in rows:
        kind[r[0].rstrip("0123456789")].append(r)
    print("%-8s %5s %6s %12s %10s %10s %10s %10s" %
          ("kernel", "count", "blocks", "first start", "release", "body", "ready", "tail"))
    for name, rs in kind.items():
        n = len(rs)
        print("%-8s %5d %6.0f %10.2fus %8.2fus %8.2fus %8.2fus %8.2fus" %
              (name, n, sum(r[1] for r in rs) / n, sum(r[2] for r in rs) / n / 1e3,
               sum(r[3] for r in rs) / n / 1e3, sum(r[4] for r in rs) / n / 1e3,
               sum(r[5] for r in rs) / n / 1e3, sum(r[6] for r in rs) / n / 1e3))
    total_release = sum(r[3] for r in rows) / 1e3
    total_body = sum(r[4] for r in rows) / 1e3
    print("step: %.1f us = releases %.1f + bodies %.1f" %
          (total_release + total_body, total_release, total_body))


if __name__ == "__main__":
    main(sys.argv[1])

#!/usr/bin/env bash
# One call on the GPU machine, building nothing: unpack the bundle, print
# `llmwb info`, run every cuda/nccl-labelled test, then the PyTorch anchor and
# our op benchmark side by side. Results go to $OUT; a short table prints last.
# Needs .device/ carried (bundle.tgz, hf_anchor.py). Usage: bash packaging/device_check.sh
set -u
OUT=${OUT:-/tmp/lw_out}
mkdir -p "$OUT"
source packaging/device_env.sh
llmwb info | tee "$OUT/info.txt"
ctest --test-dir "$lw_bld" -L "cuda|nccl" --output-on-failure --timeout 300 >"$OUT/ctest_cuda.log" 2>&1
grep -E "tests passed|tests failed|Failed|\*\*\*|Not Run" "$OUT/ctest_cuda.log" | head -30
export PYTHONUNBUFFERED=1
python3 .device/hf_anchor.py ops ceilings --json "$OUT/hf_anchor.json" >"$OUT/hf_anchor.log" 2>&1 ||
  tail -5 "$OUT/hf_anchor.log"
llmwb bench ops --json --anchor "$OUT/hf_anchor.json" >"$OUT/bench_ops.json" 2>"$OUT/bench_ops.err" ||
  tail -5 "$OUT/bench_ops.err"
python3 - "$OUT/bench_ops.json" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    sys.exit(f"no benchmark JSON: {e}")
print(d.get("device"), "| copy GB/s %.0f" % d.get("copy_gbps", 0))
for r in d.get("rows", []):
    if "error" in r:
        print("%-5s %-16s %-8s ERROR %s" % (r["model"], r["op"], r["pass"], r["error"])); continue
    rate = "%6.1fTF" % r["tflops"] if "tflops" in r else ("%5.0fGB/s %3.0f%%" % (r["gbps"], r.get("pct_of_copy", 0)) if "gbps" in r else "")
    ratio = " t=%.4g r=%.2f" % (r["anchor"], r["ratio_vs_torch"]) if "ratio_vs_torch" in r else ""
    print("%-5s %-16s %-8s %8.1fus %s%s" % (r["model"], r["op"], r["pass"], r["us"], rate, ratio))
PY
grep -E "tests passed|tests failed" "$OUT/ctest_cuda.log"

#!/bin/bash
# Runs on the GPU machine from an unpacked bundle: the four CUDA kernel test binaries,
# then hf_anchor.py's `ops ceilings` and `llmwb bench ops` in the same call, and prints
# a short table with the ratios last (the device reply shows only the tail).
#   usage: run_on_device.sh BUNDLE_DIR HF_ANCHOR_PY      (results under $OUT)
set -u
B=${1:?bundle folder (bin/, lib/)}
ANCHOR=${2:?path to hf_anchor.py}
OUT=${OUT:-/tmp/lw_out}
mkdir -p "$OUT"
export LD_LIBRARY_PATH="$B/lib:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
: > "$OUT/cuda_tests.log"
for t in test_cuda_kernels test_cuda_gemm test_cuda_attention test_cuda_allocator; do
  "$B/bin/$t" >> "$OUT/cuda_tests.log" 2>&1
  echo "$t exit=$?"
done
grep -E "^FAIL!|Loc:|^Totals" "$OUT/cuda_tests.log" | head -60
python3 "$ANCHOR" ops ceilings --json "$OUT/hf_anchor.json" > "$OUT/hf_anchor.log" 2>&1 || tail -5 "$OUT/hf_anchor.log"
"$B/bin/llmwb" bench ops --device-info
"$B/bin/llmwb" bench ops --json --anchor "$OUT/hf_anchor.json" > "$OUT/bench_ops.json" 2> "$OUT/bench_ops.err"
echo "bench exit=$?"; tail -3 "$OUT/bench_ops.err"
python3 - "$OUT/bench_ops.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(d["device"], "| copy GB/s %.0f" % d["copy_gbps"])
for r in d["rows"]:
    if "error" in r:
        print("%-6s %-18s %-10s ERROR %s" % (r["model"], r["op"], r["pass"], r["error"])); continue
    rate = "%7.1f TF" % r["tflops"] if "tflops" in r else ("%5.0f GB/s %3.0f%%" % (r["gbps"], r.get("pct_of_copy", 0)) if "gbps" in r else "")
    ratio = " torch %.4g ratio %.2f" % (r["anchor"], r["ratio_vs_torch"]) if "ratio_vs_torch" in r else ""
    print("%-6s %-18s %-10s %-28s %9.1f us %s%s" % (r["model"], r["op"], r["pass"], r["shape"], r["us"], rate, ratio))
PY

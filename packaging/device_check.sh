#!/usr/bin/env bash
# One call on the GPU machine, building nothing: unpack the bundle, then run the named
# sections (default: tests ops) and leave the results in $OUT (packed into results.tgz,
# since only a few files come back from a call). A short table prints last.
# Needs .device/ carried (bundle.tar.xz, hf_anchor.py).
#
#   bash packaging/device_check.sh [tests] [ops] [decode] [finetune] [golden-peft] [golden-finetune]
#
#   tests            llmwb info + every cuda/nccl-labelled ctest
#   ops              hf_anchor.py ops ceilings beside `llmwb bench ops --anchor`
#   decode           hf_anchor.py decode-gpt2 decode-llama1b beside `llmwb bench decode`
#                    (batch 1, 8, 32; batch 1 also without programmatic dependent launch)
#   decode-sweep     batch-1 `llmwb bench decode` under each launch knob of the decode GEMV
#                    and attention (LW_DECODE_ATTN_PRELOAD, LW_DECODE_COMBINE; LW_SWEEP names
#                    other sets, ';'-separated), baseline first and last
#   decode-trace     batch-1 decode with LW_DECODE_TRACE: per-block %globaltimer stamps of the
#                    last step, summarised by packaging/decode_trace_summary.py
#   finetune         hf_anchor.py bert-finetune beside `llmwb bench finetune`
#   written-folders  tests/golden/check_written_folders.py: folders llmwb writes load in
#                    transformers with llmwb's logits
#   golden-peft      tests/golden/make_golden_peft.py   -> $OUT/data_peft
#   golden-finetune  tests/golden/make_golden_finetune.py -> $OUT/data_finetune
set -u
OUT=${OUT:-/tmp/lw_out}
mkdir -p "$OUT"
sections=("$@")
[ ${#sections[@]} -eq 0 ] && sections=(tests ops)
has() { [[ " ${sections[*]} " == *" $1 "* ]]; }
export PYTHONUNBUFFERED=1
source packaging/device_env.sh
llmwb info >"$OUT/info.txt" 2>&1
head -3 "$OUT/info.txt"
summary=()
# The issues' decode workload (prompt 128, 256 new tokens, bf16): PRESET BATCH [llmwb
# arguments]; JSON on stdout, at most two minutes (a hang costs minutes, not the call).
bench_decode() {
  timeout 120 llmwb bench decode --preset "$1" --dtype bf16 --prompt-tokens 128 --gen-tokens 256 \
    --batch "$2" --json "${@:3}"
}

if has tests; then
  ctest --test-dir "$lw_bld" -L "cuda|nccl" --output-on-failure --timeout 200 >"$OUT/ctest_cuda.log" 2>&1
  grep -E "tests passed|tests failed|Failed|\*\*\*|Not Run" "$OUT/ctest_cuda.log" | head -30
  summary+=("$(grep -E "tests passed|tests failed" "$OUT/ctest_cuda.log")")
fi

if has ops; then
  python3 .device/hf_anchor.py ops ceilings --json "$OUT/hf_ops.json" >"$OUT/hf_ops.log" 2>&1 ||
    tail -5 "$OUT/hf_ops.log"
  llmwb bench ops --json --anchor "$OUT/hf_ops.json" >"$OUT/bench_ops.json" 2>"$OUT/bench_ops.err" ||
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
fi

if has decode; then
  python3 .device/hf_anchor.py decode-gpt2 decode-llama1b --json "$OUT/hf_decode.json" \
    >"$OUT/hf_decode.log" 2>&1 || tail -5 "$OUT/hf_decode.log"
  for p in gpt2-124m llama-1b1; do
    for b in 1 8 32; do
      bench_decode $p $b --anchor "$OUT/hf_decode.json" >"$OUT/bench_decode_${p}_b$b.json" 2>&1
    done
    LW_DECODE_PDL=0 bench_decode $p 1 >"$OUT/bench_decode_${p}_b1_nopdl.json" 2>&1
  done
  python3 - "$OUT" <<'PY'
import glob, json, os, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], "bench_decode_*.json"))):
    try:
        d = json.load(open(f))
    except Exception:
        print(os.path.basename(f), "ERROR", open(f).read()[-300:]); continue
    keys = [k for k in d if any(s in k for s in ("tok", "ttft", "ratio", "roofline", "batch"))]
    print(os.path.basename(f), {k: d[k] for k in keys})
PY
fi

if has decode-sweep; then
  # LW_SWEEP: the knob sets to run, ';'-separated ("base" for none; space between variables).
  IFS=';' read -r -a knob_sets <<<"${LW_SWEEP:-base;LW_DECODE_ATTN_PRELOAD=0;LW_DECODE_COMBINE=gemv;base2}"
  for p in ${LW_SWEEP_PRESETS:-llama-1b1 gpt2-124m}; do
    for knobs in "${knob_sets[@]}"; do
      label=$(echo "$knobs" | tr ' =' '_-')
      vars=${knobs//base*/}
      ( [ -n "$vars" ] && export $vars; bench_decode $p 1 >"$OUT/sweep_${p}_${label}.json" 2>&1 )
    done
  done
  python3 - "$OUT" <<'PY'
import glob, json, os, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], "sweep_*.json"))):
    try:
        d = json.load(open(f))
        print("%-60s decode %8.1f tok/s" % (os.path.basename(f), d.get("decode_tok_s", 0)))
    except Exception:
        print(os.path.basename(f), "ERROR", open(f).read()[-300:])
PY
fi

if has decode-trace; then
  for p in llama-1b1 gpt2-124m; do
    LW_DECODE_TRACE="$OUT/trace_$p.csv" LW_DECODE_TIMING=1 bench_decode $p 1 \
      >"$OUT/trace_$p.json" 2>"$OUT/trace_$p.err"
    echo "$p: $(grep -o '"decode_tok_s": [0-9.]*' "$OUT/trace_$p.json")"
    python3 packaging/decode_trace_summary.py "$OUT/trace_$p.csv" | tee "$OUT/trace_$p.txt"
  done
fi

if has finetune; then
  python3 .device/hf_anchor.py bert-finetune --json "$OUT/hf_finetune.json" \
    >"$OUT/hf_finetune.log" 2>&1 || tail -5 "$OUT/hf_finetune.log"
  llmwb bench finetune --dtype bf16 --batch 32 --seq 128 --json >"$OUT/bench_finetune.json" 2>&1
  python3 - "$OUT/hf_finetune.json" "$OUT/bench_finetune.json" <<'PY'
import json, sys
try:
    hf, ours = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
except Exception as e:
    sys.exit(f"finetune benchmark: {e}")
t = hf.get("bert_base_cls_finetune_b32_t128_bf16_seq_s", 0)
o = ours.get("seq_per_s") or ours.get("sequences_per_s") or 0
print("bert-base finetune b32 t128 bf16: ours %.0f seq/s, torch %.0f seq/s, ratio %.2f" % (o, t, o / t if t else 0))
PY
fi

if has written-folders; then
  python3 tests/golden/check_written_folders.py --out "$OUT/written_folders" >"$OUT/written_folders.log" 2>&1
  tail -1 "$OUT/written_folders.log"
  summary+=("$(tail -1 "$OUT/written_folders.log")")
fi

if has golden-peft; then
  python3 tests/golden/make_golden_peft.py --out "$OUT/data_peft" >"$OUT/golden_peft.log" 2>&1 ||
    tail -20 "$OUT/golden_peft.log"
fi
if has golden-finetune; then
  python3 tests/golden/make_golden_finetune.py --out "$OUT/data_finetune" \
    >"$OUT/golden_finetune.log" 2>&1 || tail -20 "$OUT/golden_finetune.log"
fi

# Everything in one archive (a call brings back only a few files).
# Only the archive stays: a call brings back at most 8 files.
tar -czf /tmp/results.tgz -C "$OUT" . &&
  find "$OUT" -mindepth 1 -maxdepth 1 -exec rm -rf {} + && mv /tmp/results.tgz "$OUT/results.tgz"
for line in "${summary[@]}"; do echo "$line"; done

#!/usr/bin/env bash
# Pretrain a small GPT-2 on sotu + tinyshakespeare + the uci-sentiment TRAIN sentences, then
# prompt-tune / p-tune it on uci-sentiment (seeded split) and report exact match before/after.
# On the GPU machine (carry the bundle and
# .device/lm/data.tar.xz, made with `tar -cJf .device/lm/data.tar.xz -C ../shared/data text cls/uci-sentiment tokenizers/gpt2`):
#   export OUT LW_BUNDLE=.device/lm/bundle.tar.xz; bash tests/golden/run_sentiment_prompt.sh
# CPU dry run here (tiny sizes, llmwb from build-lm-dev/bin):
#   LW_LM_DRY=1 OUT=/tmp/lm_dry bash tests/golden/run_sentiment_prompt.sh
# Results: $OUT/results.tgz (summary.json, pretrain.json/.log, pt_<run>.json/.log, the store).
set -u
export PYTHONUNBUFFERED=1
W=/tmp/lmwork; rm -rf $W; mkdir -p $W "$OUT"
if [ "${LW_LM_DRY:-0}" = 1 ]; then
  export PATH=$PWD/build-lm-dev/bin:$PATH
  TEXT=/work/shared/data/text; SENT=/work/shared/data/cls/uci-sentiment; TOK=/work/shared/data/tokenizers/gpt2
  DEV=cpu; DT=f32
  SHAPE="--layers 2 --hidden 64 --heads 2 --context 64"; TOKENS="--steps 30"; BATCH=8; GUARD=600
  PT_EPOCHS=1; LIMIT="--eval-limit 40"; PT_GUARD=900
else
  source packaging/device_env.sh
  mkdir -p $W/d && tar -xJf .device/lm/data.tar.xz -C $W/d
  TEXT=$W/d/text; SENT=$W/d/cls/uci-sentiment; TOK=$W/d/tokenizers/gpt2
  DEV=cuda:0; DT=bf16
  SHAPE="--layers 6 --hidden 384 --heads 6 --context 256"; BATCH=32
  GUARD=${LW_LM_GUARD:-200}; PT_EPOCHS=${LW_LM_PT_EPOCHS:-6}; LIMIT=""; PT_GUARD=${LW_LM_PT_GUARD:-170}
  nvidia-smi --query-gpu=name,memory.used --format=csv > $OUT/gpu.txt 2>&1
fi
S=$W/sent
python3 tests/golden/make_sentiment_jsonl.py --data $SENT --out $S --seed 0 | tee $OUT/summary.json
cp $S/tasks*.json $OUT/
# Pretraining; SIGINT after GUARD s stops after the current step and still writes the model.
# Round 1: review sentences 4x, 16M tokens; round 2 (default): 20x (in-domain text ~22% of
# the tokens), 32M tokens.
ROUND=${LW_LM_ROUND:-2}
ST=$S/train_sentences.txt
REPEAT=$([ "$ROUND" = 1 ] && echo 4 || echo 20)
[ "${LW_LM_DRY:-0}" = 1 ] || TOKENS="--tokens $([ "$ROUND" = 1 ] && echo 16000000 || echo 32000000)"
# The sentences come first: the held-out chunks are the tail of the corpus (tinyshakespeare).
TEXTS=(); for i in $(seq $REPEAT); do TEXTS+=(--text $ST); done; TEXTS+=(--text $TEXT)
timeout -s INT $GUARD llmwb train lm "${TEXTS[@]}" \
  --tokenizer $TOK $SHAPE $TOKENS --batch $BATCH --lr 1e-3 --warmup 0.03 \
  --val-fraction 0.02 --eval-every 400 --eval-chunks 200 --seed 1 --device $DEV --dtype $DT \
  --project $W/proj --out $W/gpt-sent --name "pretrain sentiment round $ROUND" --json > $OUT/pretrain.json 2> $OUT/pretrain.log
echo "pretrain rc=$?"; tail -4 $OUT/pretrain.log
llmwb generate --model $W/gpt-sent --prompt "The food was" --max-new-tokens 30 --greedy --device $DEV > $OUT/generate.txt 2>&1
head -c 600 $OUT/generate.txt; echo
# Prompt-tuning runs in parallel (each is latency-bound: small kernels and host work).
pt() {  # name tasks method lr extra...
  local name=$1 tasks=$2 method=$3 lr=$4; shift 4
  mkdir -p $W/proj-$name
  timeout -s INT $PT_GUARD llmwb train prompt --model $W/gpt-sent --tasks $S/$tasks --train $S/train.jsonl --dev $S/dev.jsonl \
    --method $method --lr $lr --epochs $PT_EPOCHS --batch 16 --seed 0 --max-new-tokens 4 $LIMIT \
    --device $DEV --dtype $DT --project $W/proj-$name --out $W/$name.safetensors --json "$@" \
    > $OUT/pt_$name.json 2> $OUT/pt_$name.log
  echo "$name rc=$?"
}
if [ "$ROUND" = 1 ]; then
  pt spaced_pt_3e-2 tasks.json prompt-tuning 3e-2 &
  [ "${LW_LM_DRY:-0}" = 1 ] || pt spaced_pt_3e-3 tasks.json prompt-tuning 3e-3 &
  pt plain_pt_3e-2 tasks_plain.json prompt-tuning 3e-2 &
  [ "${LW_LM_DRY:-0}" = 1 ] || pt plain_pt_1e-3 tasks_plain.json prompt-tuning 1e-3 &
  pt spaced_mlp_1e-3 tasks.json p-tuning 1e-3 --encoder mlp &
  [ "${LW_LM_DRY:-0}" = 1 ] || pt spaced_lstm_1e-3 tasks.json p-tuning 1e-3 --encoder lstm &
  [ "${LW_LM_DRY:-0}" = 1 ] || pt spaced_pt_text_3e-2 tasks.json prompt-tuning 3e-2 --init text --init-text "Is the sentiment of this review positive or negative?" &
else
  pt spaced_pt_text_3e-2 tasks.json prompt-tuning 3e-2 --init text --init-text "Is the sentiment of this review positive or negative?" &
  pt verbal_pt_3e-2 tasks_verbal.json prompt-tuning 3e-2 &
  [ "${LW_LM_DRY:-0}" = 1 ] || pt verbal_pt_text_3e-2 tasks_verbal.json prompt-tuning 3e-2 --init text --init-text "Was this review good or bad?" &
  [ "${LW_LM_DRY:-0}" = 1 ] || pt verbal100_pt_3e-2 tasks_verbal_100.json prompt-tuning 3e-2 &
  [ "${LW_LM_DRY:-0}" = 1 ] || pt verbal_pt_1e-1 tasks_verbal.json prompt-tuning 1e-1 &
  pt verbal_lstm_1e-3 tasks_verbal.json p-tuning 1e-3 --encoder lstm &
  # The issue's own template ("sentiment: {label}"), laid out with the space in the answer.
  pt plain_pt_text_3e-2 tasks_plain.json prompt-tuning 3e-2 --init text --init-text "Is the sentiment of this review positive or negative?" &
  [ "${LW_LM_DRY:-0}" = 1 ] || pt plain_pt_3e-2 tasks_plain.json prompt-tuning 3e-2 &
  [ "${LW_LM_DRY:-0}" = 1 ] || pt verbal_mlp_1e-3 tasks_verbal.json p-tuning 1e-3 --encoder mlp &
fi
wait
python3 - $OUT <<'PY'
import glob, json, os, sys
out = sys.argv[1]
s = json.load(open(os.path.join(out, "summary.json")))
print("dev majority baseline %.4f (%s)" % (s["dev_majority_accuracy"], s["dev_majority_label"]))
try:
    p = json.load(open(os.path.join(out, "pretrain.json")))
    print("pretrain: %d steps, %d tokens, %.0f tok/s, loss %.3f -> %.3f, evals %s" % (p["steps"], p["tokens_seen"],
          p["tokens_per_s"], p["first_loss"], p["final_loss"], [(e["step"], round(e["loss"], 3)) for e in p["evals"]]))
except Exception as e:
    print("pretrain.json:", e)
for f in sorted(glob.glob(os.path.join(out, "pt_*.json"))):
    try:
        d = json.load(open(f))["dev"]
        print("%-22s acc %.4f -> %.4f  loss %.3f -> %.3f" % (os.path.basename(f)[3:-5], d["accuracy_before"],
              d["accuracy"], d["loss_before"], d["loss"]))
    except Exception as e:
        print(os.path.basename(f), "failed:", e)
PY
cp $W/proj/experiments.sqlite $OUT/ 2>/dev/null
tar -czf /tmp/r.tgz -C $OUT . && rm -rf $OUT/* && mv /tmp/r.tgz $OUT/results.tgz

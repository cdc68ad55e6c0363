#!/usr/bin/env bash
# Side-by-side speed of liteq, llama.cpp and the official LiteRT runtime on the same
# synthetic weights (issue #6), in one run:
#   1. liteq synth: random weights at a real model's shape (Hugging Face directory);
#   2. liteq export (float32) and liteq quantize (every recipe `liteq quantize --help`
#      lists, or --recipes);
#   3. liteq gguf: the same weights as GGUF Q8_0, F16 and F32 for llama.cpp;
#   4. for each thread count: liteq bench, bench/llamacpp/bench.mjs (node-llama-cpp's
#      prebuilt llama.cpp, use_mmap off) and, at one thread, bench/litert/bench.mjs
#      (@litertjs/core, WebAssembly + XNNPACK; it runs single-threaded under Node.js);
#   5. a table of tok/s with ratios to llama.cpp Q8_0 at the same thread count
#      (bench/compare_table.mjs), also written as OUT/table.md.
# With --rounds N, step 4 runs N times over (every runtime once per round, so a slow
# spell of a shared host hits all of them): the table gives the median over the
# rounds and each ratio as the median of the ratios measured within one round.
#
# Usage: scripts/bench-compare.sh [--shape smollm2-135m] [--threads "1 2"] [--reps 3]
#          [--recipes "weight_only_int8 ..."] [--gguf "q8_0 f16 f32"] [--pp 128,512]
#          [--tg 128] [--depths 0,1024] [--no-litert] [--build DIR] [--out DIR] [--reuse]
#          [--rounds 1]
#   --no-float: skip the float32 export and its runs (big shapes).
#   --reuse: keep model files already in OUT (same shape and max_seq) instead of
#            exporting/quantizing/writing them again (only the runs are repeated).
# Needs: the liteq binary (cmake --build BUILD --target liteq) and, once,
#   (cd bench/llamacpp && npm ci --ignore-scripts --omit=optional)
#   (cd bench/litert && npm ci --ignore-scripts)
# Nothing is downloaded at run time.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHAPE=smollm2-135m
THREADS="1 2"
REPS=3
RECIPES=""
GGUF_TYPES="q8_0 f16 f32"
PP=128,512
TG=128
DEPTHS=0,1024
LITERT=1
REUSE=0
FLOAT=1
BUILD="$ROOT/build"
OUT=""
TIMEOUT=1800  # seconds per benchmark process
ROUNDS=1

while [[ $# -gt 0 ]]; do
  case "$1" in
    --shape) SHAPE="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --reps) REPS="$2"; shift 2 ;;
    --recipes) RECIPES="$2"; shift 2 ;;
    --gguf) GGUF_TYPES="$2"; shift 2 ;;
    --pp) PP="$2"; shift 2 ;;
    --tg) TG="$2"; shift 2 ;;
    --depths) DEPTHS="$2"; shift 2 ;;
    --no-litert) LITERT=0; shift ;;
    --reuse) REUSE=1; shift ;;
    --no-float) FLOAT=0; shift ;;
    --build) BUILD="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --timeout) TIMEOUT="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "bench-compare: unknown argument $1" >&2; exit 2 ;;
  esac
done

LITEQ="$BUILD/liteq"
[[ -x "$LITEQ" ]] || { echo "bench-compare: $LITEQ not found (build the liteq target or pass --build)" >&2; exit 1; }
[[ -d "$ROOT/bench/llamacpp/node_modules/node-llama-cpp" ]] || {
  echo "bench-compare: run 'npm ci --ignore-scripts --omit=optional' in bench/llamacpp first" >&2; exit 1; }
if [[ $LITERT == 1 && ! -d "$ROOT/bench/litert/node_modules/@litertjs/core" ]]; then
  echo "bench-compare: run 'npm ci --ignore-scripts' in bench/litert first (or --no-litert)" >&2; exit 1
fi
OUT="${OUT:-$ROOT/out/bench-$SHAPE}"
mkdir -p "$OUT/results"
RESULTS="$OUT/results"
rm -f "$RESULTS"/*.json "$RESULTS"/*.err "$RESULTS"/loadavg-*.txt
# Other processes on the machine skew every number: record the load around the runs.
cut -d' ' -f1-3 /proc/loadavg >"$RESULTS/loadavg-start.txt"

# Depth D needs D + tg + 1 cache rows; the longest prefill needs its own length.
max_of() { tr ',' '\n' <<<"$1" | sort -n | tail -1; }
MAX_SEQ=$(( $(max_of "$DEPTHS") + TG + 128 ))
(( MAX_SEQ < $(max_of "$PP") )) && MAX_SEQ=$(max_of "$PP")

if [[ -z "$RECIPES" ]]; then
  # "--recipe TEXT REQUIRED  Quantization recipe (a, b, c)"
  RECIPES=$("$LITEQ" quantize --help | sed -n 's/.*Quantization recipe (\(.*\)).*/\1/p' | tr -d ',')
fi

log() { echo "[bench-compare $(date -u +%H:%M:%S)] $*" >&2; }

CKPT="$OUT/checkpoint"
if [[ ! -f "$CKPT/model.safetensors" ]] || ! grep -q "\"liteq_synthetic\": \"$SHAPE\"" "$CKPT/config.json"; then
  log "synthetic $SHAPE checkpoint"
  "$LITEQ" synth --shape "$SHAPE" -o "$CKPT" --seed 0 >&2
fi

# Static recipes calibrate on text when the checkpoint has a tokenizer; synthetic
# shapes without one get token ids (the same id formula as the benchmarks).
CALIB_ARGS=()
if [[ ! -f "$CKPT/tokenizer.json" && ! -f "$CKPT/tokenizer.model" ]]; then
  node -e '
    const fs = require("fs");
    const vocab = JSON.parse(fs.readFileSync(process.argv[1] + "/config.json")).vocab_size;
    const lines = [];
    for (let s = 0; s < 64; ++s) {
      const ids = [];
      for (let i = 0; i < 160; ++i) ids.push(300 + ((7919 * (s * 160 + i)) % (vocab - 300)));
      lines.push(JSON.stringify(ids));
    }
    fs.writeFileSync(process.argv[2], lines.join("\n") + "\n");' "$CKPT" "$OUT/calib_ids.jsonl"
  CALIB_ARGS=(--calib "$OUT/calib_ids.jsonl" --calib-samples 32)
fi

MODELS=()
# have FILE: --reuse and FILE exists.
have() { [[ $REUSE == 1 && -s "$1" ]]; }
if [[ $FLOAT == 1 ]]; then
  MODELS+=("float")
  if ! have "$OUT/float.tflite"; then
    log "export float32 (max_seq $MAX_SEQ)"
    "$LITEQ" export "$CKPT" -o "$OUT/float.tflite" --max-seq "$MAX_SEQ" --prefill-len 128 >&2
  fi
fi
for recipe in $RECIPES; do
  if have "$OUT/$recipe.tflite"; then MODELS+=("$recipe"); continue; fi
  log "quantize $recipe"
  if "$LITEQ" quantize "$CKPT" --recipe "$recipe" -o "$OUT/$recipe.tflite" --max-seq "$MAX_SEQ" \
       --prefill-len 128 "${CALIB_ARGS[@]}" >&2; then
    MODELS+=("$recipe")
  else
    log "quantize $recipe failed; skipped"
  fi
done
for type in $GGUF_TYPES; do
  have "$OUT/$type.gguf" && continue
  log "gguf $type"
  "$LITEQ" gguf "$CKPT" -o "$OUT/$type.gguf" --type "$type" >&2
done

# run NAME COMMAND...: stdout (JSON) to results/NAME.json, stderr to results/NAME.err.
run() {
  local name="$1"; shift
  log "run $name"
  if ! timeout "$TIMEOUT" "$@" >"$RESULTS/$name.json" 2>"$RESULTS/$name.err"; then
    log "$name failed (see $RESULTS/$name.err)"
    rm -f "$RESULTS/$name.json"
  fi
}

for ((round = 1; round <= ROUNDS; ++round)); do
  r="-r$round"
  for t in $THREADS; do
    for m in "${MODELS[@]}"; do
      run "liteq-$m-t$t$r" "$LITEQ" bench "$OUT/$m.tflite" --json --threads "$t" --reps "$REPS" \
        --pp "$PP" --tg "$TG" --depths "$DEPTHS"
    done
    for type in $GGUF_TYPES; do
      run "llamacpp-$type-t$t$r" env UV_THREADPOOL_SIZE=1 node "$ROOT/bench/llamacpp/bench.mjs" \
        --model "$OUT/$type.gguf" --threads "$t" --reps "$REPS" --pp "$PP" --tg "$TG" --depths "$DEPTHS"
    done
    if [[ $LITERT == 1 && $t == 1 ]]; then
      for m in "${MODELS[@]}"; do
        run "litert-$m-t$t$r" node --experimental-wasm-relaxed-simd "$ROOT/bench/litert/bench.mjs" \
          --model "$OUT/$m.tflite" --threads 1 --reps "$REPS" --pp "$PP" --tg "$TG" --depths "$DEPTHS"
      done
    fi
  done
done

cut -d' ' -f1-3 /proc/loadavg >"$RESULTS/loadavg-end.txt"
node "$ROOT/bench/compare_table.mjs" --shape "$SHAPE" "$RESULTS" | tee "$OUT/table.md"

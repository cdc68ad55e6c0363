#!/usr/bin/env bash
# Quantizes a model with every recipe and prints a Markdown table of file size, and
# `liteq eval --reference` against the float export: perplexity, its change, mean KL
# divergence and top-1 agreement. Usage: scripts/recipe-table.sh [MODEL] [WINDOWS]
# (default: the bundled gemma3-tiny, all 64 eval windows). Needs a built build/liteq
# (or LITEQ=path/to/liteq).
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-models/gemma3-tiny}"
windows="${2:-64}"
liteq="${LITEQ:-build/liteq}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$liteq" export "$model" -o "$work/float.tflite" >/dev/null
float_bytes=$(stat -c %s "$work/float.tflite")
echo "| recipe | file | vs float32 | perplexity | dPPL | mean KL | top-1 |"
echo "|---|---|---|---|---|---|---|"
printf "| float32 | %.2f MB | 1.000x | " "$(echo "$float_bytes / 1000000" | bc -l)"
"$liteq" eval "$work/float.tflite" --windows "$windows" --json |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.4f | | | |" % d["perplexity"])'
run() {  # name, then quantize flags
  local name="$1"; shift
  "$liteq" quantize "$model" "$@" -o "$work/$name.tflite" >/dev/null 2>&1
  local bytes; bytes=$(stat -c %s "$work/$name.tflite")
  printf "| %s | %.2f MB | %.3fx | " "$name" "$(echo "$bytes / 1000000" | bc -l)" \
    "$(echo "$bytes / $float_bytes" | bc -l)"
  "$liteq" eval "$work/$name.tflite" --reference "$work/float.tflite" --windows "$windows" \
    --prompts 0 --json |
    python3 -c 'import json,sys; d=json.load(sys.stdin); p=d["perplexity"]
print("%.4f | %+.3f%% | %.2e | %.2f%% |" % (p["quantized"]["value"], p["delta_percent"],
      d["kl_divergence"]["mean"]["value"], 100 * d["same_top"]["value"]))'
}
run weight_only_int8 --recipe weight_only_int8
run weight_only_int8_tensor --recipe weight_only_int8 --granularity tensor
run dynamic_int8 --recipe dynamic_int8
run static_int8 --recipe static_int8
run static_int8_minmax --recipe static_int8 --observer minmax
run static_int8_percentile --recipe static_int8 --observer percentile
run static_int8_kv8 --recipe static_int8 --kv-dtype int8
run static_16x8 --recipe static_16x8
run weight_only_int4_b32 --recipe weight_only_int4 --block-size 32
run weight_only_int4_channel --recipe weight_only_int4

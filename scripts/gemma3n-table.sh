#!/usr/bin/env bash
# Gemma 3n (testdata/families/gemma3n_text, random weights, no tokenizer): every recipe,
# every --ple-dtype and a few MatFormer layouts, as Markdown tables of file size and
# `liteq eval --reference` against the float export (perplexity, its change, mean KL,
# top-1 agreement) on testdata/families/eval_ids.jsonl (token ids: 32 windows of 128).
# Static recipes calibrate on testdata/families/calib_ids.jsonl. MatFormer rows compare
# each sub-model with the full float model and add `liteq bench` speeds (1 thread,
# median of 5). Usage: scripts/gemma3n-table.sh. Needs a built build/liteq.
set -euo pipefail
cd "$(dirname "$0")/.."
model=testdata/families/gemma3n_text
calib=testdata/families/calib_ids.jsonl
data=testdata/families/eval_ids.jsonl
liteq=${LITEQ:-build/liteq}
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
shape=(--max-seq 256 --prefill-len 32)
"$liteq" export "$model" "${shape[@]}" -o "$work/float.tflite" >/dev/null
float_bytes=$(stat -c %s "$work/float.tflite")
mb() { echo "$1 / 1000000" | bc -l; }
compare() {  # file, reference -> "ppl | dppl | kl | top1 |"
  "$liteq" eval "$1" --reference "$2" --data "$data" --seq 128 --windows 0 --prompts 0 --json |
    python3 -c 'import json,sys; d=json.load(sys.stdin); p=d["perplexity"]
print("%.2f | %+.3f%% | %.2e | %.2f%% |" % (p["quantized"]["value"], p["delta_percent"],
      d["kl_divergence"]["mean"]["value"], 100 * d["same_top"]["value"]))'
}
quantize() {  # name, then quantize flags
  local name="$1"; shift
  "$liteq" quantize "$model" "${shape[@]}" --calib "$calib" "$@" -o "$work/$name.tflite" \
    >/dev/null 2>&1
}
row() {  # name
  local bytes; bytes=$(stat -c %s "$work/$1.tflite")
  printf "| %s | %.3f MB | %.3fx | %s\n" "$1" "$(mb "$bytes")" "$(echo "$bytes / $float_bytes" | bc -l)" \
    "$(compare "$work/$1.tflite" "$work/float.tflite")"
}

echo "Recipes (per-layer embedding table as the recipe chooses: int8):"
echo
echo "| recipe | file | vs float32 | perplexity | dPPL | mean KL | top-1 |"
echo "|---|---|---|---|---|---|---|"
printf "| float32 | %.3f MB | 1.000x | %s\n" "$(mb "$float_bytes")" \
  "$(compare "$work/float.tflite" "$work/float.tflite")"
for r in weight_only_int8 dynamic_int8 static_int8 static_16x8; do quantize "$r" --recipe "$r"; row "$r"; done
quantize static_int8_kv8 --recipe static_int8 --kv-dtype int8; row static_int8_kv8
quantize static_int8_float_norms --recipe static_int8 --float-tensors norm; row static_int8_float_norms
quantize weight_only_int4_b32 --recipe weight_only_int4 --block-size 32; row weight_only_int4_b32
quantize weight_only_int4_channel --recipe weight_only_int4; row weight_only_int4_channel
if "$liteq" quantize "$model" "${shape[@]}" --calib "$calib" --recipe static_int8_strict \
  -o "$work/strict.tflite" >"$work/strict.log" 2>&1; then
  row strict
else
  echo "| static_int8_strict | refused: $(grep -c '^  ' "$work/strict.log") ops have no integer kernel | | | | | |"
fi

echo
echo "--ple-dtype (the 1000 x 64 per-layer embedding table):"
echo
echo "| recipe | --ple-dtype | file | vs float32 | perplexity | dPPL | mean KL | top-1 |"
echo "|---|---|---|---|---|---|---|---|"
for r in weight_only_int8 dynamic_int8 static_int8 static_16x8; do
  for p in int8 fp16 float32; do
    quantize "${r}_ple_$p" --recipe "$r" --ple-dtype "$p"
    bytes=$(stat -c %s "$work/${r}_ple_$p.tflite")
    printf "| %s | %s | %.3f MB | %.3fx | %s\n" "$r" "$p" "$(mb "$bytes")" \
      "$(echo "$bytes / $float_bytes" | bc -l)" \
      "$(compare "$work/${r}_ple_$p.tflite" "$work/float.tflite")"
  done
done

# In the fixture every altup.correct_output_scale is 0 (transformers' initialisation),
# which zeroes the per-layer input gate: the table cannot change the logits there. A
# copy with those scales set to 1 shows what its precision costs when it is used.
active="$work/ple_active"
cp -r "$model" "$active"
python3 - "$active/model.safetensors" <<'PY'
import json, struct, sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
n = struct.unpack("<Q", data[:8])[0]
for name, t in json.loads(data[8:8 + n]).items():
    if name.endswith("altup.correct_output_scale"):
        assert t["dtype"] == "BF16"
        begin, end = t["data_offsets"]
        data[8 + n + begin:8 + n + end] = b"\x80\x3f" * ((end - begin) // 2)  # bf16 1.0
open(path, "wb").write(data)
PY
"$liteq" export "$active" "${shape[@]}" -o "$work/active_float.tflite" >/dev/null
echo
echo "--ple-dtype on a copy of the fixture whose altup.correct_output_scale are 1 (PLE active):"
echo
echo "| recipe | --ple-dtype | file | perplexity | dPPL | mean KL | top-1 |"
echo "|---|---|---|---|---|---|---|"
for r in weight_only_int8 static_int8 static_16x8; do
  for p in int8 fp16 float32; do
    "$liteq" quantize "$active" "${shape[@]}" --calib "$calib" --recipe "$r" --ple-dtype "$p" \
      -o "$work/active.tflite" >/dev/null 2>&1
    printf "| %s | %s | %.3f MB | %s\n" "$r" "$p" "$(mb "$(stat -c %s "$work/active.tflite")")" \
      "$(compare "$work/active.tflite" "$work/active_float.tflite")"
  done
done

echo
echo "MatFormer layouts (float32; compared with the full model):"
echo
echo "| --matformer | layers | FFN widths | file | perplexity | dPPL | mean KL | top-1 | prefill tok/s | decode tok/s |"
echo "|---|---|---|---|---|---|---|---|---|---|"
echo '{"ffn_widths": 80, "skip_layers": [2]}' >"$work/half_skip2.json"
echo '{"skip_layers": [2, 3]}' >"$work/skip23.json"
echo '{"ffn_widths": [160, 160, 40, 40]}' >"$work/taper.json"
for layout in full half "$work/half_skip2.json" "$work/skip23.json" "$work/taper.json"; do
  "$liteq" export "$model" "${shape[@]}" --matformer "$layout" -o "$work/mf.tflite" >/dev/null
  bytes=$(stat -c %s "$work/mf.tflite")
  info=$("$liteq" inspect "$work/mf.tflite" --json 2>/dev/null | python3 -c '
import json,sys; m=json.load(sys.stdin)["metadata"]["liteq.matformer"]
print("%d | %s" % (len(m["kept_layers"]), ",".join(map(str, m["ffn_widths"]))))' )
  speed=$("$liteq" bench "$work/mf.tflite" --no-bandwidth --reps 5 --pp 32 --tg 32 --depths 0 --json |
    python3 -c 'import json,sys; d=json.load(sys.stdin)
print("%.0f | %.0f |" % (d["pp"]["pp32"]["tokens_per_second"]["median"], d["tg"]["tg32@0"]["tokens_per_second"]["median"]))')
  name=$(basename "$layout" .json)
  if [[ "$layout" == *.json ]]; then name="\`$(cat "$layout")\`"; fi
  printf "| %s | %s | %.3f MB | %s %s\n" "$name" "$info" "$(mb "$bytes")" \
    "$(compare "$work/mf.tflite" "$work/float.tflite")" "$speed"
done

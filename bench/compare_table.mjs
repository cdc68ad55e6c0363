// Prints the comparison table of scripts/bench-compare.sh as Markdown: one row per
// runtime/model/thread count, median tok/s for every ppN and tgN@D measured, and the
// ratio to llama.cpp Q8_0 at the same thread count (> 1: faster than llama.cpp).
//
//   node compare_table.mjs [--shape NAME] RESULTS_DIR
// RESULTS_DIR holds <runtime>-<model>-t<threads>.json files from liteq bench --json,
// bench/llamacpp/bench.mjs and bench/litert/bench.mjs.
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';

const args = process.argv.slice(2);
let shape = '';
if (args[0] === '--shape') { shape = args[1]; args.splice(0, 2); }
const dir = args[0];
if (!dir) { console.error('usage: compare_table.mjs [--shape NAME] RESULTS_DIR'); process.exit(2); }

const runs = [];
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
  const m = file.match(/^(liteq|llamacpp|litert)-(.+)-t(\d+)\.json$/);
  if (!m) continue;
  let json;
  try { json = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')); } catch { continue; }
  runs.push({runtime: m[1], model: m[2], threads: Number(m[3]), json});
}
const failed = fs.readdirSync(dir).filter((f) => f.endsWith('.err') &&
    !fs.existsSync(path.join(dir, f.replace(/\.err$/, '.json'))));

const metrics = [];
for (const r of runs) {
  for (const group of ['pp', 'tg']) {
    for (const key of Object.keys(r.json[group] ?? {})) if (!metrics.includes(key)) metrics.push(key);
  }
}
metrics.sort((a, b) => (a[0] === b[0] ? 0 : a.startsWith('pp') ? -1 : 1) ||
    a.localeCompare(b, 'en', {numeric: true}));

const value = (r, key) => (r.json.pp?.[key] ?? r.json.tg?.[key])?.tokens_per_second;
const label = {liteq: 'liteq', llamacpp: 'llama.cpp', litert: 'LiteRT.js'};
const fmt = (x) => (x === undefined ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(1));

const lines = [];
lines.push(`Shape ${shape || '?'}; ${new Date().toISOString().slice(0, 16)}Z; ${os.cpus()[0]?.model ?? '?'}, ` +
           `${os.cpus().length} CPUs. Medians of tok/s [min-max]; ×: ratio to llama.cpp Q8_0 at the same threads.`);
lines.push('');
lines.push(`| runtime | weights | threads | ${metrics.join(' | ')} | ${metrics.map((m) => `× ${m}`).join(' | ')} | load s | RSS MB |`);
lines.push(`|${'---|'.repeat(3 + 2 * metrics.length + 2)}`);
const order = {liteq: 0, llamacpp: 1, litert: 2};
runs.sort((a, b) => a.threads - b.threads || order[a.runtime] - order[b.runtime] || a.model.localeCompare(b.model));
for (const r of runs) {
  const base = runs.find((b) => b.runtime === 'llamacpp' && b.model === 'q8_0' && b.threads === r.threads);
  const cells = metrics.map((k) => {
    const v = value(r, k);
    return v ? `${fmt(v.median)} [${fmt(v.min)}-${fmt(v.max)}]` : '-';
  });
  const ratios = metrics.map((k) => {
    const v = value(r, k), b = base && value(base, k);
    return v && b ? `${(v.median / b.median).toFixed(2)}` : '-';
  });
  const rss = r.json.peak_rss_mb ?? r.json.rss_mb;
  lines.push(`| ${label[r.runtime]} | ${r.model} | ${r.threads} | ${cells.join(' | ')} | ${ratios.join(' | ')} | ` +
             `${r.json.load_seconds?.toFixed(2) ?? '-'} | ${rss ? rss.toFixed(0) : '-'} |`);
}
if (failed.length) {
  lines.push('');
  lines.push(`Failed runs (see their .err files): ${failed.map((f) => f.replace(/\.err$/, '')).join(', ')}`);
}
// liteq's runs against the machine limits liteq bench measured with the same threads:
// decode as a share of the memory-bandwidth bound (weights + live KV per token),
// prefill as a share of the int8 multiply-accumulate peak.
const limits = runs.filter((r) => r.runtime === 'liteq' && r.json.read_bandwidth_bytes_per_second > 0);
if (limits.length) {
  lines.push('');
  lines.push('| liteq | threads | read GB/s | int8 peak GOPS | ' +
             metrics.map((m) => (m.startsWith('pp') ? `${m} % of peak` : `${m} % of BW bound`)).join(' | ') + ' |');
  lines.push(`|${'---|'.repeat(4 + metrics.length)}`);
  for (const r of limits) {
    const shares = metrics.map((k) => {
      const f = r.json.pp?.[k]?.int8_peak_fraction ?? r.json.tg?.[k]?.bandwidth_bound_fraction;
      return f ? `${(100 * f).toFixed(0)}%` : '-';
    });
    lines.push(`| ${r.model} | ${r.threads} | ${(r.json.read_bandwidth_bytes_per_second / 1e9).toFixed(1)} | ` +
               `${((r.json.int8_peak_ops_per_second ?? 0) / 1e9).toFixed(0)} | ${shares.join(' | ')} |`);
  }
  // llama.cpp's Q8_0 prefill against the same peak: the same model, so the same
  // multiply-accumulates (every weight per position, the output head once per prompt).
  for (const r of runs.filter((x) => x.runtime === 'llamacpp' && x.model === 'q8_0')) {
    const ref = limits.find((l) => l.threads === r.threads && l.json.int8_peak_ops_per_second > 0 &&
                                   l.json.weight_macs_per_token > 0);
    if (!ref) continue;
    const shares = metrics.map((k) => {
      const v = r.json.pp?.[k]?.tokens_per_second?.median;
      const n = Number(k.slice(2));
      if (!v || !k.startsWith('pp') || !n) return '-';
      const head = ref.json.output_head_macs ?? 0;
      const macs = (ref.json.weight_macs_per_token - head) * n + head;
      return `${(100 * 2 * macs / n * v / ref.json.int8_peak_ops_per_second).toFixed(0)}%`;
    });
    lines.push(`| llama.cpp q8_0 | ${r.threads} | (same) | (same) | ${shares.join(' | ')} |`);
  }
}
const llamaRun = runs.find((r) => r.runtime === 'llamacpp' && r.json.cpu_backend);
if (llamaRun) {
  lines.push('');
  lines.push(`llama.cpp CPU variant: ${llamaRun.json.cpu_backend} (${llamaRun.json.system_info?.trim() ?? ''}).`);
}
const litertRun = runs.find((r) => r.runtime === 'litert');
if (litertRun) lines.push(`LiteRT.js Wasm build: ${litertRun.json.wasm_build}, 1 thread.`);
const load = (name) => {
  try { return fs.readFileSync(path.join(dir, name), 'utf8').trim(); } catch { return null; }
};
if (load('loadavg-start.txt')) {
  lines.push('');
  lines.push(`Load average (1/5/15 min) before the runs: ${load('loadavg-start.txt')}; after: ${load('loadavg-end.txt') ?? '?'}.`);
}
console.log(lines.join('\n'));

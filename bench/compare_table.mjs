// Prints the comparison table of scripts/bench-compare.sh as Markdown: one row per
// runtime/model/thread count, median tok/s for every ppN and tgN@D measured, and the
// ratio to llama.cpp Q8_0 at the same thread count (> 1: faster than llama.cpp).
//
//   node compare_table.mjs [--shape NAME] RESULTS_DIR
// RESULTS_DIR holds <runtime>-<model>-t<threads>[-r<round>].json files from liteq
// bench --json, bench/llamacpp/bench.mjs and bench/litert/bench.mjs. With several
// rounds (bench-compare.sh --rounds), a row gives the median over the rounds of each
// run's median [the smallest min - the largest max], and a ratio is the median of the
// ratios measured within one round (a slow spell of a shared host then hits both sides).
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';

const args = process.argv.slice(2);
let shape = '';
if (args[0] === '--shape') { shape = args[1]; args.splice(0, 2); }
const dir = args[0];
if (!dir) { console.error('usage: compare_table.mjs [--shape NAME] RESULTS_DIR'); process.exit(2); }

const median = (xs) => {
  const v = xs.filter((x) => x !== undefined && x !== null && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!v.length) return undefined;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

// One entry per runtime/model/threads; `rounds` maps round -> that run's JSON.
const groups = new Map();
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
  const m = file.match(/^(liteq|llamacpp|litert)-(.+?)-t(\d+)(?:-r(\d+))?\.json$/);
  if (!m) continue;
  let json;
  try { json = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')); } catch { continue; }
  const key = `${m[1]}/${m[2]}/${m[3]}`;
  if (!groups.has(key)) groups.set(key, {runtime: m[1], model: m[2], threads: Number(m[3]), rounds: new Map()});
  groups.get(key).rounds.set(Number(m[4] ?? 1), json);
}
const runs = [...groups.values()];
const failed = fs.readdirSync(dir).filter((f) => f.endsWith('.err') &&
    !fs.existsSync(path.join(dir, f.replace(/\.err$/, '.json'))));

const metrics = [];
for (const r of runs) {
  for (const json of r.rounds.values()) {
    for (const group of ['pp', 'tg']) {
      for (const key of Object.keys(json[group] ?? {})) if (!metrics.includes(key)) metrics.push(key);
    }
  }
}
metrics.sort((a, b) => (a[0] === b[0] ? 0 : a.startsWith('pp') ? -1 : 1) ||
    a.localeCompare(b, 'en', {numeric: true}));

const stats = (json, key) => (json.pp?.[key] ?? json.tg?.[key])?.tokens_per_second;
// The metric over the rounds: median of medians, smallest min, largest max.
const value = (r, key) => {
  const s = [...r.rounds.values()].map((j) => stats(j, key)).filter(Boolean);
  if (!s.length) return undefined;
  return {median: median(s.map((x) => x.median)), min: Math.min(...s.map((x) => x.min)),
          max: Math.max(...s.map((x) => x.max))};
};
// Median over the rounds of a number read from each round's JSON.
const overRounds = (r, read) => median([...r.rounds.values()].map(read));
const label = {liteq: 'liteq', llamacpp: 'llama.cpp', litert: 'LiteRT.js'};
const fmt = (x) => (x === undefined ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const roundCount = Math.max(0, ...runs.map((r) => r.rounds.size));

const lines = [];
lines.push(`Shape ${shape || '?'}; ${new Date().toISOString().slice(0, 16)}Z; ${os.cpus()[0]?.model ?? '?'}, ` +
           `${os.cpus().length} CPUs. Medians of tok/s [min-max]; ×: ratio to llama.cpp Q8_0 at the same threads` +
           (roundCount > 1 ? ` (${roundCount} rounds: medians over the rounds, ratios within each round).` : '.'));
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
    if (!base) return '-';
    const within = [...r.rounds].map(([round, json]) => {
      const v = stats(json, k), b = base.rounds.has(round) && stats(base.rounds.get(round), k);
      return v && b ? v.median / b.median : undefined;
    });
    const ratio = median(within);
    return ratio === undefined ? '-' : ratio.toFixed(2);
  });
  const rss = overRounds(r, (j) => j.peak_rss_mb ?? j.rss_mb);
  const load = overRounds(r, (j) => j.load_seconds);
  lines.push(`| ${label[r.runtime]} | ${r.model} | ${r.threads} | ${cells.join(' | ')} | ${ratios.join(' | ')} | ` +
             `${load?.toFixed(2) ?? '-'} | ${rss ? rss.toFixed(0) : '-'} |`);
}
if (failed.length) {
  lines.push('');
  lines.push(`Failed runs (see their .err files): ${failed.map((f) => f.replace(/\.err$/, '')).join(', ')}`);
}
// liteq's runs against the machine limits liteq bench measured with the same threads:
// decode as a share of the memory-bandwidth bound (weights + live KV per token),
// prefill as a share of the int8 multiply-accumulate peak.
const limits = runs.filter((r) => r.runtime === 'liteq' &&
                                  overRounds(r, (j) => j.read_bandwidth_bytes_per_second) > 0);
if (limits.length) {
  lines.push('');
  lines.push('| liteq | threads | read GB/s | int8 peak GOPS | ' +
             metrics.map((m) => (m.startsWith('pp') ? `${m} % of peak` : `${m} % of BW bound`)).join(' | ') + ' |');
  lines.push(`|${'---|'.repeat(4 + metrics.length)}`);
  for (const r of limits) {
    const shares = metrics.map((k) => {
      const f = overRounds(r, (j) => j.pp?.[k]?.int8_peak_fraction ?? j.tg?.[k]?.bandwidth_bound_fraction);
      return f ? `${(100 * f).toFixed(0)}%` : '-';
    });
    lines.push(`| ${r.model} | ${r.threads} | ${(overRounds(r, (j) => j.read_bandwidth_bytes_per_second) / 1e9).toFixed(1)} | ` +
               `${((overRounds(r, (j) => j.int8_peak_ops_per_second) ?? 0) / 1e9).toFixed(0)} | ${shares.join(' | ')} |`);
  }
  // llama.cpp's Q8_0 prefill against the same peak, within each round: the same model,
  // so the multiply-accumulates liteq bench counted for that prompt (weight_macs).
  for (const r of runs.filter((x) => x.runtime === 'llamacpp' && x.model === 'q8_0')) {
    const ref = limits.find((l) => l.threads === r.threads);
    if (!ref) continue;
    const shares = metrics.map((k) => {
      const n = Number(k.slice(2));
      if (!k.startsWith('pp') || !n) return '-';
      const f = median([...r.rounds].map(([round, json]) => {
        const v = json.pp?.[k]?.tokens_per_second?.median, l = ref.rounds.get(round);
        const macs = l?.pp?.[k]?.weight_macs;
        if (!v || !l?.int8_peak_ops_per_second || !macs) return undefined;
        return 2 * macs / n * v / l.int8_peak_ops_per_second;
      }));
      return f ? `${(100 * f).toFixed(0)}%` : '-';
    });
    lines.push(`| llama.cpp q8_0 | ${r.threads} | (same) | (same) | ${shares.join(' | ')} |`);
  }
}
const first = (r) => r.rounds.values().next().value;
const llamaRun = runs.find((r) => r.runtime === 'llamacpp' && first(r).cpu_backend);
if (llamaRun) {
  lines.push('');
  lines.push(`llama.cpp CPU variant: ${first(llamaRun).cpu_backend} (${first(llamaRun).system_info?.trim() ?? ''}).`);
}
const litertRun = runs.find((r) => r.runtime === 'litert');
if (litertRun) lines.push(`LiteRT.js Wasm build: ${first(litertRun).wasm_build}, 1 thread.`);
const load = (name) => {
  try { return fs.readFileSync(path.join(dir, name), 'utf8').trim(); } catch { return null; }
};
if (load('loadavg-start.txt')) {
  lines.push('');
  lines.push(`Load average (1/5/15 min) before the runs: ${load('loadavg-start.txt')}; after: ${load('loadavg-end.txt') ?? '?'}.`);
}
console.log(lines.join('\n'));

// Times a liteq .tflite (prefill/decode signatures, KV cache as inputs and outputs) in
// the official LiteRT runtime: npm @litertjs/core, LiteRT compiled to WebAssembly with
// XNNPACK, under Node.js. Prints JSON in the same layout as bench/llamacpp/bench.mjs.
//
//   node --experimental-wasm-relaxed-simd bench.mjs --model M.tflite [--threads 1] [--reps 3] [--pp 128,512] [--tg 128]
//       [--depths 0,1024]
//
// The KV cache tensors that a run outputs are passed as they are (still in Wasm
// memory) to the next run, as an application would; logits are not copied out.
// Everything is read from local files; nothing is fetched. With Node 20's
// --experimental-wasm-relaxed-simd the package loads its relaxed-SIMD build (what a
// current browser gets); without it, the slower "compat" build. The build used is
// reported as wasm_build.
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {performance} from 'node:perf_hooks';
import {loadLiteRtInNode} from '../../tests/conformance/litert_node.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const args = {threads: 1, reps: 3, pp: [128, 512], tg: 128, depths: [0]};
  for (let i = 2; i < argv.length; ++i) {
    const a = argv[i], next = () => argv[++i];
    if (a === '--model') args.model = next();
    else if (a === '--threads') args.threads = Number(next());
    else if (a === '--reps') args.reps = Number(next());
    else if (a === '--pp') args.pp = next().split(',').filter(Boolean).map(Number);
    else if (a === '--tg') args.tg = Number(next());
    else if (a === '--depths') args.depths = next().split(',').filter(Boolean).map(Number);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!args.model) throw new Error('--model is required');
  // The threaded Wasm build starts its pthreads as browser Web Workers (and needs
  // relaxed SIMD); under Node.js only the single-threaded builds load.
  if (args.threads !== 1) throw new Error('LiteRT.js runs single-threaded under Node.js: use --threads 1');
  return args;
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b), m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const summary = (v) => ({median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length});

function promptIds(n, vocab) {
  const ids = [];
  const lo = vocab > 600 ? 300 : 1;
  for (let i = 0; i < n; ++i) ids.push(lo + ((i * 7919) % (vocab - lo)));
  return ids;
}

class Runner {
  constructor(litert, model) {
    this.litert = litert;
    this.prefill = model.signatures.prefill;
    this.decode = model.signatures.decode;
    if (!this.prefill || !this.decode) throw new Error('the model needs prefill and decode signatures');
    const details = this.prefill.getInputDetails();
    this.prefillLen = Array.from(details.find((d) => d.name === 'tokens').shape)[1];
    this.cacheDetails = details.filter((d) => d.name.startsWith('kv_cache'));
    this.maxSeq = Array.from(this.cacheDetails[0].shape)[1];
    const logits = this.decode.getOutputDetails().find((d) => d.name === 'logits');
    this.vocab = Array.from(logits.shape).at(-1);
    this.cache = null;
  }
  reset() {
    if (this.cache) for (const t of Object.values(this.cache)) t.delete();
    this.cache = {};
    for (const d of this.cacheDetails) {
      const shape = Array.from(d.shape);
      this.cache[d.name] = new this.litert.Tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
    }
    this.position = 0;
  }
  // Runs one signature on `ids` (padded to its length), keeps the new cache tensors.
  async run(signature, length, ids) {
    const tokens = new Int32Array(length), pos = new Int32Array(length);
    for (let i = 0; i < length; ++i) {
      tokens[i] = i < ids.length ? ids[i] : 0;
      // Padding rows write cache rows beyond the live ones; later chunks overwrite them.
      pos[i] = Math.min(this.position + i, this.maxSeq - 1);
    }
    const inputs = {tokens: new this.litert.Tensor(tokens, [1, length]),
                    input_pos: new this.litert.Tensor(pos, [length]), ...this.cache};
    const outputs = await signature.run(inputs);
    inputs.tokens.delete();
    inputs.input_pos.delete();
    for (const [name, t] of Object.entries(outputs)) {
      if (name.startsWith('kv_cache')) {
        this.cache[name].delete();
        this.cache[name] = t;
      } else {
        t.delete();
      }
    }
    this.position += ids.length;
  }
  async feed(ids) {
    if (ids.length === 1) return this.run(this.decode, 1, ids);
    for (let done = 0; done < ids.length; done += this.prefillLen) {
      await this.run(this.prefill, this.prefillLen, ids.slice(done, done + this.prefillLen));
    }
  }
}

async function main() {
  const args = parseArgs(process.argv);
  const t0 = performance.now();
  const {litert, wasmBuild} = await loadLiteRtInNode(HERE);
  const t1 = performance.now();
  const bytes = new Uint8Array(fs.readFileSync(args.model));
  const model = await litert.loadAndCompile(bytes, {accelerator: 'wasm', cpuOptions: {numThreads: args.threads}});
  const t2 = performance.now();
  const r = new Runner(litert, model);
  const result = {
    runtime: 'LiteRT (@litertjs/core 2.5.3, WebAssembly + XNNPACK)', model: args.model,
    threads: args.threads, reps: args.reps, wasm_build: wasmBuild, runtime_load_seconds: (t1 - t0) / 1e3,
    load_seconds: (t2 - t1) / 1e3, max_seq: r.maxSeq, prefill_length: r.prefillLen, pp: {}, tg: {},
    skipped_depths: [],
  };
  // Warm-up: one prefill chunk and one decode step (first-run allocations, page faults).
  r.reset();
  await r.feed(promptIds(r.prefillLen, r.vocab));
  await r.feed([promptIds(1, r.vocab)[0]]);
  for (const n of args.pp) {
    const rates = [];
    for (let rep = 0; rep < args.reps; ++rep) {
      r.reset();
      const t = performance.now();
      await r.feed(promptIds(n, r.vocab));
      rates.push(1e3 * n / (performance.now() - t));
    }
    result.pp[`pp${n}`] = {tokens_per_second: summary(rates)};
  }
  for (const depth of args.depths) {
    if (depth + args.tg + 1 > r.maxSeq) { result.skipped_depths.push(depth); continue; }
    const ids = promptIds(depth + args.tg, r.vocab);
    const rates = [];
    for (let rep = 0; rep < args.reps; ++rep) {
      r.reset();
      if (depth > 0) await r.feed(ids.slice(0, depth));
      const t = performance.now();
      for (let i = 0; i < args.tg; ++i) await r.feed([ids[depth + i]]);
      rates.push(1e3 * args.tg / (performance.now() - t));
    }
    result.tg[`tg${args.tg}@${depth}`] = {tokens_per_second: summary(rates)};
  }
  result.rss_mb = process.memoryUsage().rss / 1048576;
  console.log(JSON.stringify(result, null, 2));
  r.reset();
  model.delete();
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write(`litert bench: error: ${e?.stack ?? e}\n`);
  process.exit(1);
});

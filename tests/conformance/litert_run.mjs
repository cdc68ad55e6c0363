#!/usr/bin/env node
// Runs a .tflite file in the official LiteRT runtime (npm @litertjs/core: LiteRT
// compiled to WebAssembly with XNNPACK) so conformance tests can compare liteq's
// runtime with it. Everything is read from local files; nothing is fetched.
//
// One run:
//   node litert_run.mjs --model M.tflite --signature NAME --inputs inputs.json --out DIR
//     inputs.json: {"inputs": [{"name": "tokens", "dtype": "int32", "shape": [1, 4],
//                               "file": "tokens.bin"}, ...]}
//     (raw little-endian files, paths relative to the json file)
//   writes DIR/<output name>.bin and DIR/outputs.json.
//
// A sequence of runs on one loaded model (prefill, then decode steps):
//   node litert_run.mjs --model M.tflite --steps steps.json --out DIR
//     steps.json: {"steps": [{"signature": "prefill", "inputs": [...]},
//                            {"signature": "decode", "inputs": [...]}, ...]}
//   writes DIR/step<k>/<output name>.bin and DIR/step<k>/outputs.json.
//   State carry-over: an input of step k+1 that the step does not supply is taken
//   from the most recent earlier output with the same name (this is how the KV
//   cache outputs `kv_cache_k_0`, ... of one step feed the next step's inputs).
//
// Evaluation windows (perplexity and logits of whole token windows):
//   node litert_run.mjs --model M.tflite --eval-windows W.bin --window-length L --out DIR
//     W.bin: int32 [N, L] token ids. Each window is fed from position 0 through the
//     'prefill' signature in chunks of its length (L must be a multiple of it); the KV
//     cache starts at zero and is carried (earlier windows' entries are never visible:
//     every position a window attends to was written by that window first).
//   writes DIR/window<i>.bin (float32 logits [L, vocab]) and DIR/eval.json with the
//   next-token NLL of each window (mean over its first L-1 positions).
//
// Model description (signatures and their input/output details) as JSON:
//   node litert_run.mjs --model M.tflite --describe
//
// Exit status: 0 on success, 1 on any error (message on stderr, prefixed
// "litert_run: error:"), 2 on bad command-line usage.

import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {performance} from 'node:perf_hooks';
import {loadLiteRtInNode} from './litert_node.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

// The LiteRT.js JS API only maps these element types (DATATYPES in
// @litertjs/core dist/index.d.ts); other signature dtypes fail to load.
const DTYPES = {
  float32: Float32Array,
  int32: Int32Array,
  uint8: Uint8Array,
};

class UsageError extends Error {}

function fail(message) {
  throw new Error(message);
}

function parseArgs(argv) {
  const known = new Set(['--model', '--signature', '--inputs', '--steps', '--out',
    '--eval-windows', '--window-length']);
  const args = {describe: false};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--describe') {
      args.describe = true;
    } else if (known.has(flag)) {
      if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
      args[flag.slice(2)] = argv[++i];
    } else {
      throw new UsageError(`unknown argument '${flag}'`);
    }
  }
  if (!args.model) throw new UsageError('--model is required');
  if (args.describe) return args;
  if (!args.out) throw new UsageError('--out is required');
  if (args['eval-windows'] !== undefined) {
    const n = Number(args['window-length']);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError('--eval-windows needs --window-length N');
    return args;
  }
  const single = args.signature !== undefined || args.inputs !== undefined;
  if (single === (args.steps !== undefined)) {
    throw new UsageError('give either --signature and --inputs, or --steps');
  }
  if (single && (args.signature === undefined || args.inputs === undefined)) {
    throw new UsageError('--signature and --inputs go together');
  }
  return args;
}

function readJson(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    fail(`cannot read ${file}: ${e.message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    fail(`${file} is not valid JSON: ${e.message}`);
  }
}

// Checks one entry of an "inputs" list and reads its raw bytes into a typed array.
function readInputSpec(spec, baseDir, where) {
  if (typeof spec !== 'object' || spec === null) fail(`${where}: entry is not an object`);
  const {name, dtype, shape, file} = spec;
  if (typeof name !== 'string' || name === '') fail(`${where}: missing "name"`);
  const ctx = `${where}: input '${name}'`;
  if (!(dtype in DTYPES)) {
    fail(`${ctx}: dtype '${dtype}' is not one of ${Object.keys(DTYPES).join(', ')}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    fail(`${ctx}: "shape" must be a list of non-negative integers`);
  }
  if (typeof file !== 'string') fail(`${ctx}: missing "file"`);
  const filePath = path.resolve(baseDir, file);
  let bytes;
  try {
    bytes = fs.readFileSync(filePath);
  } catch (e) {
    fail(`${ctx}: cannot read ${filePath}: ${e.message}`);
  }
  const Ctor = DTYPES[dtype];
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = count * Ctor.BYTES_PER_ELEMENT;
  if (bytes.length !== expected) {
    fail(`${ctx}: ${filePath} has ${bytes.length} bytes, shape [${shape}] ${dtype} needs ${expected}`);
  }
  // Copy into a fresh, aligned buffer (Buffer slices may be unaligned).
  const data = new Ctor(count);
  new Uint8Array(data.buffer).set(bytes);
  return {name, dtype, shape, data};
}

function readInputList(list, baseDir, where) {
  if (!Array.isArray(list)) fail(`${where}: "inputs" must be a list`);
  const seen = new Set();
  return list.map((spec, i) => {
    const input = readInputSpec(spec, baseDir, `${where} inputs[${i}]`);
    if (seen.has(input.name)) fail(`${where}: input '${input.name}' given twice`);
    seen.add(input.name);
    return input;
  });
}

function readSteps(args) {
  if (args.steps === undefined) {
    const json = readJson(args.inputs);
    const inputs = readInputList(json.inputs, path.dirname(path.resolve(args.inputs)), args.inputs);
    return [{signature: args.signature, inputs}];
  }
  const json = readJson(args.steps);
  if (!Array.isArray(json.steps) || json.steps.length === 0) {
    fail(`${args.steps}: "steps" must be a non-empty list`);
  }
  const baseDir = path.dirname(path.resolve(args.steps));
  return json.steps.map((step, k) => {
    const where = `${args.steps} steps[${k}]`;
    if (typeof step?.signature !== 'string') fail(`${where}: missing "signature"`);
    return {signature: step.signature, inputs: readInputList(step.inputs ?? [], baseDir, where)};
  });
}

function tensorDetailsJson(details) {
  return details.map((d) => ({name: d.name, dtype: d.dtype, shape: Array.from(d.shape)}));
}

function describe(model) {
  const signatures = {};
  for (const [name, sig] of Object.entries(model.signatures)) {
    signatures[name] = {
      inputs: tensorDetailsJson(sig.getInputDetails()),
      outputs: tensorDetailsJson(sig.getOutputDetails()),
    };
  }
  return {signatures};
}

// Runs one step. `state` maps output names of earlier steps to {dtype, shape, data}.
async function runStep(litert, model, step, state, where) {
  const runner = model.signatures[step.signature];
  if (!runner) {
    fail(`${where}: no signature '${step.signature}' in the model (has: ${Object.keys(model.signatures).join(', ')})`);
  }
  const given = new Map(step.inputs.map((input) => [input.name, input]));
  const expected = runner.getInputDetails();
  const expectedNames = new Set(expected.map((d) => d.name));
  for (const name of given.keys()) {
    if (!expectedNames.has(name)) {
      fail(`${where}: signature '${step.signature}' has no input '${name}' (inputs: ${[...expectedNames].join(', ')})`);
    }
  }
  const carried = [];
  const tensors = {};
  try {
    for (const detail of expected) {
      let input = given.get(detail.name);
      if (!input) {
        input = state.get(detail.name);
        if (!input) fail(`${where}: input '${detail.name}' of signature '${step.signature}' is not given and no earlier step produced it`);
        carried.push(detail.name);
      }
      if (input.dtype !== detail.dtype) {
        fail(`${where}: input '${detail.name}' is ${input.dtype}, signature '${step.signature}' expects ${detail.dtype}`);
      }
      const want = Array.from(detail.shape);
      if (want.length !== input.shape.length || want.some((d, i) => d !== input.shape[i])) {
        fail(`${where}: input '${detail.name}' has shape [${input.shape}], signature '${step.signature}' expects [${want}]`);
      }
      tensors[detail.name] = new litert.Tensor(input.data, input.shape);
    }
    const start = performance.now();
    const results = await runner.run(tensors);
    const runMs = performance.now() - start;
    const outputs = [];
    for (const [name, tensor] of Object.entries(results)) {
      // Copy out of wasm memory before the tensor is freed.
      const data = tensor.toTypedArray().slice();
      outputs.push({name, dtype: tensor.type.dtype, shape: Array.from(tensor.type.layout.dimensions), data});
      tensor.delete();
    }
    return {outputs, carried, runMs};
  } finally {
    for (const tensor of Object.values(tensors)) tensor.delete();
  }
}

function logSoftmaxNll(logits, offset, vocab, target) {
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) max = Math.max(max, logits[offset + v]);
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp(logits[offset + v] - max);
  return Math.log(sum) + max - logits[offset + target];
}

async function evalWindows(litert, model, args) {
  const length = Number(args['window-length']);
  const bytes = fs.readFileSync(args['eval-windows']);
  if (bytes.byteLength % (4 * length) !== 0) fail(`${args['eval-windows']}: not int32 [N, ${length}]`);
  const ids = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const count = ids.length / length;
  const prefill = model.signatures['prefill'];
  if (!prefill) fail("the model has no 'prefill' signature");
  const chunk = Array.from(prefill.getInputDetails().find((d) => d.name === 'tokens').shape)[1];
  if (length % chunk !== 0) fail(`--window-length ${length} is not a multiple of the prefill length ${chunk}`);
  const state = new Map();
  for (const d of prefill.getInputDetails()) {
    if (d.name === 'tokens' || d.name === 'input_pos') continue;
    const n = Array.from(d.shape).reduce((a, b) => a * b, 1);
    if (d.dtype !== 'float32') fail(`input '${d.name}' is ${d.dtype}; only float32 state is supported`);
    state.set(d.name, {name: d.name, dtype: d.dtype, shape: Array.from(d.shape), data: new Float32Array(n)});
  }
  fs.mkdirSync(args.out, {recursive: true});
  const nll = [];
  for (let w = 0; w < count; w++) {
    const window = ids.subarray(w * length, (w + 1) * length);
    let vocab = 0;
    const logits = [];
    for (let start = 0; start < length; start += chunk) {
      const step = {signature: 'prefill', inputs: [
        {name: 'tokens', dtype: 'int32', shape: [1, chunk], data: Int32Array.from(window.subarray(start, start + chunk))},
        {name: 'input_pos', dtype: 'int32', shape: [chunk], data: Int32Array.from({length: chunk}, (_, i) => start + i)},
      ]};
      const result = await runStep(litert, model, step, state, `window ${w}`);
      for (const out of result.outputs) {
        if (out.name === 'logits') {
          vocab = out.shape[out.shape.length - 1];
          logits.push(out.data);
        } else {
          state.set(out.name, out);
        }
      }
    }
    const all = new Float32Array(length * vocab);
    logits.forEach((part, i) => all.set(part, i * chunk * vocab));
    let total = 0;
    for (let t = 0; t + 1 < length; t++) total += logSoftmaxNll(all, t * vocab, vocab, window[t + 1]);
    nll.push(total / (length - 1));
    fs.writeFileSync(path.join(args.out, `window${w}.bin`), new Uint8Array(all.buffer));
  }
  const mean = nll.reduce((a, b) => a + b, 0) / nll.length;
  fs.writeFileSync(path.join(args.out, 'eval.json'),
      JSON.stringify({windows: count, window_length: length, nll_per_window: nll, nll: mean, ppl: Math.exp(mean)}, null, 2) + '\n');
}

function writeOutputs(dir, step, result) {
  fs.mkdirSync(dir, {recursive: true});
  const entries = result.outputs.map((out) => {
    const file = `${out.name}.bin`;
    if (out.name.includes('/') || out.name.includes('\\') || out.name.startsWith('.')) {
      fail(`output name '${out.name}' cannot be used as a file name`);
    }
    fs.writeFileSync(path.join(dir, file),
        new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength));
    return {name: out.name, dtype: out.dtype, shape: out.shape, file};
  });
  const json = {signature: step.signature, outputs: entries, carried_inputs: result.carried,
    run_ms: result.runMs};
  fs.writeFileSync(path.join(dir, 'outputs.json'), JSON.stringify(json, null, 2) + '\n');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const steps = args.describe || args['eval-windows'] !== undefined ? [] : readSteps(args);
  let modelBytes;
  try {
    modelBytes = new Uint8Array(fs.readFileSync(args.model));
  } catch (e) {
    fail(`cannot read model ${args.model}: ${e.message}`);
  }

  const t0 = performance.now();
  const {litert, wasmBuild} = await loadLiteRtInNode(HERE);
  const t1 = performance.now();
  let model;
  try {
    model = await litert.loadAndCompile(modelBytes, {accelerator: 'wasm'});
  } catch (e) {
    fail(`LiteRT could not load ${args.model}: ${e?.message ?? e}`);
  }
  const t2 = performance.now();
  try {
    if (args.describe) {
      process.stdout.write(JSON.stringify(describe(model), null, 2) + '\n');
      return;
    }
    if (args['eval-windows'] !== undefined) {
      await evalWindows(litert, model, args);
      return;
    }
    const state = new Map();
    const timings = [];
    for (let k = 0; k < steps.length; k++) {
      const where = args.steps === undefined ? 'run' : `step ${k}`;
      let result;
      try {
        result = await runStep(litert, model, steps[k], state, where);
      } catch (e) {
        fail(e?.message?.startsWith(where) ? e.message : `${where} (${steps[k].signature}): ${e?.message ?? e}`);
      }
      const dir = args.steps === undefined ? args.out : path.join(args.out, `step${k}`);
      writeOutputs(dir, steps[k], result);
      for (const out of result.outputs) state.set(out.name, out);
      timings.push(result.runMs);
    }
    const summary = {wasm_build: wasmBuild, runtime_load_ms: t1 - t0, model_compile_ms: t2 - t1, step_run_ms: timings};
    fs.writeFileSync(path.join(args.out, 'timings.json'), JSON.stringify(summary, null, 2) + '\n');
  } finally {
    model.delete();
  }
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write(`litert_run: error: ${e?.message ?? e}\n`);
  process.exit(e instanceof UsageError ? 2 : 1);
});

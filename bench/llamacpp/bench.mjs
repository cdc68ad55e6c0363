// Runs a GGUF in llama.cpp through node-llama-cpp's prebuilt CPU binaries and prints
// llama.cpp's own timings (llama_perf_context_print, via context.printTimings()) as JSON.
//
//   UV_THREADPOOL_SIZE=1 node bench.mjs --model M.gguf --threads 2 [--reps 3]
//       [--pp 128,512] [--tg 128] [--depths 0,1024] [--mmap] [--greedy-ids 1,2,3 --greedy-n 8]
//
// Measures, per repetition, on a cleared sequence:
//   ppN:       one prompt of N tokens (one batch, logits of the last token only, as
//              llama-bench does);
//   tgN@D:     after a prompt of D tokens, N single-token decode steps, each producing
//              logits and a greedy token.
// No downloads or builds happen at run time: build "never", skipDownload, gpu false,
// and the environment disables node-llama-cpp's download paths.
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
import process from "node:process";

process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD = "true";

function parseArgs(argv) {
  const args = {threads: 1, reps: 3, pp: [128, 512], tg: 128, depths: [0], mmap: false,
                greedyIds: null, greedyN: 8};
  for (let i = 2; i < argv.length; ++i) {
    const a = argv[i], next = () => argv[++i];
    if (a === "--model") args.model = next();
    else if (a === "--threads") args.threads = Number(next());
    else if (a === "--reps") args.reps = Number(next());
    else if (a === "--pp") args.pp = next().split(",").filter(Boolean).map(Number);
    else if (a === "--tg") args.tg = Number(next());
    else if (a === "--depths") args.depths = next().split(",").filter(Boolean).map(Number);
    else if (a === "--mmap") args.mmap = true;
    else if (a === "--greedy-ids") args.greedyIds = next().split(",").map(Number);
    else if (a === "--greedy-n") args.greedyN = Number(next());
    else throw new Error(`unknown argument ${a}`);
  }
  if (!args.model) throw new Error("--model is required");
  return args;
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b), m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const summary = (v) => ({median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length});

// llama_perf_context_print lines:
//   "prompt eval time =  12.34 ms /   128 tokens (...)"  (batches of more than one token)
//   "       eval time =  45.67 ms /    31 runs   (...)"  (single-token batches)
function parseTimings(lines) {
  const out = {};
  for (const line of lines) {
    let m = line.match(/prompt eval time\s*=\s*([\d.]+)\s*ms\s*\/\s*(\d+)\s*tokens/);
    if (m) { out.promptMs = Number(m[1]); out.promptTokens = Number(m[2]); continue; }
    m = line.match(/\beval time\s*=\s*([\d.]+)\s*ms\s*\/\s*(\d+)\s*runs/);
    if (m) { out.evalMs = Number(m[1]); out.evalRuns = Number(m[2]); continue; }
    m = line.match(/load time\s*=\s*([\d.]+)\s*ms/);
    if (m) out.loadMs = Number(m[1]);
  }
  return out;
}

// Deterministic token ids spread over the vocabulary, avoiding the first 300 ids
// (control and byte tokens of the synthetic vocabulary).
function promptIds(n, vocab) {
  const ids = [];
  for (let i = 0; i < n; ++i) ids.push(300 + ((i * 7919) % (vocab - 300)));
  return ids;
}

async function main() {
  const args = parseArgs(process.argv);
  let captured = [];
  const llama = await getLlama({
    gpu: false, build: "never", skipDownload: true, usePrebuiltBinaries: true,
    progressLogs: false, maxThreads: args.threads, logLevel: LlamaLogLevel.log,  // "log" carries load_backend
    logger: (level, message) => { captured.push(message); },
  });
  const rssBefore = process.memoryUsage().rss;
  const tLoad = performance.now();
  const model = await llama.loadModel({modelPath: args.model, useMmap: args.mmap, gpuLayers: 0});
  const loadSeconds = (performance.now() - tLoad) / 1e3;
  const meta = model.fileInfo.metadata;
  const vocabSize = Number(meta[meta.general.architecture]?.vocab_size ?? 0);
  if (!(vocabSize > 300)) throw new Error(`${args.model}: no usable {arch}.vocab_size in the GGUF metadata`);
  const maxDepth = Math.max(...args.depths);
  const contextSize = Math.max(Math.max(...args.pp), maxDepth + args.tg) + 16;
  const context = await model.createContext({
    contextSize, batchSize: Math.max(512, ...args.pp), sequences: 1,
    threads: {ideal: args.threads, min: args.threads}, performanceTracking: true,
  });
  const sequence = context.getSequence();

  async function timings() {
    captured = [];
    await context.printTimings();
    return parseTimings(captured);
  }

  const result = {
    runtime: "llama.cpp (node-llama-cpp 3.22.1 prebuilt CPU)", model: args.model,
    threads: args.threads, reps: args.reps, use_mmap: args.mmap, context_size: contextSize,
    load_seconds: loadSeconds, cpu_backend: null, pp: {}, tg: {}, greedy: null,
  };
  // Which of the prebuilt CPU variants (haswell, zen4, ...) ggml picked for this CPU.
  const backend = captured.find((l) => /libggml-cpu-[\w-]+\.so/.test(l));
  if (backend) result.cpu_backend = backend.match(/libggml-cpu-[\w-]+\.so/)[0];
  result.system_info = llama.systemInfo;

  if (args.greedyIds) {
    await sequence.clearHistory();
    const out = [];
    for await (const token of sequence.evaluate(args.greedyIds, {temperature: 0})) {
      out.push(token);
      if (out.length >= args.greedyN) break;
    }
    result.greedy = out;
  }

  // Warm-up: one prompt and a few decode steps (first-run allocations, page faults).
  await sequence.clearHistory();
  {
    let steps = 0;
    for await (const _ of sequence.evaluate(promptIds(Math.min(64, args.pp[0] ?? 64), vocabSize), {temperature: 0})) {
      if (++steps >= 4) break;
    }
  }
  await timings();  // discard anything counted so far
  for (const n of args.pp) {
    const ids = promptIds(n, vocabSize);
    const perSecond = [];
    for (let r = 0; r < args.reps; ++r) {
      await sequence.clearHistory();
      await timings();
      await sequence.evaluateWithoutGeneratingNewTokens(ids);
      const t = await timings();
      if (!t.promptMs || t.promptTokens !== n) throw new Error(`pp${n}: unexpected timings ${JSON.stringify(t)}`);
      perSecond.push(1e3 * n / t.promptMs);
    }
    result.pp[`pp${n}`] = {tokens_per_second: summary(perSecond)};
  }
  for (const depth of args.depths) {
    const perSecond = [];
    for (let r = 0; r < args.reps; ++r) {
      await sequence.clearHistory();
      if (depth > 0) await sequence.evaluateWithoutGeneratingNewTokens(promptIds(depth, vocabSize));
      await timings();
      let steps = 0;
      // The first generated token comes from a one-token batch too, so all tg steps
      // are single-token decodes that compute logits and sample greedily.
      for await (const _ of sequence.evaluate([promptIds(depth + 1, vocabSize)[depth]], {temperature: 0})) {
        if (++steps >= args.tg) break;
      }
      const t = await timings();
      if (!t.evalMs || t.evalRuns < args.tg - 1) throw new Error(`tg${args.tg}@${depth}: unexpected timings ${JSON.stringify(t)}`);
      perSecond.push(1e3 * t.evalRuns / t.evalMs);
    }
    result.tg[`tg${args.tg}@${depth}`] = {tokens_per_second: summary(perSecond)};
  }
  result.rss_mb = process.memoryUsage().rss / 1048576;
  result.rss_before_load_mb = rssBefore / 1048576;
  console.log(JSON.stringify(result, null, 2));
  await context.dispose();
  await model.dispose();
  await llama.dispose();
}

main().catch((e) => { console.error(e?.stack ?? String(e)); process.exit(1); });

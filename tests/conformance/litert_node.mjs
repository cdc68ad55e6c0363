// Loads the official LiteRT runtime (npm @litertjs/core, WebAssembly + XNNPACK) in
// Node.js. Shared by tests/conformance/litert_run.mjs (the conformance oracle) and
// bench/litert/bench.mjs (speed), each with its own node_modules.
//
// The package is written for browsers and workers. In Node it needs:
// - `self`: the loader stores and reads `self.ModuleFactory`;
// - `importScripts`: how @litertjs/wasm-utils runs the Emscripten loader script when
//   there is no DOM; running it in this context makes its top-level
//   `var ModuleFactory` a global, i.e. `self.ModuleFactory`;
// - `require` and `__dirname`: the Emscripten script detects Node, loads `node:fs`
//   with `require` and reads `<__dirname>/litert_wasm_*.wasm` from disk.
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import {createRequire} from 'node:module';

// `installDir` holds node_modules/@litertjs/core. Returns {litert, wasmBuild} where
// wasmBuild names the .wasm build the package picked (relaxed-SIMD or compat).
export async function loadLiteRtInNode(installDir) {
  const packageDir = path.join(installDir, 'node_modules', '@litertjs', 'core');
  const wasmDir = path.join(packageDir, 'wasm');
  if (!fs.existsSync(packageDir)) {
    throw new Error(`${packageDir} not found: run 'npm ci' in ${installDir}`);
  }
  let wasmBuild;
  globalThis.self = globalThis;
  globalThis.importScripts = (file) => {
    wasmBuild = path.basename(file);
    vm.runInThisContext(fs.readFileSync(file, 'utf8'), {filename: file});
  };
  globalThis.require = createRequire(path.join(wasmDir, 'loader.cjs'));
  globalThis.__dirname = wasmDir;
  // @litertjs/wasm-utils passes `self.Module` to the Emscripten factory as its
  // module argument: the runtime's log lines (which it prints to stdout) go to
  // stderr, so stdout carries only the calling script's own output.
  globalThis.Module = {
    print: (text) => process.stderr.write(`${text}\n`),
    printErr: (text) => process.stderr.write(`${text}\n`),
  };
  const litert = await import(path.join(packageDir, 'dist', 'index.js'));
  // Node has no WebGPU, so creating the default environment warns that it could
  // not make a WebGPU device; only the 'wasm' (XNNPACK) accelerator is used here.
  const warn = console.warn;
  console.warn = (...args) => {
    if (!String(args[0]).startsWith('Failed to create default WebGPU device')) warn(...args);
  };
  try {
    // A directory path: the package picks the relaxed-SIMD or compat build itself.
    await litert.loadLiteRt(wasmDir + '/');
  } finally {
    console.warn = warn;
  }
  return {litert, wasmBuild};
}

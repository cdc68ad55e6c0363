// A tiny builder for TFLite models in flatc's JSON form, used to make hand-written
// test models without liteq's writer (see make_testdata.mjs). Field names follow
// the official LiteRT schema (tflite_schema.fbs: Model, SubGraph, Tensor, Buffer,
// OperatorCode, Operator, SignatureDef, TensorMap).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {execFileSync} from 'node:child_process';

// BuiltinOperator values from the schema.
export const Op = {
  ADD: 0,
  EMBEDDING_LOOKUP: 7,
  FULLY_CONNECTED: 9,
  GATHER: 36,
  BATCH_MATMUL: 126,
  GELU: 150,
  DYNAMIC_UPDATE_SLICE: 151,
};

// Little-endian bytes of a float32 / int32 list, as the [ubyte] JSON list flatc wants.
export function f32Bytes(values) {
  return Array.from(new Uint8Array(Float32Array.from(values).buffer));
}
export function i32Bytes(values) {
  return Array.from(new Uint8Array(Int32Array.from(values).buffer));
}

export class ModelBuilder {
  constructor(description) {
    // Buffer 0 is the empty sentinel the schema requires (Model.buffers comment).
    this.model = {version: 3, description, operator_codes: [], subgraphs: [], buffers: [{}],
      signature_defs: []};
    this.opcodeIndex = new Map();
  }

  // Adds a constant buffer and returns its index (shareable between subgraphs).
  buffer(bytes) {
    this.model.buffers.push({data: bytes});
    return this.model.buffers.length - 1;
  }

  opcode(code, version) {
    const key = `${code}/${version}`;
    if (!this.opcodeIndex.has(key)) {
      // Codes below PLACEHOLDER_FOR_GREATER_OP_CODES (127) are also written to the
      // old byte field, as Google's converter does, so old readers find them.
      this.model.operator_codes.push({deprecated_builtin_code: Math.min(code, 127),
        builtin_code: code, version});
      this.opcodeIndex.set(key, this.model.operator_codes.length - 1);
    }
    return this.opcodeIndex.get(key);
  }

  // Starts a subgraph exported as signature `key`; returns a SubgraphBuilder.
  subgraph(key) {
    const sg = new SubgraphBuilder(this, this.model.subgraphs.length, key);
    this.model.subgraphs.push(sg.json);
    this.model.signature_defs.push(sg.signature);
    return sg;
  }

  json() {
    return this.model;
  }
}

class SubgraphBuilder {
  constructor(model, index, key) {
    this.model = model;
    this.json = {tensors: [], inputs: [], outputs: [], operators: [], name: key};
    this.signature = {inputs: [], outputs: [], signature_key: key, subgraph_index: index};
  }

  // type: a TensorType name (FLOAT32, INT32, ...); buffer: 0 for activations.
  tensor(name, type, shape, buffer = 0) {
    this.json.tensors.push({shape, type, buffer, name});
    return this.json.tensors.length - 1;
  }

  input(name, type, shape, signatureName = name) {
    const t = this.tensor(name, type, shape);
    this.json.inputs.push(t);
    this.signature.inputs.push({name: signatureName, tensor_index: t});
    return t;
  }

  output(tensor, signatureName) {
    this.json.outputs.push(tensor);
    this.signature.outputs.push({name: signatureName, tensor_index: tensor});
  }

  op(code, version, inputs, outputs, optionsType, options) {
    const op = {opcode_index: this.model.opcode(code, version), inputs, outputs};
    if (optionsType) {
      op.builtin_options_type = optionsType;
      op.builtin_options = options ?? {};
    }
    this.json.operators.push(op);
  }
}

// Returns `schemaPath` with the `(deprecated)` attributes removed, in a temp dir:
// flatc 2.0.8 rejects that attribute on enum and union values.
export function flatc208Schema(schemaPath) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liteq-schema-'));
  const out = path.join(dir, 'tflite_schema.fbs');
  fs.writeFileSync(out, fs.readFileSync(schemaPath, 'utf8').replace(/\s*\(deprecated\)/g, ''));
  return out;
}

// Writes `json` to `jsonPath` and converts it with `flatc -b` into `tflitePath`.
export function writeTflite(json, jsonPath, tflitePath, schema, header = '') {
  fs.writeFileSync(jsonPath, header + JSON.stringify(json, null, 1) + '\n');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liteq-flatc-'));
  execFileSync('flatc', ['-b', '-o', dir, schema, jsonPath], {stdio: 'inherit'});
  // The schema declares `file_extension "tflite"`, so flatc names the output *.tflite.
  const produced = path.join(dir, path.basename(jsonPath).replace(/\.json$/, '.tflite'));
  fs.copyFileSync(produced, tflitePath);
  fs.rmSync(dir, {recursive: true, force: true});
}

// Moves every non-empty buffer's bytes out of the flatbuffer: the file becomes the
// flatbuffer followed by the data (each 16-byte aligned), and Buffer.offset/size
// point at it, offsets counted from the file start (schema comment on Buffer:
// "only valid if > 1"). Returns the bytes of the new file.
export function withExternalBuffers(json, schema) {
  const copy = structuredClone(json);
  const payloads = copy.buffers.map((b) => b.data ?? []);
  // ulong fields equal to 0 are omitted by flatc, so placeholders must be non-zero;
  // the layout does not depend on their values.
  for (const b of copy.buffers) {
    if (b.data && b.data.length > 0) {
      b.size = b.data.length;
      b.offset = 1 << 30;
      delete b.data;
    }
  }
  const build = (j) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liteq-ext-'));
    const p = path.join(dir, 'm.json');
    fs.writeFileSync(p, JSON.stringify(j));
    execFileSync('flatc', ['-b', '-o', dir, schema, p], {stdio: 'inherit'});
    const bytes = fs.readFileSync(path.join(dir, 'm.tflite'));
    fs.rmSync(dir, {recursive: true, force: true});
    return bytes;
  };
  const align = (n) => (n + 15) & ~15;
  const fbSize = build(copy).length;
  let cursor = align(fbSize);
  copy.buffers.forEach((b, i) => {
    if (b.offset !== undefined) {
      b.offset = cursor;
      cursor = align(cursor + payloads[i].length);
    }
  });
  const fb = build(copy);
  if (fb.length !== fbSize) throw new Error('flatbuffer size changed with the offsets');
  const out = Buffer.alloc(cursor);
  fb.copy(out, 0);
  copy.buffers.forEach((b, i) => {
    if (b.offset !== undefined) Buffer.from(payloads[i]).copy(out, b.offset);
  });
  return out;
}

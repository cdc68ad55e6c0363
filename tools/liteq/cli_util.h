// Helpers shared by the liteq subcommands: finding a model's tokenizer, reading the
// metadata liteq writes, printing.
#ifndef LITEQ_TOOLS_LITEQ_CLI_UTIL_H_
#define LITEQ_TOOLS_LITEQ_CLI_UTIL_H_

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "graph/graph.h"
#include "model/model.h"
#include "liteq/status.h"
#include "runtime/interpreter.h"
#include "tokenizer/tokenizer.h"

namespace liteq::cli {

// The JSON of a metadata entry written by liteq, or an empty object.
nlohmann::json MetadataJson(const graph::Model& model, const std::string& key);

// The tokenizer given with --tokenizer, else the one next to the checkpoint the model
// was exported from (recorded in its metadata).
Result<std::unique_ptr<tokenizer::Tokenizer>> LoadTokenizerForModel(
    const graph::Model& model, const std::string& tokenizer_override);

// Opens `model_path` and builds its float graph with the CLI's export options: the given
// prefill lengths, or the default shortened to fit `max_seq`. A non-empty `matformer`
// (a preset or a layout file, see model/matformer.h) extracts that sub-model first and
// records the layout in the metadata ("liteq.matformer").
Result<graph::Model> BuildFloatGraph(const std::string& model_path,
                                     const std::vector<int>& prefill_lengths, int max_seq,
                                     model::ExportOptions* used_options,
                                     const std::string& matformer = "");

// Help text of --matformer (lists the presets).
std::string MatformerHelp();

// A reference model to compare against: a .tflite file (loaded as is), or a checkpoint
// (model directory or llama2.c .bin) whose float graph is built in memory, with the
// given prefill lengths and max_seq, and run without writing a file.
Result<std::unique_ptr<runtime::Interpreter>> LoadReferenceInterpreter(
    const std::string& path, const std::vector<int>& prefill_lengths, int max_seq,
    const runtime::InterpreterOptions& options);

// End-of-sequence id: the tokenizer's, else the model's metadata, else -1.
int32_t EosIdForModel(const graph::Model& model, const tokenizer::Tokenizer& tok);

// Token ids calibration drops from id samples: the model's pad token, unless it is
// also its BOS or an EOS (quant::LoadCalibrationSamples).
std::vector<int32_t> CalibrationSkipIds(const graph::Model& model);

// Physical cores of this machine (distinct (physical id, core id) pairs of
// /proc/cpuinfo; hardware_concurrency() when that is unreadable), at least 1: the
// default --threads of run, eval and bench, as llama.cpp's tools do (SMT siblings share
// the core's SIMD units and memory bandwidth, so they add little to these kernels).
int PhysicalCores();

}  // namespace liteq::cli

#endif  // LITEQ_TOOLS_LITEQ_CLI_UTIL_H_

// `liteq inspect MODEL.tflite [OTHER.tflite] [--tensors REGEX]`: what a LiteRT file
// contains (signatures, ops by type and dtype, constant bytes, metadata, quantization
// parameters), or, with two files, how the second differs from the first.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "commands.h"
#include "eval/tflite_diff.h"
#include "eval/tflite_summary.h"
#include "tflite/reader.h"

namespace liteq::cli {
namespace {

struct InspectArgs {
  std::string model;
  std::string other;
  std::string tensors;  // regex; empty = no tensor listing
  int examples = 5;     // example keys per group in the human diff
  bool json = false;
};

struct Inspected {
  std::string path;
  eval::ModelSummary summary;
  std::vector<eval::TensorSummary> matched;
};

std::string ShapeText(const std::vector<int32_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string Megabytes(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f MB", bytes / 1e6);
  return buf;
}

Result<Inspected> Inspect(const std::string& path, const std::string& pattern) {
  LITEQ_ASSIGN_OR_RETURN(auto model, tflite::ReadTflite(path));
  Inspected r;
  r.path = path;
  r.summary = eval::SummarizeModel(*model);
  if (!pattern.empty()) {
    LITEQ_ASSIGN_OR_RETURN(r.matched, eval::MatchTensors(r.summary, pattern));
  }
  return r;
}

void PrintCounts(const char* title, const std::map<std::string, int>& counts) {
  std::printf("%s%s\n", title, counts.empty() ? ": none" : "");
  for (const auto& [k, n] : counts) std::printf("  %-64s %6d\n", k.c_str(), n);
}

void PrintTensors(const std::vector<eval::TensorSummary>& tensors) {
  std::printf("tensors (%zu)\n", tensors.size());
  for (const auto& t : tensors) {
    std::string line = "  " + t.subgraph + "/" + t.name + "  " + t.dtype + " " + ShapeText(t.shape);
    if (!t.dequantized_from.empty()) {
      line += " DEQUANTIZE of " + t.dequantized_from;
    } else if (t.constant) {
      line += " constant";
    }
    const std::string quantization = eval::QuantizationText(t);
    if (!quantization.empty()) line += " " + quantization;
    std::printf("%s\n", line.c_str());
  }
}

// Signature tensors, with numbered families of the same dtype and shape (kv_cache_k_0,
// kv_cache_k_1, ...) folded into one line.
void PrintSignatureTensors(const char* direction,
                           const std::vector<eval::SignatureTensor>& tensors) {
  struct Group {
    std::string stem;
    const eval::SignatureTensor* first;
    std::vector<std::string> suffixes;
  };
  std::vector<Group> groups;
  for (const auto& t : tensors) {
    const size_t digits = t.name.find_last_not_of("0123456789") + 1;
    const bool numbered = digits < t.name.size() && digits > 0;
    const std::string stem = numbered ? t.name.substr(0, digits) : t.name;
    Group* found = nullptr;
    for (Group& g : groups) {
      if (numbered && !g.suffixes.empty() && g.stem == stem && g.first->dtype == t.dtype &&
          g.first->shape == t.shape) {
        found = &g;
      }
    }
    if (found == nullptr) {
      groups.push_back({stem, &t, {}});
      found = &groups.back();
      if (!numbered) continue;
    }
    found->suffixes.push_back(t.name.substr(digits));
  }
  for (const Group& g : groups) {
    std::string name = g.first->name;
    if (g.suffixes.size() > 1)
      name = g.stem + "{" + g.suffixes.front() + ".." + g.suffixes.back() + "}";
    std::printf("    %s %-22s %-8s %s\n", direction, name.c_str(), g.first->dtype.c_str(),
                ShapeText(g.first->shape).c_str());
  }
}

void PrintSummary(const Inspected& in) {
  const eval::ModelSummary& s = in.summary;
  std::error_code ec;
  const auto file_bytes = std::filesystem::file_size(in.path, ec);
  std::printf("model %s (%s)\n", in.path.c_str(), ec ? "?" : Megabytes(file_bytes).c_str());
  std::printf("signatures\n");
  for (const auto& sig : s.signatures) {
    std::printf("  %s (subgraph %s)\n", sig.key.c_str(), sig.subgraph.c_str());
    PrintSignatureTensors("in ", sig.inputs);
    PrintSignatureTensors("out", sig.outputs);
  }
  int total_ops = 0;
  for (const auto& [op, n] : s.op_counts) total_ops += n;
  std::printf("ops: %d in %zu subgraphs\n", total_ops, s.subgraphs.size());
  PrintCounts("ops by type", s.op_counts);
  PrintCounts("ops by operand dtypes (main inputs -> output; (deq) = DEQUANTIZE of a constant)",
              s.op_dtype_counts);
  PrintCounts("ops by compute class", s.compute_class_counts);
  PrintCounts("ops computing in float", s.float_op_counts);
  std::printf("constant bytes by dtype\n");
  for (const auto& [dtype, bytes] : s.constant_bytes) {
    std::printf("  %-10s %12llu  %s\n", dtype.c_str(), static_cast<unsigned long long>(bytes),
                Megabytes(bytes).c_str());
  }
  std::printf("  %-10s %12llu  %s\n", "total",
              static_cast<unsigned long long>(s.total_constant_bytes),
              Megabytes(s.total_constant_bytes).c_str());
  std::printf("metadata\n");
  for (const auto& [key, bytes] : s.metadata) {
    // One line per field of a JSON object (values compact), else the value itself.
    const nlohmann::json value = eval::MetadataValueJson(bytes);
    const auto dump = [](const nlohmann::json& v) {
      return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    };
    if (value.is_object()) {
      std::printf("  %s\n", key.c_str());
      for (const auto& [field, v] : value.items()) {
        std::printf("    %-24s %s\n", field.c_str(), dump(v).c_str());
      }
    } else {
      std::printf("  %s: %s\n", key.c_str(),
                  value.is_string() ? value.get<std::string>().c_str() : dump(value).c_str());
    }
  }
}

void PrintKeys(const char* title, const std::vector<std::string>& keys,
               const std::map<std::string, int>& kinds, int examples) {
  std::printf("%s: %zu tensors", title, keys.size());
  for (const auto& [kind, n] : kinds) std::printf(", %d %s", n, kind.c_str());
  std::printf("\n");
  for (size_t i = 0; i < keys.size() && static_cast<int>(i) < examples; ++i) {
    std::printf("    %s\n", keys[i].c_str());
  }
  if (static_cast<int>(keys.size()) > examples) std::printf("    ...\n");
}

void PrintDiff(const Inspected& a, const Inspected& b, const eval::ModelDiff& d, int examples) {
  std::printf("diff %s -> %s\n", a.path.c_str(), b.path.c_str());
  std::printf("constant bytes by dtype\n");
  std::set<std::string> dtypes;
  for (const auto& [dtype, n] : a.summary.constant_bytes) dtypes.insert(dtype);
  for (const auto& [dtype, n] : b.summary.constant_bytes) dtypes.insert(dtype);
  const auto bytes_of = [](const eval::ModelSummary& s, const std::string& dtype) {
    auto it = s.constant_bytes.find(dtype);
    return it == s.constant_bytes.end() ? uint64_t{0} : it->second;
  };
  for (const std::string& dtype : dtypes) {
    std::printf("  %-10s %12s -> %s\n", dtype.c_str(),
                Megabytes(bytes_of(a.summary, dtype)).c_str(),
                Megabytes(bytes_of(b.summary, dtype)).c_str());
  }
  std::printf("  %-10s %12s -> %s\n", "total", Megabytes(a.summary.total_constant_bytes).c_str(),
              Megabytes(b.summary.total_constant_bytes).c_str());
  std::printf("op counts that changed%s\n", d.op_count_changes.empty() ? ": none" : "");
  for (const auto& [op, n] : d.op_count_changes) {
    std::printf("  %-24s %6d -> %d\n", op.c_str(), n.first, n.second);
  }
  // Tensor changes grouped by what changed, with a few example names each.
  std::map<std::string, std::vector<std::string>> groups;
  for (const auto& c : d.changed_tensors) {
    std::string before = c.before.substr(0, c.before.find(' '));
    std::string after = c.after.substr(0, c.after.find(' '));
    const auto storage = [](const std::string& desc) { return desc.substr(desc.find(']') + 2); };
    std::string key = before + " " + storage(c.before) + " -> " + after + " " + storage(c.after);
    if (c.shape_changed) key += " (shape changed)";
    if (c.quantization_changed)
      key += " (quantization: " + c.quant_before + " -> " + c.quant_after + ")";
    groups[key].push_back(c.key);
  }
  std::printf("changed tensors: %zu\n", d.changed_tensors.size());
  for (const auto& [what, keys] : groups) {
    std::printf("  %zu x %s\n", keys.size(), what.c_str());
    for (size_t i = 0; i < keys.size() && static_cast<int>(i) < examples; ++i) {
      std::printf("      %s\n", keys[i].c_str());
    }
    if (static_cast<int>(keys.size()) > examples) std::printf("      ...\n");
  }
  PrintKeys("only in first", d.only_in_first, d.only_in_first_kinds, examples);
  PrintKeys("only in second", d.only_in_second, d.only_in_second_kinds, examples);
  std::printf("ops matched by output name: %d\n", d.matched_ops);
  PrintCounts("operand dtype changes of matched ops", d.input_dtype_changes);
  PrintCounts("compute class moves (float <-> integer/hybrid)", d.compute_class_moves);
  PrintCounts("ops only in first", d.ops_only_in_first);
  PrintCounts("ops only in second", d.ops_only_in_second);
}

Status RunInspect(const InspectArgs& args) {
  LITEQ_ASSIGN_OR_RETURN(Inspected first, Inspect(args.model, args.tensors));
  const bool with_tensors = !args.tensors.empty();
  if (args.other.empty()) {
    if (args.json) {
      nlohmann::json j =
          eval::SummaryToJson(first.summary, with_tensors ? &first.matched : nullptr);
      j["path"] = first.path;
      std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      PrintSummary(first);
      if (with_tensors) PrintTensors(first.matched);
    }
    return Status::Ok();
  }
  LITEQ_ASSIGN_OR_RETURN(Inspected second, Inspect(args.other, args.tensors));
  const eval::ModelDiff diff = eval::DiffModels(first.summary, second.summary);
  if (args.json) {
    nlohmann::json a = eval::SummaryToJson(first.summary, with_tensors ? &first.matched : nullptr);
    nlohmann::json b =
        eval::SummaryToJson(second.summary, with_tensors ? &second.matched : nullptr);
    a["path"] = first.path;
    b["path"] = second.path;
    nlohmann::json j = {{"first", a}, {"second", b}, {"diff", eval::DiffToJson(diff)}};
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    PrintDiff(first, second, diff, args.examples);
    if (with_tensors) {
      std::printf("first: ");
      PrintTensors(first.matched);
      std::printf("second: ");
      PrintTensors(second.matched);
    }
  }
  return Status::Ok();
}

void SetupInspect(CLI::App& app, Status* result) {
  auto args = std::make_shared<InspectArgs>();
  auto* cmd = app.add_subcommand(
      "inspect", "Show what a .tflite file contains, or how a second file differs from it");
  cmd->add_option("model", args->model, "The .tflite model")->required();
  cmd->add_option("other", args->other, "A second .tflite: print how it differs from the first");
  cmd->add_option("--tensors", args->tensors,
                  "List tensors whose name matches this regex (dtype, shape, scales, zero points)");
  cmd->add_option("--examples", args->examples,
                  "Example tensor names per group in a diff (default 5)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([args, result] { *result = RunInspect(*args); });
}

}  // namespace
LITEQ_REGISTER_COMMAND("inspect", SetupInspect);
}  // namespace liteq::cli

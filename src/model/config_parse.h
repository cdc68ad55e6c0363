// Internal to liteq_model's config parsing: typed access to config.json keys and the
// parts of ParseModelConfig that read RoPE parameters, layer types and token ids.
#ifndef LITEQ_MODEL_CONFIG_PARSE_H_
#define LITEQ_MODEL_CONFIG_PARSE_H_

#include <climits>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "model/config.h"

namespace liteq::model::config_internal {

using json = nlohmann::json;

// Typed access to config keys. A JSON null counts as absent (transformers writes
// null for unset optional values). Every error names the file and the key.
class Keys {
 public:
  Keys(const json& j, const std::string& source, std::string prefix = "")
      : j_(j), source_(source), prefix_(std::move(prefix)) {}

  bool Has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }
  const json& At(const char* key) const { return j_.at(key); }

  Status Error(const char* key, const std::string& what) const {
    return InvalidArgumentError(source_ + ": key '" + prefix_ + key + "' " + what);
  }

  Result<int> Int(const char* key) const {
    if (!Has(key)) return Error(key, "is required but missing");
    const json& v = j_.at(key);
    if (v.is_number_integer()) {
      const int64_t x = v.get<int64_t>();
      if (x < INT32_MIN || x > INT32_MAX) return Error(key, "is out of range");
      return static_cast<int>(x);
    }
    if (v.is_number_float()) {  // 64.0 written by some exporters
      const double d = v.get<double>();
      if (std::floor(d) == d && std::fabs(d) < 2e9) return static_cast<int>(d);
    }
    return Error(key, "must be an integer, got " + v.dump());
  }
  Result<int> Int(const char* key, int fallback) const {
    return Has(key) ? Int(key) : Result<int>(fallback);
  }
  Result<double> Number(const char* key) const {
    if (!Has(key)) return Error(key, "is required but missing");
    const json& v = j_.at(key);
    if (!v.is_number()) return Error(key, "must be a number, got " + v.dump());
    const double d = v.get<double>();
    if (!std::isfinite(d)) return Error(key, "must be finite");
    return d;
  }
  Result<double> Number(const char* key, double fallback) const {
    return Has(key) ? Number(key) : Result<double>(fallback);
  }
  Result<bool> Bool(const char* key, bool fallback) const {
    if (!Has(key)) return fallback;
    const json& v = j_.at(key);
    if (!v.is_boolean()) return Error(key, "must be true or false, got " + v.dump());
    return v.get<bool>();
  }
  Result<std::string> String(const char* key, const std::string& fallback) const {
    if (!Has(key)) return fallback;
    const json& v = j_.at(key);
    if (!v.is_string()) return Error(key, "must be a string, got " + v.dump());
    return v.get<std::string>();
  }

  const std::string& source() const { return source_; }
  const std::string& prefix() const { return prefix_; }

 private:
  const json& j_;
  const std::string& source_;
  std::string prefix_;
};

// Family defaults of the RoPE keys (configuration_<family>.py).
struct RopeDefaults {
  double theta = 10000.0;        // rope_theta
  double local_theta = 10000.0;  // gemma3 rope_local_base_freq
  double partial = 1.0;          // partial_rotary_factor
};

// Reads rope_parameters (transformers 5, possibly nested per layer type) or the
// older rope_theta / rope_scaling / rope_local_base_freq keys into c->rope_full and
// c->rope_sliding; `local_global`: sliding layers have their own base (gemma3).
Status ParseRope(const json& j, const Keys& k, const RopeDefaults& d, bool local_global,
                 ModelConfig* c, double* partial);

// c->layer_types from "layer_types" or the family's rule (needs num_layers,
// model_type and sliding_window set).
Status ParseLayerTypes(const json& j, const Keys& k, ModelConfig* c);

// gemma3n_text "intermediate_size": an int (every layer) or a list with one width per
// layer (Gemma3nTextConfig). Sets c->intermediate_size (the widest) and
// c->intermediate_sizes. Needs num_layers.
Status ParseIntermediateSizes(const json& j, const Keys& k, ModelConfig* c);

// The gemma3n_text keys (AltUp, LAuReL, per-layer embeddings, activation sparsity, KV
// sharing) with Gemma3nTextConfig's defaults. Needs num_layers and layer_types.
Status ParseGemma3n(const json& j, const Keys& k, ModelConfig* c);

// An int, a list of ints or null (absent).
Result<std::vector<int>> ParseTokenIds(const Keys& k, const json& j, const char* key);

}  // namespace liteq::model::config_internal

#endif  // LITEQ_MODEL_CONFIG_PARSE_H_

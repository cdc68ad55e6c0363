// The Hugging Face BPE model (tokenizers/src/models/bpe): vocabulary, ranked merges,
// unknown-token handling, byte fallback and the per-word merge loop.
#ifndef LITEQ_TOKENIZER_BPE_MODEL_H_
#define LITEQ_TOKENIZER_BPE_MODEL_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "liteq/status.h"

namespace liteq::tokenizer {

struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int32_t, StringViewHash, std::equal_to<>>;

// Open-addressing hash map from a token-id pair to its merge: the merge loop's hot
// lookup (a node-based std::unordered_map costs a cache miss per probe).
class PairMergeMap {
 public:
  struct Value {
    int32_t rank;
    int32_t new_id;
  };
  void Reserve(size_t n);
  // Inserts or overwrites.
  void Set(uint64_t key, Value value);
  const Value* Find(uint64_t key) const {
    if (keys_.empty()) return nullptr;
    for (size_t i = Slot(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key) return &values_[i];
      if (keys_[i] == kEmpty) return nullptr;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};  // ids are non-negative
  size_t Slot(uint64_t key) const {
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 20) & mask_;
  }
  std::vector<uint64_t> keys_;
  std::vector<Value> values_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

class BpeModel {
 public:
  // `model` is tokenizer.json's "model" object with "type": "BPE".
  static Result<std::unique_ptr<BpeModel>> FromJson(const nlohmann::json& model);

  // Appends the ids of one pre-tokenized word.
  void Tokenize(std::string_view word, std::vector<int32_t>& out) const;

  std::optional<int32_t> TokenToId(std::string_view token) const;
  // The vocabulary string of `id`, or nullptr when the model has no such id.
  const std::string* IdToToken(int32_t id) const;
  // One past the largest id in the vocabulary.
  int32_t id_limit() const { return static_cast<int32_t>(id_to_token_.size()); }

 private:
  using MergeInfo = PairMergeMap::Value;
  static uint64_t PairKey(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  const MergeInfo* FindMerge(int32_t a, int32_t b) const;
  void MergeWord(std::string_view word, std::vector<int32_t>& out) const;
  Status AddMerge(const std::string& a, const std::string& b, int32_t rank);

  TokenMap vocab_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> has_id_;
  PairMergeMap merges_;
  std::optional<int32_t> unk_id_;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  std::optional<int32_t> byte_ids_[256];

  // Per-word results; words repeat a lot in natural text.
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringViewHash, std::equal_to<>>
      cache_;
};

}  // namespace liteq::tokenizer

#endif  // LITEQ_TOKENIZER_BPE_MODEL_H_

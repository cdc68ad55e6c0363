#include "tokenizer/bpe_model.h"

#include <cstdio>
#include <queue>

#include "tokenizer/json_util.h"
#include "tokenizer/unicode.h"

namespace liteq::tokenizer {
namespace {

// Ids are dense in practice; this bound keeps a hostile file from making liteq allocate
// an id table of billions of entries.
constexpr int64_t kMaxTokenId = 1 << 24;
constexpr size_t kMaxCacheEntries = 1 << 18;
constexpr size_t kMaxCachedWordBytes = 256;

struct Symbol {
  int32_t id;
  int32_t prev;
  int32_t next;
  uint32_t len;  // bytes of the original word covered; 0 marks a merged-away symbol
};

// Queue entry of Word::merge_all: the lowest rank pops first, ties by leftmost position.
struct Candidate {
  int32_t rank;
  int32_t pos;
  int32_t new_id;
  bool operator<(const Candidate& o) const {
    if (rank != o.rank) return rank > o.rank;
    return pos > o.pos;
  }
};

}  // namespace

void PairMergeMap::Reserve(size_t n) {
  size_t capacity = 16;
  while (capacity < 2 * n) capacity *= 2;
  if (capacity <= keys_.size()) return;
  std::vector<uint64_t> old_keys = std::move(keys_);
  std::vector<Value> old_values = std::move(values_);
  keys_.assign(capacity, kEmpty);
  values_.assign(capacity, Value{0, 0});
  mask_ = capacity - 1;
  size_ = 0;
  for (size_t i = 0; i < old_keys.size(); ++i) {
    if (old_keys[i] != kEmpty) Set(old_keys[i], old_values[i]);
  }
}

void PairMergeMap::Set(uint64_t key, Value value) {
  if (2 * (size_ + 1) > keys_.size()) Reserve(size_ + 1 > 8 ? 2 * (size_ + 1) : 16);
  for (size_t i = Slot(key);; i = (i + 1) & mask_) {
    if (keys_[i] == key) {
      values_[i] = value;
      return;
    }
    if (keys_[i] == kEmpty) {
      keys_[i] = key;
      values_[i] = value;
      ++size_;
      return;
    }
  }
}

Result<std::unique_ptr<BpeModel>> BpeModel::FromJson(const nlohmann::json& model) {
  auto m = std::unique_ptr<BpeModel>(new BpeModel());
  if (!model.contains("vocab") || !model["vocab"].is_object()) {
    return InvalidArgumentError("model: missing object 'vocab'");
  }
  int64_t max_id = -1;
  for (const auto& [token, id_json] : model["vocab"].items()) {
    if (!id_json.is_number_integer()) {
      return InvalidArgumentError("model.vocab: id of '" + token + "' is not an integer");
    }
    const int64_t id = id_json.get<int64_t>();
    if (id < 0 || id >= kMaxTokenId) {
      return InvalidArgumentError("model.vocab: id " + std::to_string(id) + " of '" + token +
                                  "' is out of range");
    }
    m->vocab_.emplace(token, static_cast<int32_t>(id));
    max_id = std::max(max_id, id);
  }
  m->id_to_token_.resize(static_cast<size_t>(max_id + 1));
  m->has_id_.assign(static_cast<size_t>(max_id + 1), false);
  for (const auto& [token, id] : m->vocab_) {
    if (m->has_id_[id]) continue;  // a duplicated id decodes to one of its tokens
    m->id_to_token_[id] = token;
    m->has_id_[id] = true;
  }

  auto opt_string = [&](const char* key) -> Result<std::string> {
    if (!model.contains(key) || model[key].is_null()) return std::string();
    return GetString(model, key, "model");
  };
  LITEQ_ASSIGN_OR_RETURN(m->continuing_subword_prefix_, opt_string("continuing_subword_prefix"));
  LITEQ_ASSIGN_OR_RETURN(m->end_of_word_suffix_, opt_string("end_of_word_suffix"));
  LITEQ_ASSIGN_OR_RETURN(const std::string unk, opt_string("unk_token"));
  if (!unk.empty()) {
    const auto it = m->vocab_.find(unk);
    if (it == m->vocab_.end()) {
      return InvalidArgumentError("model: unk_token '" + unk + "' is not in the vocabulary");
    }
    m->unk_id_ = it->second;
  }
  LITEQ_ASSIGN_OR_RETURN(m->byte_fallback_, GetBool(model, "byte_fallback", false, "model"));
  LITEQ_ASSIGN_OR_RETURN(m->fuse_unk_, GetBool(model, "fuse_unk", false, "model"));
  LITEQ_ASSIGN_OR_RETURN(m->ignore_merges_, GetBool(model, "ignore_merges", false, "model"));
  // "dropout" only matters for training-time sampling; liteq reproduces inference
  // (dropout unset), so the field is ignored.
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    if (const auto it = m->vocab_.find(std::string_view(name)); it != m->vocab_.end()) {
      m->byte_ids_[b] = it->second;
    }
  }

  if (!model.contains("merges") || model["merges"].is_null()) return m;
  if (!model["merges"].is_array()) return InvalidArgumentError("model: 'merges' is not an array");
  const auto& merges = model["merges"];
  m->merges_.Reserve(merges.size());
  int32_t rank = 0;
  for (const auto& entry : merges) {
    std::string a, b;
    if (entry.is_string()) {
      // Legacy format "a b".
      const std::string line = entry.get<std::string>();
      const size_t space = line.find(' ');
      if (space == std::string::npos) {
        return InvalidArgumentError("model.merges[" + std::to_string(rank) + "]: '" + line +
                                    "' is not of the form 'a b'");
      }
      a = line.substr(0, space);
      b = line.substr(space + 1);
    } else if (entry.is_array() && entry.size() == 2 && entry[0].is_string() &&
               entry[1].is_string()) {
      a = entry[0].get<std::string>();
      b = entry[1].get<std::string>();
    } else {
      return InvalidArgumentError("model.merges[" + std::to_string(rank) +
                                  "]: expected \"a b\" or [a, b]");
    }
    LITEQ_RETURN_IF_ERROR(m->AddMerge(a, b, rank));
    ++rank;
  }
  return m;
}

Status BpeModel::AddMerge(const std::string& a, const std::string& b, int32_t rank) {
  const auto ia = vocab_.find(a);
  const auto ib = vocab_.find(b);
  if (ia == vocab_.end() || ib == vocab_.end()) {
    return InvalidArgumentError("model.merges[" + std::to_string(rank) + "]: token '" +
                                (ia == vocab_.end() ? a : b) + "' is not in the vocabulary");
  }
  // HF: the merged token drops b's continuing-subword prefix.
  std::string merged = a;
  if (!continuing_subword_prefix_.empty() &&
      b.compare(0, continuing_subword_prefix_.size(), continuing_subword_prefix_) == 0) {
    merged += b.substr(continuing_subword_prefix_.size());
  } else {
    merged += b;
  }
  const auto im = vocab_.find(merged);
  if (im == vocab_.end()) {
    return InvalidArgumentError("model.merges[" + std::to_string(rank) + "]: merged token '" +
                                merged + "' is not in the vocabulary");
  }
  // A repeated pair keeps its last rank, as HF's HashMap collect does.
  merges_.Set(PairKey(ia->second, ib->second), MergeInfo{rank, im->second});
  return Status::Ok();
}

const BpeModel::MergeInfo* BpeModel::FindMerge(int32_t a, int32_t b) const {
  return merges_.Find(PairKey(a, b));
}

std::optional<int32_t> BpeModel::TokenToId(std::string_view token) const {
  const auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::IdToToken(int32_t id) const {
  if (id < 0 || id >= id_limit() || !has_id_[id]) return nullptr;
  return &id_to_token_[id];
}

void BpeModel::Tokenize(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    if (const auto it = vocab_.find(word); it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  const bool cacheable = word.size() <= kMaxCachedWordBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (const auto it = cache_.find(word); it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids;
  MergeWord(word, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() >= kMaxCacheEntries) cache_.clear();
    cache_.emplace(std::string(word), std::move(ids));
  }
}

// BPE::merge_word followed by Word::merge_all (tokenizers/src/models/bpe/{model,word}.rs).
void BpeModel::MergeWord(std::string_view word, std::vector<int32_t>& out) const {
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  auto add = [&symbols](int32_t id, size_t len) {
    const auto n = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, n - 1, -1, static_cast<uint32_t>(len)});
    if (n > 0) symbols[n - 1].next = n;
  };
  // A pending unknown token (id < 0: none); consecutive ones fuse when fuse_unk is set.
  int32_t unk_pending = -1;
  size_t unk_pending_len = 0;
  std::string piece;
  size_t pos = 0;
  while (pos < word.size()) {
    const size_t start = pos;
    size_t n = ValidUtf8SequenceLength(word, pos);
    if (n == 0) n = 1;  // pieces are valid UTF-8; stay safe anyway
    pos += n;
    piece.clear();
    if (start > 0) piece += continuing_subword_prefix_;
    piece.append(word.substr(start, n));
    if (pos >= word.size()) piece += end_of_word_suffix_;

    if (const auto it = vocab_.find(piece); it != vocab_.end()) {
      if (unk_pending >= 0) {
        add(unk_pending, unk_pending_len);
        unk_pending = -1;
      }
      add(it->second, n);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (char c : piece) all = all && byte_ids_[static_cast<uint8_t>(c)].has_value();
      if (all) {
        // HF adds the byte tokens without flushing a pending unknown token first.
        for (char c : piece) add(*byte_ids_[static_cast<uint8_t>(c)], 1);
        continue;
      }
    }
    if (unk_id_) {
      if (unk_pending >= 0 && fuse_unk_) {
        unk_pending_len += n;
      } else {
        if (unk_pending >= 0) add(unk_pending, unk_pending_len);
        unk_pending = *unk_id_;
        unk_pending_len = n;
      }
    }
  }
  if (unk_pending >= 0) add(unk_pending, unk_pending_len);

  std::priority_queue<Candidate> queue;
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (const MergeInfo* m = FindMerge(symbols[i].id, symbols[i + 1].id)) {
      queue.push({m->rank, static_cast<int32_t>(i), m->new_id});
    }
  }
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& cur = symbols[top.pos];
    if (cur.len == 0 || cur.next == -1) continue;
    const int32_t next_pos = cur.next;
    const Symbol right = symbols[next_pos];
    const MergeInfo* m = FindMerge(cur.id, right.id);
    if (m == nullptr || m->new_id != top.new_id) continue;  // stale entry
    cur.id = top.new_id;
    cur.len += right.len;
    cur.next = right.next;
    symbols[next_pos].len = 0;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (cur.prev >= 0) {
      if (const MergeInfo* pm = FindMerge(symbols[cur.prev].id, cur.id)) {
        queue.push({pm->rank, cur.prev, pm->new_id});
      }
    }
    if (cur.next >= 0) {
      if (const MergeInfo* nm = FindMerge(cur.id, symbols[cur.next].id)) {
        queue.push({nm->rank, top.pos, nm->new_id});
      }
    }
  }
  for (const Symbol& s : symbols) {
    if (s.len != 0) out.push_back(s.id);
  }
}

}  // namespace liteq::tokenizer

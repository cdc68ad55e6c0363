#include "tokenizer/llama2c_tokenizer.h"

#include <cmath>
#include <cstring>
#include <queue>

#include "tokenizer/unicode.h"

namespace liteq::tokenizer {
namespace {

constexpr int32_t kMaxVocab = 1 << 22;
constexpr int32_t kMaxPieceLength = 1 << 16;

bool ParseBytePiece(const std::string& piece, uint8_t* byte) {
  // run.c: sscanf(piece, "<0x%02hhX>", &byte_val)
  if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>') return false;
  int v = 0;
  for (int i = 3; i < 5; ++i) {
    const char c = piece[i];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    v = v * 16 + d;
  }
  *byte = static_cast<uint8_t>(v);
  return true;
}

// A symbol of the merge loop (doubly linked; `version` invalidates queued pairs).
struct Node {
  int32_t id;
  int32_t prev, next;
  uint32_t version;
  bool alive;
};

struct PairCandidate {
  float score;
  int32_t left;  // node index; node order is sequence order, so smaller = further left
  uint32_t left_version, right_version;
  int32_t right;
  int32_t merged_id;
  bool operator<(const PairCandidate& o) const {
    if (score != o.score) return score < o.score;  // max score first
    return left > o.left;                          // then leftmost
  }
};

}  // namespace

Result<std::unique_ptr<Llama2cTokenizer>> Llama2cTokenizer::FromBytes(const std::string& bytes,
                                                                      const std::string& source) {
  auto tok = std::unique_ptr<Llama2cTokenizer>(new Llama2cTokenizer());
  tok->source_ = source;
  size_t pos = 0;
  auto read_i32 = [&](int32_t* v) {
    if (bytes.size() - pos < 4) return false;
    std::memcpy(v, bytes.data() + pos, 4);
    pos += 4;
    return true;
  };
  int32_t max_token_length = 0;
  if (!read_i32(&max_token_length) || max_token_length <= 0 || max_token_length > kMaxPieceLength) {
    return DataLossError(source + ": not a llama2.c tokenizer (bad max_token_length)");
  }
  while (pos < bytes.size()) {
    const auto id = static_cast<int32_t>(tok->pieces_.size());
    if (id >= kMaxVocab) return DataLossError(source + ": too many tokens");
    float score = 0;
    int32_t len = 0;
    if (bytes.size() - pos < 8) {
      return DataLossError(source + ": truncated record of token " + std::to_string(id));
    }
    std::memcpy(&score, bytes.data() + pos, 4);
    std::memcpy(&len, bytes.data() + pos + 4, 4);
    pos += 8;
    if (len < 0 || len > kMaxPieceLength || bytes.size() - pos < static_cast<size_t>(len)) {
      return DataLossError(source + ": token " + std::to_string(id) + " has bad length " +
                           std::to_string(len));
    }
    if (!std::isfinite(score)) {
      return DataLossError(source + ": token " + std::to_string(id) + " has a non-finite score");
    }
    tok->pieces_.emplace_back(bytes.data() + pos, static_cast<size_t>(len));
    tok->scores_.push_back(score);
    pos += static_cast<size_t>(len);
    tok->lookup_.emplace(tok->pieces_.back(), id);  // keeps the lowest id of a duplicate
  }
  if (tok->pieces_.size() < static_cast<size_t>(kByteOffset + 256)) {
    return DataLossError(source + ": only " + std::to_string(tok->pieces_.size()) +
                         " tokens; llama2.c tokenizers have <unk>, BOS, EOS and 256 byte tokens");
  }
  return tok;
}

std::vector<int32_t> Llama2cTokenizer::Encode(std::string_view text, bool add_special) const {
  std::vector<int32_t> ids;
  if (add_special) ids.push_back(kBos);
  auto lookup_or_bytes = [&](std::string_view s) {
    if (const auto it = lookup_.find(s); it != lookup_.end()) {
      ids.push_back(it->second);
    } else {
      for (char c : s) ids.push_back(static_cast<uint8_t>(c) + kByteOffset);
    }
  };
  if (!text.empty()) lookup_or_bytes(" ");  // add_dummy_prefix
  // run.c groups a lead byte with at most 3 following continuation bytes.
  size_t i = 0;
  while (i < text.size()) {
    size_t n = 1;
    while (i + n < text.size() && n < 4 && (static_cast<uint8_t>(text[i + n]) & 0xC0) == 0x80) {
      ++n;
    }
    lookup_or_bytes(text.substr(i, n));
    i += n;
  }

  // Greedy highest-score merging, as run.c's O(n^2) loop but with a priority queue.
  std::vector<Node> nodes(ids.size());
  for (size_t k = 0; k < ids.size(); ++k) {
    nodes[k] = {ids[k], static_cast<int32_t>(k) - 1,
                k + 1 < ids.size() ? static_cast<int32_t>(k + 1) : -1, 0, true};
  }
  std::priority_queue<PairCandidate> queue;
  std::string concat;
  auto push_pair = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    concat = pieces_[nodes[left].id];
    concat += pieces_[nodes[right].id];
    const auto it = lookup_.find(concat);
    if (it == lookup_.end()) return;
    queue.push(
        {scores_[it->second], left, nodes[left].version, nodes[right].version, right, it->second});
  };
  for (size_t k = 0; k + 1 < nodes.size(); ++k) {
    push_pair(static_cast<int32_t>(k), static_cast<int32_t>(k + 1));
  }
  while (!queue.empty()) {
    const PairCandidate c = queue.top();
    queue.pop();
    Node& l = nodes[c.left];
    Node& r = nodes[c.right];
    if (!l.alive || !r.alive || l.next != c.right || l.version != c.left_version ||
        r.version != c.right_version) {
      continue;
    }
    l.id = c.merged_id;
    ++l.version;
    r.alive = false;
    l.next = r.next;
    if (r.next >= 0) nodes[r.next].prev = c.left;
    push_pair(l.prev, c.left);
    push_pair(c.left, l.next);
  }
  std::vector<int32_t> out;
  out.reserve(nodes.size());
  for (const Node& n : nodes) {
    if (n.alive) out.push_back(n.id);
  }
  return out;
}

std::string Llama2cTokenizer::Decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string text;
  int32_t prev = -1;
  for (const int32_t id : ids) {
    if (id < 0 || id >= vocab_size()) continue;
    const int32_t previous = prev;
    prev = id;
    if (skip_special && IsSpecial(id)) continue;
    const std::string& piece = pieces_[id];
    uint8_t byte = 0;
    if (ParseBytePiece(piece, &byte)) {
      text.push_back(static_cast<char>(byte));
    } else if (previous == kBos && !piece.empty() && piece[0] == ' ') {
      text.append(piece, 1, std::string::npos);
    } else {
      text += piece;
    }
  }
  return ToValidUtf8Lossy(text);
}

std::string Llama2cTokenizer::IdToPiece(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return std::string();
  return pieces_[id];
}

std::optional<int32_t> Llama2cTokenizer::PieceToId(std::string_view piece) const {
  const auto it = lookup_.find(piece);
  if (it == lookup_.end()) return std::nullopt;
  return it->second;
}

}  // namespace liteq::tokenizer

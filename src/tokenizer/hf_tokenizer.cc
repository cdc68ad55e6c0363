#include "tokenizer/hf_tokenizer.h"

#include <filesystem>

#include "common/mapped_file.h"
#include "tokenizer/json_util.h"
#include "tokenizer/unicode.h"

namespace liteq::tokenizer {
namespace {

// The ids of a special-token name in TemplateProcessing's special_tokens table.
Result<std::vector<int32_t>> TemplateTokenIds(const nlohmann::json& special_tokens,
                                              const std::string& name) {
  if (special_tokens.is_object() && special_tokens.contains(name)) {
    const auto& entry = special_tokens[name];
    if (!entry.contains("ids") || !entry["ids"].is_array()) {
      return InvalidArgumentError("post_processor: special token '" + name + "' has no 'ids'");
    }
    std::vector<int32_t> ids;
    for (const auto& id : entry["ids"]) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= (1 << 24)) {
        return InvalidArgumentError("post_processor: bad id for special token '" + name + "'");
      }
      ids.push_back(id.get<int32_t>());
    }
    return ids;
  }
  return InvalidArgumentError("post_processor: special token '" + name +
                              "' is not in 'special_tokens'");
}

// [token, id] pairs of BertProcessing / RobertaProcessing.
Result<int32_t> PairId(const nlohmann::json& spec, const char* key) {
  if (!spec.contains(key) || !spec[key].is_array() || spec[key].size() != 2 ||
      !spec[key][1].is_number_integer()) {
    return InvalidArgumentError(std::string("post_processor: '") + key + "' must be [token, id]");
  }
  const int64_t id = spec[key][1].get<int64_t>();
  if (id < 0 || id >= (1 << 24)) return InvalidArgumentError("post_processor: id out of range");
  return static_cast<int32_t>(id);
}

// The JSON file `name` next to `source`, or null when absent or unreadable: these files
// only add optional metadata.
nlohmann::json ReadSiblingJson(const std::string& source, const char* name) {
  std::error_code ec;
  const auto path = std::filesystem::path(source).parent_path() / name;
  if (!std::filesystem::is_regular_file(path, ec)) return nullptr;
  auto text = ReadFileToString(path.string());
  if (!text.ok()) return nullptr;
  auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

// "bos_token": "<s>" or {"content": "<s>", ...} in tokenizer_config.json.
std::optional<std::string> TokenName(const nlohmann::json& config, const char* key) {
  if (!config.is_object() || !config.contains(key)) return std::nullopt;
  const auto& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) {
    return v["content"].get<std::string>();
  }
  return std::nullopt;
}

// "eos_token_id": 2 or [2, 7] in config.json / generation_config.json.
std::optional<int32_t> TokenIdField(const nlohmann::json& config, const char* key) {
  if (!config.is_object() || !config.contains(key)) return std::nullopt;
  const auto& v = config[key];
  const nlohmann::json* first = &v;
  if (v.is_array()) {
    if (v.empty()) return std::nullopt;
    first = &v[0];
  }
  if (!first->is_number_integer()) return std::nullopt;
  const int64_t id = first->get<int64_t>();
  if (id < 0 || id >= (1 << 24)) return std::nullopt;
  return static_cast<int32_t>(id);
}

}  // namespace

Result<std::unique_ptr<HfTokenizer>> HfTokenizer::FromJsonText(const std::string& json_text,
                                                               const std::string& source) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(source + ": not valid JSON: " + e.what());
  }
  auto tok = std::unique_ptr<HfTokenizer>(new HfTokenizer());
  tok->source_ = source;
  Status status;
  try {
    status = tok->Init(root);
  } catch (const nlohmann::json::exception& e) {
    status = InvalidArgumentError(std::string("unexpected JSON structure: ") + e.what());
  }
  if (!status.ok()) return status.WithContext(source);
  return tok;
}

Status HfTokenizer::Init(const nlohmann::json& root) {
  if (!root.is_object()) return InvalidArgumentError("top level is not a JSON object");
  if (!root.contains("model") || !root["model"].is_object()) {
    return InvalidArgumentError("missing object 'model'");
  }
  const auto& model = root["model"];
  std::string type = "BPE";  // older files omit the model type
  if (model.contains("type")) {
    LITEQ_ASSIGN_OR_RETURN(type, GetString(model, "type", "model"));
  }
  if (type != "BPE") {
    return UnimplementedError("model type '" + type + "' is not supported (only BPE)");
  }
  LITEQ_ASSIGN_OR_RETURN(model_, BpeModel::FromJson(model));
  const nlohmann::json null_json;
  auto field = [&](const char* key) -> const nlohmann::json& {
    return root.contains(key) ? root[key] : null_json;
  };
  LITEQ_ASSIGN_OR_RETURN(normalizer_, MakeNormalizer(field("normalizer")));
  LITEQ_ASSIGN_OR_RETURN(pre_tokenizer_, MakePreTokenizer(field("pre_tokenizer")));
  LITEQ_ASSIGN_OR_RETURN(decoder_, MakeDecoder(field("decoder")));
  LITEQ_RETURN_IF_ERROR(added_.Init(field("added_tokens"), normalizer_.get()));
  LITEQ_RETURN_IF_ERROR(InitPostProcessor(field("post_processor")));
  vocab_size_ = std::max(model_->id_limit(), added_.id_limit());
  ResolveBosEos();
  return Status::Ok();
}

Status HfTokenizer::InitPostProcessor(const nlohmann::json& spec) {
  if (spec.is_null()) return Status::Ok();
  LITEQ_ASSIGN_OR_RETURN(const std::string type, GetType(spec, "post_processor"));
  if (type == "TemplateProcessing") {
    if (!spec.contains("single") || !spec["single"].is_array()) {
      return InvalidArgumentError("post_processor TemplateProcessing: missing array 'single'");
    }
    const nlohmann::json special =
        spec.contains("special_tokens") ? spec["special_tokens"] : nlohmann::json();
    bool seen_sequence = false;
    for (const auto& item : spec["single"]) {
      if (item.contains("Sequence")) {
        seen_sequence = true;
      } else if (item.contains("SpecialToken") && item["SpecialToken"].contains("id") &&
                 item["SpecialToken"]["id"].is_string()) {
        LITEQ_ASSIGN_OR_RETURN(
            std::vector<int32_t> ids,
            TemplateTokenIds(special, item["SpecialToken"]["id"].get<std::string>()));
        auto& dst = seen_sequence ? suffix_ids_ : prefix_ids_;
        dst.insert(dst.end(), ids.begin(), ids.end());
      } else {
        return InvalidArgumentError("post_processor TemplateProcessing: bad 'single' item");
      }
    }
    return Status::Ok();
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    LITEQ_ASSIGN_OR_RETURN(const int32_t cls, PairId(spec, "cls"));
    LITEQ_ASSIGN_OR_RETURN(const int32_t sep, PairId(spec, "sep"));
    prefix_ids_.push_back(cls);
    suffix_ids_.push_back(sep);
    return Status::Ok();
  }
  if (type == "ByteLevel") return Status::Ok();  // only adjusts offsets
  if (type == "Sequence") {
    if (!spec.contains("processors") || !spec["processors"].is_array()) {
      return InvalidArgumentError("post_processor Sequence: missing array 'processors'");
    }
    for (const auto& p : spec["processors"]) LITEQ_RETURN_IF_ERROR(InitPostProcessor(p));
    return Status::Ok();
  }
  return UnimplementedError("post_processor type '" + type + "' is not supported");
}

void HfTokenizer::ResolveBosEos() {
  const nlohmann::json tok_config = ReadSiblingJson(source_, "tokenizer_config.json");
  const nlohmann::json gen_config = ReadSiblingJson(source_, "generation_config.json");
  const nlohmann::json config = ReadSiblingJson(source_, "config.json");
  auto by_name = [this](const std::optional<std::string>& name) -> int32_t {
    if (!name) return -1;
    if (const auto id = PieceToId(*name)) return *id;
    return -1;
  };
  auto first_known = [this](std::initializer_list<const char*> names) -> int32_t {
    for (const char* n : names) {
      if (const AddedToken* t = added_.FindByContent(n)) return t->id;
    }
    return -1;
  };
  // BOS: what the post-processor adds, then the model directory's metadata, then the
  // conventional names.
  if (!prefix_ids_.empty()) bos_id_ = prefix_ids_.front();
  if (bos_id_ < 0) bos_id_ = by_name(TokenName(tok_config, "bos_token"));
  if (bos_id_ < 0) bos_id_ = TokenIdField(gen_config, "bos_token_id").value_or(-1);
  if (bos_id_ < 0) bos_id_ = TokenIdField(config, "bos_token_id").value_or(-1);
  if (bos_id_ < 0) bos_id_ = first_known({"<s>", "<|begin_of_text|>", "<bos>", "[CLS]"});

  eos_id_ = by_name(TokenName(tok_config, "eos_token"));
  if (eos_id_ < 0) eos_id_ = TokenIdField(gen_config, "eos_token_id").value_or(-1);
  if (eos_id_ < 0) eos_id_ = TokenIdField(config, "eos_token_id").value_or(-1);
  if (eos_id_ < 0 && !suffix_ids_.empty()) eos_id_ = suffix_ids_.back();
  if (eos_id_ < 0) {
    eos_id_ = first_known({"</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>", "[SEP]"});
  }
}

void HfTokenizer::EncodeText(std::string_view text, bool at_input_start,
                             std::vector<int32_t>& out) const {
  std::string normalized(text);
  if (normalizer_) normalizer_->Normalize(normalized);
  for (const Segment& seg : added_.Split(normalized, /*normalized_tokens=*/true)) {
    if (seg.token_id >= 0) {
      out.push_back(seg.token_id);
      continue;
    }
    std::vector<Piece> pieces;
    pieces.push_back(
        {normalized.substr(seg.begin, seg.end - seg.begin), at_input_start && seg.begin == 0});
    if (pre_tokenizer_) pre_tokenizer_->PreTokenize(pieces);
    for (const Piece& p : pieces) model_->Tokenize(p.text, out);
  }
}

std::vector<int32_t> HfTokenizer::Encode(std::string_view text, bool add_special) const {
  std::vector<int32_t> ids;
  const std::string valid = ToValidUtf8Lossy(text);
  if (add_special) ids = prefix_ids_;
  for (const Segment& seg : added_.Split(valid, /*normalized_tokens=*/false)) {
    if (seg.token_id >= 0) {
      ids.push_back(seg.token_id);
    } else {
      EncodeText(std::string_view(valid).substr(seg.begin, seg.end - seg.begin), seg.begin == 0,
                 ids);
    }
  }
  if (add_special) ids.insert(ids.end(), suffix_ids_.begin(), suffix_ids_.end());
  return ids;
}

std::string HfTokenizer::Decode(std::span<const int32_t> ids, bool skip_special) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (const int32_t id : ids) {
    if (const AddedToken* t = added_.FindById(id)) {
      if (!(skip_special && t->special)) tokens.push_back(t->content);
    } else if (const std::string* s = model_->IdToToken(id)) {
      tokens.push_back(*s);
    }
  }
  if (!decoder_) {
    // HF joins raw tokens with spaces when there is no decoder.
    std::string joined;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) joined.push_back(' ');
      joined += tokens[i];
    }
    return ToValidUtf8Lossy(joined);
  }
  decoder_->DecodeChain(tokens);
  std::string text;
  for (const auto& t : tokens) text += t;
  return ToValidUtf8Lossy(text);
}

std::string HfTokenizer::IdToPiece(int32_t id) const {
  if (const AddedToken* t = added_.FindById(id)) return t->content;
  if (const std::string* s = model_->IdToToken(id)) return *s;
  return std::string();
}

std::optional<int32_t> HfTokenizer::PieceToId(std::string_view piece) const {
  if (const AddedToken* t = added_.FindByContent(piece)) return t->id;
  return model_->TokenToId(piece);
}

bool HfTokenizer::IsSpecial(int32_t id) const {
  const AddedToken* t = added_.FindById(id);
  return t != nullptr && t->special;
}

}  // namespace liteq::tokenizer

#include "tokenizer/tokenizer.h"

#include <filesystem>

#include "common/mapped_file.h"
#include "tokenizer/file_reader.h"
#include "tokenizer/hf_tokenizer.h"
#include "tokenizer/llama2c_tokenizer.h"
#include "tokenizer/unicode.h"

namespace liteq::tokenizer {
namespace {

namespace fs = std::filesystem;

bool EndsWith(const std::string& s, const char* suffix) {
  const size_t n = std::char_traits<char>::length(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// Tokenizer file inside a model directory, by preference.
Result<std::string> FindInDirectory(const std::string& dir) {
  for (const char* name : {"tokenizer.json", "tokenizer.json.gz", "tokenizer.bin", "tok512.bin"}) {
    std::error_code ec;
    const fs::path p = fs::path(dir) / name;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  return NotFoundError(dir + ": no tokenizer.json, tokenizer.json.gz, tokenizer.bin or tok512.bin");
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> Tokenizer::Load(const std::string& path) {
  std::error_code ec;
  std::string file = path;
  if (fs::is_directory(path, ec)) {
    LITEQ_ASSIGN_OR_RETURN(file, FindInDirectory(path));
  } else if (!fs::exists(path, ec)) {
    return NotFoundError(path + ": no such file or directory");
  }
  if (EndsWith(file, ".model")) {
    return UnimplementedError(file +
                              ": SentencePiece .model files are not supported; use the "
                              "model's tokenizer.json");
  }
  LITEQ_ASSIGN_OR_RETURN(std::string bytes, ReadMaybeGzipFile(file));
  if (EndsWith(file, ".bin")) {
    LITEQ_ASSIGN_OR_RETURN(auto tok, Llama2cTokenizer::FromBytes(bytes, file));
    return std::unique_ptr<Tokenizer>(std::move(tok));
  }
  LITEQ_ASSIGN_OR_RETURN(auto tok, HfTokenizer::FromJsonText(bytes, file));
  return std::unique_ptr<Tokenizer>(std::move(tok));
}

std::string StreamDecoder::Push(int32_t id) {
  // More pending tokens than this that still end in U+FFFD are not an incomplete
  // character (at most 4 bytes), so they are printed as they decode.
  constexpr size_t kMaxPending = 8;
  window_.push_back(id);
  const std::string text = tokenizer_.Decode(window_, skip_special_);
  const bool extends =
      text.size() > printed_.size() && text.compare(0, printed_.size(), printed_) == 0;
  const bool give_up = window_.size() - context_len_ > kMaxPending;
  if (!give_up && (!extends || EndsWithReplacementChar(text))) return std::string();
  std::string fresh = extends ? text.substr(printed_.size()) : text;
  // The tokens that produced this text become the context of the next step: they
  // decode to whole characters, and keep leading-space rules (Strip, Metaspace, the
  // space after BOS) the same as in a decode of everything.
  window_.erase(window_.begin(), window_.begin() + static_cast<ptrdiff_t>(context_len_));
  context_len_ = window_.size();
  printed_ = tokenizer_.Decode(window_, skip_special_);
  return fresh;
}

std::string StreamDecoder::Flush() {
  const std::string text = tokenizer_.Decode(window_, skip_special_);
  std::string fresh;
  if (text.size() > printed_.size() && text.compare(0, printed_.size(), printed_) == 0) {
    fresh = text.substr(printed_.size());
  }
  Reset();
  return fresh;
}

void StreamDecoder::Reset() {
  window_.clear();
  context_len_ = 0;
  printed_.clear();
}

}  // namespace liteq::tokenizer

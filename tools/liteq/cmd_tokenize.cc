// `liteq tokenize [--tokenizer PATH] [--json] [--add-special] TEXT`: prints the ids and
// pieces of TEXT. `--file FILE.jsonl` instead tokenizes a corpus (BOS + ids + EOS per
// document, as the evaluation windows are made) and prints the count and throughput.
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "tokenizer/corpus.h"
#include "tokenizer/tokenizer.h"

namespace liteq::cli {
namespace {

struct TokenizeOptions {
  std::string tokenizer = DefaultModelDir();
  std::string text;
  std::string file;
  bool json = false;
  bool add_special = false;
};

Status TokenizeText(const tokenizer::Tokenizer& tok, const TokenizeOptions& o) {
  const std::vector<int32_t> ids = tok.Encode(o.text, o.add_special);
  std::vector<std::string> pieces;
  for (int32_t id : ids) pieces.push_back(tok.IdToPiece(id));
  if (o.json) {
    nlohmann::json out;
    out["ids"] = ids;
    // Pieces may hold partial UTF-8 (llama2.c byte pieces do not, but be safe).
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& p : pieces) arr.push_back(p);
    out["pieces"] = arr;
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return Status::Ok();
  }
  std::printf("%zu tokens (tokenizer: %s)\n", ids.size(), tok.source().c_str());
  for (size_t i = 0; i < ids.size(); ++i) {
    std::printf("%6d  %s\n", ids[i],
                nlohmann::json(pieces[i])
                    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                    .c_str());
  }
  return Status::Ok();
}

Status TokenizeFile(const tokenizer::Tokenizer& tok, const TokenizeOptions& o) {
  LITEQ_ASSIGN_OR_RETURN(const auto texts, tokenizer::ReadJsonlTexts(o.file));
  size_t bytes = 0;
  for (const auto& t : texts) bytes += t.size();
  const auto start = std::chrono::steady_clock::now();
  const auto ids = tokenizer::TokenizeDocuments(tok, texts, tok.bos_id(), tok.eos_id());
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (o.json) {
    nlohmann::json out = {{"documents", texts.size()},
                          {"bytes", bytes},
                          {"tokens", ids.size()},
                          {"seconds", s},
                          {"tokens_per_second", s > 0 ? ids.size() / s : 0.0}};
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("%s: %zu documents, %zu bytes -> %zu tokens (BOS/EOS per document)\n",
                o.file.c_str(), texts.size(), bytes, ids.size());
    std::printf("%.3f s: %.0f tokens/s, %.2f MB/s\n", s, s > 0 ? ids.size() / s : 0.0,
                s > 0 ? bytes / s / 1e6 : 0.0);
  }
  return Status::Ok();
}

void SetupTokenize(CLI::App& app, Status* result) {
  auto* cmd = app.add_subcommand("tokenize", "Show the token ids and pieces of a text");
  auto o = std::make_shared<TokenizeOptions>();
  cmd->add_option("text", o->text, "Text to tokenize");
  cmd->add_option("--tokenizer", o->tokenizer,
                  "tokenizer.json(.gz), llama2.c tokenizer .bin, or a model directory "
                  "(default: bundled model)");
  cmd->add_option("--file", o->file, "Tokenize a JSONL corpus ({\"text\": ...} per line)");
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->add_flag("--add-special", o->add_special,
                "Add the tokenizer's BOS/EOS (its post-processor) around the text");
  cmd->callback([result, o] {
    auto tok = tokenizer::Tokenizer::Load(o->tokenizer);
    if (!tok.ok()) {
      *result = tok.status();
      return;
    }
    *result = o->file.empty() ? TokenizeText(**tok, *o) : TokenizeFile(**tok, *o);
  });
}

}  // namespace
LITEQ_REGISTER_COMMAND("tokenize", SetupTokenize);
}  // namespace liteq::cli

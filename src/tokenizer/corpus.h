// Text corpora for evaluation and calibration: JSONL files with one document per line
// ({"text": ...}), tokenized the way liteq's reference data was made
// (models/*/reference.safetensors "eval.windows" / "calib.windows"): BOS + ids + EOS per
// document, all documents concatenated, cut into windows of a fixed length, the
// incomplete tail dropped.
#ifndef LITEQ_TOKENIZER_CORPUS_H_
#define LITEQ_TOKENIZER_CORPUS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "liteq/status.h"
#include "tokenizer/tokenizer.h"

namespace liteq::tokenizer {

// The "text" field of every non-empty line. Errors name the file and the line.
Result<std::vector<std::string>> ReadJsonlTexts(const std::string& path);

// BOS + Encode(text) + EOS for each document, concatenated. `bos`/`eos` < 0 are
// omitted.
std::vector<int32_t> TokenizeDocuments(const Tokenizer& tokenizer,
                                       const std::vector<std::string>& texts, int32_t bos,
                                       int32_t eos);

// Consecutive windows of `window_length` ids; the remainder is dropped. At most
// `max_windows` windows when it is positive.
std::vector<std::vector<int32_t>> MakeWindows(const std::vector<int32_t>& ids, size_t window_length,
                                              size_t max_windows = 0);

// Reads `path` and returns its windows, with the tokenizer's BOS/EOS around documents.
Result<std::vector<std::vector<int32_t>>> LoadCorpusWindows(const Tokenizer& tokenizer,
                                                            const std::string& path,
                                                            size_t window_length,
                                                            size_t max_windows = 0);

}  // namespace liteq::tokenizer

#endif  // LITEQ_TOKENIZER_CORPUS_H_

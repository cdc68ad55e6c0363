// Hugging Face model directory: config.json plus either model.safetensors or a sharded
// set described by model.safetensors.index.json ({"weight_map": {tensor: shard}}), as
// written by transformers' save_pretrained.
#ifndef LITEQ_IO_HF_DIRECTORY_H_
#define LITEQ_IO_HF_DIRECTORY_H_

#include <memory>
#include <string>

#include "io/checkpoint.h"
#include "liteq/status.h"

namespace liteq::io {

// Errors name the file (config.json, the index, a shard) and, where one is involved,
// the tensor: a shard named in the index that is missing, a tensor the index places in
// a shard that lacks it, a tensor present in two shards.
Result<std::unique_ptr<Checkpoint>> OpenHuggingFaceDirectory(const std::string& dir);

}  // namespace liteq::io

#endif  // LITEQ_IO_HF_DIRECTORY_H_

// llama2.c checkpoint layout and the Checkpoint over it (see llama2c.h).
#include "io/llama2c.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "io/dtype_convert.h"

namespace liteq::io {
namespace {

// One fp32 array of the file, in file order. Arrays that llama2.c concatenates over
// layers appear once per layer.
struct Segment {
  std::string name;  // Hugging Face name, or the llama2.c name for unexposed arrays
  std::vector<int64_t> shape;
  uint64_t offset = 0;
  uint64_t nbytes = 0;
  int32_t permute_heads = 0;  // > 0: q/k rows to reorder for rotate_half, per head
  bool exposed = true;
};

std::string LayerName(int layer, const char* suffix) {
  return "model.layers." + std::to_string(layer) + "." + suffix;
}

class LayoutBuilder {
 public:
  explicit LayoutBuilder(const Llama2cHeader& h) : h_(h), cursor_(h.header_bytes) {}

  void Add(std::string name, std::vector<int64_t> shape, int32_t permute_heads = 0,
           bool exposed = true) {
    Segment s;
    s.name = std::move(name);
    uint64_t n = 4;  // fp32; header bounds keep these products far below 2^64
    for (int64_t d : shape) n *= static_cast<uint64_t>(d);
    s.shape = std::move(shape);
    s.offset = cursor_;
    s.nbytes = n;
    s.permute_heads = permute_heads;
    s.exposed = exposed;
    cursor_ += n;
    segments_.push_back(std::move(s));
  }
  // One array concatenated over layers: shape per layer.
  void AddPerLayer(const char* suffix, std::vector<int64_t> shape, int32_t permute_heads = 0) {
    for (int i = 0; i < h_.n_layers; ++i) Add(LayerName(i, suffix), shape, permute_heads);
  }

  std::vector<Segment> Finish() && { return std::move(segments_); }

 private:
  const Llama2cHeader& h_;
  uint64_t cursor_;
  std::vector<Segment> segments_;
};

std::vector<Segment> Layout(const Llama2cHeader& h) {
  const int64_t dim = h.dim, hidden = h.hidden_dim, kv_dim = h.kv_dim();
  const int64_t vocab = h.vocab_size;
  LayoutBuilder b(h);
  auto add_attention = [&] {
    b.AddPerLayer("self_attn.q_proj.weight", {dim, dim}, h.n_heads);
    b.AddPerLayer("self_attn.k_proj.weight", {kv_dim, dim}, h.n_kv_heads);
    b.AddPerLayer("self_attn.v_proj.weight", {kv_dim, dim});
    b.AddPerLayer("self_attn.o_proj.weight", {dim, dim});
  };
  auto add_ffn = [&] {
    b.AddPerLayer("mlp.gate_proj.weight", {hidden, dim});  // w1
    b.AddPerLayer("mlp.down_proj.weight", {dim, hidden});  // w2
    b.AddPerLayer("mlp.up_proj.weight", {hidden, dim});    // w3
  };
  if (h.version == 0) {
    b.Add("model.embed_tokens.weight", {vocab, dim});
    b.AddPerLayer("input_layernorm.weight", {dim});
    add_attention();
    b.AddPerLayer("post_attention_layernorm.weight", {dim});
    add_ffn();
    b.Add("model.norm.weight", {dim});
    // Precomputed RoPE tables: derivable from theta, so not exposed, but part of the size.
    b.Add("freq_cis_real", {h.seq_len, h.head_dim() / 2}, 0, false);
    b.Add("freq_cis_imag", {h.seq_len, h.head_dim() / 2}, 0, false);
  } else {
    b.AddPerLayer("input_layernorm.weight", {dim});
    b.AddPerLayer("post_attention_layernorm.weight", {dim});
    b.Add("model.norm.weight", {dim});
    b.Add("model.embed_tokens.weight", {vocab, dim});
    add_attention();
    add_ffn();
  }
  if (!h.shared_classifier) b.Add("lm_head.weight", {vocab, dim});
  return std::move(b).Finish();
}

Status CheckFileSize(const std::string& path, const Llama2cHeader& h,
                     const std::vector<Segment>& segments, uint64_t file_size) {
  const uint64_t expected = segments.back().offset + segments.back().nbytes;
  if (file_size == expected) return Status::Ok();
  const std::string sizes = std::to_string(file_size) + " bytes, the llama2.c " +
                            (h.version == 0 ? "legacy" : "version 1") + " header implies " +
                            std::to_string(expected);
  if (file_size > expected) {
    return DataLossError(path + ": " + sizes + " (unexpected trailing bytes)");
  }
  for (const Segment& s : segments) {
    if (s.offset + s.nbytes > file_size) {
      return DataLossError(path + ": truncated: tensor '" + s.name + "' needs bytes [" +
                           std::to_string(s.offset) + ", " + std::to_string(s.offset + s.nbytes) +
                           ") but the file has " + sizes);
    }
  }
  return InternalError(path + ": size check inconsistent");  // unreachable
}

// Reorders the rows of a llama2.c q/k projection into HF rotate_half order (see
// llama2c.h): dst row h*hd + j*hd/2 + i <- src row h*hd + 2*i + j.
void PermuteRowsForRotateHalf(const uint8_t* src, int64_t rows, int64_t cols, int32_t heads,
                              float* dst) {
  const int64_t head_dim = rows / heads;
  const int64_t half = head_dim / 2;
  const size_t row_bytes = static_cast<size_t>(cols) * sizeof(float);
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t j = 0; j < 2; ++j) {
      for (int64_t i = 0; i < half; ++i) {
        const int64_t dst_row = h * head_dim + j * half + i;
        const int64_t src_row = h * head_dim + 2 * i + j;
        std::memcpy(dst + dst_row * cols, src + src_row * static_cast<int64_t>(row_bytes),
                    row_bytes);
      }
    }
  }
}

class Llama2cCheckpoint : public Checkpoint {
 public:
  Llama2cCheckpoint(std::shared_ptr<const MappedFile> file, const Llama2cHeader& header,
                    const std::vector<Segment>& segments)
      : file_(std::move(file)), config_(Llama2cToHfConfig(header)) {
    std::vector<const Segment*> exposed;
    for (const Segment& s : segments) {
      if (s.exposed) exposed.push_back(&s);
    }
    std::sort(exposed.begin(), exposed.end(),
              [](const Segment* a, const Segment* b) { return a->name < b->name; });
    for (const Segment* s : exposed) {
      TensorInfo t;
      t.name = s->name;
      t.dtype = WeightDType::kF32;
      t.shape = s->shape;
      t.file = file_->path();
      t.offset = s->offset;
      t.nbytes = s->nbytes;
      t.raw_layout_differs = s->permute_heads > 0;
      tensors_.push_back(std::move(t));
      permute_heads_.push_back(s->permute_heads);
    }
  }

  const nlohmann::json& config() const override { return config_; }
  const std::string& path() const override { return file_->path(); }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }

  Result<std::span<const uint8_t>> RawBytes(const std::string& name) const override {
    const TensorInfo* info = Find(name);
    if (info == nullptr) return NotFoundError(path() + ": no tensor named '" + name + "'");
    if (info->raw_layout_differs) {
      return FailedPreconditionError(
          path() + ": tensor '" + name +
          "': stored in llama2.c's interleaved-RoPE row order, which differs from the "
          "Hugging Face layout; use ReadFloat32");
    }
    return Stored(*info);
  }

  using Checkpoint::ReadFloat32;
  Status ReadFloat32(const std::string& name, std::span<float> out) const override {
    const TensorInfo* info = Find(name);
    if (info == nullptr) return NotFoundError(path() + ": no tensor named '" + name + "'");
    if (out.size() != static_cast<uint64_t>(info->num_elements())) {
      return InvalidArgumentError(path() + ": tensor '" + name + "': output has " +
                                  std::to_string(out.size()) + " elements, the tensor has " +
                                  std::to_string(info->num_elements()));
    }
    const std::span<const uint8_t> stored = Stored(*info);
    const int32_t heads = permute_heads_[static_cast<size_t>(info - tensors_.data())];
    if (heads == 0) {
      ConvertToFloat32(WeightDType::kF32, stored, out);
    } else {
      PermuteRowsForRotateHalf(stored.data(), info->shape[0], info->shape[1], heads, out.data());
    }
    return Status::Ok();
  }

 private:
  std::span<const uint8_t> Stored(const TensorInfo& info) const {
    return file_->bytes().subspan(info.offset, info.nbytes);
  }

  std::shared_ptr<const MappedFile> file_;
  nlohmann::json config_;
  std::vector<TensorInfo> tensors_;     // sorted by name
  std::vector<int32_t> permute_heads_;  // parallel to tensors_
};

}  // namespace

Result<std::unique_ptr<Checkpoint>> OpenLlama2cCheckpoint(std::shared_ptr<const MappedFile> file) {
  LITEQ_ASSIGN_OR_RETURN(Llama2cHeader header, ParseLlama2cHeader(file->bytes(), file->path()));
  const std::vector<Segment> segments = Layout(header);
  LITEQ_RETURN_IF_ERROR(CheckFileSize(file->path(), header, segments, file->size()));
  return std::unique_ptr<Checkpoint>(new Llama2cCheckpoint(std::move(file), header, segments));
}

}  // namespace liteq::io

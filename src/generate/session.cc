#include "generate/session.h"

#include <algorithm>

namespace liteq::generate {
namespace {

Result<const graph::Tensor*> SignatureTensor(const graph::Model& model,
                                             const graph::Signature& sig,
                                             const std::string& name, bool input) {
  const auto& list = input ? sig.inputs : sig.outputs;
  for (const auto& [n, index] : list) {
    if (n == name) return &model.subgraphs[sig.subgraph].tensors[index];
  }
  return NotFoundError("signature '" + sig.key + "' has no " +
                       (input ? "input" : "output") + " named '" + name + "'");
}

}  // namespace

Result<ModelShape> InspectModelShape(runtime::Interpreter& interpreter) {
  const graph::Model& model = interpreter.model();
  ModelShape shape;
  for (const auto& sig : model.signatures) {
    const bool is_decode = sig.key == "decode";
    const bool is_prefill = sig.key.rfind("prefill", 0) == 0;
    if (!is_decode && !is_prefill) continue;
    LITEQ_ASSIGN_OR_RETURN(const graph::Tensor* tokens, SignatureTensor(model, sig, "tokens", true));
    LITEQ_ASSIGN_OR_RETURN(const graph::Tensor* logits, SignatureTensor(model, sig, "logits", false));
    if (tokens->shape.size() != 2 || tokens->shape[0] != 1 || tokens->dtype != graph::DType::kInt32) {
      return InvalidArgumentError("signature '" + sig.key + "': tokens must be int32 [1, T]");
    }
    if (logits->shape.size() != 3 || logits->dtype != graph::DType::kFloat32 ||
        logits->shape[1] != tokens->shape[1]) {
      return InvalidArgumentError("signature '" + sig.key + "': logits must be float32 [1, T, vocab]");
    }
    const int length = tokens->shape[1];
    if (shape.vocab_size != 0 && shape.vocab_size != logits->shape[2]) {
      return InvalidArgumentError("signatures disagree on the vocabulary size");
    }
    shape.vocab_size = logits->shape[2];
    for (const auto& [name, index] : sig.inputs) {
      if (name.rfind("kv_cache_", 0) != 0) continue;
      const auto& t = model.subgraphs[sig.subgraph].tensors[index];
      if (t.shape.size() != 4) {
        return InvalidArgumentError("signature '" + sig.key + "': " + name + " must be rank 4");
      }
      if (shape.max_seq != 0 && shape.max_seq != t.shape[1]) {
        return InvalidArgumentError("KV caches disagree on max_seq");
      }
      shape.max_seq = t.shape[1];
    }
    if (is_decode) {
      if (length != 1) return InvalidArgumentError("signature 'decode' must take one token");
      shape.has_decode = true;
    } else {
      shape.prefill.push_back({sig.key, length});
    }
  }
  if (shape.prefill.empty() && !shape.has_decode) {
    return InvalidArgumentError("model has neither a 'prefill' nor a 'decode' signature");
  }
  if (shape.max_seq == 0) return InvalidArgumentError("model has no kv_cache_* inputs");
  std::sort(shape.prefill.begin(), shape.prefill.end(),
            [](const auto& a, const auto& b) { return a.length < b.length; });
  return shape;
}

Result<std::unique_ptr<Session>> Session::Create(runtime::Interpreter* interpreter) {
  LITEQ_ASSIGN_OR_RETURN(ModelShape shape, InspectModelShape(*interpreter));
  return std::unique_ptr<Session>(new Session(interpreter, std::move(shape)));
}

Session::Session(runtime::Interpreter* interpreter, ModelShape shape)
    : interpreter_(interpreter), shape_(std::move(shape)) {}

void Session::Reset() { position_ = 0; }

Status Session::Feed(std::span<const int32_t> tokens, std::vector<float>* all_logits) {
  if (position_ + static_cast<int64_t>(tokens.size()) > shape_.max_seq) {
    return OutOfRangeError("context of " + std::to_string(position_ + tokens.size()) +
                           " tokens exceeds the model's max_seq of " +
                           std::to_string(shape_.max_seq) + " (export with a larger --max-seq)");
  }
  for (int32_t id : tokens) {
    if (id < 0 || id >= shape_.vocab_size) {
      return InvalidArgumentError("token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                                  std::to_string(shape_.vocab_size) + ")");
    }
  }
  size_t done = 0;
  while (done < tokens.size()) {
    const int remaining = static_cast<int>(tokens.size() - done);
    const int room = shape_.max_seq - position_;
    // Prefer the shortest prefill signature that takes the rest in one chunk; a padded
    // chunk writes cache rows past the live region, which later steps overwrite before
    // any query can see them (the mask hides positions after the query).
    const PrefillSignature* chosen = nullptr;
    if (!(remaining == 1 && shape_.has_decode)) {
      for (const auto& p : shape_.prefill) {
        if (p.length <= room && (p.length >= remaining || &p == &shape_.prefill.back())) {
          chosen = &p;
          if (p.length >= remaining) break;
        }
      }
      if (chosen == nullptr) {  // longest signature that fits in the remaining room
        for (const auto& p : shape_.prefill) {
          if (p.length <= room) chosen = &p;
        }
      }
    }
    std::string key;
    int length;
    if (chosen != nullptr) {
      key = chosen->key;
      length = chosen->length;
    } else if (shape_.has_decode) {
      key = "decode";
      length = 1;
    } else {
      return OutOfRangeError("no prefill signature fits the " + std::to_string(room) +
                             " cache rows left and the model has no decode signature");
    }
    const int n = std::min(length, remaining);
    LITEQ_RETURN_IF_ERROR(RunChunk(key, length, tokens.subspan(done, n), all_logits));
    done += n;
  }
  return Status::Ok();
}

Status Session::RunChunk(const std::string& key, int length, std::span<const int32_t> tokens,
                         std::vector<float>* all_logits) {
  LITEQ_ASSIGN_OR_RETURN(runtime::SignatureRunner * runner, interpreter_->GetSignature(key));
  LITEQ_ASSIGN_OR_RETURN(runtime::TensorView tok, runner->Input("tokens"));
  LITEQ_ASSIGN_OR_RETURN(runtime::TensorView pos, runner->Input("input_pos"));
  auto tok_data = tok.as<int32_t>();
  auto pos_data = pos.as<int32_t>();
  LITEQ_CHECK(static_cast<int>(tok_data.size()) == length && static_cast<int>(pos_data.size()) == length);
  const int n = static_cast<int>(tokens.size());
  for (int i = 0; i < length; ++i) {
    tok_data[i] = i < n ? tokens[i] : 0;
    pos_data[i] = position_ + i;
  }
  // Without all_logits only row n - 1 is read: compute just that row of the output
  // head where the runtime can (its other rows are then unspecified).
  if (length > 1) {
    const Status select = runner->SelectOutputRow("logits", all_logits != nullptr ? -1 : n - 1);
    if (!select.ok() && select.code() != StatusCode::kUnimplemented) return select;
  }
  LITEQ_RETURN_IF_ERROR(runner->Invoke().WithContext("running signature '" + key + "'"));
  LITEQ_ASSIGN_OR_RETURN(runtime::TensorView logits, runner->Output("logits"));
  auto l = logits.as<float>();
  const size_t v = static_cast<size_t>(shape_.vocab_size);
  LITEQ_CHECK(l.size() == v * length);
  if (all_logits != nullptr) all_logits->insert(all_logits->end(), l.begin(), l.begin() + v * n);
  last_logits_ = l.subspan(v * (n - 1), v);
  position_ += n;
  return Status::Ok();
}

Result<std::vector<int32_t>> Generate(Session& session, std::span<const int32_t> prompt,
                                      const GenerateOptions& options,
                                      const std::function<void(int32_t)>& on_token) {
  LITEQ_RETURN_IF_ERROR(ValidateSamplerOptions(options.sampler));
  if (prompt.empty()) return InvalidArgumentError("the prompt has no tokens");
  if (options.max_new_tokens < 0) return InvalidArgumentError("-n must be >= 0");
  const int64_t needed = session.position() + static_cast<int64_t>(prompt.size()) + options.max_new_tokens;
  if (needed > session.shape().max_seq) {
    return OutOfRangeError("the prompt (" + std::to_string(prompt.size()) + " tokens) plus -n " +
                           std::to_string(options.max_new_tokens) + " needs " + std::to_string(needed) +
                           " positions but the model's max_seq is " +
                           std::to_string(session.shape().max_seq));
  }
  LITEQ_RETURN_IF_ERROR(session.Feed(prompt));
  Sampler sampler(options.sampler);
  std::vector<int32_t> out;
  for (int i = 0; i < options.max_new_tokens; ++i) {
    const int32_t next = sampler.Sample(session.last_logits());
    out.push_back(next);
    if (on_token) on_token(next);
    if (next == options.eos_id) break;
    if (i + 1 < options.max_new_tokens) {
      const int32_t one[1] = {next};
      LITEQ_RETURN_IF_ERROR(session.Feed(one));
    }
  }
  return out;
}

}  // namespace liteq::generate

#include "model_runner.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace liteq::model::testing {

Result<std::unique_ptr<ModelRunner>> ModelRunner::Create(const std::string& model_dir,
                                                         int prefill_len, int max_seq,
                                                         bool preserve_all_tensors) {
  LITEQ_ASSIGN_OR_RETURN(std::unique_ptr<io::Checkpoint> ckpt, io::Checkpoint::Open(model_dir));
  std::shared_ptr<const io::Checkpoint> shared(std::move(ckpt));
  ExportOptions opts;
  opts.prefill_lengths = {prefill_len};
  opts.max_seq = max_seq;
  LITEQ_ASSIGN_OR_RETURN(graph::Model model, BuildModel(shared, opts));
  auto runner = std::unique_ptr<ModelRunner>(new ModelRunner());
  runner->model_ = std::make_shared<const graph::Model>(std::move(model));
  runtime::InterpreterOptions iopts;
  iopts.preserve_all_tensors = preserve_all_tensors;
  LITEQ_ASSIGN_OR_RETURN(runner->interpreter_, runtime::Interpreter::Create(runner->model_, iopts));
  LITEQ_ASSIGN_OR_RETURN(runner->prefill_, runner->interpreter_->GetSignature("prefill"));
  LITEQ_ASSIGN_OR_RETURN(runner->decode_, runner->interpreter_->GetSignature("decode"));
  runner->prefill_len_ = prefill_len;
  LITEQ_ASSIGN_OR_RETURN(runtime::TensorView logits, runner->decode_->Output("logits"));
  runner->vocab_ = logits.shape.back();
  return runner;
}

Result<std::vector<float>> ModelRunner::Prefill(const std::vector<int32_t>& ids, int start) {
  const int n = static_cast<int>(ids.size());
  if (n == 0 || n > prefill_len_) return InvalidArgumentError("bad prefill length");
  LITEQ_ASSIGN_OR_RETURN(runtime::TensorView tokens, prefill_->Input("tokens"));
  LITEQ_ASSIGN_OR_RETURN(runtime::TensorView pos, prefill_->Input("input_pos"));
  auto t = tokens.as<int32_t>();
  auto p = pos.as<int32_t>();
  for (int i = 0; i < prefill_len_; ++i) {
    t[i] = i < n ? ids[i] : 0;  // padding: its cache rows lie beyond the live region
    p[i] = start + i;
  }
  LITEQ_RETURN_IF_ERROR(prefill_->Invoke());
  LITEQ_ASSIGN_OR_RETURN(runtime::TensorView logits, prefill_->Output("logits"));
  auto l = logits.as<float>();
  return std::vector<float>(l.begin(), l.begin() + static_cast<size_t>(n) * vocab_);
}

Result<std::vector<float>> ModelRunner::Decode(int32_t token, int pos) {
  LITEQ_ASSIGN_OR_RETURN(runtime::TensorView tokens, decode_->Input("tokens"));
  LITEQ_ASSIGN_OR_RETURN(runtime::TensorView p, decode_->Input("input_pos"));
  tokens.as<int32_t>()[0] = token;
  p.as<int32_t>()[0] = pos;
  LITEQ_RETURN_IF_ERROR(decode_->Invoke());
  LITEQ_ASSIGN_OR_RETURN(runtime::TensorView logits, decode_->Output("logits"));
  auto l = logits.as<float>();
  return std::vector<float>(l.begin(), l.end());
}

Result<std::vector<float>> ModelRunner::PrefillTensorRows(const std::string& name, int n) {
  LITEQ_ASSIGN_OR_RETURN(runtime::TensorView v, prefill_->TensorByName(name));
  if (v.dtype != graph::DType::kFloat32 || v.shape.empty()) {
    return InvalidArgumentError(name + " is not a float tensor");
  }
  const size_t row = static_cast<size_t>(v.shape.back());
  auto f = v.as<float>();
  if (static_cast<size_t>(n) * row > f.size()) return InvalidArgumentError("too many rows");
  return std::vector<float>(f.begin(), f.begin() + n * row);
}

Result<std::vector<int32_t>> ModelRunner::Greedy(const std::vector<int32_t>& ids, int steps) {
  Reset();
  LITEQ_ASSIGN_OR_RETURN(std::vector<float> logits, Prefill(ids));
  const int n = static_cast<int>(ids.size());
  std::vector<int32_t> out;
  int32_t next = Argmax(logits.data() + static_cast<size_t>(n - 1) * vocab_, vocab_);
  for (int s = 0; s < steps; ++s) {
    out.push_back(next);
    if (s + 1 == steps) break;
    LITEQ_ASSIGN_OR_RETURN(std::vector<float> l, Decode(next, n + s));
    next = Argmax(l.data(), vocab_);
  }
  return out;
}

Result<std::unique_ptr<io::Checkpoint>> OpenReference(const std::string& path) {
  return io::Checkpoint::Open(path);
}

double RelativeError(const float* a, const float* b, size_t n) {
  double max_diff = 0, max_ref = 0;
  for (size_t i = 0; i < n; ++i) {
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(b[i])));
    if (std::isnan(a[i])) return INFINITY;
  }
  return max_ref == 0 ? max_diff : max_diff / max_ref;
}

int Argmax(const float* v, size_t n) { return static_cast<int>(std::max_element(v, v + n) - v); }

}  // namespace liteq::model::testing

#include "runtime/interpreter.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <span>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "common/file_pages.h"
#include "runtime/execution_plan.h"

namespace liteq::runtime {
namespace {

// The model file's pages that no kernel reads any more: every decoded table and
// vector lives in graph::Model, small constants were copied, and packed weights
// handed their pages back already; only large constants some kernel reads in place
// (Impl::read_in_place) are still needed. The pages the packed weights share with a
// neighbour go too (SmolLM2-135M static_int8: 211 of them, 0.9 MB); those of a constant
// read in place stay: released, the kernel's first read faults them back in and maps
// the neighbouring pages of copied small constants around them as well (measured:
// +1.8 MB on weight_only_int4). Releasing is safe either way: a page read again faults
// back in. Called at the start of Create (the reader's tables), after each
// signature's plan (what its Prepare read and copied) and at the end.
void ReleaseFilePagesNotReadInPlace(const graph::Model& model,
                                    std::span<const uint8_t* const> constants,
                                    std::span<const uint8_t> read_in_place) {
  std::vector<AddressRange> in_place;
  const void* any = nullptr;
  for (size_t i = 0; i < model.buffers.size(); ++i) {
    const graph::Buffer& b = model.buffers[i];
    if (b.data == nullptr || b.size == 0) continue;
    any = b.data;
    if (i < constants.size() && constants[i] == b.data && i < read_in_place.size() &&
        read_in_place[i] != 0) {
      const auto begin = reinterpret_cast<uintptr_t>(b.data);
      in_place.push_back({begin, begin + b.size});
    }
  }
  if (any == nullptr) return;
  const std::optional<AddressRange> mapping = ReadOnlyFileMappingOf(any);
  if (!mapping.has_value()) return;  // not a file-backed model (built in memory)
  std::sort(in_place.begin(), in_place.end(),
            [](const AddressRange& a, const AddressRange& b) { return a.begin < b.begin; });
  uintptr_t cursor = mapping->begin;
  for (const AddressRange& r : in_place) {
    if (r.begin < mapping->begin || r.end > mapping->end) continue;
    if (r.begin > cursor) ReleaseWholePages(cursor, r.begin);
    cursor = std::max(cursor, r.end);
  }
  if (cursor < mapping->end) ReleaseWholePages(cursor, mapping->end);
}

}  // namespace

Interpreter::Interpreter() : impl_(std::make_unique<Impl>()) {}
Interpreter::~Interpreter() = default;

Result<std::unique_ptr<Interpreter>> Interpreter::Create(std::shared_ptr<const graph::Model> model,
                                                         InterpreterOptions options) {
  if (model == nullptr) return InvalidArgumentError("Interpreter::Create: the model is null");
  if (options.num_threads < 1 || options.num_threads > 256) {
    return InvalidArgumentError("num_threads must be in [1, 256], got " +
                                std::to_string(options.num_threads));
  }
  std::unique_ptr<Interpreter> interpreter(new Interpreter());
  interpreter->model_ = std::move(model);
  interpreter->options_ = options;
  if (const char* env = std::getenv("LITEQ_REFERENCE_KERNELS");
      env != nullptr && std::strcmp(env, "1") == 0) {
    interpreter->options_.use_reference_kernels = true;
  }
  Impl& impl = *interpreter->impl_;
  impl.constants.assign(interpreter->model_->buffers.size(), nullptr);
  impl.read_in_place.assign(interpreter->model_->buffers.size(), 0);
  if (options.num_threads > 1) impl.pool = std::make_unique<ThreadPool>(options.num_threads);

  ReleaseFilePagesNotReadInPlace(*interpreter->model_, impl.constants, impl.read_in_place);
  std::set<std::string> keys;
  size_t scratch_bytes = 0;
  for (const graph::Signature& signature : interpreter->model_->signatures) {
    if (!keys.insert(signature.key).second) {
      return InvalidArgumentError("the model has two signatures named '" + signature.key + "'");
    }
    PlanBuilder builder(*interpreter, signature);
    LITEQ_ASSIGN_OR_RETURN(std::unique_ptr<SignatureRunner> runner, builder.Build());
    impl.arena_bytes = std::max(impl.arena_bytes, runner->plan_->report.arena_bytes);
    scratch_bytes = std::max(scratch_bytes, runner->plan_->scratch_bytes);
    impl.runners.push_back(std::move(runner));
    ReleaseFilePagesNotReadInPlace(*interpreter->model_, impl.constants, impl.read_in_place);
  }
  // One arena for all signatures: only one runs at a time.
  impl.arena = AlignedBuffer(impl.arena_bytes);
  impl.scratch = AlignedBuffer(scratch_bytes);
  for (auto& runner : impl.runners) {
    for (const auto& [tensor, offset] : runner->plan_->arena_tensors) {
      runner->plan_->tensor_data[tensor] = impl.arena.data() + offset;
    }
  }
  ReleaseFilePagesNotReadInPlace(*interpreter->model_, impl.constants, impl.read_in_place);
#if defined(__GLIBC__)
  // Prepare's temporaries (the reader's and planner's vectors, per-channel parameters
  // built twice before the kernels share one copy) leave free heap above and between
  // the kernels' data; glibc keeps it resident until asked (SmolLM2-135M: 0.3 MB).
  malloc_trim(0);
#endif
  return interpreter;
}

Result<SignatureRunner*> Interpreter::GetSignature(const std::string& key) {
  for (auto& runner : impl_->runners) {
    if (runner->plan_->signature->key == key) return runner.get();
  }
  std::string known;
  for (const auto& k : SignatureKeys()) known += (known.empty() ? "" : ", ") + k;
  return NotFoundError("the model has no signature '" + key + "' (it has: " + known + ")");
}

std::vector<std::string> Interpreter::SignatureKeys() const {
  std::vector<std::string> keys;
  for (const auto& runner : impl_->runners) keys.push_back(runner->plan_->signature->key);
  return keys;
}

Result<TensorView> Interpreter::State(const std::string& name) {
  auto it = impl_->states.find(name);
  if (it == impl_->states.end())
    return NotFoundError("the model has no state tensor '" + name + "'");
  TensorView view;
  view.dtype = it->second.dtype;
  view.shape = it->second.shape;
  view.data = it->second.buffer.data();
  view.bytes = it->second.buffer.size();
  return view;
}

std::vector<std::string> Interpreter::StateNames() const {
  std::vector<std::string> names;
  for (const auto& [name, state] : impl_->states) names.push_back(name);
  return names;
}

void Interpreter::Impl::State::Clear() {
  if (buffer.size() == 0) return;
  if (dtype == graph::DType::kInt8 && zero_point != 0) {
    std::memset(buffer.data(), static_cast<int8_t>(zero_point), buffer.size());
  } else if (dtype == graph::DType::kInt16 && zero_point != 0) {
    const auto z = static_cast<int16_t>(zero_point);
    for (size_t i = 0; i + sizeof(z) <= buffer.size(); i += sizeof(z)) {
      std::memcpy(buffer.data() + i, &z, sizeof(z));
    }
  } else {
    buffer.Zero();
  }
}

void Interpreter::ResetState() {
  for (auto& [name, state] : impl_->states) state.Clear();
}

size_t Interpreter::arena_bytes() const { return impl_->arena_bytes; }

size_t Interpreter::folded_constant_bytes() const { return impl_->folded_bytes; }

}  // namespace liteq::runtime

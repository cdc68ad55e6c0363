// weight_only_int4 (blocks of 32) through the int8-activation decode path
// (InterpreterOptions::int4_int8_activations, kernels/weight_only_int4_q8.h) against
// the official LiteRT runtime (@litertjs/core): the file is exported with a prefill
// length of 2, so every eval window runs through liteq's few-row path (the 128-row
// prefill of recipes_litert_test keeps float activations and never reaches it), and
// liteq's logits must meet the agreement bar with LiteRT's at every position
// (top-1 >= 99.5%, mean KL(LiteRT || liteq) < 1e-3).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <span>

#include "e2e_util.h"
#include "litert_runner.h"

namespace liteq::e2e {
namespace {

constexpr size_t kWindows = 4;

TEST(Int4Int8ActivationsLiteRtTest, DecodePathAgreesWithLiteRt) {
  LITEQ_REQUIRE_LITERT();
  const std::string dir = ModelDir("gemma3-tiny");
  auto ref = OpenReference(dir);
  std::vector<std::vector<int32_t>> windows = ReadEvalWindows(*ref);
  windows.resize(kWindows);
  const std::string path =
      ExportQuantizedOnce(dir, model::ExportOptions{.prefill_lengths = {2}, .max_seq = 512},
                          {.recipe = quant::Recipe::kWeightOnlyInt4, .block_size = 32});
  ASSERT_FALSE(path.empty());
  // 0: the default int8 activations (under test), 1: float activations (for context).
  struct Run {
    std::unique_ptr<runtime::Interpreter> interpreter;
    std::unique_ptr<generate::Session> session;
    int64_t positions = 0, same_top1 = 0;
    double kl_sum = 0;
  } runs[2];
  for (int i = 0; i < 2; ++i) {
    runtime::InterpreterOptions options;
    if (i == 0) {
      ASSERT_TRUE(options.int4_int8_activations) << "the default is the path under test";
    }
    options.int4_int8_activations = i == 0;
    auto interpreter = runtime::Interpreter::Load(path, options);
    ASSERT_TRUE(interpreter.ok()) << interpreter.status().ToString();
    runs[i].interpreter = std::move(*interpreter);
    auto session = generate::Session::Create(runs[i].interpreter.get());
    ASSERT_TRUE(session.ok());
    runs[i].session = std::move(*session);
  }
  const size_t vocab = static_cast<size_t>(runs[0].session->shape().vocab_size);
  auto eval = conformance::EvalInLiteRt(
      path, windows, [&](size_t w, const std::vector<float>& litert) -> Status {
        for (Run& run : runs) {
          run.session->Reset();
          std::vector<float> ours;
          LITEQ_RETURN_IF_ERROR(run.session->Feed(windows[w], &ours));
          if (ours.size() != litert.size()) return InternalError("logit sizes differ");
          for (size_t t = 0; t + vocab <= litert.size(); t += vocab) {
            std::span<const float> a(litert.data() + t, vocab), b(ours.data() + t, vocab);
            const auto la = LogSoftmax(a), lb = LogSoftmax(b);
            double kl = 0;
            for (size_t v = 0; v < vocab; ++v) kl += std::exp(la[v]) * (la[v] - lb[v]);
            run.kl_sum += kl;
            run.same_top1 += std::max_element(a.begin(), a.end()) - a.begin() ==
                             std::max_element(b.begin(), b.end()) - b.begin();
            ++run.positions;
          }
        }
        return Status::Ok();
      });
  ASSERT_TRUE(eval.ok()) << eval.status().ToString();
  double top1[2], kl[2];
  for (int i = 0; i < 2; ++i) {
    ASSERT_GT(runs[i].positions, 0);
    top1[i] = static_cast<double>(runs[i].same_top1) / static_cast<double>(runs[i].positions);
    kl[i] = runs[i].kl_sum / static_cast<double>(runs[i].positions);
  }
  std::printf(
      "[ weight_only_int4 b32 ] liteq vs LiteRT over %lld positions: int8 activations "
      "top-1 %.3f%%, mean KL %.2e; float activations top-1 %.3f%%, mean KL %.2e\n",
      static_cast<long long>(runs[0].positions), 100.0 * top1[0], kl[0], 100.0 * top1[1], kl[1]);
  EXPECT_GE(top1[0], 0.995);
  EXPECT_LT(kl[0], 1e-3);
}

}  // namespace
}  // namespace liteq::e2e

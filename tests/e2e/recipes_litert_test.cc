// Every recipe on the trained tiny models, run by the official LiteRT runtime
// (@litertjs/core) over the first eval windows: the quantized file's perplexity
// against the float file's, both through LiteRT, checked against the bars
// (a perplexity increase of at most 0.05% weight_only_int8, 0.1% dynamic_int8 and
// static_16x8, 0.5% static_int8, 3% weight_only_int4 with blocks of 32; the issue
// states them for 64 windows, LiteRT runs 16 here to keep the suite fast).
// Where liteq's own runtime can load the file, its logits are compared with
// LiteRT's window by window (top-1 agreement and mean KL).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <span>

#include "e2e_util.h"
#include "litert_runner.h"

namespace liteq::e2e {
namespace {

constexpr size_t kWindows = 16;

struct RecipeCase {
  const char* name;
  quant::RecipeOptions options;
  double bar;  // bound on the perplexity increase (issue #4), relative
  // liteq vs LiteRT agreement. Issue bar: top-1 >= 99.5%, mean KL < 1e-3.
  double min_top1 = 0.995;
  double max_kl = 1e-3;
  // Also compare LiteRT with liteq's XNNPACK arithmetic mode
  // (InterpreterOptions::int8_arithmetic = kXnnpack) at the bar.
  bool xnnpack_mode = false;
};

// Top-1 agreement and mean KL(LiteRT || liteq) over every position of the windows.
struct Agreement {
  int64_t positions = 0, same_top1 = 0;
  double kl_sum = 0;

  void Add(std::span<const float> litert, std::span<const float> ours, size_t vocab) {
    for (size_t t = 0; t + vocab <= litert.size(); t += vocab) {
      std::span<const float> a = litert.subspan(t, vocab), b = ours.subspan(t, vocab);
      const auto la = LogSoftmax(a), lb = LogSoftmax(b);
      double kl = 0;
      for (size_t v = 0; v < vocab; ++v) kl += std::exp(la[v]) * (la[v] - lb[v]);
      kl_sum += kl;
      same_top1 += std::max_element(a.begin(), a.end()) - a.begin() ==
                   std::max_element(b.begin(), b.end()) - b.begin();
      ++positions;
    }
  }
  double top1() const { return static_cast<double>(same_top1) / static_cast<double>(positions); }
  double kl() const { return kl_sum / static_cast<double>(positions); }
};

// liteq's runtime on `path` with `options`, or null when it cannot run the file.
struct LiteqRun {
  std::unique_ptr<runtime::Interpreter> interpreter;
  std::unique_ptr<generate::Session> session;
  std::string error;
};
LiteqRun OpenLiteq(const std::string& path, runtime::InterpreterOptions options) {
  LiteqRun run;
  auto interpreter = runtime::Interpreter::Load(path, options);
  if (!interpreter.ok()) {
    run.error = interpreter.status().ToString();
    return run;
  }
  run.interpreter = std::move(interpreter).value();
  auto session = generate::Session::Create(run.interpreter.get());
  if (session.ok()) {
    run.session = std::move(session).value();
  } else {
    run.error = session.status().ToString();
  }
  return run;
}

Status FeedWindow(generate::Session& session, const std::vector<int32_t>& window,
                  const std::vector<float>& litert_logits, Agreement* agreement) {
  session.Reset();
  std::vector<float> ours;
  LITEQ_RETURN_IF_ERROR(session.Feed(window, &ours));
  if (ours.size() != litert_logits.size()) return InternalError("logit sizes differ");
  agreement->Add(litert_logits, ours, litert_logits.size() / window.size());
  return Status::Ok();
}

// LiteRT (@litertjs/core) runs int8 QUANTIZE, FULLY_CONNECTED (also hybrid) and ADD
// through XNNPACK, whose fixed-point arithmetic is not TFLite's reference arithmetic
// that liteq implements (QUANT_SPEC.md): ties round to even / toward +inf, ADD uses
// 21-bit multipliers, hybrid FC always quantizes inputs asymmetrically with its own
// rounding (runtime_quantized_test and litert_int_conformance_test pin each case).
// Every residual ADD then differs by about one step in some elements, so the two
// runtimes disagree more than the bar allows; these bounds only guard against
// regressions of liteq's default (TFLite reference) arithmetic. Measured:
// static_int8 top-1 96.7% / KL 3.0e-3 (gemma3-tiny), 99.95% / 5.4e-5 (llama-tiny);
// dynamic_int8 99.61% / 7.0e-5 and 99.73% / 2.9e-5. liteq's XNNPACK arithmetic mode
// (Int8Arithmetic::kXnnpack) is held to the bar on these recipes.
constexpr double kXnnpackInt8MinTop1 = 0.95;
constexpr double kXnnpackInt8MaxKl = 1e-2;

std::vector<RecipeCase> Cases() {
  std::vector<RecipeCase> cases;
  cases.push_back({"weight_only_int8", {.recipe = quant::Recipe::kWeightOnlyInt8}, 5e-4});
  cases.push_back({"dynamic_int8",
                   {.recipe = quant::Recipe::kDynamicInt8},
                   1e-3,
                   kXnnpackInt8MinTop1,
                   kXnnpackInt8MaxKl,
                   true});
  cases.push_back(
      {"weight_only_int4_b32", {.recipe = quant::Recipe::kWeightOnlyInt4, .block_size = 32}, 3e-2});
  cases.push_back({"static_int8",
                   {.recipe = quant::Recipe::kStaticInt8},
                   5e-3,
                   kXnnpackInt8MinTop1,
                   kXnnpackInt8MaxKl,
                   true});
  cases.push_back({"static_16x8", {.recipe = quant::Recipe::kStatic16x8}, 1e-3});
  return cases;
}

class RecipesLiteRtTest : public ::testing::TestWithParam<const char*> {};

TEST_P(RecipesLiteRtTest, PerplexityThroughLiteRt) {
  LITEQ_REQUIRE_LITERT();
  const std::string dir = ModelDir(GetParam());
  auto ref = OpenReference(dir);
  std::vector<std::vector<int32_t>> windows = ReadEvalWindows(*ref);
  windows.resize(kWindows);
  const model::ExportOptions export_options{.prefill_lengths = {128}, .max_seq = 512};
  auto float_eval = conformance::EvalInLiteRt(ExportOnce(dir, export_options), windows);
  ASSERT_TRUE(float_eval.ok()) << float_eval.status().ToString();
  double float_nll = 0;
  for (double v : float_eval->nll_per_window) float_nll += v / kWindows;

  for (const RecipeCase& c : Cases()) {
    const std::string path = ExportQuantizedOnce(dir, export_options, c.options);
    ASSERT_FALSE(path.empty());
    // liteq's runtime on the same file, when it has kernels for every op in it: its
    // default arithmetic and, for the int8 recipes, XNNPACK's.
    LiteqRun reference = OpenLiteq(path, {});
    LiteqRun xnnpack;
    if (c.xnnpack_mode) {
      xnnpack = OpenLiteq(path, {.int8_arithmetic = runtime::Int8Arithmetic::kXnnpack});
    }
    Agreement reference_agreement, xnnpack_agreement;
    auto eval = conformance::EvalInLiteRt(
        path, windows, [&](size_t w, const std::vector<float>& logits) -> Status {
          if (reference.session != nullptr) {
            LITEQ_RETURN_IF_ERROR(
                FeedWindow(*reference.session, windows[w], logits, &reference_agreement));
          }
          if (xnnpack.session != nullptr) {
            LITEQ_RETURN_IF_ERROR(
                FeedWindow(*xnnpack.session, windows[w], logits, &xnnpack_agreement));
          }
          return Status::Ok();
        });
    ASSERT_TRUE(eval.ok()) << c.name << ": " << eval.status().ToString();
    double nll = 0;
    for (double v : eval->nll_per_window) nll += v / kWindows;
    const double delta = std::exp(nll - float_nll) - 1.0;
    std::printf(
        "[ %s ] %-22s LiteRT %zu windows: PPL %.4f vs float %.4f, dPPL %+.3f%% (bar %.2f%%)",
        GetParam(), c.name, kWindows, std::exp(nll), std::exp(float_nll), 100 * delta, 100 * c.bar);
    if (reference.session != nullptr) {
      std::printf("; liteq vs LiteRT: top-1 %.3f%%, mean KL %.2e",
                  100.0 * reference_agreement.top1(), reference_agreement.kl());
      EXPECT_GE(reference_agreement.top1(), c.min_top1) << c.name;
      EXPECT_LT(reference_agreement.kl(), c.max_kl) << c.name;
    } else {
      ADD_FAILURE() << c.name << ": liteq's runtime cannot run the file: " << reference.error;
    }
    if (c.xnnpack_mode && xnnpack.session != nullptr) {
      std::printf("; liteq xnnpack mode vs LiteRT: top-1 %.3f%%, mean KL %.2e",
                  100.0 * xnnpack_agreement.top1(), xnnpack_agreement.kl());
      EXPECT_GE(xnnpack_agreement.top1(), 0.995) << c.name << " (xnnpack mode)";
      EXPECT_LT(xnnpack_agreement.kl(), 1e-3) << c.name << " (xnnpack mode)";
    } else if (c.xnnpack_mode) {
      ADD_FAILURE() << c.name << ": liteq's xnnpack mode cannot run the file: " << xnnpack.error;
    }
    std::printf("\n");
    EXPECT_LE(delta, c.bar) << c.name;
  }
}

INSTANTIATE_TEST_SUITE_P(TrainedModels, RecipesLiteRtTest,
                         ::testing::Values("gemma3-tiny", "llama-tiny"), [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s)
                             if (c == '-') c = '_';
                           return s;
                         });

}  // namespace
}  // namespace liteq::e2e

// The interpreter on hand-built models: state shared by signatures and updated in
// place, the snapshot fallback, arena reuse, views, preserve_all_tensors, and
// rejection of malformed graphs with messages that name the op and tensors.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "graph_builder.h"

namespace liteq::runtime::testing {
namespace {

using graph::DType;
using graph::OpCode;

// Signature `key` taking x [T, 2], pos int32 [1] and state "kv" [4, 2]:
//   kv' = DYNAMIC_UPDATE_SLICE(kv, x, [pos, 0]);  y = SUM(kv', axis 0)  (or of kv when
//   `read_old_state`, which forces a snapshot).
void AddCacheSignature(GraphBuilder& g, const std::string& key, int t, bool read_old_state = false,
                       int kv_rows = 4) {
  g.BeginSignature(key);
  const int x = g.Input("x", DType::kFloat32, {t, 2});
  const int pos = g.Input("pos", DType::kInt32, {1});
  const int kv = g.Input("kv", DType::kFloat32, {kv_rows, 2});
  const int zero = g.ConstI("zero", {1}, {0});
  const int start = g.Tensor("start", DType::kInt32, {2});
  g.Op(OpCode::kConcatenation, {pos, zero}, {start}, graph::ConcatenationOptions{0});
  const int kv_out = g.Tensor("kv_updated", DType::kFloat32, {kv_rows, 2});
  g.Op(OpCode::kDynamicUpdateSlice, {kv, x, start}, {kv_out});
  const int axes = g.ConstI("axes", {1}, {0});
  const int y = g.Tensor("y", DType::kFloat32, {2});
  g.Op(OpCode::kSum, {read_old_state ? kv : kv_out, axes}, {y}, graph::ReducerOptions{false});
  g.Output("y", y);
  g.Output("kv", kv_out);
}

Status Feed(SignatureRunner* r, const std::vector<float>& x, int32_t pos) {
  LITEQ_ASSIGN_OR_RETURN(TensorView xv, r->Input("x"));
  LITEQ_ASSIGN_OR_RETURN(TensorView pv, r->Input("pos"));
  if (xv.as<float>().size() != x.size()) return InternalError("bad x size");
  std::copy(x.begin(), x.end(), xv.as<float>().begin());
  pv.as<int32_t>()[0] = pos;
  return r->Invoke();
}

std::vector<float> OutputF(SignatureRunner* r, const std::string& name) {
  auto v = r->Output(name);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  if (!v.ok()) return {};
  auto s = v->as<float>();
  return std::vector<float>(s.begin(), s.end());
}

TEST(InterpreterState, SignaturesShareOneCacheUpdatedInPlace) {
  GraphBuilder g;
  AddCacheSignature(g, "prefill", 2);
  AddCacheSignature(g, "decode", 1);
  ASSERT_OK_AND_ASSIGN(auto interp, Interpreter::Create(g.model()));
  EXPECT_EQ(interp->SignatureKeys(), (std::vector<std::string>{"prefill", "decode"}));
  EXPECT_EQ(interp->StateNames(), (std::vector<std::string>{"kv"}));
  ASSERT_OK_AND_ASSIGN(SignatureRunner * prefill, interp->GetSignature("prefill"));
  ASSERT_OK_AND_ASSIGN(SignatureRunner * decode, interp->GetSignature("decode"));
  ASSERT_OK_AND_ASSIGN(TensorView state, interp->State("kv"));
  void* const state_data = state.data;
  // Both signatures bind their kv input and output to the one state buffer.
  ASSERT_OK_AND_ASSIGN(TensorView prefill_in, prefill->Input("kv"));
  ASSERT_OK_AND_ASSIGN(TensorView decode_in, decode->Input("kv"));
  ASSERT_OK_AND_ASSIGN(TensorView decode_out, decode->Output("kv"));
  EXPECT_EQ(prefill_in.data, state_data);
  EXPECT_EQ(decode_in.data, state_data);
  EXPECT_EQ(decode_out.data, state_data);
  // The planner proved the in-place update safe in both signatures.
  EXPECT_EQ(prefill->plan_report().in_place_states, std::vector<std::string>{"kv"});
  EXPECT_EQ(decode->plan_report().in_place_states, std::vector<std::string>{"kv"});
  EXPECT_TRUE(decode->plan_report().snapshot_states.empty());

  interp->ResetState();
  ASSERT_OK(Feed(prefill, {1, 2, 3, 4}, 0));
  EXPECT_EQ(OutputF(prefill, "y"), (std::vector<float>{4, 6}));
  ASSERT_OK(Feed(decode, {10, 20}, 2));
  EXPECT_EQ(OutputF(decode, "y"), (std::vector<float>{14, 26}));  // sees prefill's rows
  ASSERT_OK(Feed(decode, {100, 200}, 3));
  EXPECT_EQ(OutputF(decode, "y"), (std::vector<float>{114, 226}));
  ASSERT_OK_AND_ASSIGN(TensorView after, interp->State("kv"));
  EXPECT_EQ(after.data, state_data);
  EXPECT_EQ(std::vector<float>(after.as<float>().begin(), after.as<float>().end()),
            (std::vector<float>{1, 2, 3, 4, 10, 20, 100, 200}));
  // No DUS copied its whole operand and no snapshot was taken.
  EXPECT_EQ(decode->counters().invocations, 2u);
  EXPECT_EQ(decode->counters().dus_full_copies, 0u);
  EXPECT_EQ(prefill->counters().dus_full_copies, 0u);
  EXPECT_EQ(decode->counters().state_snapshots, 0u);
  // Positions past the end clamp (TFLite semantics): the last row is overwritten.
  ASSERT_OK(Feed(decode, {-1, -1}, 9));
  EXPECT_EQ(OutputF(decode, "y"), (std::vector<float>{13, 25}));
  interp->ResetState();
  EXPECT_EQ(after.as<float>()[7], 0.0f);
}

// Pages of [data, data + bytes) the process has resident (mincore(2)).
size_t ResidentPages(const void* data, size_t bytes) {
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(data) / page * page;
  const size_t pages = (reinterpret_cast<uintptr_t>(data) + bytes - begin + page - 1) / page;
  std::vector<unsigned char> resident(pages);
  EXPECT_EQ(::mincore(reinterpret_cast<void*>(begin), pages * page, resident.data()), 0);
  return static_cast<size_t>(std::count_if(resident.begin(), resident.end(),
                                           [](unsigned char r) { return (r & 1) != 0; }));
}

// A large state (its own anonymous mapping, AlignedBuffer) is cleared by handing its
// pages back instead of writing zeros over them, so a reset KV cache costs only the
// positions written afterwards (issue #6); it reads as zeros and works as before.
TEST(InterpreterState, ResetStateHandsALargeCacheBackAndItReadsZero) {
  constexpr int kRows = 16384;  // [16384, 2] floats: 128 KiB
  GraphBuilder g;
  AddCacheSignature(g, "decode", 1, /*read_old_state=*/false, kRows);
  ASSERT_OK_AND_ASSIGN(auto interp, Interpreter::Create(g.model()));
  ASSERT_OK_AND_ASSIGN(SignatureRunner * decode, interp->GetSignature("decode"));
  ASSERT_OK_AND_ASSIGN(TensorView state, interp->State("kv"));
  ASSERT_EQ(state.bytes, size_t{kRows} * 2 * sizeof(float));
  // A fresh cache is not resident: creating the interpreter wrote nothing to it.
  EXPECT_EQ(ResidentPages(state.data, state.bytes), 0u);
  ASSERT_OK(Feed(decode, {1, 2}, 0));
  ASSERT_OK(Feed(decode, {10, 20}, kRows / 2));
  ASSERT_OK(Feed(decode, {100, 200}, kRows - 1));
  EXPECT_EQ(OutputF(decode, "y"), (std::vector<float>{111, 222}));
  EXPECT_GT(ResidentPages(state.data, state.bytes), 0u);
  interp->ResetState();
  EXPECT_EQ(ResidentPages(state.data, state.bytes), 0u);
  const auto values = state.as<float>();
  EXPECT_TRUE(std::all_of(values.begin(), values.end(), [](float v) { return v == 0.0f; }));
  ASSERT_OK(Feed(decode, {5, 6}, 7));
  EXPECT_EQ(OutputF(decode, "y"), (std::vector<float>{5, 6}));  // only the new row
  EXPECT_EQ(values[14], 5.0f);
  EXPECT_EQ(values[15], 6.0f);
}

TEST(InterpreterState, ReadingTheOldStateAfterTheUpdateUsesASnapshot) {
  GraphBuilder g;
  AddCacheSignature(g, "decode", 1, /*read_old_state=*/true);
  ASSERT_OK_AND_ASSIGN(auto interp, Interpreter::Create(g.model()));
  ASSERT_OK_AND_ASSIGN(SignatureRunner * decode, interp->GetSignature("decode"));
  EXPECT_EQ(decode->plan_report().snapshot_states, std::vector<std::string>{"kv"});
  EXPECT_TRUE(decode->plan_report().in_place_states.empty());
  ASSERT_OK(Feed(decode, {1, 2}, 0));
  EXPECT_EQ(OutputF(decode, "y"), (std::vector<float>{0, 0}));  // the state before the update
  ASSERT_OK(Feed(decode, {3, 4}, 1));
  EXPECT_EQ(OutputF(decode, "y"), (std::vector<float>{1, 2}));
  EXPECT_EQ(decode->counters().state_snapshots, 2u);
  EXPECT_EQ(decode->counters().dus_full_copies, 2u);
  ASSERT_OK_AND_ASSIGN(TensorView state, interp->State("kv"));
  EXPECT_EQ(state.as<float>()[2], 3.0f);
}

TEST(InterpreterState, SignaturesMustAgreeOnStateShape) {
  GraphBuilder g;
  AddCacheSignature(g, "prefill", 2);
  g.BeginSignature("decode");
  const int kv = g.Input("kv", DType::kFloat32, {8, 2});
  const int out = g.Tensor("kv_out", DType::kFloat32, {8, 2});
  g.Op(OpCode::kNeg, {kv}, {out});
  g.Output("kv", out);
  auto r = Interpreter::Create(g.model());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("state 'kv' is float32 [8, 2] here but float32 [4, 2]"),
            std::string::npos)
      << r.status().ToString();
}

// x -> EXP -> a -> EXP -> b -> EXP -> c -> EXP -> out: a and c can share memory.
std::shared_ptr<graph::Model> ChainModel() {
  GraphBuilder g;
  g.BeginSignature("chain");
  int prev = g.Input("x", DType::kFloat32, {256});
  for (const char* name : {"a", "b", "c", "d"}) {
    const int next = g.Tensor(name, DType::kFloat32, {256});
    g.Op(OpCode::kExp, {prev}, {next});
    prev = next;
  }
  g.Output("out", prev);
  return g.model();
}

TEST(InterpreterMemory, ArenaReusesFreedRanges) {
  ASSERT_OK_AND_ASSIGN(auto interp, Interpreter::Create(ChainModel()));
  ASSERT_OK_AND_ASSIGN(SignatureRunner * r, interp->GetSignature("chain"));
  const PlanReport& report = r->plan_report();
  EXPECT_EQ(report.intermediate_bytes, 3u * 1024u);
  EXPECT_EQ(report.arena_bytes, 2u * 1024u);  // a and c share; b overlaps both
  EXPECT_EQ(interp->arena_bytes(), report.arena_bytes);
  ASSERT_OK_AND_ASSIGN(TensorView x, r->Input("x"));
  for (float& v : x.as<float>()) v = -1.0f;
  ASSERT_OK(r->Invoke());
  const float want = std::exp(std::exp(std::exp(std::exp(-1.0f))));
  EXPECT_FLOAT_EQ(OutputF(r, "out")[100], want);
  // Intermediates are not readable unless preserved.
  EXPECT_EQ(r->TensorByName("b").status().code(), StatusCode::kFailedPrecondition);
}

TEST(InterpreterMemory, PreserveAllTensorsKeepsEveryIntermediate) {
  InterpreterOptions options;
  options.preserve_all_tensors = true;
  ASSERT_OK_AND_ASSIGN(auto interp, Interpreter::Create(ChainModel(), options));
  ASSERT_OK_AND_ASSIGN(SignatureRunner * r, interp->GetSignature("chain"));
  EXPECT_EQ(r->plan_report().arena_bytes, 3u * 1024u);
  ASSERT_OK_AND_ASSIGN(TensorView x, r->Input("x"));
  for (float& v : x.as<float>()) v = 0.0f;
  ASSERT_OK(r->Invoke());
  ASSERT_OK_AND_ASSIGN(TensorView a, r->TensorByName("a"));
  ASSERT_OK_AND_ASSIGN(TensorView b, r->TensorByName("b"));
  EXPECT_FLOAT_EQ(a.as<float>()[0], 1.0f);
  EXPECT_FLOAT_EQ(b.as<float>()[0], std::exp(1.0f));
  EXPECT_EQ(r->TensorByName("nope").status().code(), StatusCode::kNotFound);
}

// t = EXP(x); u = DUS(t, upd, idx); r = RESHAPE(u); out = NEG(r): u aliases t, r aliases u.
std::shared_ptr<graph::Model> InPlaceIntermediateModel() {
  GraphBuilder g;
  g.BeginSignature("main");
  const int x = g.Input("x", DType::kFloat32, {3, 2});
  const int upd = g.Input("upd", DType::kFloat32, {1, 2});
  const int idx = g.Input("idx", DType::kInt32, {2});
  const int t = g.Tensor("t", DType::kFloat32, {3, 2});
  g.Op(OpCode::kExp, {x}, {t});
  const int u = g.Tensor("u", DType::kFloat32, {3, 2});
  g.Op(OpCode::kDynamicUpdateSlice, {t, upd, idx}, {u});
  const int shape = g.ConstI("shape", {1}, {6});
  const int r = g.Tensor("r", DType::kFloat32, {6});
  g.Op(OpCode::kReshape, {u, shape}, {r});
  const int out = g.Tensor("out", DType::kFloat32, {6});
  g.Op(OpCode::kNeg, {r}, {out});
  g.Output("out", out);
  return g.model();
}

void RunInPlaceModel(Interpreter& interp, std::vector<float>* out) {
  auto r = interp.GetSignature("main");
  ASSERT_TRUE(r.ok());
  ASSERT_OK_AND_ASSIGN(TensorView x, (*r)->Input("x"));
  ASSERT_OK_AND_ASSIGN(TensorView upd, (*r)->Input("upd"));
  ASSERT_OK_AND_ASSIGN(TensorView idx, (*r)->Input("idx"));
  for (float& v : x.as<float>()) v = 0.0f;
  upd.as<float>()[0] = 5.0f;
  upd.as<float>()[1] = 6.0f;
  idx.as<int32_t>()[0] = 1;
  idx.as<int32_t>()[1] = 0;
  ASSERT_OK((*r)->Invoke());
  *out = OutputF(*r, "out");
}

TEST(InterpreterMemory, DynamicUpdateSliceAndReshapeShareTheirInputsStorage) {
  ASSERT_OK_AND_ASSIGN(auto interp, Interpreter::Create(InPlaceIntermediateModel()));
  ASSERT_OK_AND_ASSIGN(SignatureRunner * r, interp->GetSignature("main"));
  EXPECT_EQ(r->plan_report().aliased_tensors, 2);
  EXPECT_EQ(r->plan_report().arena_bytes, 64u);  // t, u and r share one block ("out" is I/O)
  std::vector<float> out;
  RunInPlaceModel(*interp, &out);
  EXPECT_EQ(out, (std::vector<float>{-1, -1, -5, -6, -1, -1}));
  EXPECT_EQ(r->counters().dus_full_copies, 0u);

  InterpreterOptions preserve;
  preserve.preserve_all_tensors = true;
  ASSERT_OK_AND_ASSIGN(auto copy_interp, Interpreter::Create(InPlaceIntermediateModel(), preserve));
  RunInPlaceModel(*copy_interp, &out);
  EXPECT_EQ(out, (std::vector<float>{-1, -1, -5, -6, -1, -1}));
  ASSERT_OK_AND_ASSIGN(SignatureRunner * pr, copy_interp->GetSignature("main"));
  EXPECT_EQ(pr->counters().dus_full_copies, 1u);
  ASSERT_OK_AND_ASSIGN(TensorView t, pr->TensorByName("t"));
  EXPECT_EQ(t.as<float>()[2], 1.0f);  // t itself was not overwritten
}

// --- Malformed graphs -------------------------------------------------------------

Status CreateStatus(const std::shared_ptr<graph::Model>& model) {
  auto r = Interpreter::Create(model);
  return r.ok() ? Status::Ok() : r.status();
}

void ExpectError(const Status& s, StatusCode code, const std::vector<std::string>& fragments) {
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), code) << s.ToString();
  for (const auto& f : fragments)
    EXPECT_NE(s.message().find(f), std::string::npos)
        << "missing '" << f << "' in " << s.ToString();
}

TEST(InterpreterValidation, WrongInputCount) {
  GraphBuilder g;
  g.BeginSignature("main");
  const int x = g.Input("x", DType::kFloat32, {2});
  const int y = g.Tensor("y", DType::kFloat32, {2});
  g.Op(OpCode::kAdd, {x}, {y});
  g.Output("y", y);
  ExpectError(CreateStatus(g.model()), StatusCode::kInvalidArgument,
              {"signature 'main' (subgraph 0)", "op 0 ADD (inputs 'x' -> outputs 'y')",
               "has 1 inputs, expected 2"});
}

TEST(InterpreterValidation, ShapeMismatch) {
  GraphBuilder g;
  g.BeginSignature("main");
  const int x = g.Input("x", DType::kFloat32, {2, 3});
  const int w = g.ConstF("w", {4, 2}, std::vector<float>(8, 1.0f));
  const int y = g.Tensor("y", DType::kFloat32, {2, 4});
  g.Op(OpCode::kFullyConnected, {x, w, -1}, {y}, graph::FullyConnectedOptions{});
  g.Output("y", y);
  ExpectError(
      CreateStatus(g.model()), StatusCode::kInvalidArgument,
      {"op 0 FULLY_CONNECTED", "input 'x' [2, 3] does not end in the weights' input size 2"});
}

TEST(InterpreterValidation, TensorIndexOutOfRange) {
  GraphBuilder g;
  g.BeginSignature("main");
  const int x = g.Input("x", DType::kFloat32, {2});
  const int y = g.Tensor("y", DType::kFloat32, {2});
  g.Op(OpCode::kAdd, {x, 99}, {y});
  g.Output("y", y);
  ExpectError(CreateStatus(g.model()), StatusCode::kInvalidArgument,
              {"op 0 ADD: input 1 refers to tensor 99 but the subgraph has 2 tensors"});
  g.sig().outputs.emplace_back("z", 7);
  g.sg().ops.clear();
  ExpectError(CreateStatus(g.model()), StatusCode::kInvalidArgument,
              {"output 'z' refers to tensor 7"});
}

TEST(InterpreterValidation, ReadBeforeWriteConstantSizeAndUnsupportedOp) {
  {
    GraphBuilder g;
    g.BeginSignature("main");
    const int x = g.Input("x", DType::kFloat32, {2});
    const int a = g.Tensor("a", DType::kFloat32, {2});
    const int b = g.Tensor("b", DType::kFloat32, {2});
    g.Op(OpCode::kNeg, {a}, {b});
    g.Op(OpCode::kNeg, {x}, {a});
    g.Output("b", b);
    ExpectError(CreateStatus(g.model()), StatusCode::kInvalidArgument,
                {"op 0 NEG reads tensor 1 'a' before op 1 writes it"});
  }
  {
    GraphBuilder g;
    g.BeginSignature("main");
    const int x = g.Input("x", DType::kFloat32, {2});
    const int c = g.ConstF("c", {2}, {1.0f});  // one float for a [2] tensor
    const int y = g.Tensor("y", DType::kFloat32, {2});
    g.Op(OpCode::kAdd, {x, c}, {y});
    g.Output("y", y);
    ExpectError(CreateStatus(g.model()), StatusCode::kInvalidArgument,
                {"tensor 1 'c': constant buffer 1 has 4 bytes but float32 [2] needs 8"});
  }
  {
    GraphBuilder g;
    g.BeginSignature("main");
    // (PAD: an op the runtime has no kernel for; QUANTIZE has one now.)
    const int x = g.Input("x", DType::kFloat32, {2});
    const int pads = g.ConstI("pads", {1, 2}, {1, 1});
    const int y = g.Tensor("y", DType::kFloat32, {4});
    g.Op(OpCode::kPad, {x, pads}, {y});
    g.Output("y", y);
    ExpectError(CreateStatus(g.model()), StatusCode::kUnimplemented, {"op 0 PAD", "no kernel"});
  }
  {
    GraphBuilder g;
    g.BeginSignature("main");
    const int x = g.Input("x", DType::kFloat32, {-2});
    g.Output("x", x);
    ExpectError(CreateStatus(g.model()), StatusCode::kInvalidArgument,
                {"tensor 0 'x' has negative dimension"});
  }
}

TEST(InterpreterValidation, LookupErrorsNameWhatExists) {
  ASSERT_OK_AND_ASSIGN(auto interp, Interpreter::Create(ChainModel()));
  auto missing = interp->GetSignature("decode");
  ExpectError(missing.status(), StatusCode::kNotFound, {"no signature 'decode'", "chain"});
  ASSERT_OK_AND_ASSIGN(SignatureRunner * r, interp->GetSignature("chain"));
  ExpectError(r->Input("y").status(), StatusCode::kNotFound, {"no input 'y'", "it has: x"});
  ExpectError(interp->State("kv").status(), StatusCode::kNotFound, {"no state tensor 'kv'"});
  EXPECT_FALSE(Interpreter::Create(nullptr).ok());
  InterpreterOptions bad;
  bad.num_threads = 0;
  EXPECT_FALSE(Interpreter::Create(ChainModel(), bad).ok());
}

}  // namespace
}  // namespace liteq::runtime::testing

#include "runtime/kernels/fused_attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <vector>

#include "runtime/kernels/float_math_simd.h"
#include "runtime/kernels/matmul.h"
#include "runtime/thread_pool.h"

namespace liteq::runtime {
namespace {

constexpr float kHiddenBelow = kAttentionHiddenBelow;
// Query rows handled together: one q x keys and one probs x V product per block.
constexpr int kRowBlock = 16;
// Query rows per kv head from which a head's live keys are transposed once per step
// ([head_dim, n]) so that q x keys runs as an NN product: broadcast q, keys along the
// vector lanes, no horizontal sums (the NT form reduces a vector per score). Decode's
// few rows per head keep the NT form.
constexpr int kTransposedKeysMinRows = 8;
constexpr size_t kAlign = 64;

size_t AlignUp(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
// Softmax rows whose in-order sums run interleaved.
constexpr int kSumRows = 4;

class FusedAttentionKernel : public Kernel {
 public:
  FusedAttentionKernel(const AttentionMatch& m, int tasks)
      : kv_(m.kv_heads),
        rows_(m.rows),
        tokens_(m.tokens),
        seq_(m.max_seq),
        hd_(m.head_dim),
        tasks_(tasks),
        from_positions_(m.positions >= 0),
        window_(m.window),
        transpose_keys_(m.rows >= kTransposedKeysMinRows),
        keys_mutex_(std::make_unique<std::mutex[]>(static_cast<size_t>(m.kv_heads))),
        keys_ready_(static_cast<size_t>(m.kv_heads), 0) {}

  // Scratch: per task one block's scores; the tokens' live keys (TokenLiveKeys); per kv
  // head its transposed live keys.
  size_t ScoresBytes() const {
    return AlignUp(static_cast<size_t>(tasks_) * kRowBlock * static_cast<size_t>(seq_) *
                   sizeof(float));
  }
  size_t TransposedKeysAt() const {
    return ScoresBytes() + AlignUp(static_cast<size_t>(tokens_) * sizeof(int32_t));
  }
  size_t ScratchBytes() const {
    return TransposedKeysAt() +
           (transpose_keys_ ? static_cast<size_t>(kv_) * hd_ * seq_ * sizeof(float) : 0);
  }

  Status Eval(const EvalContext& ctx) override {
    // The union of the live key ranges of all query tokens. Keys inside it that a
    // token does not see keep their mask value and get weight 0 from the softmax.
    int lo = seq_, hi = -1;
    if (from_positions_) {
      WidenToLiveKeys(In<int32_t>(ctx, 4), tokens_, window_, seq_, lo, hi);
    } else {
      MaskRange(In<float>(ctx, 3), lo, hi);
    }
    // Every key hidden for every token: the softmax of equal values is uniform over
    // all keys, as the unfused ops compute it.
    if (hi < lo) lo = 0, hi = seq_ - 1;
    live_lo_ = lo;
    live_n_ = hi - lo + 1;
    token_keys_ = nullptr;
    if (tokens_ > 1) {  // the causal cut (attention_fusion.h)
      auto* keys = reinterpret_cast<int32_t*>(ctx.scratch + ScoresBytes());
      TokenLiveKeys(from_positions_ ? In<int32_t>(ctx, 4) : nullptr, In<float>(ctx, 3),
                    kHiddenBelow, tokens_, seq_, live_lo_, live_n_, keys);
      token_keys_ = keys;
    }
    std::fill(keys_ready_.begin(), keys_ready_.end(), 0);
    const int blocks_per_head = (rows_ + kRowBlock - 1) / kRowBlock;
    const int total = kv_ * blocks_per_head;
    const int tasks = std::min(tasks_, total);
    // Blocks are taken as threads come free: after the causal cut their costs differ.
    // Heads alternate (the threads transpose different heads' keys) and each head's
    // last rows, which see the most keys, come first (fused_attention_int8.cc).
    next_block_.store(0, std::memory_order_relaxed);
    keys_cut_.store(0, std::memory_order_relaxed);
    auto run = [&](int task) {
      float* scores = reinterpret_cast<float*>(ctx.scratch) +
                      static_cast<size_t>(task) * kRowBlock * static_cast<size_t>(seq_);
      uint64_t cut = 0;  // rows x keys left out by this task's blocks
      for (int b = next_block_.fetch_add(1, std::memory_order_relaxed); b < total;
           b = next_block_.fetch_add(1, std::memory_order_relaxed)) {
        cut += Block(ctx, b % kv_, (blocks_per_head - 1 - b / kv_) * kRowBlock, scores);
      }
      keys_cut_.fetch_add(cut, std::memory_order_relaxed);
    };
    if (ctx.pool != nullptr && tasks > 1) {
      ctx.pool->ParallelFor(tasks, run);
    } else {
      for (int task = 0; task < tasks; ++task) run(task);
    }
    if (ctx.counters != nullptr) {
      ctx.counters->attention_keys_cut += keys_cut_.load(std::memory_order_relaxed);
    }
    return Status::Ok();
  }

 private:
  // First and last key any token sees, from the mask rows [T, S]: O(S) per token.
  void MaskRange(const float* mask, int& lo, int& hi) const {
    for (int t = 0; t < tokens_; ++t) {
      const float* row = mask + static_cast<size_t>(t) * seq_;
      for (int j = 0; j < lo; ++j) {
        if (row[j] > kHiddenBelow) {
          lo = j;
          break;
        }
      }
      for (int j = seq_ - 1; j > hi; --j) {
        if (row[j] > kHiddenBelow) {
          hi = j;
          break;
        }
      }
    }
  }

  // Head h's live keys as [head_dim, live_n_] (row d = component d of every key),
  // written once per step by the first block of the head that needs them.
  const float* TransposedKeys(const EvalContext& ctx, int h) {
    std::lock_guard<std::mutex> lock(keys_mutex_[static_cast<size_t>(h)]);
    const auto n = static_cast<size_t>(live_n_);
    const auto hd = static_cast<size_t>(hd_);
    float* out = reinterpret_cast<float*>(ctx.scratch + TransposedKeysAt()) + h * hd * n;
    if (keys_ready_[static_cast<size_t>(h)]) return out;
    const size_t stride = static_cast<size_t>(kv_) * hd;
    const float* keys = In<float>(ctx, 1) + static_cast<size_t>(live_lo_) * stride + h * hd;
    constexpr size_t kKeys = 16;  // keys per pass: 16 output runs of one cache line
    for (size_t j0 = 0; j0 < n; j0 += kKeys) {
      const size_t j1 = std::min(n, j0 + kKeys);
      for (size_t d = 0; d < hd; ++d) {
        for (size_t j = j0; j < j1; ++j) out[d * n + j] = keys[j * stride + d];
      }
    }
    keys_ready_[static_cast<size_t>(h)] = 1;
    return out;
  }

  // Query rows [row0, row0 + kRowBlock) of kv head h.
  // Returns the rows x keys the causal cut left out.
  uint64_t Block(const EvalContext& ctx, int h, int row0, float* scores) {
    const float* q = In<float>(ctx, 0);
    const float* k = In<float>(ctx, 1);
    const float* v = In<float>(ctx, 2);
    const float* mask = In<float>(ctx, 3);
    float* out = Out<float>(ctx, 0);
    const int m = std::min(kRowBlock, rows_ - row0);
    // Keys computed: a prefix of the live ones (the causal cut, attention_fusion.h).
    const int n = BlockLiveKeys(token_keys_, tokens_, row0, m, live_n_);
    const size_t head_rows = static_cast<size_t>(h) * rows_ + row0;
    const size_t cache_stride = static_cast<size_t>(kv_) * hd_;  // between positions
    const size_t first_key = static_cast<size_t>(live_lo_) * cache_stride + h * hd_;
    MatMulArgs s;
    s.a = q + head_rows * hd_;
    s.lda = hd_;
    s.c = scores;
    s.ldc = n;
    s.m = m;
    s.n = n;
    s.k = hd_;
    if (transpose_keys_) {
      s.b = TransposedKeys(ctx, h);
      s.ldb = live_n_;
      FastMatMulNN(s);
    } else {
      s.b = k + first_key;
      s.ldb = cache_stride;
      FastMatMulNT(s, 0, n);
    }
    for (int r = 0; r < m; ++r) {
      // Rows are (group, token) pairs: token = row % tokens (builder's q_grouped).
      const int token = (row0 + r) % tokens_;
      const float* mrow = mask + static_cast<size_t>(token) * seq_ + live_lo_;
      float* x = scores + static_cast<size_t>(r) * n;
      const auto count = static_cast<size_t>(n);
      // As the ADD and SOFTMAX kernels (softmax.cc): the same IEEE sums, the row's max
      // (SimdMax: any zero max gives the same x - max), SIMD exp(x - max), sum in order,
      // then multiply by 1 / sum, so fused and unfused attention give the same floats.
      SimdFloatBinary(FloatBinaryOp::kAdd, BinaryOperands::kVectorVector, x, mrow, x, count);
      const float max = SimdMax(x, count);
      SimdFloatBinary(FloatBinaryOp::kSub, BinaryOperands::kVectorScalar, x, &max, x, count);
      SimdFloatUnary(FloatUnaryOp::kExp, x, x, count);
    }
    // Each row's sum in order, up to kSumRows rows interleaved (independent chains
    // instead of one add waiting on the previous: ~4x faster, the same floats).
    for (int r0 = 0; r0 < m; r0 += kSumRows) {
      const int rows = std::min(kSumRows, m - r0);
      float sum[kSumRows] = {};
      const float* x = scores + static_cast<size_t>(r0) * n;
      if (rows == kSumRows) {
        for (int j = 0; j < n; ++j) {
          for (int r = 0; r < kSumRows; ++r) sum[r] += x[static_cast<size_t>(r) * n + j];
        }
      } else {
        for (int r = 0; r < rows; ++r) {
          for (int j = 0; j < n; ++j) sum[r] += x[static_cast<size_t>(r) * n + j];
        }
      }
      for (int r = 0; r < rows; ++r) {
        const float inv = 1.0f / sum[r];
        float* row = scores + static_cast<size_t>(r0 + r) * n;
        SimdFloatBinary(FloatBinaryOp::kMul, BinaryOperands::kVectorScalar, row, &inv, row,
                        static_cast<size_t>(n));
      }
    }
    MatMulArgs c;
    c.a = scores;
    c.lda = n;
    c.b = v + first_key;
    c.ldb = cache_stride;
    c.c = out + head_rows * hd_;
    c.ldc = hd_;
    c.m = m;
    c.n = hd_;
    c.k = n;
    FastMatMulNN(c);
    return static_cast<uint64_t>(live_n_ - n) * static_cast<uint64_t>(m);
  }

  int kv_, rows_, tokens_, seq_, hd_, tasks_;
  bool from_positions_;  // the live range comes from input 4, the query positions
  int64_t window_;
  // Set at the start of each Eval, read by the blocks.
  int live_lo_ = 0, live_n_ = 0;
  const int32_t* token_keys_ = nullptr;       // [tokens]: TokenLiveKeys (null for one token)
  bool transpose_keys_;                       // q x keys as NN over TransposedKeys
  std::unique_ptr<std::mutex[]> keys_mutex_;  // one per kv head
  std::vector<uint8_t> keys_ready_;           // guarded by keys_mutex_[h]
  // On lines of their own: every block takes the next one, and the line must not be
  // the one the other thread reads the parameters from.
  alignas(64) std::atomic<int> next_block_{0};     // the next query block to take
  alignas(64) std::atomic<uint64_t> keys_cut_{0};  // the causal cuts (rows x keys) this Eval
};

}  // namespace

std::unique_ptr<Kernel> MakeFusedAttentionKernel(const AttentionMatch& match, int num_threads,
                                                 size_t* scratch_bytes) {
  auto kernel = std::make_unique<FusedAttentionKernel>(match, std::max(1, num_threads));
  *scratch_bytes = kernel->ScratchBytes();
  return kernel;
}

}  // namespace liteq::runtime

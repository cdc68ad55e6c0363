#include "runtime/kernels/fused_attention_int8.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <mutex>
#include <vector>

#include "runtime/kernels/quantized/attention_mask_int8.h"
#include "runtime/kernels/quantized/attention_vnni.h"
#include "runtime/kernels/quantized/batch_matmul_int.h"
#include "runtime/kernels/quantized/elementwise_int.h"
#include "runtime/kernels/quantized/int8_dot.h"
#include "runtime/kernels/quantized/kn_dots.h"
#include "runtime/kernels/quantized/lut_int.h"
#include "runtime/kernels/quantized/quantize_fast.h"
#include "runtime/kernels/quantized/requantize_rows.h"
#include "runtime/kernels/quantized/softmax_int.h"
#include "runtime/kernels/quantized_tensor.h"
#include "runtime/thread_pool.h"

namespace liteq::runtime {
namespace {

namespace q8 = quantized;

// Query rows handled together: one q x keys dot block per task step.
constexpr int kRowBlock = 16;
// Live keys are summed (value column sums) and, in a prefill block, cut off in groups
// of this many (BlockLiveKeys): the VNNI key layout's group (attention_vnni.h), a
// multiple of its 4-row value quads.
constexpr int kKeyGroup = kAttentionKeyGroup;
constexpr size_t kAlign = 64;
// Softmax rows whose sums run interleaved.
constexpr int kSoftmaxRows = 4;
// Rows shorter than this map their scores to probabilities one by one.
constexpr size_t kDirectProbabilities = 16;
// Cache bytes (live positions x kv heads x head_dim) from which the live rows are
// prepared on several threads: ~1 us of quantizing and summing on one core.
constexpr size_t kParallelPrepareMin = 4096;
// Parts per thread then (taken dynamically by the pool, as the FC channel tasks).
constexpr int kPreparePartsPerThread = 2;
// Query rows per kv head from which the VNNI products run (attention_vnni.h): laying
// out a head's keys and values costs about what one row's products do.
constexpr int kVnniMinRows = 8;

size_t AlignUp(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
size_t KeyGroups(size_t keys) { return (keys + kKeyGroup - 1) / kKeyGroup; }

// Everything Eval needs, validated and precomputed at Prepare.
struct Int8AttentionParams {
  int kv = 0, rows = 0, tokens = 0, seq = 0, hd = 0;
  bool k_float = false, v_float = false;  // caches quantized on the fly (QUANTIZE)
  quant::QuantParams k_quant, v_quant;
  // scores = BATCH_MATMUL(q, keys, adj_y) and out = BATCH_MATMUL(probs, values).
  q8::BatchMatMulInt8Params scores, context;
  q8::AddSubParams add;  // masked = ADD(scores, mask)
  q8::SoftmaxInt8Params softmax;
  int hidden_mask_max = -129;   // mask values <= this hide a key (saturate the ADD)
  q8::MaskAddTable mask_table;  // the ADD for rows of visible and hidden keys
  bool from_positions = false;
  int64_t window = 0;
};

class FusedAttentionInt8Kernel : public Kernel {
 public:
  FusedAttentionInt8Kernel(std::unique_ptr<Int8AttentionParams> p, int threads)
      : p_(std::move(p)),
        tasks_(std::max(1, threads)),
        stride_(static_cast<size_t>(p_->kv) * p_->hd),
        dots_fn_(q8::BestInt8Dots()),
        kn_dots_fn_(q8::BestKnDots()),
        requantize_fn_(q8::BestBatchMatMulRequantize()),
        add_fn_(q8::BestAddSubInt8Row()),
        probabilities_fn_(q8::BestQuantizeProbabilities()),
        hidden_mutex_(std::make_unique<std::mutex[]>(static_cast<size_t>(p_->kv))),
        hidden_ready_(static_cast<size_t>(p_->kv), 0),
        vnni_(q8::AttentionVnniSupported(static_cast<size_t>(p_->hd))),
        vnni_mutex_(std::make_unique<std::mutex[]>(static_cast<size_t>(p_->kv))),
        vnni_ready_(static_cast<size_t>(p_->kv), 0) {
    const auto seq = static_cast<size_t>(p_->seq);
    size_t at = 0;
    auto take = [&](size_t bytes) {
      const size_t offset = at;
      at += AlignUp(bytes);
      return offset;
    };
    k_rows_at_ = p_->k_float ? take(seq * stride_) : 0;
    v_rows_at_ = p_->v_float ? take(seq * stride_) : 0;
    key_sums_at_ = take(static_cast<size_t>(p_->kv) * seq * sizeof(int32_t));
    value_prefix_at_ = take((KeyGroups(seq) + 1) * stride_ * sizeof(int32_t));
    token_keys_at_ = take(static_cast<size_t>(p_->tokens) * sizeof(int32_t));
    hidden_sums_at_ = take(stride_ * sizeof(int32_t));
    if (vnni_) {  // per kv head: its keys and values laid out for vpdpbusd
      const auto hd = static_cast<size_t>(p_->hd);
      vnni_keys_bytes_ = q8::VnniKeysBytes(seq, hd);
      vnni_values_bytes_ = q8::VnniValuesBytes(seq, hd);
      vnni_keys_at_ = take(static_cast<size_t>(p_->kv) * vnni_keys_bytes_);
      vnni_values_at_ = take(static_cast<size_t>(p_->kv) * vnni_values_bytes_);
    }
    task_at_ = at;
    // Per task: q . k dots, masked scores / probabilities, one context row, one value
    // row quantized for HiddenValueSums.
    task_bytes_ = AlignUp(kRowBlock * seq * sizeof(int32_t)) + AlignUp(kRowBlock * seq) +
                  AlignUp(static_cast<size_t>(p_->hd) * sizeof(int32_t)) +
                  AlignUp(static_cast<size_t>(p_->hd));
    scratch_bytes_ = task_at_ + static_cast<size_t>(tasks_) * task_bytes_;
  }

  size_t scratch_bytes() const { return scratch_bytes_; }

  Status Eval(const EvalContext& ctx) override {
    const Int8AttentionParams& p = *p_;
    int lo = p.seq, hi = -1;
    if (p.from_positions) {
      WidenToLiveKeys(In<int32_t>(ctx, 4), p_->tokens, p_->window, p_->seq, lo, hi);
    } else {
      MaskRange(In<int8_t>(ctx, 3), lo, hi);
    }
    // Every key hidden for every token: compute all of them, as the unfused ops do.
    if (hi < lo) lo = 0, hi = p.seq - 1;
    live_lo_ = lo;
    live_n_ = hi - lo + 1;
    hidden_before_ = lo;
    hidden_after_ = p.seq - 1 - hi;
    PrepareLiveRows(ctx);
    token_keys_ = nullptr;
    if (p.tokens > 1) {
      token_keys_ = reinterpret_cast<int32_t*>(ctx.scratch + token_keys_at_);
      TokenLiveKeys(p.from_positions ? In<int32_t>(ctx, 4) : nullptr, In<int8_t>(ctx, 3),
                    static_cast<int8_t>(p.hidden_mask_max), p.tokens, p.seq, live_lo_, live_n_,
                    token_keys_);
    }
    std::fill(hidden_ready_.begin(), hidden_ready_.end(), 0);

    // Query rows are split into blocks of kRowBlock per kv head; when that leaves
    // fewer than two blocks per thread (decode: SmolLM2 has 3 kv heads of 3 query
    // rows, which split 2:1 over two threads), into single rows instead (5:4).
    int row_block = kRowBlock;
    if (p.kv * ((p.rows + kRowBlock - 1) / kRowBlock) < 2 * tasks_) row_block = 1;
    use_vnni_ = vnni_ && p.rows >= kVnniMinRows;
    std::fill(vnni_ready_.begin(), vnni_ready_.end(), 0);
    const int blocks_per_head = (p.rows + row_block - 1) / row_block;
    const int total = p.kv * blocks_per_head;
    const int tasks = std::min(tasks_, total);
    // Each task (its own scratch) takes blocks until none is left, so a thread that
    // is descheduled mid-op holds up one block, not a fixed share of them. Heads
    // alternate (the threads lay out different heads' keys instead of one waiting for
    // the other) and each head's last rows come first: they see the most keys, so the
    // blocks left at the end are the cheap ones.
    next_block_.store(0, std::memory_order_relaxed);
    keys_cut_.store(0, std::memory_order_relaxed);
    auto run = [&](int task) {
      uint8_t* scratch = ctx.scratch + task_at_ + static_cast<size_t>(task) * task_bytes_;
      uint64_t cut = 0;  // rows x keys left out by this task's blocks
      for (int b = next_block_.fetch_add(1, std::memory_order_relaxed); b < total;
           b = next_block_.fetch_add(1, std::memory_order_relaxed)) {
        const int h = b % p.kv;
        const int row0 = (blocks_per_head - 1 - b / p.kv) * row_block;
        cut += Block(ctx, h, row0, std::min(row_block, p.rows - row0), scratch);
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
      for (uint8_t ready : hidden_ready_) ctx.counters->attention_hidden_value_sums += ready;
      for (uint8_t ready : vnni_ready_) ctx.counters->attention_vnni_heads += ready;
    }
    return Status::Ok();
  }

 private:
  // First and last key any token sees: a key is hidden when its mask value saturates
  // the ADD. O(S) per token.
  void MaskRange(const int8_t* mask, int& lo, int& hi) const {
    const int seq = p_->seq;
    for (int t = 0; t < p_->tokens; ++t) {
      const int8_t* row = mask + static_cast<size_t>(t) * seq;
      for (int j = 0; j < lo; ++j) {
        if (row[j] > p_->hidden_mask_max) {
          lo = j;
          break;
        }
      }
      for (int j = seq - 1; j > hi; --j) {
        if (row[j] > p_->hidden_mask_max) {
          hi = j;
          break;
        }
      }
    }
  }

  // The live rows of the caches as int8 (a float cache quantized into scratch like the
  // QUANTIZE op, quantize_fast.h, bit-exact; an int8 cache read in place), the sum of
  // each live key row per head (the scores' column sums) and the value column sums over
  // the first g * kKeyGroup live rows for every g (value_prefix_ row g; a block that
  // leaves out the keys past some group takes its sums from there, the whole live range
  // is value_sums_). Split over groups of live rows across the pool when there is
  // enough of it; each part writes its own groups' sums, accumulated afterwards
  // (integer sums: the order does not matter).
  void PrepareLiveRows(const EvalContext& ctx) {
    const int hd = p_->hd;
    const auto n = static_cast<size_t>(live_n_);
    const size_t first = static_cast<size_t>(live_lo_) * stride_;
    auto* k_rows = reinterpret_cast<int8_t*>(ctx.scratch + k_rows_at_);
    auto* v_rows = reinterpret_cast<int8_t*>(ctx.scratch + v_rows_at_);
    keys_ = p_->k_float ? k_rows : In<int8_t>(ctx, 1) + first;
    values_ = p_->v_float ? v_rows : In<int8_t>(ctx, 2) + first;
    key_sums_ = reinterpret_cast<int32_t*>(ctx.scratch + key_sums_at_);
    value_prefix_ = reinterpret_cast<int32_t*>(ctx.scratch + value_prefix_at_);
    hidden_sums_ = reinterpret_cast<int32_t*>(ctx.scratch + hidden_sums_at_);
    const size_t groups = KeyGroups(n);
    const int threads = ctx.pool != nullptr ? std::min(tasks_, ctx.pool->num_threads()) : 1;
    const int parts =
        threads > 1 && n * stride_ >= kParallelPrepareMin
            ? static_cast<int>(std::min<size_t>(kPreparePartsPerThread * threads, groups))
            : 1;
    auto part = [&](int t) {
      const size_t g0 = groups * static_cast<size_t>(t) / static_cast<size_t>(parts);
      const size_t g1 = groups * static_cast<size_t>(t + 1) / static_cast<size_t>(parts);
      const size_t j0 = g0 * kKeyGroup;
      const size_t j1 = std::min(n, g1 * kKeyGroup);
      const size_t at = j0 * stride_;
      const size_t count = (j1 - j0) * stride_;
      if (p_->k_float) {
        q8::FastQuantizeFloatToInt8({In<float>(ctx, 1) + first + at, count}, p_->k_quant,
                                    {k_rows + at, count});
      }
      if (p_->v_float) {
        q8::FastQuantizeFloatToInt8({In<float>(ctx, 2) + first + at, count}, p_->v_quant,
                                    {v_rows + at, count});
      }
      for (size_t j = j0; j < j1; ++j) {
        const int8_t* k = keys_ + j * stride_;
        for (int h = 0; h < p_->kv; ++h) {
          int32_t sum = 0;
          for (int d = 0; d < hd; ++d) sum += k[h * hd + d];
          key_sums_[static_cast<size_t>(h) * p_->seq + j] = sum;
        }
      }
      for (size_t g = g0; g < g1; ++g) {  // group g's sums into prefix row g + 1
        int32_t* sums = value_prefix_ + (g + 1) * stride_;
        std::fill(sums, sums + stride_, 0);
        for (size_t j = g * kKeyGroup; j < std::min(n, (g + 1) * kKeyGroup); ++j) {
          const int8_t* v = values_ + j * stride_;
          for (size_t i = 0; i < stride_; ++i) sums[i] += v[i];
        }
      }
    };
    if (parts > 1) {
      ctx.pool->ParallelFor(parts, part);
    } else {
      part(0);
    }
    std::fill(value_prefix_, value_prefix_ + stride_, 0);
    for (size_t g = 1; g <= groups; ++g) {
      int32_t* sums = value_prefix_ + g * stride_;
      const int32_t* before = sums - stride_;
      for (size_t i = 0; i < stride_; ++i) sums[i] += before[i];
    }
    value_sums_ = value_prefix_ + groups * stride_;
  }

  // sum over the hidden rows j of (v[j, h, d] - zp_v) for every d of head h, once per
  // step (the first row that needs it computes it).
  // `row` holds head_dim bytes (for a float cache's row quantized).
  const int32_t* HiddenValueSums(const EvalContext& ctx, int h, int8_t* row) {
    std::lock_guard<std::mutex> lock(hidden_mutex_[static_cast<size_t>(h)]);
    int32_t* sums = hidden_sums_ + static_cast<size_t>(h) * p_->hd;
    if (hidden_ready_[static_cast<size_t>(h)]) return sums;
    const auto hd = static_cast<size_t>(p_->hd);
    const auto offset = static_cast<uint32_t>(p_->context.rhs_offset);
    std::fill(sums, sums + hd, 0);
    auto add_row = [&](int j) {
      const size_t at = static_cast<size_t>(j) * stride_ + static_cast<size_t>(h) * hd;
      const int8_t* v = row;
      if (p_->v_float) {
        q8::FastQuantizeFloatToInt8({In<float>(ctx, 2) + at, hd}, p_->v_quant, {row, hd});
      } else {
        v = In<int8_t>(ctx, 2) + at;
      }
      for (size_t d = 0; d < hd; ++d) {
        sums[d] = static_cast<int32_t>(static_cast<uint32_t>(sums[d]) +
                                       static_cast<uint32_t>(v[d]) + offset);
      }
    };
    for (int j = 0; j < hidden_before_; ++j) add_row(j);
    for (int j = p_->seq - hidden_after_; j < p_->seq; ++j) add_row(j);
    hidden_ready_[static_cast<size_t>(h)] = 1;
    return sums;
  }

  // Head h's live keys and values in the VNNI layouts (attention_vnni.h), laid out
  // once per step by the first block of the head that needs them.
  const int8_t* VnniLayouts(const EvalContext& ctx, int h, const int8_t** values) {
    std::lock_guard<std::mutex> lock(vnni_mutex_[static_cast<size_t>(h)]);
    auto* keys = reinterpret_cast<int8_t*>(ctx.scratch + vnni_keys_at_) +
                 static_cast<size_t>(h) * vnni_keys_bytes_;
    auto* vals = reinterpret_cast<int8_t*>(ctx.scratch + vnni_values_at_) +
                 static_cast<size_t>(h) * vnni_values_bytes_;
    *values = vals;
    if (vnni_ready_[static_cast<size_t>(h)]) return keys;
    const auto hd = static_cast<size_t>(p_->hd);
    const auto n = static_cast<size_t>(live_n_);
    q8::LayOutKeysVnni(keys_ + static_cast<size_t>(h) * hd, stride_, n, hd, keys);
    q8::LayOutValuesVnni(values_ + static_cast<size_t>(h) * hd, stride_, n, hd, vals);
    vnni_ready_[static_cast<size_t>(h)] = 1;
    return keys;
  }

  // Query rows [row0, row0 + m) of kv head h, m <= kRowBlock. Returns the rows x keys
  // the causal cut left out.
  uint64_t Block(const EvalContext& ctx, int h, int row0, int m, uint8_t* scratch) {
    const Int8AttentionParams& p = *p_;
    const auto ld = static_cast<size_t>(live_n_);  // row stride of dots and x
    // Keys computed: a prefix of the live ones (the causal cut, attention_fusion.h).
    const auto n = static_cast<size_t>(BlockLiveKeys(token_keys_, p.tokens, row0, m, live_n_));
    const int cut = static_cast<int>(ld - n);  // live keys hidden for the whole block
    const auto hd = static_cast<size_t>(p.hd);
    const auto seq = static_cast<size_t>(p.seq);
    auto* dots = reinterpret_cast<int32_t*>(scratch);
    auto* x = reinterpret_cast<int8_t*>(scratch + AlignUp(kRowBlock * seq * sizeof(int32_t)));
    const size_t context_at = AlignUp(kRowBlock * seq * sizeof(int32_t)) + AlignUp(kRowBlock * seq);
    auto* context = reinterpret_cast<int32_t*>(scratch + context_at);
    auto* value_row =
        reinterpret_cast<int8_t*>(scratch + context_at + AlignUp(hd * sizeof(int32_t)));
    const size_t head_rows = static_cast<size_t>(h) * p.rows + row0;
    const int8_t* q = In<int8_t>(ctx, 0) + head_rows * hd;
    const int8_t* mask = In<int8_t>(ctx, 3);
    int8_t* out = Out<int8_t>(ctx, 0) + head_rows * hd;

    // Raw q . k products of the block's rows with the first n live keys of head h.
    const int8_t* vnni_values = nullptr;
    if (use_vnni_) {
      const int8_t* vnni_keys = VnniLayouts(ctx, h, &vnni_values);
      q8::QueryKeyDotsVnni(q, hd, static_cast<size_t>(m), vnni_keys,
                           key_sums_ + static_cast<size_t>(h) * seq, n, hd, dots, ld);
    } else {
      q8::Int8DotArgs args;
      args.x = q;
      args.ldx = hd;
      args.w = keys_ + static_cast<size_t>(h) * hd;
      args.ldw = stride_;
      args.depth = hd;
      args.dots = dots;
      args.ld_dots = ld;
      dots_fn_(args, 0, static_cast<size_t>(m), 0, n);
    }

    const auto q_offset = static_cast<uint32_t>(p.scores.lhs_offset);
    const auto k_offset = static_cast<uint32_t>(p.scores.rhs_offset);
    const auto p_offset = static_cast<uint32_t>(p.context.lhs_offset);
    const auto v_offset = static_cast<uint32_t>(p.context.rhs_offset);
    for (int r = 0; r < m; ++r) {
      int8_t* row = x + static_cast<size_t>(r) * ld;
      // scores (BATCH_MATMUL epilogue, batch_matmul_fast.h folding), then + mask.
      uint32_t q_sum = 0;
      for (size_t d = 0; d < hd; ++d) q_sum += static_cast<uint32_t>(q[r * hd + d]);
      q8::BatchMatMulRequantizeArgs s;
      s.col_sums = key_sums_ + static_cast<size_t>(h) * seq;
      s.lhs_offset = q_offset;
      s.row_term = k_offset * q_sum + static_cast<uint32_t>(hd) * q_offset * k_offset;
      s.multiplier = p.scores.multiplier;
      s.output_offset = p.scores.output_offset;
      requantize_fn_(s, dots + static_cast<size_t>(r) * ld, n, row);
      const int token = (row0 + r) % p.tokens;
      const int8_t* mask_row = mask + static_cast<size_t>(token) * seq + live_lo_;
      if (!q8::ApplyMaskAddTable(p.mask_table, mask_row, row, n)) {
        add_fn_(p.add, row, 1, mask_row, 1, row, n);
      }
    }
    // Probabilities, up to kSoftmaxRows rows together (their in-order float sums
    // interleave instead of waiting on each other's additions).
    std::array<int8_t, kRowBlock> hidden_probs;
    for (int r = 0; r < m; r += kSoftmaxRows) {
      Softmax(x + static_cast<size_t>(r) * ld, std::min(kSoftmaxRows, m - r), n, ld, cut,
              hidden_probs.data() + r);
    }
    for (int r = 0; r < m; ++r) {
      int8_t* row = x + static_cast<size_t>(r) * ld;
      const int8_t hidden_prob = hidden_probs[static_cast<size_t>(r)];
      // context = BATCH_MATMUL(probs, values): a hidden key adds (p_h - zp_probs) *
      // (its value row - zp_v), usually 0 (header). Otherwise the block's cut keys join
      // the product with their probability p_h, and the keys outside the live range
      // are added from their value column sums.
      const auto hidden_weight = static_cast<uint32_t>(hidden_prob) + p_offset;
      size_t used = n;
      const int32_t* value_sums = value_prefix_ + n / kKeyGroup * stride_;
      if (hidden_weight != 0 && cut > 0) {
        std::fill(row + n, row + ld, hidden_prob);
        used = ld;
      }
      if (used == ld) value_sums = value_sums_;
      value_sums += static_cast<size_t>(h) * hd;
      q8::BatchMatMulRequantizeArgs c;
      if (use_vnni_) {
        q8::ProbValueDotsVnni(row, used, vnni_values, value_sums, hd, context);
      } else {
        kn_dots_fn_(row, values_ + static_cast<size_t>(h) * hd, used, stride_, hd, context);
      }
      uint32_t p_sum = 0;
      for (size_t j = 0; j < used; ++j) p_sum += static_cast<uint32_t>(row[j]);
      if (hidden_before_ + hidden_after_ > 0 && hidden_weight != 0) {
        const int32_t* hidden = HiddenValueSums(ctx, h, value_row);
        for (size_t d = 0; d < hd; ++d) {
          context[d] = static_cast<int32_t>(static_cast<uint32_t>(context[d]) +
                                            hidden_weight * static_cast<uint32_t>(hidden[d]));
        }
      }
      c.col_sums = value_sums;
      c.lhs_offset = p_offset;
      c.row_term = v_offset * p_sum + static_cast<uint32_t>(used) * p_offset * v_offset;
      c.multiplier = p.context.multiplier;
      c.output_offset = p.context.output_offset;
      requantize_fn_(c, context, hd, out + static_cast<size_t>(r) * hd);
    }
    return static_cast<uint64_t>(cut) * static_cast<uint64_t>(m);
  }

  // SOFTMAX (softmax_int.h, the same float operations) of `count` <= kSoftmaxRows rows
  // of n live masked scores at `rows` (row r at rows + r * ld), in place, followed by
  // `cut` hidden live keys; hidden[r] = the probability of a hidden key of row r
  // (masked score -128). Each row's sum runs in its own order, the rows' additions
  // interleaved.
  void Softmax(int8_t* rows, int count, size_t n, size_t ld, int cut, int8_t* hidden) const {
    const q8::SoftmaxInt8Params& sp = p_->softmax;
    std::array<int32_t, kSoftmaxRows> max;
    std::array<const float*, kSoftmaxRows> table;  // table[r][v] = exp of (v - max[r])
    std::array<float, kSoftmaxRows> sum;
    for (int r = 0; r < count; ++r) {
      const int8_t* row = rows + static_cast<size_t>(r) * ld;
      int32_t m = -128;
      for (size_t j = 0; j < n; ++j) m = std::max<int32_t>(m, row[j]);
      max[r] = m;
      table[r] = sp.table.data() + 255 - m;
      sum[r] = q8::SumAfterAdding(0.0f, table[r][-128], hidden_before_);
    }
    if (count == kSoftmaxRows) {
      const int8_t* r0 = rows;
      const int8_t* r1 = rows + ld;
      const int8_t* r2 = rows + 2 * ld;
      const int8_t* r3 = rows + 3 * ld;
      float s0 = sum[0], s1 = sum[1], s2 = sum[2], s3 = sum[3];
      for (size_t j = 0; j < n; ++j) {
        s0 += table[0][r0[j]];
        s1 += table[1][r1[j]];
        s2 += table[2][r2[j]];
        s3 += table[3][r3[j]];
      }
      sum = {s0, s1, s2, s3};
    } else {
      for (int r = 0; r < count; ++r) {
        const int8_t* row = rows + static_cast<size_t>(r) * ld;
        for (size_t j = 0; j < n; ++j) sum[r] += table[r][row[j]];
      }
    }
    for (int r = 0; r < count; ++r) {
      sum[r] = q8::SumAfterAdding(sum[r], table[r][-128], cut + hidden_after_);
      const float inv = 1.0f / (sum[r] * sp.output_scale);
      hidden[r] = MapProbabilities(rows + static_cast<size_t>(r) * ld, n, table[r], max[r], inv);
    }
  }

  // Scores -> probabilities of one row in place (SoftmaxInt8's output step); returns
  // the probability of score -128. A short row maps each score directly, a longer one
  // maps the max + 129 possible scores once (vectorized) and looks them up.
  int8_t MapProbabilities(int8_t* row, size_t n, const float* table, int32_t max, float inv) const {
    const int32_t zp = p_->softmax.output_zero_point;
    int8_t hidden;
    if (n < kDirectProbabilities) {
      q8::QuantizeProbabilitiesPortable(table - 128, 1, inv, zp, &hidden);
      for (size_t j = 0; j < n; ++j) {
        q8::QuantizeProbabilitiesPortable(table + row[j], 1, inv, zp, row + j);
      }
      return hidden;
    }
    std::array<int8_t, 256> out_of_value{};  // [v + 128]; above max never looked up
    probabilities_fn_(table - 128, static_cast<size_t>(max + 129), inv, zp, out_of_value.data());
    q8::LookUpByValue(out_of_value, row, row, n);
    return out_of_value[0];
  }

  std::unique_ptr<Int8AttentionParams> p_;
  int tasks_;
  size_t stride_;  // int8 values between cache positions (kv * head_dim)
  q8::Int8DotsFn dots_fn_;
  q8::KnDotsFn kn_dots_fn_;
  q8::BatchMatMulRequantizeFn requantize_fn_;
  q8::AddSubInt8RowFn add_fn_;
  q8::QuantizeProbabilitiesFn probabilities_fn_;
  std::unique_ptr<std::mutex[]> hidden_mutex_;  // one per kv head
  std::vector<uint8_t> hidden_ready_;           // guarded by hidden_mutex_[h]
  // On lines of their own: every block takes the next one, and the line must not be
  // the one the other thread reads the parameters from.
  alignas(64) std::atomic<int> next_block_{0};     // the next query block to take
  alignas(64) std::atomic<uint64_t> keys_cut_{0};  // the causal cuts (rows x keys) this Eval
  bool vnni_ = false;                              // the VNNI products can run here
  std::unique_ptr<std::mutex[]> vnni_mutex_;       // one per kv head
  std::vector<uint8_t> vnni_ready_;                // guarded by vnni_mutex_[h]
  bool use_vnni_ = false;                          // this Eval's blocks use them
  size_t vnni_keys_at_ = 0, vnni_values_at_ = 0, vnni_keys_bytes_ = 0, vnni_values_bytes_ = 0;
  size_t k_rows_at_ = 0, v_rows_at_ = 0, key_sums_at_ = 0, value_prefix_at_ = 0;
  size_t token_keys_at_ = 0;
  size_t hidden_sums_at_ = 0, task_at_ = 0, task_bytes_ = 0, scratch_bytes_ = 0;
  // Set at the start of each Eval, read by the blocks.
  int live_lo_ = 0, live_n_ = 0, hidden_before_ = 0, hidden_after_ = 0;
  const int8_t* keys_ = nullptr;     // live key rows (row j = position live_lo_ + j)
  const int8_t* values_ = nullptr;   // live value rows
  int32_t* key_sums_ = nullptr;      // [kv, seq]
  int32_t* value_prefix_ = nullptr;  // [groups + 1][kv, hd]: PrepareLiveRows
  int32_t* value_sums_ = nullptr;    // [kv, hd]: over every live row (a row of value_prefix_)
  int32_t* token_keys_ = nullptr;    // [tokens]: TokenLiveKeys (null for one token)
  int32_t* hidden_sums_ = nullptr;   // [kv, hd]
};

}  // namespace

Result<std::unique_ptr<Kernel>> MakeFusedAttentionInt8Kernel(
    const graph::Subgraph& sg, const AttentionMatch& m, std::span<const uint8_t* const> constants,
    int num_threads, size_t* scratch_bytes) {
  PrepareContext ctx(sg, m.out_op, constants, num_threads);
  auto params_of = [&](int32_t t) {
    return PerTensorParams(ctx, sg.tensors[t], "tensor '" + sg.tensors[t].name + "'");
  };
  auto p = std::make_unique<Int8AttentionParams>();
  p->kv = m.kv_heads;
  p->rows = m.rows;
  p->tokens = m.tokens;
  p->seq = m.max_seq;
  p->hd = m.head_dim;
  p->window = m.window;
  p->k_float = m.k_quantized >= 0;
  p->v_float = m.v_quantized >= 0;
  if (p->k_float) {
    LITEQ_ASSIGN_OR_RETURN(p->k_quant, params_of(m.k_quantized));
  }
  if (p->v_float) {
    LITEQ_ASSIGN_OR_RETURN(p->v_quant, params_of(m.v_quantized));
  }
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams q, params_of(m.q));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams keys, params_of(m.keys));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams scores, params_of(m.scores));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams scores_in, params_of(m.scores_in));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams mask, params_of(m.mask));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams masked, params_of(m.masked));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams probs, params_of(m.probs));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams probs_in, params_of(m.probs_in));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams values, params_of(m.values));
  LITEQ_ASSIGN_OR_RETURN(quant::QuantParams out, params_of(m.out));
  auto dims = [&](int32_t t) { return Dims64(sg.tensors[t].shape); };
  LITEQ_ASSIGN_OR_RETURN(
      p->scores, q8::PrepareBatchMatMulInt8(q, dims(m.q), keys, dims(m.keys), scores, false, true));
  LITEQ_ASSIGN_OR_RETURN(p->context, q8::PrepareBatchMatMulInt8(probs_in, dims(m.probs_in), values,
                                                                dims(m.values), out, false, false));
  LITEQ_ASSIGN_OR_RETURN(p->add, q8::PrepareAddSub(q8::IntType::kInt8, scores_in, mask, masked,
                                                   q8::FusedActivation::kNone, false));
  // TFLite softmax.cc Prepare: int8 output scale 1/256 (within 0.1%), zero point -128.
  if (probs.zero_point != -128 || std::abs(probs.scale - 1.0f / 256) > 0.001f / 256) {
    return ctx.Unsupported("int8 SOFTMAX output is not scale 1/256, zero point -128");
  }
  LITEQ_ASSIGN_OR_RETURN(p->softmax, q8::PrepareSoftmaxInt8(masked, 1.0f, probs));
  // The largest mask value that hides a key: ADD(any score, value) == -128. ADD is
  // monotonic in the score, so the largest score decides.
  for (int v = -128; v <= 127; ++v) {
    if (q8::AddSubElement(p->add, 127, v) != -128) break;
    p->hidden_mask_max = v;
  }
  if (p->hidden_mask_max < -128) {
    return ctx.Unsupported("no int8 mask value saturates the attention mask ADD");
  }
  // A visible key's mask value is the quantized 0.0.
  p->mask_table = q8::MakeMaskAddTable(
      p->add, static_cast<int8_t>(std::clamp(mask.zero_point, -128, 127)), p->hidden_mask_max);
  p->from_positions = m.positions >= 0 && m.mask_hidden_value.has_value() &&
                      *m.mask_hidden_value <= p->hidden_mask_max;
  auto kernel = std::make_unique<FusedAttentionInt8Kernel>(std::move(p), num_threads);
  *scratch_bytes = kernel->scratch_bytes();
  return std::unique_ptr<Kernel>(std::move(kernel));
}

}  // namespace liteq::runtime

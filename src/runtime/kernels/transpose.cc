// TRANSPOSE with a constant permutation: out dim d is input dim perm[d].
#include "runtime/kernels/copy_kernels.h"
#include "runtime/kernels/kernels.h"

namespace liteq::runtime {

PrepareResult PrepareTranspose(PrepareContext& ctx) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(2, 2, 1));
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, ctx.input(0).dtype));
  LITEQ_ASSIGN_OR_RETURN(size_t element_size, ElementSizeForCopy(ctx));
  LITEQ_ASSIGN_OR_RETURN(std::vector<int64_t> perm, ctx.ConstantInts(1, "perm"));
  const Shape& in = ctx.input(0).shape;
  const int rank = static_cast<int>(in.size());
  if (static_cast<int>(perm.size()) != rank) {
    return ctx.Error("perm has " + std::to_string(perm.size()) + " entries for input of rank " +
                     std::to_string(rank));
  }
  const std::vector<int64_t> in_strides = Strides(in);
  std::vector<bool> used(rank, false);
  Shape out;
  std::vector<int64_t> dims, src_strides;
  for (int d = 0; d < rank; ++d) {
    const int p = NormalizeAxis(perm[d], rank);
    if (p < 0 || used[p])
      return ctx.Error("perm is not a permutation of [0, " + std::to_string(rank) + ")");
    used[p] = true;
    out.push_back(in[p]);
    dims.push_back(in[p]);
    src_strides.push_back(in_strides[p]);
  }
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, out));
  return PrepareResult(
      std::make_unique<StridedCopyKernel>(MakeStridedCopyPlan(element_size, 0, dims, src_strides)));
}

}  // namespace liteq::runtime

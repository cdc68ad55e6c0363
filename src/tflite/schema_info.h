// Small schema-level helpers for tools such as `liteq inspect`: names of every
// builtin operator and tensor type in the schema (not only those liteq supports), and
// op counts of a model.
#ifndef LITEQ_TFLITE_SCHEMA_INFO_H_
#define LITEQ_TFLITE_SCHEMA_INFO_H_

#include <cstdint>
#include <map>
#include <string>

#include "graph/graph.h"

namespace liteq::tflite {

// Schema name of a BuiltinOperator value ("FULLY_CONNECTED"), or "UNKNOWN(<code>)".
std::string BuiltinOperatorName(int32_t code);
// Schema name of a TensorType value ("INT8"), or "UNKNOWN(<type>)".
std::string TensorTypeName(int32_t type);

// Number of ops of each kind (by schema name) in one subgraph, or in all of them when
// `subgraph` is negative.
std::map<std::string, int> CountOps(const graph::Model& model, int subgraph = -1);

}  // namespace liteq::tflite

#endif  // LITEQ_TFLITE_SCHEMA_INFO_H_

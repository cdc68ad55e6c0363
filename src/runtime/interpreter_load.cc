// Interpreter::Load: only built when liteq_tflite exists (see CMakeLists.txt), so the
// runtime itself does not depend on the flatbuffer reader.
#include "runtime/interpreter.h"
#include "tflite/reader.h"

namespace liteq::runtime {

Result<std::unique_ptr<Interpreter>> Interpreter::Load(const std::string& tflite_path,
                                                       InterpreterOptions options) {
  LITEQ_ASSIGN_OR_RETURN(std::shared_ptr<const graph::Model> model,
                         tflite::ReadTflite(tflite_path));
  Result<std::unique_ptr<Interpreter>> interpreter = Create(std::move(model), options);
  if (!interpreter.ok()) return interpreter.status().WithContext(tflite_path);
  return interpreter;
}

}  // namespace liteq::runtime

// Files the tokenizer tests write (malformed tokenizers, corpora) under
// ::testing::TempDir(), named with the process id so parallel ctest runs do not
// collide, and removed when the test binary exits so repeated runs leave nothing.
#ifndef LITEQ_TESTS_TOKENIZER_TEMP_FILES_H_
#define LITEQ_TESTS_TOKENIZER_TEMP_FILES_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace liteq::tokenizer {

inline std::string WriteTemp(const std::string& name, const std::string& contents) {
  struct Registry {
    std::vector<std::string> paths;
    ~Registry() {
      for (const std::string& p : paths) std::remove(p.c_str());
    }
  };
  static Registry registry;
  const std::string path = ::testing::TempDir() + "/" + std::to_string(getpid()) + "_" + name;
  std::ofstream(path, std::ios::binary) << contents;
  registry.paths.push_back(path);
  return path;
}

}  // namespace liteq::tokenizer

#endif  // LITEQ_TESTS_TOKENIZER_TEMP_FILES_H_

// Helpers for the io tests: repo fixture paths, a scratch directory, and writers for
// hand-made (often deliberately broken) checkpoint files.
#ifndef LITEQ_TESTS_IO_TEST_FILES_H_
#define LITEQ_TESTS_IO_TEST_FILES_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/mapped_file.h"

namespace liteq::io::testing {

inline std::string ModelsDir() { return LITEQ_MODELS_DIR; }
inline std::string TestdataDir() { return LITEQ_TESTDATA_DIR; }

inline std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::vector<uint8_t> bytes(static_cast<size_t>(std::max<std::streamoff>(in.tellg(), 0)));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

// A fresh directory removed (with its contents) when the object dies.
class ScratchDir {
 public:
  ScratchDir() {
    static int counter = 0;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string test_name = info != nullptr ? info->name() : "x";
    std::replace(test_name.begin(), test_name.end(), '/', '_');  // parameterized: "Name/0"
    path_ = std::filesystem::temp_directory_path() /
            ("liteq_io_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
             test_name);
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string Path(const std::string& name) const { return (path_ / name).string(); }
  std::string path() const { return path_.string(); }

  std::string Write(const std::string& name, const std::vector<uint8_t>& bytes) const {
    const std::string p = Path(name);
    std::ofstream out(p, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    return p;
  }
  std::string Write(const std::string& name, const std::string& text) const {
    return Write(name, std::vector<uint8_t>(text.begin(), text.end()));
  }

 private:
  std::filesystem::path path_;
};

// A safetensors file: 8-byte little-endian header length, `header` verbatim, `data`.
inline std::vector<uint8_t> Safetensors(const std::string& header,
                                        const std::vector<uint8_t>& data) {
  std::vector<uint8_t> bytes(8 + header.size() + data.size());
  const uint64_t n = header.size();
  std::memcpy(bytes.data(), &n, 8);
  std::copy(header.begin(), header.end(), bytes.begin() + 8);
  std::copy(data.begin(), data.end(), bytes.begin() + 8 + static_cast<int64_t>(header.size()));
  return bytes;
}

template <typename T>
void Append(std::vector<uint8_t>* bytes, T value) {
  uint8_t raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));
  bytes->insert(bytes->end(), raw, raw + sizeof(T));
}

}  // namespace liteq::io::testing

#endif  // LITEQ_TESTS_IO_TEST_FILES_H_

#include "common/atomic_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/mapped_file.h"

namespace liteq {
namespace {

namespace fs = std::filesystem;

// An empty directory of this process: one left by an earlier process with the same
// pid (the tests do not remove theirs) would hold "out.bin" before the commit.
fs::path TempDir() {
  fs::path dir = fs::temp_directory_path() / ("liteq_atomic_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(AtomicFileTest, CommitRenamesIntoPlace) {
  fs::path path = TempDir() / "out.bin";
  {
    auto w = AtomicFileWriter::Create(path.string());
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->Write("abc", 3).ok());
    ASSERT_TRUE(w->Align(8).ok());
    EXPECT_EQ(w->offset(), 8u);
    ASSERT_TRUE(w->WriteAt(1, "X", 1).ok());
    EXPECT_FALSE(fs::exists(path));  // nothing visible before commit
    ASSERT_TRUE(w->Commit().ok());
  }
  auto f = MappedFile::Open(path.string());
  ASSERT_TRUE(f.ok());
  ASSERT_EQ((*f)->size(), 8u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>((*f)->data()), 3), "aXc");
}

TEST(AtomicFileTest, AbandonedWriteLeavesOldFileIntact) {
  fs::path path = TempDir() / "keep.bin";
  ASSERT_TRUE(WriteFileAtomically(path.string(), "old contents").ok());
  {
    auto w = AtomicFileWriter::Create(path.string());
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->Write("new", 3).ok());
    // destroyed without Commit(): simulates a failed export
  }
  auto text = ReadFileToString(path.string());
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "old contents");
  for (const auto& e : fs::directory_iterator(path.parent_path())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos)
        << "temporary file left behind: " << e.path();
  }
}

TEST(MappedFileTest, MissingFileIsNotFound) {
  auto f = MappedFile::Open("/nonexistent/liteq/file.bin");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
  EXPECT_NE(f.status().message().find("/nonexistent/liteq/file.bin"), std::string::npos);
}

}  // namespace
}  // namespace liteq

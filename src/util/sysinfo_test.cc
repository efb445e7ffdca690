#include "util/sysinfo.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace vcsnap {
namespace {

TEST(FindBesideExecutableTest, TheEnvironmentFirstThenBesideTheProgram) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / "vcsnap-sysinfo-test";
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "module.so").string();
  std::ofstream(file) << "x";
  ASSERT_EQ(::setenv("VCSNAP_TEST_MODULE", file.c_str(), 1), 0);
  Result<std::string> found =
      FindBesideExecutable("no-such-module.so", "VCSNAP_TEST_MODULE");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(*found, file);

  // Not there: every place looked at is named.
  const std::string missing = (dir / "gone.so").string();
  ASSERT_EQ(::setenv("VCSNAP_TEST_MODULE", missing.c_str(), 1), 0);
  found = FindBesideExecutable("no-such-module.so", "VCSNAP_TEST_MODULE");
  ASSERT_FALSE(found.ok());
  const std::string exe_dir =
      std::filesystem::read_symlink("/proc/self/exe").parent_path().string();
  const std::string& message = found.status().message();
  EXPECT_NE(message.find("no-such-module.so was not found"), std::string::npos)
      << message;
  EXPECT_NE(message.find(missing + " ($VCSNAP_TEST_MODULE)"), std::string::npos)
      << message;
  EXPECT_NE(message.find(exe_dir + "/no-such-module.so"), std::string::npos)
      << message;
  EXPECT_NE(message.find("lib/vcsnap/no-such-module.so"), std::string::npos)
      << message;

  // This test's own binary is beside itself.
  ASSERT_EQ(::unsetenv("VCSNAP_TEST_MODULE"), 0);
  const std::string self =
      std::filesystem::read_symlink("/proc/self/exe").filename().string();
  found = FindBesideExecutable(self, "VCSNAP_TEST_MODULE");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(*found, exe_dir + "/" + self);
  std::filesystem::remove_all(dir);
}

TEST(HugePageTunablesTest, OnlyWhereTheKernelGivesThemOnRequest) {
  EXPECT_EQ(HugePageTunables("always [madvise] never\n", nullptr),
            std::optional<std::string>("glibc.malloc.hugetlb=1"));
  EXPECT_EQ(HugePageTunables("[always] madvise never\n", nullptr),
            std::nullopt);  // they come without asking
  EXPECT_EQ(HugePageTunables("always madvise [never]\n", nullptr),
            std::nullopt);
  EXPECT_EQ(HugePageTunables("", nullptr), std::nullopt);  // no such file
}

TEST(HugePageTunablesTest, AnOperatorsOwnTunablesAreKept) {
  EXPECT_EQ(
      HugePageTunables("always [madvise] never", "glibc.malloc.arena_max=2"),
      std::nullopt);
  EXPECT_EQ(HugePageTunables("always [madvise] never", ""), std::nullopt);
}

}  // namespace
}  // namespace vcsnap

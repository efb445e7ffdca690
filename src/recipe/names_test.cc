#include "recipe/names.h"

#include "backend/backend.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIsWith;

TEST(VmName, AcceptsOrdinaryNamesAndProducesValidObjectNames) {
  for (const char* ok : {"web1", "db.prod-2", "A_b", "x"}) {
    EXPECT_OK(ValidateVmName(ok));
    EXPECT_OK(ValidateObjectName(CatalogName(ok)));
    EXPECT_OK(ValidateObjectName(RecipePackName(ok, 7, 3)));
    EXPECT_OK(ValidateObjectName(VmMarkerName(ok)));
  }
  EXPECT_EQ(SnapshotRecipeName("web1", 12), "vm/web1/snap/12");
  EXPECT_EQ(RecipePackName("web1", 12, 0), "vm/web1/recipes/12.0");
}

TEST(VmName, RejectsPathsAndOddities) {
  for (const char* bad : {"", "a/b", "..", ".hidden", "-flag", "sp ace", "a\\b",
                          "\xc3\xa9t\xc3\xa9"}) {
    EXPECT_THAT(ValidateVmName(bad),
                StatusIsWith(StatusCode::kInvalidArgument, "VM name"))
        << bad;
  }
  EXPECT_THAT(ValidateVmName(std::string(65, 'a')),
              StatusIsWith(StatusCode::kInvalidArgument, "1 to 64"));
}

}  // namespace
}  // namespace vcsnap

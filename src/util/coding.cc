#include "util/coding.h"

#include <string>

namespace vcsnap {

Status ByteReader::Truncated(std::string_view field, size_t need) const {
  return Status::Corruption(what_ + ": " + std::string(field) + " at offset " +
                            std::to_string(pos_) + " needs " +
                            std::to_string(need) + " bytes, " +
                            std::to_string(remaining()) + " remain");
}

}  // namespace vcsnap

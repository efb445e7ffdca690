#include "util/coding.h"

#include <string>

namespace vcsnap {

Status ByteReader::Truncated(std::string_view field, size_t need) const {
  return Status::Corruption(what_ + ": " + std::string(field) + " at offset " +
                            std::to_string(pos_) + " needs " +
                            std::to_string(need) + " bytes, " +
                            std::to_string(remaining()) + " remain");
}

Result<ByteView> ByteReader::Raw(size_t n, std::string_view field) {
  if (n > remaining()) return Truncated(field, n);
  ByteView v = in_.subspan(pos_, n);
  pos_ += n;
  return v;
}

Result<uint8_t> ByteReader::U8(std::string_view field) {
  VCSNAP_ASSIGN_OR_RETURN(ByteView v, Raw(1, field));
  return v[0];
}
Result<uint16_t> ByteReader::U16(std::string_view field) {
  VCSNAP_ASSIGN_OR_RETURN(ByteView v, Raw(2, field));
  return DecodeFixed16(v.data());
}
Result<uint32_t> ByteReader::U32(std::string_view field) {
  VCSNAP_ASSIGN_OR_RETURN(ByteView v, Raw(4, field));
  return DecodeFixed32(v.data());
}
Result<uint64_t> ByteReader::U64(std::string_view field) {
  VCSNAP_ASSIGN_OR_RETURN(ByteView v, Raw(8, field));
  return DecodeFixed64(v.data());
}

}  // namespace vcsnap

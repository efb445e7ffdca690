#include "store/container_format.h"

#include <cstdio>
#include <cstring>

#include "format/envelope.h"
#include "store/group.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

constexpr char kIndexMagic[4] = {'V', 'C', 'S', 'I'};
constexpr char kDlogMagic[4] = {'V', 'C', 'S', 'D'};
constexpr EnvelopeSpec kHeadSpec{
    {'V', 'C', 'S', 'H'}, "container head", 1, 1, 64};

uint64_t RecordSeed(std::string_view name, uint64_t at) {
  return IdentitySeed(name) ^ (at * 0x9E3779B97F4A7C15ull);
}

std::string Hex(const char* fmt, uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), fmt, static_cast<unsigned long long>(v));
  return buf;
}

template <typename T>
std::optional<T> ParseHexField(std::string_view rest, char tag, size_t digits) {
  if (rest.size() < digits + 1 || rest[0] != tag) return std::nullopt;
  if (rest.size() > digits + 1 && rest[digits + 1] != '/') return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 1; i <= digits; ++i) {
    char c = rest[i];
    int d = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                     : -1;
    if (d < 0) return std::nullopt;
    v = v * 16 + static_cast<uint64_t>(d);
  }
  return static_cast<T>(v);
}

// Shared checks of a fixed header: a torn prefix is "no header"; a wrong
// magic, checksum, version or identity is an error.
Result<bool> CheckFixedHeader(ByteView bytes, const char (&magic)[4],
                              size_t header_size, std::string_view name,
                              std::string_view where, std::string_view what,
                              uint16_t version, uint16_t container,
                              uint32_t gen) {
  const size_t m = std::min<size_t>(bytes.size(), 4);
  if (std::memcmp(bytes.data(), magic, m) != 0) {
    return Status::Corruption(std::string(where) + ": " + std::string(what) +
                              " " + std::string(name) + ": bad magic");
  }
  if (bytes.size() < header_size) return false;  // torn header
  const std::string at = std::string(where) + ": " + std::string(what) + " " +
                         std::string(name) + " at offset 0";
  const size_t covered = header_size - 8;
  if (DecodeFixed64(bytes.data() + covered) !=
      Checksum64(bytes.first(covered), IdentitySeed(name))) {
    return Status::Corruption(at + ": header checksum mismatch");
  }
  if (DecodeFixed16(bytes.data() + 4) != version) {
    return Status::NotSupported(
        at + ": format version " +
        std::to_string(DecodeFixed16(bytes.data() + 4)) +
        " (this vcsnap reads version " + std::to_string(version) + ")");
  }
  if (DecodeFixed16(bytes.data() + 6) != container ||
      DecodeFixed32(bytes.data() + 8) != gen ||
      DecodeFixed32(bytes.data() + 12) != 0) {
    return Status::Corruption(at +
                              ": header names another container (misplaced)");
  }
  return true;
}

void PutFixedHeader(Bytes* out, const char (&magic)[4], uint16_t version,
                    uint16_t container, uint32_t gen) {
  ByteWriter w(out);
  w.Raw(std::string_view(magic, 4));
  w.U16(version);
  w.U16(container);
  w.U32(gen);
  w.U32(0);
}

}  // namespace

std::string StorePrefix(std::string_view vm) {
  return "vm/" + std::string(vm) + "/store/";
}
std::string ContainerPrefix(std::string_view vm, uint16_t c) {
  return StorePrefix(vm) + Hex("c%04llx/", c);
}
std::string HeadName(std::string_view vm, uint16_t c) {
  return ContainerPrefix(vm, c) + "head";
}
std::string GenPrefix(std::string_view vm, uint16_t c, uint32_t gen) {
  return ContainerPrefix(vm, c) + Hex("g%08llx/", gen);
}
std::string BlockName(std::string_view vm, uint16_t c, uint32_t gen,
                      uint32_t block) {
  return GenPrefix(vm, c, gen) + Hex("b%06llx", block);
}
std::string IndexName(std::string_view vm, uint16_t c, uint32_t gen) {
  return GenPrefix(vm, c, gen) + "index";
}
std::string DlogName(std::string_view vm, uint16_t c, uint32_t gen) {
  return GenPrefix(vm, c, gen) + "dlog";
}
std::optional<uint16_t> ParseContainerId(std::string_view rest) {
  return ParseHexField<uint16_t>(rest, 'c', 4);
}
std::optional<uint32_t> ParseGeneration(std::string_view rest) {
  return ParseHexField<uint32_t>(rest, 'g', 8);
}
std::optional<uint32_t> ParseBlock(std::string_view rest) {
  if (rest.size() != 7) return std::nullopt;
  return ParseHexField<uint32_t>(rest, 'b', 6);
}

Bytes EncodeIndexHeader(std::string_view index_name, uint16_t container,
                        uint32_t gen, uint64_t base_cid) {
  Bytes out;
  PutFixedHeader(&out, kIndexMagic, kIndexVersion, container, gen);
  ByteWriter w(&out);
  w.U64(base_cid);
  w.U64(Checksum64(out, IdentitySeed(index_name)));
  return out;
}

void AppendIndexEntry(std::string_view index_name, uint64_t at,
                      const IndexEntry& e, Bytes* out) {
  const size_t start = out->size();
  ByteWriter w(out);
  w.U64(e.first_cid);
  w.U32(e.count);
  w.U32(e.live);
  w.U32(e.block);
  w.U32(e.length);
  w.U64(e.offset);
  w.U64(Checksum64(ByteView(*out).subspan(start, kIndexEntrySize - 8),
                   RecordSeed(index_name, at)));
}

Result<ParsedIndex> ParseIndex(ByteView bytes, std::string_view index_name,
                               std::string_view where, uint16_t container,
                               uint32_t gen, uint64_t block_limit) {
  ParsedIndex out;
  VCSNAP_ASSIGN_OR_RETURN(
      out.has_header,
      CheckFixedHeader(bytes, kIndexMagic, kIndexHeaderSize, index_name, where,
                       "index", kIndexVersion, container, gen));
  if (!out.has_header) return out;
  out.generation = gen;
  out.base_cid = DecodeFixed64(bytes.data() + 16);
  const size_t n = (bytes.size() - kIndexHeaderSize) / kIndexEntrySize;
  out.entries.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t at = kIndexHeaderSize + i * kIndexEntrySize;
    const uint8_t* p = bytes.data() + at;
    const std::string here = std::string(where) + ": index " +
                             std::string(index_name) + " at offset " +
                             std::to_string(at);
    if (DecodeFixed64(p + 32) !=
        Checksum64(ByteView(p, 32), RecordSeed(index_name, at))) {
      return Status::Corruption(here + ": entry checksum mismatch");
    }
    IndexEntry e{DecodeFixed64(p),      DecodeFixed32(p + 8),
                 DecodeFixed32(p + 12), DecodeFixed32(p + 16),
                 DecodeFixed32(p + 20), DecodeFixed64(p + 24)};
    if (e.count == 0 || e.count > kMaxGroupCount || e.live > e.count ||
        e.first_cid > (uint64_t{1} << 48) - e.count ||
        e.length < GroupOverhead(e.count) || e.offset > block_limit ||
        e.length > block_limit - e.offset) {
      return Status::Corruption(here + ": entry out of range (CID " +
                                std::to_string(e.first_cid) + " count " +
                                std::to_string(e.count) + " length " +
                                std::to_string(e.length) + ")");
    }
    if (!out.entries.empty()) {
      const IndexEntry& prev = out.entries.back();
      if (e.first_cid < prev.end_cid()) {
        return Status::Corruption(here + ": duplicate CID " +
                                  std::to_string(e.first_cid) +
                                  " (ranges overlap)");
      }
      if (e.block < prev.block ||
          (e.block == prev.block && e.offset < prev.offset + prev.length)) {
        return Status::Corruption(here + ": group overlaps the previous one");
      }
    }
    out.entries.push_back(e);
  }
  out.valid_bytes = kIndexHeaderSize + n * kIndexEntrySize;
  return out;
}

Bytes EncodeDlogHeader(std::string_view dlog_name, uint16_t container,
                       uint32_t gen) {
  Bytes out;
  PutFixedHeader(&out, kDlogMagic, kDlogVersion, container, gen);
  ByteWriter(&out).U64(Checksum64(out, IdentitySeed(dlog_name)));
  return out;
}

void AppendDlogRecord(std::string_view dlog_name, uint64_t at, uint64_t cid,
                      Bytes* out) {
  ByteWriter w(out);
  w.U64(cid);
  uint8_t buf[8];
  EncodeFixed64(buf, cid);
  w.U64(Checksum64(ByteView(buf, 8), RecordSeed(dlog_name, at)));
}

Result<ParsedDlog> ParseDlog(ByteView bytes, std::string_view dlog_name,
                             std::string_view where, uint16_t container,
                             uint32_t gen) {
  ParsedDlog out;
  VCSNAP_ASSIGN_OR_RETURN(
      out.has_header,
      CheckFixedHeader(bytes, kDlogMagic, kDlogHeaderSize, dlog_name, where,
                       "deletion log", kDlogVersion, container, gen));
  if (!out.has_header) return out;
  const size_t n = (bytes.size() - kDlogHeaderSize) / kDlogRecordSize;
  out.cids.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t at = kDlogHeaderSize + i * kDlogRecordSize;
    const uint8_t* p = bytes.data() + at;
    if (DecodeFixed64(p + 8) !=
        Checksum64(ByteView(p, 8), RecordSeed(dlog_name, at))) {
      return Status::Corruption(
          std::string(where) + ": deletion log " + std::string(dlog_name) +
          " at offset " + std::to_string(at) + ": record checksum mismatch");
    }
    out.cids.push_back(DecodeFixed64(p));
  }
  out.valid_bytes = kDlogHeaderSize + n * kDlogRecordSize;
  return out;
}

SalvagedDlog SalvageDlog(ByteView bytes, std::string_view dlog_name) {
  SalvagedDlog out;
  if (bytes.size() < kDlogHeaderSize) return out;
  const size_t n = (bytes.size() - kDlogHeaderSize) / kDlogRecordSize;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t at = kDlogHeaderSize + i * kDlogRecordSize;
    const uint8_t* p = bytes.data() + at;
    if (DecodeFixed64(p + 8) ==
        Checksum64(ByteView(p, 8), RecordSeed(dlog_name, at))) {
      out.cids.push_back(DecodeFixed64(p));
    } else {
      out.bad_records++;
    }
  }
  return out;
}

Bytes EncodeHead(std::string_view head_name, uint16_t container, uint32_t gen) {
  Bytes body;
  ByteWriter w(&body);
  w.U16(container);
  w.U16(0);
  w.U32(gen);
  return EncodeEnvelope(kHeadSpec, kHeadVersion, head_name, body);
}

Result<uint32_t> DecodeHead(ByteView bytes, std::string_view head_name,
                            uint16_t container) {
  VCSNAP_ASSIGN_OR_RETURN(DecodedEnvelope env,
                          DecodeEnvelope(kHeadSpec, head_name, bytes));
  ByteReader r(env.body, "container head " + std::string(head_name));
  VCSNAP_ASSIGN_OR_RETURN(uint16_t c, r.U16("container"));
  VCSNAP_ASSIGN_OR_RETURN(uint16_t reserved, r.U16("reserved"));
  VCSNAP_ASSIGN_OR_RETURN(uint32_t gen, r.U32("generation"));
  if (c != container || reserved != 0 || gen == 0 || !r.done()) {
    return Status::Corruption("container head " + std::string(head_name) +
                              ": names container " + std::to_string(c) +
                              " generation " + std::to_string(gen));
  }
  return gen;
}

}  // namespace vcsnap

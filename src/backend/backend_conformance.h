// File: backend/backend_conformance.h
//
// The conformance suite every Backend implementation must pass. The tests
// (backend_conformance.cc) are value-parameterised over a factory; an
// implementation joins with one INSTANTIATE_TEST_SUITE_P line giving a
// factory that returns a fresh, empty backend with the requested object size
// limit. Test-only code.

#ifndef VCSNAP_BACKEND_BACKEND_CONFORMANCE_H_
#define VCSNAP_BACKEND_BACKEND_CONFORMANCE_H_

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "backend/backend.h"

namespace vcsnap::testing {

struct BackendFactory {
  std::string name;
  // Returns a fresh, empty backend accepting objects up to `max_object_size`.
  std::function<std::unique_ptr<Backend>(uint64_t max_object_size)> make;
};

inline void PrintTo(const BackendFactory& f, std::ostream* os) {
  *os << f.name;
}

inline std::string FactoryName(
    const ::testing::TestParamInfo<BackendFactory>& info) {
  return info.param.name;
}

class BackendConformance : public ::testing::TestWithParam<BackendFactory> {
 protected:
  void SetUp() override {
    backend_ = GetParam().make(kDefaultMaxObjectSize);
    ASSERT_NE(backend_, nullptr) << "the backend factory failed";
  }
  Backend& b() { return *backend_; }

  std::unique_ptr<Backend> backend_;
};

}  // namespace vcsnap::testing

#endif  // VCSNAP_BACKEND_BACKEND_CONFORMANCE_H_

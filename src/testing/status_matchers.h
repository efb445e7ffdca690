// File: testing/status_matchers.h
//
// GoogleTest helpers for Status and Result<T>. Following abseil's rule there
// is no "EXPECT_NOT_OK": a test asserts the specific code it expects.

#ifndef VCSNAP_TESTING_STATUS_MATCHERS_H_
#define VCSNAP_TESTING_STATUS_MATCHERS_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "util/result.h"
#include "util/status.h"

namespace vcsnap::testing {

inline const Status& GetStatus(const Status& s) { return s; }
template <typename T>
const Status& GetStatus(const Result<T>& r) {
  return r.status();
}

MATCHER(IsOk, "is OK") {
  const Status& s = GetStatus(arg);
  if (!s.ok()) *result_listener << "status is " << s.ToString();
  return s.ok();
}

MATCHER_P(StatusIs, code,
          std::string("has code ") + std::string(StatusCodeName(code))) {
  const Status& s = GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.code() == code;
}

MATCHER_P2(StatusIsWith, code, substring,
           std::string("has code ") + std::string(StatusCodeName(code)) +
               " and a message containing \"" + std::string(substring) + "\"") {
  const Status& s = GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.code() == code && s.message().find(substring) != std::string::npos;
}

}  // namespace vcsnap::testing

#define ASSERT_OK(expr) ASSERT_THAT((expr), ::vcsnap::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::vcsnap::testing::IsOk())

#endif  // VCSNAP_TESTING_STATUS_MATCHERS_H_

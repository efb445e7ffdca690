// File: testing/backend_copy.h
//
// CopyAll: replaces every object of one backend by a copy of another's, so
// that a test can save a repository's state once and start each round of a
// crash loop from it. Test-only; gtest assertions report failures.

#ifndef VCSNAP_TESTING_BACKEND_COPY_H_
#define VCSNAP_TESTING_BACKEND_COPY_H_

#include <gtest/gtest.h>

#include "backend/backend.h"

namespace vcsnap::testing {

// Replaces everything in `to` by a copy of `from` (all objects durable).
inline void CopyAll(Backend& from, Backend& to) {
  for (const ObjectInfo& o : *to.List("")) ASSERT_TRUE(to.Delete(o.name).ok());
  for (const ObjectInfo& o : *from.List("")) {
    Result<Bytes> bytes = from.Get(o.name);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    ASSERT_TRUE(to.Put(o.name, *bytes).ok()) << o.name;
  }
}

}  // namespace vcsnap::testing

#endif  // VCSNAP_TESTING_BACKEND_COPY_H_

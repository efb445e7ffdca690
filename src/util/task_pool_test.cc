#include "util/task_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <thread>
#include <vector>

namespace vcsnap {
namespace {

TEST(TaskPool, OneWorkerRunsTasksInSubmissionOrder) {
  TaskPool pool(1);
  std::vector<int> order;  // only the one worker touches it
  std::vector<std::future<int>> results;
  for (int i = 0; i < 100; ++i) {
    results.push_back(pool.Submit([i, &order] {
      order.push_back(i);
      return i * i;
    }));
  }
  for (int i = 0; i < 100; ++i) EXPECT_EQ(results[i].get(), i * i);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

TEST(TaskPool, TasksRunOnTheSameLongLivedWorkers) {
  TaskPool pool(2);
  EXPECT_EQ(pool.threads(), 2u);
  std::mutex mu;
  std::set<std::thread::id> seen;
  std::vector<std::future<void>> done;
  for (int i = 0; i < 200; ++i) {
    done.push_back(pool.Submit([&] {
      std::lock_guard lock(mu);
      seen.insert(std::this_thread::get_id());
    }));
  }
  for (auto& f : done) f.get();
  EXPECT_GE(seen.size(), 1u);
  EXPECT_LE(seen.size(), 2u);  // not a thread per task
  EXPECT_EQ(seen.count(std::this_thread::get_id()), 0u);
}

TEST(TaskPool, TheDestructorRunsEverythingAlreadySubmitted) {
  std::atomic<int> ran{0};
  {
    TaskPool pool(2);
    for (int i = 0; i < 50; ++i) {
      pool.Submit([&ran] {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        ran++;
      });  // futures dropped: the tasks must run anyway
    }
  }
  EXPECT_EQ(ran.load(), 50);
}

TEST(TaskPool, ZeroThreadsMeansOne) {
  TaskPool pool(0);
  EXPECT_EQ(pool.threads(), 1u);
  EXPECT_EQ(pool.Submit([] { return 7; }).get(), 7);
}

}  // namespace
}  // namespace vcsnap

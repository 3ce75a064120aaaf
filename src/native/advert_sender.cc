// The advert sender: one C++ thread that puts every MASTER's periodic adverts on the wire at
// their deadlines, whatever the Node event loop is doing (a reload's plan, 10,000 checks, GC).
// JS (vrrp/router.ts through net/advertSender.ts) stays the authority: it installs a job per
// MASTER instance (socket, encoded payloads, destinations, source, interval) and stops it when
// the machine leaves MASTER; the thread only repeats what it was told.
//
// Timing: one timerfd (CLOCK_MONOTONIC, TFD_TIMER_ABSTIME) armed at the earliest job deadline,
// watched with an eventfd (table changed, close) by epoll. A job's next deadline is its last one
// plus the interval (absolute: no drift); if the thread fell behind by more than one interval it
// skips to now + interval and counts a "late" (RFC 5798 §6.4.3 Adver_Timer is a plain reset; a
// burst of catch-up adverts would tell the backup nothing more). keepalived re-arms a master
// relative to when it ran, keepalived/vrrp/vrrp_scheduler.c vrrp_init_instance_sands():
// `vrrp->sands = timer_add_long(time_now, vrrp->adver_int)`, so each handling delay shifts every
// later advert; it never bursts either. Absolute deadlines keep the mean interval exact.
//
// Lease (no zombie master): each job carries a lease that JS renews from the loop that runs the
// state machines. When it runs out, the thread stops that job and reports `lease_expired`; see
// net/advertSender.ts for the length and why.
//
// Threads: a mutex guards the job table; the thread never calls JS. Reports (send failures,
// lease expiries) queue under the mutex and one non-blocking ThreadSafeFunction call asks the
// main thread to take them (at most one call pending at a time).
#include "common.h"
#include "vrrp_send.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace tandem {
namespace {

int64_t MonoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// Deadlines sit on a grid of this step (absolute CLOCK_MONOTONIC): a job's first deadline, and
// a late job's next, are rounded up onto it, and every advert_int (centiseconds in VRRPv3,
// seconds in v2) is a multiple of it, so a job stays on the grid. Why: with 100 masters at
// advert_int 0.1 s and free phases the thread would wake 1,000 times a second, and on this
// (virtual) host the context switch, not the send, was most of its CPU (perf:
// finish_task_switch 32%). On the grid the jobs due in the same millisecond are due at the same
// instant and leave on one wake-up, each exactly on its own schedule. (Before: a wake-up sent
// whatever was due within the next 1 ms, up to 1 ms early; the instances' phases drift apart
// and together, so which adverts shared a wake-up changed from one interval to the next, and
// the interval on the wire varied by up to 1 ms: p99 0.99 ms vs keepalived's 0.83,
// bench:instances 2026-12-04.) The cost: a job's first advert from this thread leaves up to
// 1 ms after firstDelay.
constexpr int64_t kGridNs = 1000000;
int64_t OnGrid(int64_t ns) { return (ns + kGridNs - 1) / kGridNs * kGridNs; }

// A wake-up also sends what is due this soon: only off-grid deadlines (an interval that is not
// a multiple of the grid) are ever this close to another without being equal.
constexpr int64_t kCoalesceNs = 50000;

// A send this much after its deadline counts in lateOver1ms (stats()).
constexpr int64_t kLateReportNs = 1000000;

// Failure events kept per job while JS does not collect them; older ones are dropped (counted).
constexpr size_t kMaxPendingEventsPerJob = 64;

// The table's lock, with priority inheritance (PTHREAD_PRIO_INHERIT): the thread runs at
// SCHED_FIFO 1 and the JS thread, which takes the lock for set/renew/stop/stats, at normal
// priority; with a plain mutex a JS thread preempted inside its few instructions under the lock
// (2 CPUs, a reload's worker and the check engine busy) leaves the sender waiting behind every
// runnable normal task: priority inversion. Inherited, the holder runs at the sender's priority
// until it lets go. What JS holds it for is kept to copying numbers: no JS value is made under it
// (a V8 allocation can start a garbage collection: Stats() and Deliver() build theirs after).
class PiMutex {
 public:
  PiMutex() {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
    pthread_mutex_init(&m_, &a);
    pthread_mutexattr_destroy(&a);
  }
  ~PiMutex() { pthread_mutex_destroy(&m_); }
  PiMutex(const PiMutex&) = delete;
  PiMutex& operator=(const PiMutex&) = delete;
  void lock() { pthread_mutex_lock(&m_); }
  void unlock() { pthread_mutex_unlock(&m_); }

 private:
  pthread_mutex_t m_;
};

struct Packet {
  std::vector<uint8_t> bytes;
  VrrpDest dest;
  std::string dstText;
};

// One advert that left on none or only some of its destinations, or (failed empty) the first
// one that left on all of them again after such an advert: JS's send-fault rule counts runs.
struct FailureEvent {
  uint32_t okBefore;  // adverts sent fully since the previous event of this job
  uint32_t destinations;
  std::vector<std::pair<std::string, int>> failed;  // destination, errno
};

// What stats(id) reports of a job: plain values, copied out under the lock in one assignment.
struct JobStats {
  bool active = false;
  int64_t nextNs = 0;
  // Counters for the job's id (kept across re-installs).
  double sent = 0;  // adverts that left on at least one destination
  double sendErrors = 0;  // destinations that failed
  int lastErrno = 0;
  double late = 0;
  double leaseExpiries = 0;
  double droppedEvents = 0;
  // How late the thread sent against the deadline (now at the send - nextNs): the worst since
  // start, and how many sends were more than 1 ms late. The wire shows the interval after the
  // kernel's own path too (a veth's softirq, a capture); this is the sender's part of it alone.
  int64_t maxLateNs = 0;
  double lateOver1ms = 0;
};

struct Job : JobStats {
  int fd = -1;  // our dup() of the VrrpSocket's descriptor
  std::vector<Packet> packets;
  int64_t intervalNs = 0;
  int64_t leaseUntilNs = 0;
  uint32_t okSinceEvent = 0;
  bool lastFailed = false;  // the job's previous advert failed on some destination
  std::vector<FailureEvent> events;
  bool leaseExpiredPending = false;
};

class AdvertSender : public Napi::ObjectWrap<AdvertSender> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "AdvertSender",
                       {
                           InstanceMethod<&AdvertSender::Set>("set"),
                           InstanceMethod<&AdvertSender::Renew>("renew"),
                           InstanceMethod<&AdvertSender::Stop>("stop"),
                           InstanceMethod<&AdvertSender::Stats>("stats"),
                           InstanceMethod<&AdvertSender::Close>("close"),
                       });
  }

  // new AdvertSender(onReport(reports: Array<{id, kind: 'send' | 'lease_expired', ...}>))
  explicit AdvertSender(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AdvertSender>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) {
      ThrowType(env, "AdvertSender(onReport)");
      return;
    }
    timerFd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (timerFd_ < 0) { ThrowErrno(env, errno, "timerfd_create"); return; }
    wakeFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakeFd_ < 0) { ThrowErrno(env, errno, "eventfd"); CloseFds(); return; }
    epollFd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epollFd_ < 0) { ThrowErrno(env, errno, "epoll_create1"); CloseFds(); return; }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = timerFd_;
    epoll_ctl(epollFd_, EPOLL_CTL_ADD, timerFd_, &ev);
    ev.data.fd = wakeFd_;
    epoll_ctl(epollFd_, EPOLL_CTL_ADD, wakeFd_, &ev);
    onReport_ = Napi::Persistent(info[0].As<Napi::Function>());
    // A queued report call holds `this`: the JS object stays referenced from here until the
    // ThreadSafeFunction is finalized (after close() released it and any queued call ran), so
    // a report never runs on a collected sender.
    Ref();
    tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                          "tandem:AdvertSender", 0, 1, [this](Napi::Env) { Unref(); });
    // The sender alone does not keep the process alive (the daemon has other handles).
    tsfn_.Unref(env);
    running_ = true;
    thread_ = std::thread([this] { Run(); });
  }

  ~AdvertSender() override { Shutdown(); }

 private:
  void CloseFds() {
    if (timerFd_ >= 0) close(timerFd_);
    if (wakeFd_ >= 0) close(wakeFd_);
    if (epollFd_ >= 0) close(epollFd_);
    timerFd_ = wakeFd_ = epollFd_ = -1;
  }

  void Wake() {
    uint64_t one = 1;
    ssize_t r = write(wakeFd_, &one, sizeof one);
    (void)r;
  }

  void Shutdown() {
    if (running_) {
      running_ = false;
      Wake();
      if (thread_.joinable()) thread_.join();
      tsfn_.Release();
    }
    std::lock_guard<PiMutex> lock(mu_);
    for (auto& [id, job] : jobs_) {
      if (job.fd >= 0) close(job.fd);
      job.fd = -1;
      job.active = false;
    }
    CloseFds();
  }

  bool CheckOpen(Napi::Env env) {
    if (running_) return true;
    ThrowErrno(env, EBADF, "AdvertSender", "sender is closed");
    return false;
  }

  // set(id, fd, family, ifindex, packets: Array<{payload, dst, src}>, intervalUs, firstDelayUs,
  //     leaseUs). firstDelayUs < 0: keep the job's next deadline if it is active (a new payload
  //     at the same cadence), else now + interval.
  Napi::Value Set(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 8 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() ||
        !info[3].IsNumber() || !info[4].IsArray() || !info[5].IsNumber() || !info[6].IsNumber() ||
        !info[7].IsNumber()) {
      ThrowType(env, "set(id, fd, family, ifindex, packets, intervalUs, firstDelayUs, leaseUs)");
      return env.Undefined();
    }
    uint32_t id = info[0].As<Napi::Number>().Uint32Value();
    int fd = info[1].As<Napi::Number>().Int32Value();
    int family = info[2].As<Napi::Number>().Int32Value();
    int ifindex = info[3].As<Napi::Number>().Int32Value();
    auto arr = info[4].As<Napi::Array>();
    double intervalUs = info[5].As<Napi::Number>().DoubleValue();
    double firstDelayUs = info[6].As<Napi::Number>().DoubleValue();
    double leaseUs = info[7].As<Napi::Number>().DoubleValue();
    if (fd < 0 || (family != 4 && family != 6) || !(intervalUs >= 1000) || !(leaseUs >= 0) || arr.Length() == 0) {
      ThrowType(env, "set: bad fd, family, interval (>= 1 ms), lease or no packets");
      return env.Undefined();
    }
    std::vector<Packet> packets;
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value v = arr.Get(i);
      if (!v.IsObject()) { ThrowType(env, "set: packets[i] must be {payload, dst, src}"); return env.Undefined(); }
      Napi::Object o = v.As<Napi::Object>();
      Napi::Value payload = o.Get("payload"), dst = o.Get("dst"), src = o.Get("src");
      if (!payload.IsTypedArray() || !dst.IsString() || !src.IsString()) {
        ThrowType(env, "set: packets[i] must be {payload: Uint8Array, dst: string, src: string}");
        return env.Undefined();
      }
      auto u8 = payload.As<Napi::Uint8Array>();
      Packet p;
      p.bytes.assign(u8.Data(), u8.Data() + u8.ByteLength());
      p.dstText = dst.As<Napi::String>().Utf8Value();
      if (!ParseVrrpDest(family, ifindex, p.dstText, src.As<Napi::String>().Utf8Value(), &p.dest)) {
        ThrowType(env, "set: bad address '" + p.dstText + "'");
        return env.Undefined();
      }
      packets.push_back(std::move(p));
    }
    int dupFd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dupFd < 0) { ThrowErrno(env, errno, "fcntl(F_DUPFD_CLOEXEC)"); return env.Undefined(); }
    {
      std::lock_guard<PiMutex> lock(mu_);
      Job& job = jobs_[id];
      int64_t now = MonoNs();
      int64_t interval = static_cast<int64_t>(intervalUs * 1000);
      bool keepPhase = firstDelayUs < 0 && job.active && job.intervalNs == interval;
      if (job.fd >= 0) close(job.fd);
      job.fd = dupFd;
      job.packets = std::move(packets);
      job.intervalNs = interval;
      if (!keepPhase) job.nextNs = OnGrid(now + (firstDelayUs < 0 ? interval : static_cast<int64_t>(firstDelayUs * 1000)));
      job.leaseUntilNs = now + static_cast<int64_t>(leaseUs * 1000);
      job.active = true;
    }
    Wake();
    return env.Undefined();
  }

  // renew(id, leaseUs): false when the job is not active (stopped, or its lease ran out).
  Napi::Value Renew(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
      ThrowType(env, "renew(id, leaseUs)");
      return env.Undefined();
    }
    uint32_t id = info[0].As<Napi::Number>().Uint32Value();
    double leaseUs = info[1].As<Napi::Number>().DoubleValue();
    std::lock_guard<PiMutex> lock(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end() || !it->second.active) return Napi::Boolean::New(env, false);
    it->second.leaseUntilNs = MonoNs() + static_cast<int64_t>(leaseUs * 1000);
    return Napi::Boolean::New(env, true);
  }

  // stop(id): the job sends nothing more; its counters stay for stats(id).
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!running_) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsNumber()) {
      ThrowType(env, "stop(id)");
      return env.Undefined();
    }
    uint32_t id = info[0].As<Napi::Number>().Uint32Value();
    {
      std::lock_guard<PiMutex> lock(mu_);
      auto it = jobs_.find(id);
      if (it == jobs_.end()) return env.Undefined();
      Job& job = it->second;
      job.active = false;
      if (job.fd >= 0) close(job.fd);
      job.fd = -1;
      job.packets.clear();
      job.events.clear();
      job.okSinceEvent = 0;
      job.lastFailed = false;
      job.leaseExpiredPending = false;
    }
    Wake();
    return env.Undefined();
  }

  // stats(id): {active, sent, sendErrors, lastErrno, late, leaseExpiries} or undefined.
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) {
      ThrowType(env, "stats(id)");
      return env.Undefined();
    }
    uint32_t id = info[0].As<Napi::Number>().Uint32Value();
    JobStats j;  // copied under the lock; the JS object is made after it
    {
      std::lock_guard<PiMutex> lock(mu_);
      auto it = jobs_.find(id);
      if (it == jobs_.end()) return env.Undefined();
      j = it->second;
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("active", Napi::Boolean::New(env, j.active));
    o.Set("sent", Napi::Number::New(env, j.sent));
    o.Set("sendErrors", Napi::Number::New(env, j.sendErrors));
    o.Set("lastErrno", Napi::Number::New(env, j.lastErrno));
    o.Set("lastError", j.lastErrno ? Napi::Value(Napi::String::New(env, uv_err_name(-j.lastErrno))) : env.Null());
    o.Set("late", Napi::Number::New(env, j.late));
    o.Set("leaseExpiries", Napi::Number::New(env, j.leaseExpiries));
    o.Set("droppedReports", Napi::Number::New(env, j.droppedEvents));
    o.Set("threadPriority", Napi::String::New(env, priority_.load()));
    o.Set("nextDueNs", Napi::Number::New(env, static_cast<double>(j.nextNs)));
    o.Set("wakeups", Napi::Number::New(env, static_cast<double>(wakeups_.load())));
    o.Set("maxLateUs", Napi::Number::New(env, static_cast<double>(j.maxLateNs) / 1000.0));
    o.Set("lateOver1ms", Napi::Number::New(env, j.lateOver1ms));
    return o;
  }

  // close(): stops every job and the thread. Idempotent.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    onReport_.Reset();
    return info.Env().Undefined();
  }

  // ---- the thread ----

  void Run() {
    RaisePriority();
    int64_t earliest = -1;
    while (running_) {
      ArmTimer(earliest);
      epoll_event evs[2];
      int n = epoll_wait(epollFd_, evs, 2, -1);
      if (n < 0 && errno != EINTR) break;
      uint64_t drain;
      for (int i = 0; i < n; i++) {
        ssize_t r = read(evs[i].data.fd, &drain, sizeof drain);
        (void)r;
      }
      if (!running_) break;
      wakeups_++;
      earliest = SendDue();
    }
  }

  // The thread runs for microseconds per advert and sleeps otherwise; what makes an advert late
  // is waiting for a CPU behind busy tasks (measured on the 2-CPU test host at load 6: gaps of
  // 39 ms at a 20 ms interval). So it asks for SCHED_FIFO 1, the lowest real-time priority
  // (keepalived offers the like for its whole VRRP process when configured: vrrp_rt_priority ->
  // lib/process.c set_process_priorities(), sched_setscheduler(SCHED_RR)); failing that (no CAP_SYS_NICE, a
  // cgroup without real-time budget), nice -10 for this thread only; failing that, it runs as is.
  // It only moves its own deadline sends ahead of other work; every other thread is untouched.
  // Timer slack 1 ns: the timerfd is exact anyway; this only covers epoll's own wake-up.
  void RaisePriority() {
    sched_param sp{};
    sp.sched_priority = 1;
    if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0) {
      priority_ = "SCHED_FIFO 1";
    } else if (setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), -10) == 0) {
      priority_ = "nice -10";
    }
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  }

  // Arms the timerfd at `earliest` (absolute CLOCK_MONOTONIC ns), or disarms it (-1).
  void ArmTimer(int64_t earliest) {
    itimerspec its{};
    if (earliest >= 0) {
      if (earliest == 0) earliest = 1;  // 0 would disarm
      its.it_value.tv_sec = earliest / 1000000000LL;
      its.it_value.tv_nsec = earliest % 1000000000LL;
    }
    timerfd_settime(timerFd_, TFD_TIMER_ABSTIME, &its, nullptr);
  }

  // Sends what is due, stops what ran out of lease; returns the earliest deadline left (-1:
  // none). One pass over the table per wake-up. A renew() only moves a lease later, so the
  // deadline returned stays right until the next set()/stop(), which wakes the thread.
  int64_t SendDue() {
    bool report = false;
    int64_t earliest = -1;
    {
      std::lock_guard<PiMutex> lock(mu_);
      int64_t now = MonoNs();
      for (auto& [id, job] : jobs_) {
        if (!job.active) continue;
        if (job.leaseUntilNs <= now) {
          // JS has not renewed for the whole lease: it no longer decides, so stop speaking for it.
          job.active = false;
          job.leaseExpiries++;
          job.leaseExpiredPending = true;
          report = true;
          continue;
        }
        if (job.nextNs > now + kCoalesceNs) {
          int64_t at = std::min(job.nextNs, job.leaseUntilNs);
          if (earliest < 0 || at < earliest) earliest = at;
          continue;
        }
        int64_t lateNs = now - job.nextNs;
        job.maxLateNs = std::max(job.maxLateNs, lateNs);
        if (lateNs > kLateReportNs) job.lateOver1ms++;
        SendJob(job);
        report = report || !job.events.empty();
        job.nextNs += job.intervalNs;
        now = MonoNs();
        if (job.nextNs <= now) {
          // More than one interval behind: one advert now is what the peers need, not a burst.
          job.late++;
          job.nextNs = OnGrid(now + job.intervalNs);
        }
        int64_t at = std::min(job.nextNs, job.leaseUntilNs);
        if (earliest < 0 || at < earliest) earliest = at;
      }
    }
    if (report && !reportQueued_.exchange(true)) {
      tsfn_.NonBlockingCall([this](Napi::Env env, Napi::Function) { Deliver(env); });
    }
    return earliest;
  }

  // Under mu_.
  void SendJob(Job& job) {
    FailureEvent ev{job.okSinceEvent, static_cast<uint32_t>(job.packets.size()), {}};
    for (const Packet& p : job.packets) {
      int err = VrrpSendmsg(job.fd, p.dest, p.bytes.data(), p.bytes.size());
      if (err != 0) {
        ev.failed.emplace_back(p.dstText, err);
        job.sendErrors++;
        job.lastErrno = err;
      }
    }
    if (ev.failed.size() < job.packets.size()) job.sent++;
    bool recovered = ev.failed.empty() && job.lastFailed;
    job.lastFailed = !ev.failed.empty();
    if (ev.failed.empty() && !recovered) {
      job.okSinceEvent++;
      return;
    }
    job.okSinceEvent = 0;
    if (job.events.size() >= kMaxPendingEventsPerJob) {
      job.events.erase(job.events.begin());
      job.droppedEvents++;
    }
    job.events.push_back(std::move(ev));
  }

  // On the main thread: hands the queued reports to JS in one call.
  void Deliver(Napi::Env env) {
    reportQueued_ = false;
    if (onReport_.IsEmpty()) return;
    Napi::HandleScope scope(env);
    // Taken out under the lock, turned into JS values after it (PiMutex).
    std::vector<std::pair<uint32_t, std::vector<FailureEvent>>> events;
    std::vector<uint32_t> expired;
    {
      std::lock_guard<PiMutex> lock(mu_);
      for (auto& [id, job] : jobs_) {
        if (!job.events.empty()) events.emplace_back(id, std::move(job.events));
        job.events.clear();
        if (job.leaseExpiredPending) {
          job.leaseExpiredPending = false;
          expired.push_back(id);
        }
      }
    }
    Napi::Array out = Napi::Array::New(env);
    uint32_t k = 0;
    for (auto& [id, list] : events) {
      for (FailureEvent& e : list) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("id", Napi::Number::New(env, id));
        o.Set("kind", Napi::String::New(env, "send"));
        o.Set("okBefore", Napi::Number::New(env, e.okBefore));
        o.Set("destinations", Napi::Number::New(env, e.destinations));
        Napi::Array failed = Napi::Array::New(env, e.failed.size());
        for (size_t i = 0; i < e.failed.size(); i++) {
          Napi::Object f = Napi::Object::New(env);
          f.Set("dst", Napi::String::New(env, e.failed[i].first));
          f.Set("error", ErrnoError(env, e.failed[i].second, "sendmsg", e.failed[i].first).Value());
          failed.Set(static_cast<uint32_t>(i), f);
        }
        o.Set("failed", failed);
        out.Set(k++, o);
      }
    }
    for (uint32_t id : expired) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("id", Napi::Number::New(env, id));
      o.Set("kind", Napi::String::New(env, "lease_expired"));
      out.Set(k++, o);
    }
    if (k == 0) return;
    if (!asyncContext_) asyncContext_ = std::make_unique<Napi::AsyncContext>(env, "tandem:AdvertSender");
    CallIntoJs(env, onReport_, *asyncContext_, {out});
  }

  int timerFd_ = -1;
  int wakeFd_ = -1;
  int epollFd_ = -1;
  std::atomic<bool> running_{false};
  std::atomic<bool> reportQueued_{false};
  std::atomic<uint64_t> wakeups_{0};  // the thread's wake-ups, all jobs (stats())
  std::thread thread_;
  std::atomic<const char*> priority_{"normal"};
  PiMutex mu_;
  std::map<uint32_t, Job> jobs_;
  Napi::FunctionReference onReport_;
  Napi::ThreadSafeFunction tsfn_;
  std::unique_ptr<Napi::AsyncContext> asyncContext_;
};

}  // namespace

Napi::Function InitAdvertSender(Napi::Env env) { return AdvertSender::Init(env); }

}  // namespace tandem

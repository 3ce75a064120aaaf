// A one-shot timer on the Node event loop that fires at its deadline to well under a
// millisecond without spinning: a timerfd (CLOCK_MONOTONIC, TFD_TIMER_ABSTIME) watched by
// uv_poll. libuv's own timers round to whole milliseconds and epoll_wait's timeout may oversleep
// by 0.1% (select_estimate_accuracy()); an hrtimer armed through timerfd_settime wakes epoll
// when it expires (timer slack applies only to the sleeping call's own timeout, not to fds).
// The deadline is passed as a delay from now and turned into an absolute CLOCK_MONOTONIC time
// here at once; performance.now() runs on the same clock (uv_hrtime), so the JS side
// (daemon/preciseTimer.ts) compares its own deadline after the callback.
#include "common.h"

#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <memory>

namespace tandem {
namespace {

class PreciseTimer : public Napi::ObjectWrap<PreciseTimer> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "PreciseTimer",
                       {
                           InstanceMethod<&PreciseTimer::Arm>("arm"),
                           InstanceMethod<&PreciseTimer::Cancel>("cancel"),
                           InstanceMethod<&PreciseTimer::Close>("close"),
                       });
  }

  // new PreciseTimer(onFire())
  explicit PreciseTimer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PreciseTimer>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) {
      ThrowType(env, "PreciseTimer(onFire)");
      return;
    }
    fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd_ < 0) {
      ThrowErrno(env, errno, "timerfd_create");
      return;
    }
    onFire_ = Napi::Persistent(info[0].As<Napi::Function>());
    asyncContext_ = std::make_unique<Napi::AsyncContext>(env, "tandem:PreciseTimer");
    int r = poller_.Start(env, fd_, [this](int status) { OnReadable(status); });
    if (r != 0) {
      ThrowErrno(env, -r, "uv_poll_start");
      close(fd_);
      fd_ = -1;
      return;
    }
    poller_.SetRef(false);  // only an armed timer keeps the loop alive, like setTimeout
  }

  ~PreciseTimer() override {
    poller_.Stop();
    if (fd_ >= 0) close(fd_);
  }

 private:
  // arm(delayMs): fires once, delayMs (fractional, >= 0) from now. Re-arming replaces.
  Napi::Value Arm(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) {
      ThrowErrno(env, EBADF, "PreciseTimer", "timer is closed");
      return env.Undefined();
    }
    if (info.Length() < 1 || !info[0].IsNumber()) {
      ThrowType(env, "arm(delayMs)");
      return env.Undefined();
    }
    double delay = info[0].As<Napi::Number>().DoubleValue();
    if (!(delay >= 0)) delay = 0;
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t at = static_cast<int64_t>(now.tv_sec) * 1000000000LL + now.tv_nsec + static_cast<int64_t>(delay * 1e6);
    if (at <= 0) at = 1;
    itimerspec its{};
    its.it_value.tv_sec = at / 1000000000LL;
    its.it_value.tv_nsec = at % 1000000000LL;
    if (timerfd_settime(fd_, TFD_TIMER_ABSTIME, &its, nullptr) < 0) {
      ThrowErrno(env, errno, "timerfd_settime");
      return env.Undefined();
    }
    SetArmed(true);
    return env.Undefined();
  }

  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    if (fd_ >= 0) {
      itimerspec its{};
      timerfd_settime(fd_, 0, &its, nullptr);
      uint64_t n;
      ssize_t r = read(fd_, &n, sizeof n);  // an expiry not yet read must not fire later
      (void)r;
    }
    SetArmed(false);
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    SetArmed(false);
    poller_.Stop();
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    onFire_.Reset();
    return info.Env().Undefined();
  }

  void SetArmed(bool armed) {
    if (armed == armed_) return;
    armed_ = armed;
    poller_.SetRef(armed);
    // An armed timer keeps its JS object (and callback) alive.
    if (armed) Ref(); else Unref();
  }

  void OnReadable(int status) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    uint64_t n = 0;
    ssize_t r = read(fd_, &n, sizeof n);
    if (status < 0 || r != sizeof n || n == 0) return;  // cancelled / re-armed meanwhile
    Napi::Object self = Value();
    SetArmed(false);
    CallIntoJs(env, onFire_, *asyncContext_, {});
    (void)self;
  }

  int fd_ = -1;
  bool armed_ = false;
  FdPoller poller_;
  Napi::FunctionReference onFire_;
  std::unique_ptr<Napi::AsyncContext> asyncContext_;
};

}  // namespace

Napi::Function InitPreciseTimer(Napi::Env env) { return PreciseTimer::Init(env); }

}  // namespace tandem

// Shared helpers for the tandem_net addon: errno -> JS Error, address text <-> bytes,
// and a libuv poll watcher that calls back into JS with MakeCallback.
#pragma once

#include <napi.h>
#include <uv.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string>

namespace tandem {

// Closes a probe socket with a RST (SO_LINGER 0) instead of a FIN: no TIME_WAIT piles up on a
// host that opens thousands of probe connections a second (tcp_prober.cc, tcp_check_engine.cc).
inline void CloseWithReset(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

// An Error whose `code` is the errno name (EEXIST, ENODEV, ...) like Node's own system errors,
// so TS can decide by code (e.g. ignore EEXIST on add) without parsing messages.
inline Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& detail = "") {
  const char* name = uv_err_name(-err);
  std::string msg = std::string(syscall) + " " + name + " (" + std::strerror(err) + ")";
  if (!detail.empty()) msg += ": " + detail;
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, name));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

inline void ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& detail = "") {
  ErrnoError(env, err, syscall, detail).ThrowAsJavaScriptException();
}

inline void ThrowType(Napi::Env env, const std::string& msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
}

// Address text for the family; IPv6 comes out in RFC 5952 compressed form (inet_ntop), which is
// what Node's net module prints too.
inline std::string AddrToString(int family, const void* addr) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (inet_ntop(family, addr, buf, sizeof buf) == nullptr) return "";
  return buf;
}

// Parses `text` as an address of `family` (4 or 6) into `out` (4 or 16 bytes). Returns false on
// bad text; the caller throws.
inline bool ParseAddr(int family, const std::string& text, void* out) {
  return inet_pton(family == 4 ? AF_INET : AF_INET6, text.c_str(), out) == 1;
}

// Watches one non-blocking fd for readability on the Node event loop (uv_poll: no threads, no
// busy loop). The uv handle lives on the heap and is freed in its close callback, because libuv
// may still touch it after Stop() returns; the fd is closed by the owner after Stop().
class FdPoller {
 public:
  using ReadyFn = std::function<void(int status)>;

  FdPoller() = default;
  FdPoller(const FdPoller&) = delete;
  FdPoller& operator=(const FdPoller&) = delete;
  ~FdPoller() { Stop(); }

  // Returns 0 or a negative libuv error.
  int Start(Napi::Env env, int fd, ReadyFn onReady) {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return UV_EINVAL;
    onReady_ = std::move(onReady);
    handle_ = new uv_poll_t;
    int r = uv_poll_init(loop, handle_, fd);
    if (r != 0) {
      delete handle_;
      handle_ = nullptr;
      return r;
    }
    handle_->data = this;
    r = uv_poll_start(handle_, UV_READABLE, &FdPoller::OnPoll);
    if (r != 0) Stop();
    return r;
  }

  // Whether this watcher alone keeps the event loop (and so the process) alive: uv_ref/uv_unref.
  void SetRef(bool ref) {
    if (handle_ == nullptr) return;
    if (ref) uv_ref(reinterpret_cast<uv_handle_t*>(handle_));
    else uv_unref(reinterpret_cast<uv_handle_t*>(handle_));
  }

  void Stop() {
    if (handle_ == nullptr) return;
    uv_poll_stop(handle_);
    handle_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(handle_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    handle_ = nullptr;
  }

 private:
  static void OnPoll(uv_poll_t* h, int status, int /*events*/) {
    auto* self = static_cast<FdPoller*>(h->data);
    if (self != nullptr) self->onReady_(status);
  }

  uv_poll_t* handle_ = nullptr;
  ReadyFn onReady_;
};

// Calls a JS callback from a libuv callback (no JS on the stack). MakeCallback (not Call) so
// that process.nextTick and promise jobs queued by the callback run afterwards, as they do
// after any Node I/O callback. An exception the callback throws goes to 'uncaughtException'.
inline void CallIntoJs(Napi::Env env, Napi::FunctionReference& fn, Napi::AsyncContext& ctx,
                       const std::initializer_list<napi_value>& args) {
  if (fn.IsEmpty()) return;
  fn.MakeCallback(env.Global(), args, ctx);
  if (env.IsExceptionPending()) {
    Napi::Error err = env.GetAndClearPendingException();
    napi_fatal_exception(env, err.Value());
  }
}

}  // namespace tandem

// sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET (sd_notify(3), "NOTES").
// Node has no AF_UNIX datagram sockets, and linking libsystemd for one sendto() is not worth
// the dependency. Supports filesystem paths and abstract sockets ('@' -> leading NUL byte);
// systemd 252 uses a path under /run/systemd/notify.
//
// JS API: sdNotify(state: string): boolean
//   false when NOTIFY_SOCKET is unset (not run by systemd: a no-op), true when the datagram was
//   sent; throws an errno error (code ECONNREFUSED, ENOENT, EINVAL for a bad address, ...) when
//   it could not be sent.
#include "common.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <string>

namespace tandem {

static Napi::Value SdNotify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    ThrowType(env, "sdNotify(state: string)");
    return env.Undefined();
  }
  const std::string state = info[0].As<Napi::String>().Utf8Value();
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return Napi::Boolean::New(env, false);

  const size_t pathLen = std::strlen(path);
  // Only unix sockets: a path or '@abstract' (systemd 252 knows no other kind). The name must
  // fit sun_path; an abstract name is not NUL-terminated, so it may use all of it.
  if ((path[0] != '/' && path[0] != '@') || pathLen < 2 || pathLen > sizeof(sockaddr_un::sun_path) - (path[0] == '/' ? 1 : 0)) {
    ThrowErrno(env, EINVAL, "sd_notify", std::string("unusable NOTIFY_SOCKET ") + path);
    return env.Undefined();
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path, pathLen);
  if (path[0] == '@') addr.sun_path[0] = '\0';
  // A path address includes its terminating NUL (zeroed above); an abstract one is exactly its bytes.
  const socklen_t addrLen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + pathLen + (path[0] == '/' ? 1 : 0));

  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ThrowErrno(env, errno, "socket");
    return env.Undefined();
  }
  // A datagram socket sends the whole message or nothing; the receiver (PID 1) reads it at once.
  // MSG_NOSIGNAL: a vanished receiver must give an error, never SIGPIPE.
  ssize_t n = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), addrLen);
  int err = errno;
  close(fd);
  if (n < 0) {
    ThrowErrno(env, err, "sendto", path);
    return env.Undefined();
  }
  return Napi::Boolean::New(env, true);
}

void InitSdNotify(Napi::Env env, Napi::Object exports) {
  exports.Set("sdNotify", Napi::Function::New(env, SdNotify, "sdNotify"));
}

}  // namespace tandem

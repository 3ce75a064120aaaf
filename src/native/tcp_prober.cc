// TCP connections for health probes (TCP_CHECK, HTTP_GET, SMTP_CHECK): every probe connection
// of the process on one epoll set, watched by one libuv poll handle, with the outcomes of a
// wakeup delivered to JS in one call.
//
// Why not node:net: a net.Socket is a full stream (JS objects, a libuv handle, a write queue
// and a handful of closures per connection) and costs several times what a probe needs. At
// 10,000 servers checked every second that overhead saturated the event loop (docs/benchmarks.md
// "Health checks against HAProxy"). Here a probe is an fd and a few bytes of state; the protocol
// logic (HTTP status and digest, SMTP replies) stays in TS and sees the same connect / data /
// end / error sequence a socket gives.
//
// A plain TCP check closes with a RST as soon as the handshake completes (SO_LINGER 0, as
// HAProxy's checks do): a FIN would leave one TIME_WAIT socket per probe on this host for 60 s
// (RFC 9293 §3.6.1). close(id) of a connection still open resets it for the same reason; a
// connection the server closed first (EOF) is closed normally, since the server then holds the
// TIME_WAIT.
//
// JS API (registered as `TcpProber`):
//   new TcpProber(onEvents(events: Int32Array, data: Buffer[]))
//     events holds triples [id, kind, errno]: kind 1 connected, 2 data (the next Buffer of
//     `data`), 3 end of stream, 4 error (errno, e.g. ECONNREFUSED). After 'connected' of a
//     resetOnConnect connection, after 'end' and after 'error' the connection is gone.
//   .open(family: 4|6, address, port, bindAddress ('' for none), bindPort (0 for any),
//         resetOnConnect: boolean): number   the id; throws errno errors for what fails at once
//         (socket, bind, connect other than EINPROGRESS).
//   .write(id, data: Uint8Array)   sent as soon as connected; a partial write continues when the
//         socket is writable. Throws errno errors (EPIPE, ECONNRESET) and EBADF for an unknown id.
//   .close(id)   releases the connection (RST if still open); an unknown id is ignored.
//   .active      open connections.
#include "common.h"

#include <net/if.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <unordered_map>
#include <vector>

namespace tandem {
namespace {

constexpr int kMaxEventsPerWakeup = 1024;
constexpr size_t kReadChunkBytes = 64 * 1024;
// A server streaming a huge body must not monopolise a wakeup: later reads wait for the next one.
constexpr int kMaxReadsPerConnPerWakeup = 4;

enum EventKind : int32_t { kConnected = 1, kData = 2, kEnd = 3, kError = 4 };

struct Conn {
  int fd = -1;
  bool connected = false;
  bool resetOnConnect = false;
  std::string pending;  // bytes written before the connection completed or not yet accepted
};

// Parses "address" or "fe80::1%eth0" into a sockaddr for `family`; false on bad text.
bool ParseSockaddr(int family, const std::string& text, uint16_t port, sockaddr_storage* out, socklen_t* len) {
  std::memset(out, 0, sizeof *out);
  if (family == 4) {
    auto* sa = reinterpret_cast<sockaddr_in*>(out);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    if (!ParseAddr(4, text, &sa->sin_addr)) return false;
    *len = sizeof *sa;
    return true;
  }
  auto* sa = reinterpret_cast<sockaddr_in6*>(out);
  sa->sin6_family = AF_INET6;
  sa->sin6_port = htons(port);
  std::string addr = text;
  size_t pct = text.find('%');
  if (pct != std::string::npos) {
    addr = text.substr(0, pct);
    std::string zone = text.substr(pct + 1);
    unsigned idx = if_nametoindex(zone.c_str());
    if (idx == 0 && !zone.empty() && zone.find_first_not_of("0123456789") == std::string::npos) {
      idx = static_cast<unsigned>(std::stoul(zone));
    }
    if (idx == 0) return false;
    sa->sin6_scope_id = idx;
  }
  if (!ParseAddr(6, addr, &sa->sin6_addr)) return false;
  *len = sizeof *sa;
  return true;
}

class TcpProber : public Napi::ObjectWrap<TcpProber> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "TcpProber",
                       {
                           InstanceMethod<&TcpProber::Open>("open"),
                           InstanceMethod<&TcpProber::Write>("write"),
                           InstanceMethod<&TcpProber::CloseConn>("close"),
                           InstanceAccessor<&TcpProber::Active>("active"),
                       });
  }

  explicit TcpProber(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TcpProber>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) {
      ThrowType(env, "TcpProber(onEvents)");
      return;
    }
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) {
      ThrowErrno(env, errno, "epoll_create1");
      return;
    }
    onEvents_ = Napi::Persistent(info[0].As<Napi::Function>());
    asyncContext_ = std::make_unique<Napi::AsyncContext>(env, "tandem:TcpProber");
    int r = poller_.Start(env, epfd_, [this](int status) { OnReady(status); });
    if (r != 0) {
      ThrowErrno(env, -r, "uv_poll_start");
      close(epfd_);
      epfd_ = -1;
      return;
    }
    // An idle prober must not keep the process alive; open connections do (UpdateRef).
    poller_.SetRef(false);
    Ref();  // the JS object lives as long as the module that made it
  }

  ~TcpProber() override {
    poller_.Stop();
    for (auto& [id, c] : conns_) CloseWithReset(c.fd);
    conns_.clear();
    if (epfd_ >= 0) close(epfd_);
  }

 private:
  Napi::Value Open(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 6 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsNumber() ||
        !info[3].IsString() || !info[4].IsNumber() || !info[5].IsBoolean()) {
      ThrowType(env, "open(family, address, port, bindAddress, bindPort, resetOnConnect)");
      return env.Undefined();
    }
    int family = info[0].As<Napi::Number>().Int32Value();
    std::string address = info[1].As<Napi::String>().Utf8Value();
    uint32_t port = info[2].As<Napi::Number>().Uint32Value();
    std::string bindAddress = info[3].As<Napi::String>().Utf8Value();
    uint32_t bindPort = info[4].As<Napi::Number>().Uint32Value();
    bool resetOnConnect = info[5].As<Napi::Boolean>().Value();
    if ((family != 4 && family != 6) || port == 0 || port > 65535 || bindPort > 65535) {
      ThrowType(env, "open: family must be 4 or 6, port 1..65535, bindPort 0..65535");
      return env.Undefined();
    }
    sockaddr_storage to{};
    socklen_t toLen = 0;
    if (!ParseSockaddr(family, address, static_cast<uint16_t>(port), &to, &toLen)) {
      ThrowType(env, "open: bad IPv" + std::to_string(family) + " address '" + address + "'");
      return env.Undefined();
    }
    sockaddr_storage from{};
    socklen_t fromLen = 0;
    bool bind = !bindAddress.empty() || bindPort != 0;
    if (bind) {
      std::string src = bindAddress.empty() ? (family == 4 ? "0.0.0.0" : "::") : bindAddress;
      if (!ParseSockaddr(family, src, static_cast<uint16_t>(bindPort), &from, &fromLen)) {
        ThrowType(env, "open: bad IPv" + std::to_string(family) + " bind address '" + bindAddress + "'");
        return env.Undefined();
      }
    }

    int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) {
      ThrowErrno(env, errno, "socket");
      return env.Undefined();
    }
    int one = 1;
    int zero = 0;
    if (resetOnConnect) {
      // TCP_CHECK, as HAProxy checks a port: with quick ACKs off, the kernel holds back the
      // handshake's final ACK (tcp_rcv_synsent_state_process defers it in pingpong mode), so
      // the RST we close with answers the SYN-ACK: the server's SYN-ACK proved the port is
      // listening with room in its backlog, and the application never has to accept and log a
      // connection per check, nor does this host send the ACK.
      setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof zero);
    } else {
      // Requests are written whole and never wait for more: send them at once (no Nagle delay).
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (bind) {
      // bindto without a port: let connect() pick the port per destination, so the 4-tuple and
      // not the local port has to be unique (Linux 4.2+, IP_BIND_ADDRESS_NO_PORT).
      if (bindPort == 0) setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      else setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&from), fromLen) < 0) {
        int err = errno;
        close(fd);
        ThrowErrno(env, err, "bind", bindAddress + ":" + std::to_string(bindPort));
        return env.Undefined();
      }
    }
    int r;
    do {
      r = connect(fd, reinterpret_cast<sockaddr*>(&to), toLen);
    } while (r < 0 && errno == EINTR);
    if (r < 0 && errno != EINPROGRESS) {
      int err = errno;
      close(fd);
      ThrowErrno(env, err, "connect", address + ":" + std::to_string(port));
      return env.Undefined();
    }
    uint32_t id = NextId();
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u64 = id;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
      int err = errno;
      close(fd);
      ThrowErrno(env, err, "epoll_ctl");
      return env.Undefined();
    }
    Conn& c = conns_[id];
    c.fd = fd;
    c.resetOnConnect = resetOnConnect;
    UpdateRef();
    return Napi::Number::New(env, id);
  }

  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsTypedArray()) {
      ThrowType(env, "write(id, data: Uint8Array)");
      return env.Undefined();
    }
    uint32_t id = info[0].As<Napi::Number>().Uint32Value();
    auto data = info[1].As<Napi::Uint8Array>();
    auto it = conns_.find(id);
    if (it == conns_.end()) {
      ThrowErrno(env, EBADF, "write", "no open probe connection " + std::to_string(id));
      return env.Undefined();
    }
    Conn& c = it->second;
    c.pending.append(reinterpret_cast<const char*>(data.Data()), data.ByteLength());
    if (c.connected) {
      int err = Flush(id, c);
      if (err != 0) {
        Drop(id, false);
        ThrowErrno(env, err, "write");
      }
    }
    return env.Undefined();
  }

  Napi::Value CloseConn(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) {
      ThrowType(env, "close(id)");
      return env.Undefined();
    }
    Drop(info[0].As<Napi::Number>().Uint32Value(), true);
    return env.Undefined();
  }

  Napi::Value Active(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(conns_.size()));
  }

  uint32_t NextId() {
    do {
      nextId_ = nextId_ == 0x7fffffff ? 1 : nextId_ + 1;
    } while (conns_.count(nextId_) != 0);
    return nextId_;
  }

  // Sends what is pending; 0 or an errno. Leaves EPOLLOUT armed while bytes remain.
  int Flush(uint32_t id, Conn& c) {
    while (!c.pending.empty()) {
      ssize_t n = send(c.fd, c.pending.data(), c.pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return errno;
      }
      c.pending.erase(0, static_cast<size_t>(n));
    }
    epoll_event ev{};
    ev.events = c.pending.empty() ? EPOLLIN : (EPOLLIN | EPOLLOUT);
    ev.data.u64 = id;
    return epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev) < 0 ? errno : 0;
  }

  // Forgets a connection: RST when it may still be open, a plain close after EOF or an error.
  void Drop(uint32_t id, bool reset) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    epoll_ctl(epfd_, EPOLL_CTL_DEL, it->second.fd, nullptr);
    if (reset) CloseWithReset(it->second.fd);
    else close(it->second.fd);
    conns_.erase(it);
    UpdateRef();
  }

  void UpdateRef() {
    bool want = !conns_.empty();
    if (want != referenced_) {
      referenced_ = want;
      poller_.SetRef(want);
    }
  }

  void OnReady(int status) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    events_.clear();
    data_.clear();
    if (status < 0) {
      // The epoll fd itself failed (never expected): fail every connection rather than hang them.
      std::vector<uint32_t> ids;
      for (auto& [id, c] : conns_) ids.push_back(id);
      for (uint32_t id : ids) {
        Drop(id, true);
        Push(id, kError, -status);
      }
      Deliver(env);
      return;
    }
    epoll_event evs[kMaxEventsPerWakeup];
    int n;
    do {
      n = epoll_wait(epfd_, evs, kMaxEventsPerWakeup, 0);
    } while (n < 0 && errno == EINTR);
    for (int i = 0; i < n; i++) Handle(env, static_cast<uint32_t>(evs[i].data.u64), evs[i].events);
    Deliver(env);
  }

  void Handle(Napi::Env env, uint32_t id, uint32_t events) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& c = it->second;
    if (!c.connected) {
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
      if (err == 0 && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == EPOLLOUT) {
        c.connected = true;
      } else if (err != 0 || (events & (EPOLLERR | EPOLLHUP)) != 0) {
        Drop(id, false);
        Push(id, kError, err != 0 ? err : ECONNRESET);
        return;
      } else {
        return;  // spurious wakeup before the handshake completed
      }
      if (c.resetOnConnect) {
        Drop(id, true);
        Push(id, kConnected, 0);
        return;
      }
      Push(id, kConnected, 0);
      int ferr = Flush(id, c);
      if (ferr != 0) {
        Drop(id, false);
        Push(id, kError, ferr);
      }
      return;  // readable data, if any, is reported on the next wakeup (level-triggered)
    }
    if ((events & EPOLLOUT) != 0 && !c.pending.empty()) {
      int ferr = Flush(id, c);
      if (ferr != 0) {
        Drop(id, false);
        Push(id, kError, ferr);
        return;
      }
    }
    if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) == 0) return;
    for (int r = 0; r < kMaxReadsPerConnPerWakeup; r++) {
      ssize_t got = recv(c.fd, readBuf_, sizeof readBuf_, MSG_DONTWAIT);
      if (got > 0) {
        data_.push_back(Napi::Buffer<uint8_t>::Copy(env, readBuf_, static_cast<size_t>(got)));
        Push(id, kData, 0);
        if (static_cast<size_t>(got) < sizeof readBuf_) return;  // drained
        continue;
      }
      if (got == 0) {
        Drop(id, false);
        Push(id, kEnd, 0);
        return;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if ((events & (EPOLLERR | EPOLLHUP)) == 0) return;
        // An error or hang-up with nothing to read: take the socket's error now, or the
        // level-triggered EPOLLERR would wake us again and again.
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        Drop(id, false);
        Push(id, err != 0 ? kError : kEnd, err);
        return;
      }
      int err = errno;
      Drop(id, false);
      Push(id, kError, err);
      return;
    }
  }

  void Push(uint32_t id, EventKind kind, int err) {
    events_.push_back(static_cast<int32_t>(id));
    events_.push_back(kind);
    events_.push_back(err);
  }

  void Deliver(Napi::Env env) {
    if (events_.empty()) return;
    auto events = Napi::Int32Array::New(env, events_.size());
    std::memcpy(events.Data(), events_.data(), events_.size() * sizeof(int32_t));
    auto data = Napi::Array::New(env, data_.size());
    for (size_t i = 0; i < data_.size(); i++) data.Set(static_cast<uint32_t>(i), data_[i]);
    events_.clear();
    data_.clear();
    CallIntoJs(env, onEvents_, *asyncContext_, {events, data});
  }

  int epfd_ = -1;
  uint32_t nextId_ = 0;
  bool referenced_ = false;
  std::unordered_map<uint32_t, Conn> conns_;
  std::vector<int32_t> events_;
  std::vector<napi_value> data_;
  uint8_t readBuf_[kReadChunkBytes];
  FdPoller poller_;
  Napi::FunctionReference onEvents_;
  std::unique_ptr<Napi::AsyncContext> asyncContext_;
};

}  // namespace

Napi::Function InitTcpProber(Napi::Env env) { return TcpProber::Init(env); }

}  // namespace tandem

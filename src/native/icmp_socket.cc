// ICMP echo for PING_CHECK: one socket per address family shared by every ping probe, polled
// on the Node event loop (no process per probe, no thread).
//
// Two kinds of socket, tried in this order:
// - an unprivileged "ping socket" (SOCK_DGRAM, IPPROTO_ICMP / IPPROTO_ICMPV6; Linux 3.0+),
//   allowed when the process's group is inside net.ipv4.ping_group_range. The kernel picks the
//   echo identifier, fills the checksum, and hands this socket only the replies to its own
//   requests, without the IP header. ICMP errors are not reported (no IP_RECVERR): an
//   unreachable host is simply silent.
// - a raw socket (SOCK_RAW, needs CAP_NET_RAW) when ping sockets are refused, as with Debian's
//   default range "1 0" (which refuses root too). It sees every echo reply the host receives,
//   so JS matches the identifier; an ICMP filter (raw(7) ICMP_FILTER, RFC 3542 §3.2
//   ICMP6_FILTER) lets through only echo replies and the errors that quote an echo request:
//   destination unreachable and time exceeded, delivered with the identifier, sequence and
//   destination of the request they quote (RFC 792, RFC 4443 §3.1 / §3.3).
//
// JS API (registered as `IcmpSocket`):
//   new IcmpSocket(family: 4 | 6, onMessage(kind, peer, id, seq, code), onError(err))
//     kind 0 = echo reply from `peer`; 1 = destination unreachable, 2 = time exceeded, about a
//     request we sent to `peer`, with the ICMP `code`.
//   .kind: 'dgram' | 'raw'
//   .send(dst: string, id: number, seq: number, payload: Uint8Array): string
//     returns `dst` in canonical text (inet_ntop), the form `peer` takes in onMessage.
//     Throws errno errors (EHOSTUNREACH, ENETUNREACH, ENOBUFS ...).
//   .close()  idempotent.
#include "common.h"

#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <vector>

namespace tandem {
namespace {

constexpr int kMaxPacketsPerWakeup = 256;
// Replies to thousands of probes launched in the same tick arrive in one burst.
constexpr int kRecvBufferBytes = 1024 * 1024;
constexpr size_t kMaxPayload = 1024;

constexpr uint8_t kIcmpEchoReply = 0, kIcmpUnreach = 3, kIcmpEcho = 8, kIcmpTimeExceeded = 11;
constexpr uint8_t kIcmp6Unreach = 1, kIcmp6TimeExceeded = 3, kIcmp6Echo = 128, kIcmp6EchoReply = 129;
constexpr int kIpprotoIcmp6Next = 58;

enum MessageKind { kEchoReply = 0, kUnreachable = 1, kTimeExceeded = 2 };

// RFC 1071 Internet checksum (only raw IPv4 needs it; the kernel does the rest).
uint16_t InternetChecksum(const uint8_t* data, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (static_cast<uint32_t>(data[i]) << 8) | data[i + 1];
  if (len & 1) sum += static_cast<uint32_t>(data[len - 1]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint16_t Read16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

class IcmpSocket : public Napi::ObjectWrap<IcmpSocket> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "IcmpSocket",
                       {
                           InstanceMethod<&IcmpSocket::Send>("send"),
                           InstanceMethod<&IcmpSocket::Close>("close"),
                           InstanceAccessor<&IcmpSocket::Kind>("kind"),
                       });
  }

  explicit IcmpSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<IcmpSocket>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsFunction() || !info[2].IsFunction()) {
      ThrowType(env, "IcmpSocket(family, onMessage, onError)");
      return;
    }
    family_ = info[0].As<Napi::Number>().Int32Value();
    if (family_ != 4 && family_ != 6) {
      ThrowType(env, "family must be 4 or 6");
      return;
    }
    int err = Open();
    if (err != 0) {
      ThrowErrno(env, err, syscall_);
      CloseFd();
      return;
    }
    onMessage_ = Napi::Persistent(info[1].As<Napi::Function>());
    onError_ = Napi::Persistent(info[2].As<Napi::Function>());
    asyncContext_ = std::make_unique<Napi::AsyncContext>(env, "tandem:IcmpSocket");
    int r = poller_.Start(env, fd_, [this](int status) { OnReadable(status); });
    if (r != 0) {
      ThrowErrno(env, -r, "uv_poll_start");
      CloseFd();
      return;
    }
    Ref();
    referenced_ = true;
  }

  ~IcmpSocket() override {
    poller_.Stop();
    CloseFd();
  }

 private:
  int Open() {
    int domain = family_ == 4 ? AF_INET : AF_INET6;
    int proto = family_ == 4 ? static_cast<int>(IPPROTO_ICMP) : static_cast<int>(IPPROTO_ICMPV6);
    fd_ = socket(domain, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (fd_ >= 0) {
      raw_ = false;
    } else {
      if (errno != EACCES && errno != EPERM && errno != EPROTONOSUPPORT) return Fail("socket(SOCK_DGRAM)");
      fd_ = socket(domain, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
      if (fd_ < 0) return Fail("socket(SOCK_RAW)");
      raw_ = true;
      if (family_ == 4) {
        icmp_filter f{};
        f.data = ~((1U << kIcmpEchoReply) | (1U << kIcmpUnreach) | (1U << kIcmpTimeExceeded));
        if (setsockopt(fd_, SOL_RAW, ICMP_FILTER, &f, sizeof f) < 0) return Fail("setsockopt(ICMP_FILTER)");
      } else {
        icmp6_filter f;
        ICMP6_FILTER_SETBLOCKALL(&f);
        ICMP6_FILTER_SETPASS(kIcmp6EchoReply, &f);
        ICMP6_FILTER_SETPASS(kIcmp6Unreach, &f);
        ICMP6_FILTER_SETPASS(kIcmp6TimeExceeded, &f);
        if (setsockopt(fd_, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof f) < 0) return Fail("setsockopt(ICMP6_FILTER)");
      }
    }
    // Best effort: FORCE passes rmem_max with CAP_NET_ADMIN; otherwise the capped size stays.
    int rcvbuf = kRecvBufferBytes;
    if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    return 0;
  }

  int Fail(const char* syscall) {
    syscall_ = syscall;
    return errno;
  }

  void CloseFd() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  Napi::Value Kind(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), raw_ ? "raw" : "dgram");
  }

  // send(dst, id, seq, payload): string
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) {
      ThrowErrno(env, EBADF, "IcmpSocket", "socket is closed");
      return env.Undefined();
    }
    if (info.Length() < 4 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber() ||
        !info[3].IsTypedArray()) {
      ThrowType(env, "send(dst: string, id: number, seq: number, payload: Uint8Array)");
      return env.Undefined();
    }
    std::string dst = info[0].As<Napi::String>().Utf8Value();
    uint32_t id = info[1].As<Napi::Number>().Uint32Value() & 0xffff;
    uint32_t seq = info[2].As<Napi::Number>().Uint32Value() & 0xffff;
    auto payload = info[3].As<Napi::Uint8Array>();
    if (payload.ByteLength() > kMaxPayload) {
      ThrowType(env, "payload too large");
      return env.Undefined();
    }

    // RFC 792 / RFC 4443 §4.1 echo request: type, code 0, checksum, identifier, sequence, data.
    std::vector<uint8_t> pkt(8 + payload.ByteLength());
    pkt[0] = family_ == 4 ? kIcmpEcho : kIcmp6Echo;
    pkt[4] = static_cast<uint8_t>(id >> 8);
    pkt[5] = static_cast<uint8_t>(id);
    pkt[6] = static_cast<uint8_t>(seq >> 8);
    pkt[7] = static_cast<uint8_t>(seq);
    if (payload.ByteLength() > 0) std::memcpy(pkt.data() + 8, payload.Data(), payload.ByteLength());
    if (family_ == 4 && raw_) {
      uint16_t sum = InternetChecksum(pkt.data(), pkt.size());
      pkt[2] = static_cast<uint8_t>(sum >> 8);
      pkt[3] = static_cast<uint8_t>(sum);
    }

    sockaddr_in to4{};
    sockaddr_in6 to6{};
    sockaddr* to;
    socklen_t toLen;
    if (family_ == 4) {
      to4.sin_family = AF_INET;
      if (!ParseAddr(4, dst, &to4.sin_addr)) {
        ThrowType(env, "send: bad IPv4 address '" + dst + "'");
        return env.Undefined();
      }
      to = reinterpret_cast<sockaddr*>(&to4);
      toLen = sizeof to4;
    } else {
      to6.sin6_family = AF_INET6;
      if (!ParseAddr(6, dst, &to6.sin6_addr)) {
        ThrowType(env, "send: bad IPv6 address '" + dst + "'");
        return env.Undefined();
      }
      to = reinterpret_cast<sockaddr*>(&to6);
      toLen = sizeof to6;
    }
    ssize_t n;
    do {
      n = sendto(fd_, pkt.data(), pkt.size(), MSG_DONTWAIT, to, toLen);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      ThrowErrno(env, errno, "sendto", dst);
      return env.Undefined();
    }
    const void* addr = family_ == 4 ? static_cast<const void*>(&to4.sin_addr) : static_cast<const void*>(&to6.sin6_addr);
    return Napi::String::New(env, AddrToString(family_ == 4 ? AF_INET : AF_INET6, addr));
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    poller_.Stop();
    CloseFd();
    onMessage_.Reset();
    onError_.Reset();
    if (referenced_) {
      referenced_ = false;
      Unref();
    }
    return info.Env().Undefined();
  }

  void OnReadable(int status) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Object self = Value();
    if (status < 0) {
      poller_.Stop();
      ReportError(env, -status, "uv_poll");
      return;
    }
    for (int i = 0; i < kMaxPacketsPerWakeup && fd_ >= 0; i++) {
      if (!ReceiveOne(env)) break;
    }
    (void)self;
  }

  bool ReceiveOne(Napi::Env env) {
    sockaddr_in6 from{};
    socklen_t fromLen = sizeof from;
    ssize_t n = recvfrom(fd_, buffer_.data(), buffer_.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fromLen);
    if (n < 0) {
      if (errno == EINTR) return true;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      ReportError(env, errno, "recvfrom");
      return false;
    }
    const uint8_t* p = buffer_.data();
    size_t len = static_cast<size_t>(n);
    if (family_ == 4) {
      std::string src = AddrToString(AF_INET, &reinterpret_cast<sockaddr_in*>(&from)->sin_addr);
      if (raw_) {
        // Raw IPv4 sockets deliver the IP header in front of the ICMP message.
        if (len < sizeof(iphdr)) return true;
        size_t ihl = static_cast<size_t>(reinterpret_cast<const iphdr*>(p)->ihl) * 4;
        if (ihl < sizeof(iphdr) || ihl > len) return true;
        p += ihl;
        len -= ihl;
      }
      ParseIcmp4(env, p, len, src);
    } else {
      ParseIcmp6(env, p, len, AddrToString(AF_INET6, &from.sin6_addr));
    }
    return true;
  }

  void ParseIcmp4(Napi::Env env, const uint8_t* p, size_t len, const std::string& src) {
    if (len < 8) return;
    if (p[0] == kIcmpEchoReply && p[1] == 0) {
      Deliver(env, kEchoReply, src, Read16(p + 4), Read16(p + 6), 0);
      return;
    }
    if (!raw_ || (p[0] != kIcmpUnreach && p[0] != kIcmpTimeExceeded)) return;
    // The error quotes the IP header and first 8 bytes of our echo request (RFC 792).
    const uint8_t* inner = p + 8;
    size_t innerLen = len - 8;
    if (innerLen < sizeof(iphdr)) return;
    const auto* ip = reinterpret_cast<const iphdr*>(inner);
    size_t ihl = static_cast<size_t>(ip->ihl) * 4;
    if (ip->protocol != IPPROTO_ICMP || ihl < sizeof(iphdr) || innerLen < ihl + 8) return;
    const uint8_t* echo = inner + ihl;
    if (echo[0] != kIcmpEcho) return;
    Deliver(env, p[0] == kIcmpUnreach ? kUnreachable : kTimeExceeded, AddrToString(AF_INET, &ip->daddr),
            Read16(echo + 4), Read16(echo + 6), p[1]);
  }

  void ParseIcmp6(Napi::Env env, const uint8_t* p, size_t len, const std::string& src) {
    if (len < 8) return;
    if (p[0] == kIcmp6EchoReply && p[1] == 0) {
      Deliver(env, kEchoReply, src, Read16(p + 4), Read16(p + 6), 0);
      return;
    }
    if (!raw_ || (p[0] != kIcmp6Unreach && p[0] != kIcmp6TimeExceeded)) return;
    // RFC 4443 §3.1: as much of the invoking packet as fits; we need its fixed IPv6 header (40
    // bytes, destination at 24) and the echo header right after it (no extension headers: we
    // send none).
    constexpr size_t kIpv6Header = 40;
    if (len < 8 + kIpv6Header + 8) return;
    const uint8_t* inner = p + 8;
    if (inner[6] != kIpprotoIcmp6Next) return;
    const uint8_t* echo = inner + kIpv6Header;
    if (echo[0] != kIcmp6Echo) return;
    Deliver(env, p[0] == kIcmp6Unreach ? kUnreachable : kTimeExceeded, AddrToString(AF_INET6, inner + 24),
            Read16(echo + 4), Read16(echo + 6), p[1]);
  }

  void Deliver(Napi::Env env, int kind, const std::string& peer, uint16_t id, uint16_t seq, int code) {
    CallIntoJs(env, onMessage_, *asyncContext_,
               {Napi::Number::New(env, kind), Napi::String::New(env, peer), Napi::Number::New(env, id),
                Napi::Number::New(env, seq), Napi::Number::New(env, code)});
  }

  void ReportError(Napi::Env env, int err, const char* syscall) {
    Napi::Error e = ErrnoError(env, err, syscall);
    CallIntoJs(env, onError_, *asyncContext_, {e.Value()});
  }

  int family_ = 4;
  int fd_ = -1;
  bool raw_ = false;
  bool referenced_ = false;
  const char* syscall_ = "";
  std::vector<uint8_t> buffer_ = std::vector<uint8_t>(2048);
  FdPoller poller_;
  Napi::FunctionReference onMessage_;
  Napi::FunctionReference onError_;
  std::unique_ptr<Napi::AsyncContext> asyncContext_;
};

}  // namespace

Napi::Function InitIcmpSocket(Napi::Env env) { return IcmpSocket::Init(env); }

}  // namespace tandem

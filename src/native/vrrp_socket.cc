// VRRP transport: a raw IP socket for protocol 112 (RFC 5798 §5.1.1.4 / §5.1.2.4), one per
// (family, interface), polled on the Node event loop.
//
// Receive hands JS the VRRP message plus what the receive checks need (RFC 5798 §7.1): source,
// destination, TTL / hop limit and the arrival interface. Send sets TTL / hop limit 255
// (RFC 5798 §5.1.1.3 / §5.1.2.3) and the source address chosen by the caller.
//
// Packets the kernel drops because the receive buffer is full are counted: SO_RXQ_OVFL puts the
// socket's running drop count (sk_drops, a uint32) on each packet it queues, and every packet
// hands it to JS, which counts the increase. The buffer is sized by JS for the instances on the
// socket (setReceiveBuffer).
//
// Every packet also carries how long it waited in the socket before we read it (its age), from
// the kernel's receive timestamp, so that the state machine restarts the Master_Down_Timer from
// when an advert arrived (RFC 5798 §6.4.2), not from when a busy event loop got round to it.
// What the kernel gives: SO_TIMESTAMPNS (socket(7)) stamps each skb with ktime_get_real() as it
// is received (net/core/dev.c net_timestamp_check), i.e. CLOCK_REALTIME; Linux has no monotonic
// software receive stamp (SOF_TIMESTAMPING_RX_SOFTWARE is the same realtime stamp,
// Documentation/networking/timestamping.rst). So the age is CLOCK_REALTIME now - the stamp,
// sampled right after recvmsg, and JS subtracts it from its own monotonic now. Error: an NTP
// slew changes the realtime rate by at most 500 ppm (0.15 ms on a 300 ms wait); a clock step
// between arrival and read shifts the age by the step: a backward step gives a negative age,
// clamped to 0 here (the packet counts as arriving now, the behaviour without stamps), and a
// forward step makes it look older, which the driver clamps to its previous event (instance.ts).
#include "common.h"
#include "vrrp_send.h"

#include <net/if.h>
#include <netinet/ip.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace tandem {
namespace {

constexpr int kIpprotoVrrp = 112;
constexpr int kMaxPacketsPerWakeup = 64;      // bound the work done in one poll callback
// drain() runs before a deadline acts (vrrp/router.ts): it reads what is queued now, bounded so
// that a flood cannot hold the loop; what is left is read by the poll callback as usual.
constexpr int kMaxPacketsPerDrain = 1024;
// keepalived marks VRRP as network control traffic (IPTOS_PREC_INTERNETCONTROL); do the same so
// QoS treats both implementations alike.
constexpr int kTosNetworkControl = 0xc0;

const in_addr kVrrpGroup4 = {htonl(0xe0000012)};  // 224.0.0.18, RFC 5798 §5.1.1.2
const in6_addr kVrrpGroup6 = {{{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12}}};  // ff02::12

class VrrpSocket : public Napi::ObjectWrap<VrrpSocket> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "VrrpSocket",
                       {
                           InstanceMethod<&VrrpSocket::Send>("send"),
                           InstanceMethod<&VrrpSocket::Join>("join"),
                           InstanceMethod<&VrrpSocket::Leave>("leave"),
                           InstanceMethod<&VrrpSocket::SetHopLimit>("setHopLimit"),
                           InstanceMethod<&VrrpSocket::SetReceiveBuffer>("setReceiveBuffer"),
                           InstanceMethod<&VrrpSocket::Drain>("drain"),
                           InstanceMethod<&VrrpSocket::Close>("close"),
                           InstanceAccessor<&VrrpSocket::Ifindex>("ifindex"),
                           InstanceAccessor<&VrrpSocket::Fd>("fd"),
                       });
  }

  // new VrrpSocket(family: 4 | 6, ifname,
  //                onPacket(payload, src, dst, ttl, ifindex, kernelDrops, ageMs), onError(err))
  explicit VrrpSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<VrrpSocket>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsFunction() ||
        !info[3].IsFunction()) {
      ThrowType(env, "VrrpSocket(family, ifname, onPacket, onError)");
      return;
    }
    family_ = info[0].As<Napi::Number>().Int32Value();
    if (family_ != 4 && family_ != 6) {
      ThrowType(env, "family must be 4 or 6");
      return;
    }
    std::string ifname = info[1].As<Napi::String>().Utf8Value();
    if (ifname.empty() || ifname.size() >= IFNAMSIZ) {
      ThrowType(env, "bad interface name");
      return;
    }
    ifindex_ = static_cast<int>(if_nametoindex(ifname.c_str()));
    if (ifindex_ == 0) {
      ThrowErrno(env, errno, "if_nametoindex", ifname);
      return;
    }
    int err = Open(ifname);
    if (err != 0) {
      ThrowErrno(env, err, syscall_, ifname);
      CloseFd();
      return;
    }
    onPacket_ = Napi::Persistent(info[2].As<Napi::Function>());
    onError_ = Napi::Persistent(info[3].As<Napi::Function>());
    asyncContext_ = std::make_unique<Napi::AsyncContext>(env, "tandem:VrrpSocket");
    int r = poller_.Start(env, fd_, [this](int status) { OnReadable(status); });
    if (r != 0) {
      ThrowErrno(env, -r, "uv_poll_start", ifname);
      CloseFd();
      return;
    }
    // An open socket keeps its JS object (and so its callbacks) alive, like a dgram socket.
    Ref();
    referenced_ = true;
  }

  ~VrrpSocket() override {
    poller_.Stop();
    CloseFd();
  }

 private:
  // Returns 0 or an errno; sets syscall_ to the failing call.
  int Open(const std::string& ifname) {
    int domain = family_ == 4 ? AF_INET : AF_INET6;
    fd_ = socket(domain, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, kIpprotoVrrp);
    if (fd_ < 0) return Fail("socket");
    // Only this interface's traffic, and sends leave through it.
    if (setsockopt(fd_, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), ifname.size() + 1) < 0)
      return Fail("setsockopt(SO_BINDTODEVICE)");
    int on = 1, off = 0, tos = kTosNetworkControl;
    // Linux >= 2.6.33: the drop count on every queued packet (socket(7) SO_RXQ_OVFL).
    if (setsockopt(fd_, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on) < 0) return Fail("setsockopt(SO_RXQ_OVFL)");
    // The kernel's receive time of every packet (see the top of this file).
    if (setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0) return Fail("setsockopt(SO_TIMESTAMPNS)");
    if (family_ == 4) {
      // Arrival interface; TTL and addresses come from the IP header that raw IPv4 sockets
      // deliver in front of the payload.
      if (setsockopt(fd_, IPPROTO_IP, IP_PKTINFO, &on, sizeof on) < 0) return Fail("setsockopt(IP_PKTINFO)");
      if (setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_LOOP, &off, sizeof off) < 0)
        return Fail("setsockopt(IP_MULTICAST_LOOP)");
      ip_mreqn mif{};
      mif.imr_ifindex = ifindex_;
      if (setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_IF, &mif, sizeof mif) < 0)
        return Fail("setsockopt(IP_MULTICAST_IF)");
      if (setsockopt(fd_, IPPROTO_IP, IP_TOS, &tos, sizeof tos) < 0) return Fail("setsockopt(IP_TOS)");
    } else {
      // Raw IPv6 sockets get no header: destination, interface and hop limit arrive as
      // ancillary data. IPV6_CHECKSUM stays off (the default for protocols other than ICMPv6):
      // we send the VRRP message with its own checksum (RFC 5798 §5.2.8).
      if (setsockopt(fd_, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) < 0)
        return Fail("setsockopt(IPV6_RECVPKTINFO)");
      if (setsockopt(fd_, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on) < 0)
        return Fail("setsockopt(IPV6_RECVHOPLIMIT)");
      if (setsockopt(fd_, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &off, sizeof off) < 0)
        return Fail("setsockopt(IPV6_MULTICAST_LOOP)");
      if (setsockopt(fd_, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex_, sizeof ifindex_) < 0)
        return Fail("setsockopt(IPV6_MULTICAST_IF)");
      if (setsockopt(fd_, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos) < 0)
        return Fail("setsockopt(IPV6_TCLASS)");
    }
    return ApplyHopLimit(255);
  }

  // TTL / hop limit for unicast and multicast alike. 255 is the only value RFC 5798 allows;
  // other values exist so tests can send what a misconfigured or remote sender would.
  int ApplyHopLimit(int hops) {
    if (family_ == 4) {
      if (setsockopt(fd_, IPPROTO_IP, IP_TTL, &hops, sizeof hops) < 0) return Fail("setsockopt(IP_TTL)");
      if (setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_TTL, &hops, sizeof hops) < 0)
        return Fail("setsockopt(IP_MULTICAST_TTL)");
    } else {
      if (setsockopt(fd_, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops) < 0)
        return Fail("setsockopt(IPV6_UNICAST_HOPS)");
      if (setsockopt(fd_, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) < 0)
        return Fail("setsockopt(IPV6_MULTICAST_HOPS)");
    }
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

  bool CheckOpen(Napi::Env env) {
    if (fd_ >= 0) return true;
    ThrowErrno(env, EBADF, "VrrpSocket", "socket is closed");
    return false;
  }

  // send(payload: Uint8Array, dst: string, src: string): void
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsString() || !info[2].IsString()) {
      ThrowType(env, "send(payload: Uint8Array, dst: string, src: string)");
      return env.Undefined();
    }
    auto payload = info[0].As<Napi::Uint8Array>();
    std::string dst = info[1].As<Napi::String>().Utf8Value();
    std::string src = info[2].As<Napi::String>().Utf8Value();
    VrrpDest d;
    if (!ParseVrrpDest(family_, ifindex_, dst, src, &d)) {
      ThrowType(env, std::string("send: bad IPv") + (family_ == 4 ? "4" : "6") + " address '" + dst + "' or '" + src + "'");
      return env.Undefined();
    }
    int err = VrrpSendmsg(fd_, d, payload.Data(), payload.ByteLength());
    if (err != 0) ThrowErrno(env, err, "sendmsg", dst);
    return env.Undefined();
  }

  Napi::Value Join(const Napi::CallbackInfo& info) { return Membership(info, true); }
  Napi::Value Leave(const Napi::CallbackInfo& info) { return Membership(info, false); }

  // Joins or leaves the VRRP group on our interface (224.0.0.18 / ff02::12).
  Napi::Value Membership(const Napi::CallbackInfo& info, bool join) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    int r;
    const char* name;
    if (family_ == 4) {
      ip_mreqn m{};
      m.imr_multiaddr = kVrrpGroup4;
      m.imr_ifindex = ifindex_;
      name = join ? "setsockopt(IP_ADD_MEMBERSHIP)" : "setsockopt(IP_DROP_MEMBERSHIP)";
      r = setsockopt(fd_, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &m, sizeof m);
    } else {
      ipv6_mreq m{};
      m.ipv6mr_multiaddr = kVrrpGroup6;
      m.ipv6mr_interface = static_cast<unsigned>(ifindex_);
      name = join ? "setsockopt(IPV6_ADD_MEMBERSHIP)" : "setsockopt(IPV6_DROP_MEMBERSHIP)";
      r = setsockopt(fd_, IPPROTO_IPV6, join ? IPV6_ADD_MEMBERSHIP : IPV6_DROP_MEMBERSHIP, &m, sizeof m);
    }
    if (r < 0) ThrowErrno(env, errno, name);
    return env.Undefined();
  }

  Napi::Value SetHopLimit(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsNumber()) {
      ThrowType(env, "setHopLimit(hops: number)");
      return env.Undefined();
    }
    int hops = info[0].As<Napi::Number>().Int32Value();
    if (hops < 1 || hops > 255) {
      ThrowType(env, "hop limit must be 1..255");
      return env.Undefined();
    }
    if (ApplyHopLimit(hops) != 0) ThrowErrno(env, errno, syscall_);
    return env.Undefined();
  }

  // setReceiveBuffer(bytes): { granted, forced }. SO_RCVBUFFORCE (CAP_NET_ADMIN) may exceed
  // net.core.rmem_max; without the capability SO_RCVBUF is capped there. `granted` is what the
  // kernel reports back (SO_RCVBUF: it doubles the value asked for, socket(7), and charges each
  // queued packet's truesize against it).
  Napi::Value SetReceiveBuffer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsNumber()) {
      ThrowType(env, "setReceiveBuffer(bytes: number)");
      return env.Undefined();
    }
    double asked = info[0].As<Napi::Number>().DoubleValue();
    if (!(asked >= 1 && asked <= (1 << 30))) {
      ThrowType(env, "receive buffer must be 1 .. 2^30 bytes");
      return env.Undefined();
    }
    int bytes = static_cast<int>(asked);
    bool forced = setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) == 0;
    if (!forced && setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) < 0) {
      ThrowErrno(env, errno, "setsockopt(SO_RCVBUF)");
      return env.Undefined();
    }
    int granted = 0;
    socklen_t len = sizeof granted;
    if (getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &granted, &len) < 0) {
      ThrowErrno(env, errno, "getsockopt(SO_RCVBUF)");
      return env.Undefined();
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("granted", Napi::Number::New(env, granted));
    out.Set("forced", Napi::Boolean::New(env, forced));
    return out;
  }

  Napi::Value Ifindex(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ifindex_); }
  // The socket's descriptor (-1 once closed), for the advert sender, which dup()s it: the
  // thread's copy stays valid (and cannot become another file) whatever JS closes.
  Napi::Value Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

  // drain(): number. Reads and delivers (through onPacket, synchronously) every packet queued on
  // the socket now, up to kMaxPacketsPerDrain; returns how many were read. A closed socket
  // drains nothing. Safe to call from inside onPacket (each delivery copies the packet first).
  Napi::Value Drain(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int n = 0;
    while (n < kMaxPacketsPerDrain && fd_ >= 0) {
      if (!ReceiveOne(env)) break;
      n++;
    }
    return Napi::Number::New(env, n);
  }

  // Idempotent: a second close() does nothing; other calls on a closed socket throw EBADF.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    poller_.Stop();
    CloseFd();
    onPacket_.Reset();
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
    // Keep our JS object reachable while callbacks run, whatever they do to their references.
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

  // Reads one datagram and delivers it. Returns false when there is nothing more to read now.
  bool ReceiveOne(Napi::Env env) {
    sockaddr_in6 from{};
    iovec iov{buffer_.data(), buffer_.size()};
    alignas(cmsghdr) char control[256];
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(fd_, &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) return true;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      ReportError(env, errno, "recvmsg");
      return false;
    }
    // The kernel attaches SO_RXQ_OVFL only once it has dropped something: no cmsg means 0.
    ageMs_ = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
        std::memcpy(&kernelDrops_, CMSG_DATA(c), sizeof kernelDrops_);
      } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        timespec stamp;
        std::memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
        ageMs_ = AgeMs(stamp);
      }
    }
    if (family_ == 4) {
      DeliverIpv4(env, msg, static_cast<size_t>(n));
    } else {
      DeliverIpv6(env, msg, from, static_cast<size_t>(n));
    }
    return true;
  }

  void DeliverIpv4(Napi::Env env, const msghdr& msg, size_t n) {
    // Raw IPv4 sockets deliver the IP header; take TTL and addresses from it and strip it.
    if (n < sizeof(iphdr)) return;
    const auto* ip = reinterpret_cast<const iphdr*>(buffer_.data());
    size_t headerLen = static_cast<size_t>(ip->ihl) * 4;
    if (headerLen < sizeof(iphdr) || headerLen > n) return;
    size_t end = std::min<size_t>(n, ntohs(ip->tot_len));
    if (end < headerLen) end = n;
    int ifindex = ifindex_;
    for (cmsghdr* c = CMSG_FIRSTHDR(const_cast<msghdr*>(&msg)); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&msg), c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo pi;
        std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
        ifindex = pi.ipi_ifindex;
      }
    }
    Deliver(env, buffer_.data() + headerLen, end - headerLen, AddrToString(AF_INET, &ip->saddr),
            AddrToString(AF_INET, &ip->daddr), ip->ttl, ifindex);
  }

  void DeliverIpv6(Napi::Env env, const msghdr& msg, const sockaddr_in6& from, size_t n) {
    int ifindex = ifindex_;
    int hops = -1;
    in6_addr dst{};
    for (cmsghdr* c = CMSG_FIRSTHDR(const_cast<msghdr*>(&msg)); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&msg), c)) {
      if (c->cmsg_level != IPPROTO_IPV6) continue;
      if (c->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo pi;
        std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
        dst = pi.ipi6_addr;
        ifindex = static_cast<int>(pi.ipi6_ifindex);
      } else if (c->cmsg_type == IPV6_HOPLIMIT) {
        std::memcpy(&hops, CMSG_DATA(c), sizeof hops);
      }
    }
    Deliver(env, buffer_.data(), n, AddrToString(AF_INET6, &from.sin6_addr), AddrToString(AF_INET6, &dst),
            hops, ifindex);
  }

  // How long ago (ms) the kernel stamped the packet, on CLOCK_REALTIME now; never negative.
  static double AgeMs(const timespec& stamp) {
    // A zero stamp: the kernel did not stamp it (it stamps on read then: no wait to report).
    if (stamp.tv_sec == 0 && stamp.tv_nsec == 0) return 0;
    timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double age = static_cast<double>(now.tv_sec - stamp.tv_sec) * 1e3 +
                 static_cast<double>(now.tv_nsec - stamp.tv_nsec) / 1e6;
    return age > 0 ? age : 0;
  }

  void Deliver(Napi::Env env, const uint8_t* payload, size_t len, const std::string& src,
               const std::string& dst, int ttl, int ifindex) {
    Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::Copy(env, payload, len);
    CallIntoJs(env, onPacket_, *asyncContext_,
               {buf, Napi::String::New(env, src), Napi::String::New(env, dst), Napi::Number::New(env, ttl),
                Napi::Number::New(env, ifindex), Napi::Number::New(env, kernelDrops_), Napi::Number::New(env, ageMs_)});
  }

  void ReportError(Napi::Env env, int err, const char* syscall) {
    Napi::Error e = ErrnoError(env, err, syscall);
    CallIntoJs(env, onError_, *asyncContext_, {e.Value()});
  }

  int family_ = 4;
  int ifindex_ = 0;
  int fd_ = -1;
  bool referenced_ = false;
  // The socket's running drop count from the last SO_RXQ_OVFL seen (wraps at 2^32).
  uint32_t kernelDrops_ = 0;
  // The packet being delivered: ms it waited in the socket (SO_TIMESTAMPNS).
  double ageMs_ = 0;
  const char* syscall_ = "";
  std::vector<uint8_t> buffer_ = std::vector<uint8_t>(65536);
  FdPoller poller_;
  Napi::FunctionReference onPacket_;
  Napi::FunctionReference onError_;
  std::unique_ptr<Napi::AsyncContext> asyncContext_;
};

}  // namespace

Napi::Function InitVrrpSocket(Napi::Env env) { return VrrpSocket::Init(env); }

}  // namespace tandem

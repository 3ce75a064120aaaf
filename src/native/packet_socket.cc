// Link-layer send socket (AF_PACKET, SOCK_RAW) for frames built in TS: gratuitous ARP
// (RFC 5227 §3 ARP announcement) and unsolicited neighbour advertisements (RFC 4861 §7.2.6).
//
// Send-only: bound with protocol 0, so the kernel queues no received frames on it. Keep one open
// per interface: closing an AF_PACKET socket waits for an RCU grace period (~12 ms measured).
#include "common.h"

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

namespace tandem {
namespace {

class PacketSocket : public Napi::ObjectWrap<PacketSocket> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "PacketSocket",
                       {
                           InstanceMethod<&PacketSocket::Send>("send"),
                           InstanceMethod<&PacketSocket::Close>("close"),
                           InstanceAccessor<&PacketSocket::Ifindex>("ifindex"),
                       });
  }

  // new PacketSocket(ifname)
  explicit PacketSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PacketSocket>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) {
      ThrowType(env, "PacketSocket(ifname)");
      return;
    }
    std::string ifname = info[0].As<Napi::String>().Utf8Value();
    if (ifname.empty() || ifname.size() >= IFNAMSIZ) {
      ThrowType(env, "bad interface name");
      return;
    }
    ifindex_ = static_cast<int>(if_nametoindex(ifname.c_str()));
    if (ifindex_ == 0) {
      ThrowErrno(env, errno, "if_nametoindex", ifname);
      return;
    }
    fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      ThrowErrno(env, errno, "socket(AF_PACKET)", ifname);
      return;
    }
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = 0;  // receive nothing
    sll.sll_ifindex = ifindex_;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) {
      ThrowErrno(env, errno, "bind(AF_PACKET)", ifname);
      CloseFd();
    }
  }

  ~PacketSocket() override { CloseFd(); }

 private:
  void CloseFd() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  // send(frame: Uint8Array): the complete Ethernet frame, header included.
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) {
      ThrowErrno(env, EBADF, "PacketSocket", "socket is closed");
      return env.Undefined();
    }
    if (info.Length() < 1 || !info[0].IsTypedArray()) {
      ThrowType(env, "send(frame: Uint8Array)");
      return env.Undefined();
    }
    auto frame = info[0].As<Napi::Uint8Array>();
    if (frame.ByteLength() < ETH_HLEN) {
      ThrowType(env, "frame shorter than an Ethernet header");
      return env.Undefined();
    }
    const uint8_t* bytes = frame.Data();
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = ifindex_;
    std::memcpy(&to.sll_protocol, bytes + 12, 2);  // EtherType, already network order
    to.sll_halen = ETH_ALEN;
    std::memcpy(to.sll_addr, bytes, ETH_ALEN);
    ssize_t n;
    do {
      n = sendto(fd_, bytes, frame.ByteLength(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to), sizeof to);
    } while (n < 0 && errno == EINTR);
    if (n < 0) ThrowErrno(env, errno, "sendto(AF_PACKET)");
    return env.Undefined();
  }

  Napi::Value Ifindex(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ifindex_); }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    CloseFd();
    return info.Env().Undefined();
  }

  int ifindex_ = 0;
  int fd_ = -1;
};

}  // namespace

Napi::Function InitPacketSocket(Napi::Env env) { return PacketSocket::Init(env); }

}  // namespace tandem

// rtnetlink for `tandem realserver` (issue 16 §5): create and delete an ipip / ip6tnl tunnel
// device, set a link up or down, and read a link's kind (IFLA_INFO_KIND). Synchronous, like
// rtnetlink.cc's address calls: a handful of requests per run, each answered in well under 1 ms.
//
// Kept apart from rtnetlink.cc (its request builder is file-local) so that other link kinds
// (macvlan for VMAC) can grow in their own files; the request/ack exchange here is the same
// NETLINK_ROUTE pattern: a fresh socket, NLM_F_ACK, the errno of the ack thrown as a SystemError
// with the kernel's extended-ack text.
#include "common.h"

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <linux/if_tunnel.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

namespace tandem {
namespace {

constexpr int kTunnelReplyTimeoutSeconds = 2;
constexpr size_t kTunnelReplyBytes = 32 * 1024;

class LinkRequest {
 public:
  LinkRequest(uint16_t type, uint16_t flags) : buf_(NLMSG_SPACE(0), 0) {
    Hdr()->nlmsg_type = type;
    Hdr()->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
    Hdr()->nlmsg_len = NLMSG_LENGTH(0);
    Hdr()->nlmsg_seq = 1;
  }
  void Append(const void* data, size_t len) {
    size_t at = NLMSG_ALIGN(Hdr()->nlmsg_len);
    buf_.resize(at + NLMSG_ALIGN(len), 0);
    std::memcpy(buf_.data() + at, data, len);
    Hdr()->nlmsg_len = static_cast<uint32_t>(at + len);
  }
  void Attr(uint16_t type, const void* data, size_t len) {
    rtattr a{};
    a.rta_type = type;
    a.rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
    Append(&a, sizeof a);
    if (len > 0) Append(data, len);
  }
  void AttrString(uint16_t type, const std::string& s) { Attr(type, s.c_str(), s.size() + 1); }
  // A nested attribute: Begin() returns its offset, End() fixes its length.
  size_t Begin(uint16_t type) {
    size_t at = NLMSG_ALIGN(Hdr()->nlmsg_len);
    Attr(type, nullptr, 0);
    return at;
  }
  void End(size_t at) {
    auto* a = reinterpret_cast<rtattr*>(buf_.data() + at);
    a->rta_len = static_cast<uint16_t>(Hdr()->nlmsg_len - at);
  }
  nlmsghdr* Hdr() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }

 private:
  std::vector<uint8_t> buf_;
};

struct Reply {
  int err = 0;
  std::string detail;
};

std::string AckText(const nlmsghdr* h) {
  if ((h->nlmsg_flags & NLM_F_ACK_TLVS) == 0 || (h->nlmsg_flags & NLM_F_CAPPED) == 0) return "";
  size_t at = NLMSG_ALIGN(NLMSG_LENGTH(sizeof(nlmsgerr)));
  if (h->nlmsg_len <= at) return "";
  const auto* a = reinterpret_cast<const rtattr*>(reinterpret_cast<const uint8_t*>(h) + at);
  int len = static_cast<int>(h->nlmsg_len - at);
  for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == NLMSGERR_ATTR_MSG) return static_cast<const char*>(RTA_DATA(a));
  }
  return "";
}

// Sends the request; calls onMessage for each RTM_NEWLINK of the reply; returns the ack's errno.
template <typename F>
Reply Exchange(LinkRequest& req, F onMessage) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return {errno, "socket(AF_NETLINK)"};
  int on = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on);
  timeval tv{kTunnelReplyTimeoutSeconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  Reply out;
  if (sendto(fd, req.Hdr(), req.Hdr()->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
    out = {errno, "sendto"};
    close(fd);
    return out;
  }
  std::vector<uint8_t> buf(kTunnelReplyBytes);
  for (int i = 0; i < 64; i++) {
    ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      out = {errno == EAGAIN ? ETIMEDOUT : errno, "recv"};
      break;
    }
    int len = static_cast<int>(n);
    bool done = false;
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != 1) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        out = {-e->error, e->error != 0 ? AckText(h) : ""};
        done = true;
        break;
      }
      if (h->nlmsg_type == RTM_NEWLINK) onMessage(h);
    }
    if (done) break;
  }
  close(fd);
  return out;
}

bool Throwing(Napi::Env env, const Reply& r, const std::string& what) {
  if (r.err == 0) return false;
  ThrowErrno(env, r.err, "rtnetlink", r.detail.empty() ? what : what + ": " + r.detail);
  return true;
}

bool StringArg(const Napi::CallbackInfo& info, size_t i, std::string& out) {
  if (info.Length() <= i || !info[i].IsString()) return false;
  out = info[i].As<Napi::String>().Utf8Value();
  return !out.empty() && out.size() < IFNAMSIZ;
}

// tunnelAdd(name, kind 'ipip' | 'ip6tnl', local): a new device (NLM_F_EXCL: EEXIST when the name,
// or a tunnel with the same endpoints, exists). ip6tnl is created in mode any (IFLA_IPTUN_PROTO 0:
// IPv4 and IPv6 inside, net/ipv6/ip6_tunnel.c ip6_tnl_rcv()); ipip carries IPv4 in IPv4.
Napi::Value TunnelAdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name, kind, local;
  if (!StringArg(info, 0, name) || !StringArg(info, 1, kind) || info.Length() < 3 || !info[2].IsString()) {
    ThrowType(env, "tunnelAdd(name, kind, local)");
    return env.Undefined();
  }
  local = info[2].As<Napi::String>().Utf8Value();
  if (kind != "ipip" && kind != "ip6tnl") {
    ThrowType(env, "tunnelAdd: kind is ipip or ip6tnl");
    return env.Undefined();
  }
  const int family = kind == "ipip" ? 4 : 6;
  uint8_t addr[16] = {};
  if (!ParseAddr(family, local, addr)) {
    ThrowType(env, "tunnelAdd: bad local address '" + local + "'");
    return env.Undefined();
  }
  LinkRequest req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  req.Append(&ifi, sizeof ifi);
  req.AttrString(IFLA_IFNAME, name);
  size_t linkinfo = req.Begin(IFLA_LINKINFO);
  req.AttrString(IFLA_INFO_KIND, kind);
  size_t data = req.Begin(IFLA_INFO_DATA);
  req.Attr(IFLA_IPTUN_LOCAL, addr, family == 4 ? 4 : 16);
  if (family == 6) {
    uint8_t any = 0;
    req.Attr(IFLA_IPTUN_PROTO, &any, 1);
  }
  req.End(data);
  req.End(linkinfo);
  Reply r = Exchange(req, [](const nlmsghdr*) {});
  if (r.err == EOPNOTSUPP && r.detail.empty()) r.detail = "unknown device type (is the " + std::string(family == 4 ? "ipip" : "ip6_tunnel") + " module loaded?)";
  Throwing(env, r, "create " + kind + " device " + name);
  return env.Undefined();
}

int IndexOf(Napi::Env env, const std::string& name) {
  int ifindex = static_cast<int>(if_nametoindex(name.c_str()));
  if (ifindex == 0) ThrowErrno(env, ENODEV, "if_nametoindex", name);
  return ifindex;
}

// tunnelDelete(name): RTM_DELLINK.
Napi::Value LinkDelete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!StringArg(info, 0, name)) {
    ThrowType(env, "tunnelDelete(name)");
    return env.Undefined();
  }
  int ifindex = IndexOf(env, name);
  if (ifindex == 0) return env.Undefined();
  LinkRequest req(RTM_DELLINK, 0);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  req.Append(&ifi, sizeof ifi);
  Throwing(env, Exchange(req, [](const nlmsghdr*) {}), "delete device " + name);
  return env.Undefined();
}

// tunnelSetUp(name, up) (any link: lo too): IFF_UP on or off (ifi_change names the one flag changed).
Napi::Value LinkSetUp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!StringArg(info, 0, name) || info.Length() < 2 || !info[1].IsBoolean()) {
    ThrowType(env, "tunnelSetUp(name, up)");
    return env.Undefined();
  }
  int ifindex = IndexOf(env, name);
  if (ifindex == 0) return env.Undefined();
  bool up = info[1].As<Napi::Boolean>().Value();
  LinkRequest req(RTM_NEWLINK, 0);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  ifi.ifi_flags = up ? IFF_UP : 0;
  ifi.ifi_change = IFF_UP;
  req.Append(&ifi, sizeof ifi);
  Throwing(env, Exchange(req, [](const nlmsghdr*) {}), std::string("set ") + name + (up ? " up" : " down"));
  return env.Undefined();
}

// tunnelKind(name) (any link): IFLA_INFO_KIND ('ipip', 'ip6tnl', 'veth', ...; '' for none, e.g. lo), or
// undefined when there is no such link.
Napi::Value LinkKind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!StringArg(info, 0, name)) {
    ThrowType(env, "tunnelKind(name)");
    return env.Undefined();
  }
  LinkRequest req(RTM_GETLINK, 0);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  req.Append(&ifi, sizeof ifi);
  req.AttrString(IFLA_IFNAME, name);
  uint32_t mask = RTEXT_FILTER_SKIP_STATS;
  req.Attr(IFLA_EXT_MASK, &mask, sizeof mask);
  std::string kind;
  bool found = false;
  Reply r = Exchange(req, [&](const nlmsghdr* h) {
    found = true;
    const auto* m = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
    int len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof *m));
    for (const rtattr* a = IFLA_RTA(m); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
      if (a->rta_type != IFLA_LINKINFO) continue;
      int inner = static_cast<int>(RTA_PAYLOAD(a));
      for (const rtattr* b = static_cast<const rtattr*>(RTA_DATA(a)); RTA_OK(b, inner); b = RTA_NEXT(b, inner)) {
        if (b->rta_type == IFLA_INFO_KIND) kind = static_cast<const char*>(RTA_DATA(b));
      }
    }
  });
  if (r.err == ENODEV) return env.Undefined();
  if (Throwing(env, r, "get link " + name)) return env.Undefined();
  if (!found) return env.Undefined();
  return Napi::String::New(env, kind);
}

}  // namespace

void InitRtnetlinkTunnel(Napi::Env env, Napi::Object exports) {
  exports.Set("tunnelAdd", Napi::Function::New<TunnelAdd>(env, "tunnelAdd"));
  exports.Set("tunnelDelete", Napi::Function::New<LinkDelete>(env, "tunnelDelete"));
  exports.Set("tunnelSetUp", Napi::Function::New<LinkSetUp>(env, "tunnelSetUp"));
  exports.Set("tunnelKind", Napi::Function::New<LinkKind>(env, "tunnelKind"));
}

}  // namespace tandem

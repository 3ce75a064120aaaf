// rtnetlink link creation and deletion for VRRP VMACs (RFC 5798 §7.3): a macvlan on the
// instance's interface with the virtual MAC, as keepalived builds it (keepalived/vrrp/vrrp_vmac.c
// netlink_link_add_vmac(): RTM_NEWLINK with IFLA_LINKINFO { IFLA_INFO_KIND "macvlan",
// IFLA_INFO_DATA { IFLA_MACVLAN_MODE private } }, IFLA_LINK, IFLA_IFNAME, IFLA_ADDRESS;
// netlink_link_up(); netlink_link_del_vmac(): RTM_DELLINK). Synchronous, one socket per call,
// like rtnetlink.cc (which holds address and link-state calls).
//
// exports.linkAddMacvlan(name, parentIfname, mac, mode: 'private' | 'bridge')
// exports.linkSetUp(name)
// exports.linkDel(name)
// exports.linkKind(name) -> { ifindex, kind, parentIfindex, mac, macvlanMode } | undefined
// exports.linkSetAddrGenModeNone(name)  (IFLA_AF_SPEC/AF_INET6/IFLA_INET6_ADDR_GEN_MODE none)
#include "common.h"

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

namespace tandem {
namespace {

constexpr int kTimeoutSeconds = 2;

class Msg {
 public:
  Msg(uint16_t type, uint16_t flags) : buf_(NLMSG_LENGTH(sizeof(ifinfomsg)), 0) {
    H()->nlmsg_type = type;
    H()->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
    H()->nlmsg_len = static_cast<uint32_t>(buf_.size());
  }
  ifinfomsg* Ifi() { return reinterpret_cast<ifinfomsg*>(buf_.data() + NLMSG_HDRLEN); }
  nlmsghdr* H() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
  void Attr(uint16_t type, const void* data, size_t len) {
    size_t at = NLMSG_ALIGN(H()->nlmsg_len);
    buf_.resize(at + RTA_SPACE(len), 0);
    auto* a = reinterpret_cast<rtattr*>(buf_.data() + at);
    a->rta_type = type;
    a->rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
    if (len > 0) std::memcpy(RTA_DATA(a), data, len);
    H()->nlmsg_len = static_cast<uint32_t>(at + RTA_LENGTH(len));
  }
  // A nested attribute: Begin returns its offset, End fixes its length.
  size_t Begin(uint16_t type) {
    size_t at = NLMSG_ALIGN(H()->nlmsg_len);
    Attr(type, nullptr, 0);
    return at;
  }
  void End(size_t at) {
    reinterpret_cast<rtattr*>(buf_.data() + at)->rta_len = static_cast<uint16_t>(H()->nlmsg_len - at);
  }

 private:
  std::vector<uint8_t> buf_;
};

struct Result {
  int err = 0;
  std::string detail;
  std::vector<uint8_t> reply;  // the first data message (RTM_GETLINK)
};

std::string Extack(const nlmsghdr* h) {
  if ((h->nlmsg_flags & NLM_F_ACK_TLVS) == 0) return "";
  size_t at = NLMSG_ALIGN(NLMSG_LENGTH(sizeof(nlmsgerr)));
  if ((h->nlmsg_flags & NLM_F_CAPPED) == 0) {
    const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
    at = NLMSG_ALIGN(NLMSG_LENGTH(sizeof(nlmsgerr)) + e->msg.nlmsg_len - NLMSG_HDRLEN);
  }
  if (h->nlmsg_len <= at) return "";
  const auto* first = reinterpret_cast<const rtattr*>(reinterpret_cast<const uint8_t*>(h) + at);
  int len = static_cast<int>(h->nlmsg_len - at);
  for (const rtattr* a = first; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == NLMSGERR_ATTR_MSG) return std::string(static_cast<const char*>(RTA_DATA(a)));
  }
  return "";
}

Result Talk(Msg& m) {
  Result r;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return {errno, "socket(AF_NETLINK)", {}};
  int on = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on);
  timeval tv{kTimeoutSeconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  m.H()->nlmsg_seq = 1;
  sockaddr_nl k{};
  k.nl_family = AF_NETLINK;
  if (sendto(fd, m.H(), m.H()->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&k), sizeof k) < 0) {
    r.err = errno;
    close(fd);
    return r;
  }
  std::vector<uint8_t> buf(32 * 1024);
  for (int tries = 0; tries < 16; tries++) {
    ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      r.err = (errno == EAGAIN || errno == EWOULDBLOCK) ? ETIMEDOUT : errno;
      break;
    }
    int len = static_cast<int>(n);
    bool done = false;
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != 1) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        if (e->error != 0) { r.err = -e->error; r.detail = Extack(h); }
        done = true;
        break;
      }
      if (r.reply.empty()) r.reply.assign(reinterpret_cast<const uint8_t*>(h), reinterpret_cast<const uint8_t*>(h) + h->nlmsg_len);
    }
    if (done) break;
  }
  close(fd);
  return r;
}

bool ParseMac(const std::string& s, uint8_t out[6]) {
  unsigned v[6];
  if (std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return false;
  for (int i = 0; i < 6; i++) out[i] = static_cast<uint8_t>(v[i]);
  return true;
}

int IndexOf(Napi::Env env, const std::string& name) {
  unsigned i = if_nametoindex(name.c_str());
  if (i == 0) ThrowErrno(env, errno == 0 ? ENODEV : errno, "if_nametoindex", name);
  return static_cast<int>(i);
}

bool Check(Napi::Env env, const Result& r, const char* what) {
  if (r.err == 0) return true;
  ThrowErrno(env, r.err, what, r.detail);
  return false;
}

Napi::Value LinkAddMacvlan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsString() || !info[2].IsString() || !info[3].IsString()) {
    ThrowType(env, "linkAddMacvlan(name, parentIfname, mac, mode)");
    return env.Undefined();
  }
  std::string name = info[0].As<Napi::String>(), parent = info[1].As<Napi::String>();
  std::string macText = info[2].As<Napi::String>(), modeText = info[3].As<Napi::String>();
  uint8_t mac[6];
  if (name.empty() || name.size() >= IFNAMSIZ || !ParseMac(macText, mac)) {
    ThrowType(env, "linkAddMacvlan: bad name or MAC");
    return env.Undefined();
  }
  uint32_t mode = modeText == "bridge" ? MACVLAN_MODE_BRIDGE : MACVLAN_MODE_PRIVATE;
  uint32_t parentIndex = static_cast<uint32_t>(IndexOf(env, parent));
  if (env.IsExceptionPending()) return env.Undefined();
  Msg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  m.Ifi()->ifi_family = AF_UNSPEC;
  size_t linkinfo = m.Begin(IFLA_LINKINFO);
  m.Attr(IFLA_INFO_KIND, "macvlan", 7);
  size_t data = m.Begin(IFLA_INFO_DATA);
  m.Attr(IFLA_MACVLAN_MODE, &mode, sizeof mode);
  m.End(data);
  m.End(linkinfo);
  m.Attr(IFLA_LINK, &parentIndex, sizeof parentIndex);
  m.Attr(IFLA_IFNAME, name.c_str(), name.size() + 1);
  m.Attr(IFLA_ADDRESS, mac, sizeof mac);
  Check(env, Talk(m), "RTM_NEWLINK");
  return env.Undefined();
}

Napi::Value LinkSetUp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) { ThrowType(env, "linkSetUp(name)"); return env.Undefined(); }
  int index = IndexOf(env, info[0].As<Napi::String>());
  if (env.IsExceptionPending()) return env.Undefined();
  Msg m(RTM_NEWLINK, 0);
  m.Ifi()->ifi_family = AF_UNSPEC;
  m.Ifi()->ifi_index = index;
  m.Ifi()->ifi_change = IFF_UP;
  m.Ifi()->ifi_flags = IFF_UP;
  Check(env, Talk(m), "RTM_NEWLINK");
  return env.Undefined();
}

Napi::Value LinkSetAddrGenModeNone(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) { ThrowType(env, "linkSetAddrGenModeNone(name)"); return env.Undefined(); }
  int index = IndexOf(env, info[0].As<Napi::String>());
  if (env.IsExceptionPending()) return env.Undefined();
  Msg m(RTM_NEWLINK, 0);
  m.Ifi()->ifi_family = AF_UNSPEC;
  m.Ifi()->ifi_index = index;
  size_t spec = m.Begin(IFLA_AF_SPEC);
  size_t inet6 = m.Begin(AF_INET6);
  uint8_t none = IN6_ADDR_GEN_MODE_NONE;
  m.Attr(IFLA_INET6_ADDR_GEN_MODE, &none, sizeof none);
  m.End(inet6);
  m.End(spec);
  Check(env, Talk(m), "RTM_NEWLINK");
  return env.Undefined();
}

Napi::Value LinkDel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) { ThrowType(env, "linkDel(name)"); return env.Undefined(); }
  int index = IndexOf(env, info[0].As<Napi::String>());
  if (env.IsExceptionPending()) return env.Undefined();
  Msg m(RTM_DELLINK, 0);
  m.Ifi()->ifi_family = AF_UNSPEC;
  m.Ifi()->ifi_index = index;
  Check(env, Talk(m), "RTM_DELLINK");
  return env.Undefined();
}

Napi::Value LinkKind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) { ThrowType(env, "linkKind(name)"); return env.Undefined(); }
  std::string name = info[0].As<Napi::String>();
  unsigned index = if_nametoindex(name.c_str());
  if (index == 0) return env.Undefined();
  Msg m(RTM_GETLINK, 0);
  m.Ifi()->ifi_family = AF_UNSPEC;
  m.Ifi()->ifi_index = static_cast<int>(index);
  Result r = Talk(m);
  if (r.err == ENODEV) return env.Undefined();
  if (!Check(env, r, "RTM_GETLINK")) return env.Undefined();
  if (r.reply.size() < NLMSG_LENGTH(sizeof(ifinfomsg))) return env.Undefined();
  const auto* h = reinterpret_cast<const nlmsghdr*>(r.reply.data());
  const auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
  Napi::Object o = Napi::Object::New(env);
  o.Set("ifindex", ifi->ifi_index);
  o.Set("kind", "");
  o.Set("parentIfindex", 0);
  o.Set("mac", "");
  o.Set("macvlanMode", "");
  int len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof *ifi));
  for (const rtattr* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == IFLA_LINK && RTA_PAYLOAD(a) >= 4) {
      o.Set("parentIfindex", *static_cast<const uint32_t*>(RTA_DATA(a)));
    } else if (a->rta_type == IFLA_ADDRESS) {
      char text[3 * 32] = "";
      const auto* p = static_cast<const uint8_t*>(RTA_DATA(a));
      size_t n = RTA_PAYLOAD(a) > 32 ? 32 : RTA_PAYLOAD(a);
      for (size_t i = 0; i < n; i++) std::snprintf(text + 3 * i, 4, i + 1 < n ? "%02x:" : "%02x", p[i]);
      o.Set("mac", std::string(text));
    } else if (a->rta_type == IFLA_LINKINFO) {
      int ilen = static_cast<int>(RTA_PAYLOAD(a));
      for (const rtattr* b = static_cast<const rtattr*>(RTA_DATA(a)); RTA_OK(b, ilen); b = RTA_NEXT(b, ilen)) {
        if (b->rta_type == IFLA_INFO_KIND) {
          o.Set("kind", std::string(static_cast<const char*>(RTA_DATA(b)), strnlen(static_cast<const char*>(RTA_DATA(b)), RTA_PAYLOAD(b))));
        } else if (b->rta_type == IFLA_INFO_DATA) {
          int dlen = static_cast<int>(RTA_PAYLOAD(b));
          for (const rtattr* c = static_cast<const rtattr*>(RTA_DATA(b)); RTA_OK(c, dlen); c = RTA_NEXT(c, dlen)) {
            if (c->rta_type == IFLA_MACVLAN_MODE && RTA_PAYLOAD(c) >= 4) {
              uint32_t mode = *static_cast<const uint32_t*>(RTA_DATA(c));
              o.Set("macvlanMode", mode == MACVLAN_MODE_PRIVATE ? "private" : mode == MACVLAN_MODE_BRIDGE ? "bridge"
                                   : mode == MACVLAN_MODE_VEPA ? "vepa" : mode == MACVLAN_MODE_PASSTHRU ? "passthru" : "other");
            }
          }
        }
      }
    }
  }
  return o;
}

}  // namespace

void InitRtnetlinkLink(Napi::Env env, Napi::Object exports) {
  exports.Set("linkAddMacvlan", Napi::Function::New(env, LinkAddMacvlan, "linkAddMacvlan"));
  exports.Set("linkSetUp", Napi::Function::New(env, LinkSetUp, "linkSetUp"));
  exports.Set("linkSetAddrGenModeNone", Napi::Function::New(env, LinkSetAddrGenModeNone, "linkSetAddrGenModeNone"));
  exports.Set("linkDel", Napi::Function::New(env, LinkDel, "linkDel"));
  exports.Set("linkKind", Napi::Function::New(env, LinkKind, "linkKind"));
}

}  // namespace tandem

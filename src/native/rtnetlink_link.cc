// rtnetlink link creation and deletion for VRRP VMACs (RFC 5798 §7.3): a macvlan on the
// instance's interface with the virtual MAC, as keepalived builds it (keepalived/vrrp/vrrp_vmac.c
// netlink_link_add_vmac(): RTM_NEWLINK with IFLA_LINKINFO { IFLA_INFO_KIND "macvlan",
// IFLA_INFO_DATA { IFLA_MACVLAN_MODE private } }, IFLA_LINK, IFLA_IFNAME, IFLA_ADDRESS;
// netlink_link_up(); netlink_link_del_vmac(): RTM_DELLINK). Synchronous, one socket per call
// (netlink_request.h). Its delete, up/down and kind calls (rtnetlink_link.h) also serve the
// tunnel devices of rtnetlink_tunnel.cc.
//
// exports.linkAddMacvlan(name, parentIfname, mac, mode: 'private' | 'bridge')
// exports.linkSetUp(name)
// exports.linkDel(name)
// exports.linkKind(name) -> { ifindex, kind, parentIfindex, mac, macvlanMode } | undefined
// exports.linkSetAddrGenModeNone(name)  (IFLA_AF_SPEC/AF_INET6/IFLA_INET6_ADDR_GEN_MODE none)
#include "rtnetlink_link.h"

#include <linux/if_link.h>
#include <net/if.h>

#include <cstdio>

namespace tandem {

// ---- the link calls (rtnetlink_link.h) ------------------------------------------------------

namespace link {

netlink::Outcome Delete(int ifindex) {
  netlink::Request req(RTM_DELLINK, NLM_F_ACK);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  req.Body(ifi);
  return netlink::Exchange(req);
}

netlink::Outcome SetUp(int ifindex, bool up) {
  netlink::Request req(RTM_NEWLINK, NLM_F_ACK);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  ifi.ifi_flags = up ? IFF_UP : 0;
  ifi.ifi_change = IFF_UP;
  req.Body(ifi);
  return netlink::Exchange(req);
}

namespace {

const char* MacvlanModeName(uint32_t mode) {
  switch (mode) {
    case MACVLAN_MODE_PRIVATE: return "private";
    case MACVLAN_MODE_BRIDGE: return "bridge";
    case MACVLAN_MODE_VEPA: return "vepa";
    case MACVLAN_MODE_PASSTHRU: return "passthru";
    default: return "other";
  }
}

}  // namespace

netlink::Outcome Describe(int ifindex, Kind& out) {
  netlink::Request req(RTM_GETLINK, NLM_F_ACK);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  req.Body(ifi);
  req.AttrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  out = Kind{};
  return netlink::Exchange(req, [&](const nlmsghdr* h) {
    if (out.found || h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) return;
    out.found = true;
    out.ifindex = static_cast<const ifinfomsg*>(NLMSG_DATA(h))->ifi_index;
    netlink::Attrs attrs = netlink::Attrs::After<ifinfomsg>(h);
    out.parentIfindex = attrs.U32(IFLA_LINK, 0);
    out.mac = netlink::FormatHwAddr(attrs.Get(IFLA_ADDRESS));
    const rtattr* linkinfo = attrs.Get(IFLA_LINKINFO);
    if (linkinfo == nullptr) return;
    netlink::Attrs info = netlink::Attrs::Nested(linkinfo);
    out.kind = info.String(IFLA_INFO_KIND);
    const rtattr* data = info.Get(IFLA_INFO_DATA);
    if (data != nullptr && (out.kind == "macvlan" || out.kind == "macvtap")) {
      netlink::Attrs macvlan = netlink::Attrs::Nested(data);
      if (macvlan.Has(IFLA_MACVLAN_MODE)) out.macvlanMode = MacvlanModeName(macvlan.U32(IFLA_MACVLAN_MODE));
    }
  });
}

}  // namespace link

// ---- the JS functions -----------------------------------------------------------------------

namespace {

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

// Throws a failed exchange as "<message type> <CODE> (...): <extack>", as these calls always have.
bool Check(Napi::Env env, const netlink::Outcome& o, const char* what) {
  if (o.err == 0) return true;
  std::string detail = o.detail;
  if (std::string(o.syscall) != "rtnetlink") detail = detail.empty() ? o.syscall : std::string(o.syscall) + ": " + detail;
  ThrowErrno(env, o.err, what, detail);
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
  netlink::Request req(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  req.Body(ifi);
  size_t linkinfo = req.BeginNested(IFLA_LINKINFO);
  req.Attr(IFLA_INFO_KIND, "macvlan", 7);
  size_t data = req.BeginNested(IFLA_INFO_DATA);
  req.AttrU32(IFLA_MACVLAN_MODE, mode);
  req.EndNested(data);
  req.EndNested(linkinfo);
  req.AttrU32(IFLA_LINK, parentIndex);
  req.AttrString(IFLA_IFNAME, name);
  req.Attr(IFLA_ADDRESS, mac, sizeof mac);
  Check(env, netlink::Exchange(req), "RTM_NEWLINK");
  return env.Undefined();
}

Napi::Value LinkSetUp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) { ThrowType(env, "linkSetUp(name)"); return env.Undefined(); }
  int index = IndexOf(env, info[0].As<Napi::String>());
  if (env.IsExceptionPending()) return env.Undefined();
  Check(env, link::SetUp(index, true), "RTM_NEWLINK");
  return env.Undefined();
}

Napi::Value LinkSetAddrGenModeNone(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) { ThrowType(env, "linkSetAddrGenModeNone(name)"); return env.Undefined(); }
  int index = IndexOf(env, info[0].As<Napi::String>());
  if (env.IsExceptionPending()) return env.Undefined();
  netlink::Request req(RTM_NEWLINK, NLM_F_ACK);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  req.Body(ifi);
  size_t spec = req.BeginNested(IFLA_AF_SPEC);
  size_t inet6 = req.BeginNested(AF_INET6);
  req.AttrU8(IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
  req.EndNested(inet6);
  req.EndNested(spec);
  Check(env, netlink::Exchange(req), "RTM_NEWLINK");
  return env.Undefined();
}

Napi::Value LinkDel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) { ThrowType(env, "linkDel(name)"); return env.Undefined(); }
  int index = IndexOf(env, info[0].As<Napi::String>());
  if (env.IsExceptionPending()) return env.Undefined();
  Check(env, link::Delete(index), "RTM_DELLINK");
  return env.Undefined();
}

Napi::Value LinkKind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) { ThrowType(env, "linkKind(name)"); return env.Undefined(); }
  std::string name = info[0].As<Napi::String>();
  unsigned index = if_nametoindex(name.c_str());
  if (index == 0) return env.Undefined();
  link::Kind k;
  netlink::Outcome o = link::Describe(static_cast<int>(index), k);
  if (o.err == ENODEV) return env.Undefined();
  if (!Check(env, o, "RTM_GETLINK")) return env.Undefined();
  if (!k.found) return env.Undefined();
  Napi::Object out = Napi::Object::New(env);
  out.Set("ifindex", k.ifindex);
  out.Set("kind", k.kind);
  out.Set("parentIfindex", k.parentIfindex);
  out.Set("mac", k.mac);
  out.Set("macvlanMode", k.macvlanMode);
  return out;
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

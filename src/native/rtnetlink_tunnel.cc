// rtnetlink for `tandem realserver` (issue 16 §5): create an ipip / ip6tnl tunnel device; delete
// a link, set it up or down and read its kind through the link calls of rtnetlink_link.cc
// (rtnetlink_link.h). Synchronous (netlink_request.h): a handful of requests per run, each
// answered in well under 1 ms. Failures throw a SystemError with the kernel's extended-ack text.
#include "rtnetlink_link.h"

#include <linux/if_link.h>
#include <linux/if_tunnel.h>
#include <net/if.h>

namespace tandem {
namespace {

bool Throwing(Napi::Env env, const netlink::Outcome& o, const std::string& what) {
  if (o.err == 0) return false;
  netlink::ThrowOutcome(env, o, what);
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
  netlink::Request req(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  req.Body(ifi);
  req.AttrString(IFLA_IFNAME, name);
  size_t linkinfo = req.BeginNested(IFLA_LINKINFO);
  req.AttrString(IFLA_INFO_KIND, kind);
  size_t data = req.BeginNested(IFLA_INFO_DATA);
  req.Attr(IFLA_IPTUN_LOCAL, addr, family == 4 ? 4 : 16);
  if (family == 6) req.AttrU8(IFLA_IPTUN_PROTO, 0);
  req.EndNested(data);
  req.EndNested(linkinfo);
  netlink::Outcome o = netlink::Exchange(req);
  if (o.err == EOPNOTSUPP && o.detail.empty()) o.detail = "unknown device type (is the " + std::string(family == 4 ? "ipip" : "ip6_tunnel") + " module loaded?)";
  Throwing(env, o, "create " + kind + " device " + name);
  return env.Undefined();
}

int IndexOf(Napi::Env env, const std::string& name) {
  int ifindex = static_cast<int>(if_nametoindex(name.c_str()));
  if (ifindex == 0) ThrowErrno(env, ENODEV, "if_nametoindex", name);
  return ifindex;
}

// tunnelDelete(name) (any link): RTM_DELLINK.
Napi::Value TunnelDelete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!StringArg(info, 0, name)) {
    ThrowType(env, "tunnelDelete(name)");
    return env.Undefined();
  }
  int ifindex = IndexOf(env, name);
  if (ifindex == 0) return env.Undefined();
  Throwing(env, link::Delete(ifindex), "delete device " + name);
  return env.Undefined();
}

// tunnelSetUp(name, up) (any link: lo too): IFF_UP on or off.
Napi::Value TunnelSetUp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!StringArg(info, 0, name) || info.Length() < 2 || !info[1].IsBoolean()) {
    ThrowType(env, "tunnelSetUp(name, up)");
    return env.Undefined();
  }
  int ifindex = IndexOf(env, name);
  if (ifindex == 0) return env.Undefined();
  bool up = info[1].As<Napi::Boolean>().Value();
  Throwing(env, link::SetUp(ifindex, up), std::string("set ") + name + (up ? " up" : " down"));
  return env.Undefined();
}

// tunnelKind(name) (any link): IFLA_INFO_KIND ('ipip', 'ip6tnl', 'veth', ...; '' for none, e.g. lo), or
// undefined when there is no such link.
Napi::Value TunnelKind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!StringArg(info, 0, name)) {
    ThrowType(env, "tunnelKind(name)");
    return env.Undefined();
  }
  int ifindex = static_cast<int>(if_nametoindex(name.c_str()));
  if (ifindex == 0) return env.Undefined();
  link::Kind k;
  netlink::Outcome o = link::Describe(ifindex, k);
  if (o.err == ENODEV) return env.Undefined();
  if (Throwing(env, o, "get link " + name)) return env.Undefined();
  if (!k.found) return env.Undefined();
  return Napi::String::New(env, k.kind);
}

}  // namespace

void InitRtnetlinkTunnel(Napi::Env env, Napi::Object exports) {
  exports.Set("tunnelAdd", Napi::Function::New<TunnelAdd>(env, "tunnelAdd"));
  exports.Set("tunnelDelete", Napi::Function::New<TunnelDelete>(env, "tunnelDelete"));
  exports.Set("tunnelSetUp", Napi::Function::New<TunnelSetUp>(env, "tunnelSetUp"));
  exports.Set("tunnelKind", Napi::Function::New<TunnelKind>(env, "tunnelKind"));
}

}  // namespace tandem

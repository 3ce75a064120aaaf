// Routes and policy rules through rtnetlink (linux/rtnetlink.h, linux/fib_rules.h): what
// keepalived's virtual_routes / virtual_rules / static_routes / static_rules put in the kernel,
// built as keepalived builds them (keepalived/vrrp/vrrp_iproute.c netlink_route(),
// vrrp_iprule.c netlink_rule()). Synchronous, one socket per call (netlink_request.h).
//
// exports.routeAdd(spec: RouteSpec, replace: boolean) -> 'added' | 'exists'
// exports.routeDel(spec: RouteSpec) -> 'deleted' | 'absent'
// exports.routeList(family: 4 | 6, table?: number) -> RouteInfo[]
// exports.ruleAdd(spec: RuleSpec) -> 'added' | 'exists'
// exports.ruleDel(spec: RuleSpec) -> 'deleted' | 'absent'
// exports.ruleList(family: 4 | 6) -> RuleInfo[]
// The spec and info shapes are src/net/routes.ts's. A spec of the wrong shape throws a
// TypeError naming the field; a kernel refusal throws a SystemError (.code EINVAL, ENETUNREACH,
// ...) with the kernel's extended-ack text; an unknown `dev` throws ENODEV naming the device.
#include "rtnetlink_route.h"

#include <linux/fib_rules.h>
#include <net/if.h>

#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tandem {

// ---- reading route and rule messages (rtnetlink_route.h) -------------------------------------

namespace {

int FamilyNumber(uint8_t af) { return af == AF_INET ? 4 : af == AF_INET6 ? 6 : 0; }

size_t AddrBytes(int family) { return family == 4 ? 4 : 16; }

// An address attribute of `family` as text, or '' when absent or of the wrong size.
std::string AddrAttr(const netlink::Attrs& attrs, int type, int family) {
  const rtattr* a = attrs.Get(type);
  if (a == nullptr || RTA_PAYLOAD(a) < AddrBytes(family)) return "";
  return AddrToString(family == 4 ? AF_INET : AF_INET6, RTA_DATA(a));
}

}  // namespace

namespace route {
namespace {

const char* RouteTypeName(uint8_t type) {
  switch (type) {
    case RTN_UNICAST: return "unicast";
    case RTN_BLACKHOLE: return "blackhole";
    case RTN_UNREACHABLE: return "unreachable";
    case RTN_PROHIBIT: return "prohibit";
    case RTN_THROW: return "throw";
    default: return "other";  // local, broadcast, multicast, anycast, nat, ...
  }
}

const char* RuleActionName(uint8_t action) {
  switch (action) {
    case FR_ACT_TO_TBL: return "table";
    case FR_ACT_GOTO: return "goto";
    case FR_ACT_NOP: return "nop";
    case FR_ACT_BLACKHOLE: return "blackhole";
    case FR_ACT_UNREACHABLE: return "unreachable";
    case FR_ACT_PROHIBIT: return "prohibit";
    default: return "other";
  }
}

}  // namespace

Napi::Value RouteToJs(Napi::Env env, const nlmsghdr* h) {
  const auto* rtm = static_cast<const rtmsg*>(NLMSG_DATA(h));
  const int family = FamilyNumber(rtm->rtm_family);
  if (family == 0) return env.Undefined();
  netlink::Attrs attrs = netlink::Attrs::After<rtmsg>(h);
  Napi::Object o = Napi::Object::New(env);
  o.Set("family", family);
  // No RTA_DST is the default route: 0.0.0.0/0 or ::/0.
  std::string dst = AddrAttr(attrs, RTA_DST, family);
  o.Set("dst", dst.empty() ? (family == 4 ? "0.0.0.0" : "::") : dst);
  o.Set("dstLen", rtm->rtm_dst_len);
  // rtm_table is RT_TABLE_COMPAT (252) for tables >= 256; RTA_TABLE has the whole number.
  o.Set("table", attrs.U32(RTA_TABLE, rtm->rtm_table));
  o.Set("protocol", rtm->rtm_protocol);
  o.Set("scope", rtm->rtm_scope);
  o.Set("type", RouteTypeName(rtm->rtm_type));
  o.Set("tos", rtm->rtm_tos);
  // IPv4 sends no RTA_PRIORITY for metric 0; IPv6 always sends one (1024 unless set).
  if (attrs.Has(RTA_PRIORITY)) o.Set("metric", attrs.U32(RTA_PRIORITY));
  std::string via = AddrAttr(attrs, RTA_GATEWAY, family);
  if (via.empty() && attrs.Has(RTA_VIA)) {
    // An IPv4 route through an IPv6 gateway (RFC 5549): struct rtvia { family, address }.
    const rtattr* a = attrs.Get(RTA_VIA);
    const auto* rv = static_cast<const rtvia*>(RTA_DATA(a));
    int viaFamily = RTA_PAYLOAD(a) >= sizeof(rtvia) ? FamilyNumber(static_cast<uint8_t>(rv->rtvia_family)) : 0;
    if (viaFamily != 0 && RTA_PAYLOAD(a) >= sizeof(rtvia) + AddrBytes(viaFamily))
      via = AddrToString(viaFamily == 4 ? AF_INET : AF_INET6, rv->rtvia_addr);
  }
  if (!via.empty()) o.Set("via", via);
  if (attrs.Has(RTA_OIF)) {
    std::string dev = netlink::IfindexToName(static_cast<int>(attrs.U32(RTA_OIF)));
    if (!dev.empty()) o.Set("dev", dev);
  }
  std::string src = AddrAttr(attrs, RTA_PREFSRC, family);
  if (!src.empty()) o.Set("src", src);
  return o;
}

Napi::Value RuleToJs(Napi::Env env, const nlmsghdr* h) {
  const auto* frh = static_cast<const fib_rule_hdr*>(NLMSG_DATA(h));
  const int family = FamilyNumber(frh->family);
  if (family == 0) return env.Undefined();
  netlink::Attrs attrs = netlink::Attrs::After<fib_rule_hdr>(h);
  Napi::Object o = Napi::Object::New(env);
  o.Set("family", family);
  // The kernel leaves FRA_PRIORITY out for priority 0 (the local rule).
  o.Set("priority", attrs.U32(FRA_PRIORITY, 0));
  o.Set("action", RuleActionName(frh->action));
  uint32_t table = attrs.U32(FRA_TABLE, frh->table);
  if (table != RT_TABLE_UNSPEC) o.Set("table", table);
  std::string from = AddrAttr(attrs, FRA_SRC, family);
  if (!from.empty()) o.Set("from", from);
  o.Set("fromLen", frh->src_len);
  std::string to = AddrAttr(attrs, FRA_DST, family);
  if (!to.empty()) o.Set("to", to);
  o.Set("toLen", frh->dst_len);
  if (attrs.Has(FRA_FWMARK)) o.Set("fwmark", attrs.U32(FRA_FWMARK));
  if (attrs.Has(FRA_IFNAME)) o.Set("iif", attrs.String(FRA_IFNAME));
  if (attrs.Has(FRA_OIFNAME)) o.Set("oif", attrs.String(FRA_OIFNAME));
  if (attrs.Has(FRA_PROTOCOL)) o.Set("protocol", attrs.U8(FRA_PROTOCOL));
  return o;
}

}  // namespace route

namespace {

// IP6_RT_PRIO_USER (linux/ipv6_route.h): the metric the kernel gives an IPv6 route added
// without one (or with 0).
constexpr uint32_t kIpv6DefaultMetric = 1024;

// ---- reading the spec objects -----------------------------------------------------------------

// Reads the properties of one spec object, checking each one's type; the first bad one throws a
// TypeError ("routeAdd: spec.metric must be an integer 0..4294967295") and makes ok() false, and
// every later read returns "absent". An undefined (or missing) property is absent.
class SpecReader {
 public:
  // `what` names the call ("routeAdd"), `name` the object ("spec", "spec.nexthops[1]").
  SpecReader(Napi::Env env, Napi::Value spec, std::string what, std::string name = "spec")
      : env_(env), what_(std::move(what)), name_(std::move(name)) {
    if (!spec.IsObject() || spec.IsArray()) {
      Fail(name_ + " must be an object");
      return;
    }
    obj_ = spec.As<Napi::Object>();
  }

  bool ok() const { return ok_; }
  void Fail(const std::string& msg) {
    if (!ok_) return;
    ok_ = false;
    ThrowType(env_, what_ + ": " + msg);
  }

  std::optional<uint32_t> Uint(const char* key, uint32_t max) { return UintOf(Get(key), Field(key), max); }

  uint32_t RequiredUint(const char* key, uint32_t max) {
    if (ok_ && Get(key).IsUndefined()) Fail(Field(key) + " is required");
    return Uint(key, max).value_or(0);
  }

  std::optional<std::string> String(const char* key) {
    Napi::Value v = Get(key);
    if (v.IsUndefined()) return std::nullopt;
    if (!v.IsString()) {
      Fail(Field(key) + " must be a string");
      return std::nullopt;
    }
    return v.As<Napi::String>().Utf8Value();
  }

  std::string RequiredString(const char* key) {
    if (ok_ && Get(key).IsUndefined()) Fail(Field(key) + " is required");
    return String(key).value_or("");
  }

  bool Bool(const char* key) {
    Napi::Value v = Get(key);
    if (v.IsUndefined()) return false;
    if (!v.IsBoolean()) {
      Fail(Field(key) + " must be a boolean");
      return false;
    }
    return v.As<Napi::Boolean>().Value();
  }

  // An interface name (IFNAMSIZ - 1 characters at most).
  std::optional<std::string> Ifname(const char* key) {
    std::optional<std::string> name = String(key);
    if (name && (name->empty() || name->size() >= IFNAMSIZ)) {
      Fail(Field(key) + " must be an interface name of 1.." + std::to_string(IFNAMSIZ - 1) + " characters");
      return std::nullopt;
    }
    return name;
  }

  // An address of `family` into `out` (4 or 16 bytes); false when absent or bad.
  bool Address(const char* key, int family, uint8_t out[16]) { return AddressOf(Get(key), Field(key), family, out); }

  bool AddressOf(Napi::Value v, const std::string& name, int family, uint8_t out[16]) {
    if (!ok_ || v.IsUndefined()) return false;
    if (!v.IsString()) {
      Fail(name + " must be an address string");
      return false;
    }
    std::string text = v.As<Napi::String>().Utf8Value();
    if (!ParseAddr(family, text, out)) {
      Fail(name + " '" + text + "' is not an IPv" + std::to_string(family) + " address");
      return false;
    }
    return true;
  }

  // A [low, high] pair of integers 0..max with low <= high.
  std::optional<std::pair<uint32_t, uint32_t>> Range(const char* key, uint32_t max) {
    Napi::Value v = Get(key);
    if (v.IsUndefined()) return std::nullopt;
    std::string name = Field(key);
    if (!v.IsArray() || v.As<Napi::Array>().Length() != 2) {
      Fail(name + " must be a [low, high] pair");
      return std::nullopt;
    }
    Napi::Array a = v.As<Napi::Array>();
    std::optional<uint32_t> lo = UintOf(a.Get(0u), name + "[0]", max);
    std::optional<uint32_t> hi = UintOf(a.Get(1u), name + "[1]", max);
    if (!ok_) return std::nullopt;
    if (!lo || !hi || *lo > *hi) {
      Fail(name + " must be a [low, high] pair with low <= high");
      return std::nullopt;
    }
    return std::make_pair(*lo, *hi);
  }

  std::string Field(const char* key) const { return name_ + "." + key; }

  Napi::Value Get(const char* key) {
    if (!ok_) return env_.Undefined();
    return obj_.Get(key);
  }

  std::optional<uint32_t> UintOf(Napi::Value v, const std::string& name, uint32_t max) {
    if (!ok_ || v.IsUndefined()) return std::nullopt;
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!v.IsNumber() || !std::isfinite(d) || d != std::floor(d) || d < 0 || d > max) {
      Fail(name + " must be an integer 0.." + std::to_string(max));
      return std::nullopt;
    }
    return static_cast<uint32_t>(d);
  }

 private:
  Napi::Env env_;
  std::string what_;
  std::string name_;
  Napi::Object obj_;
  bool ok_ = true;
};

// The family (4 or 6) of a spec.
int ReadFamily(SpecReader& r) {
  uint32_t family = r.RequiredUint("family", 6);
  if (r.ok() && family != 4 && family != 6) r.Fail("spec.family must be 4 or 6");
  return static_cast<int>(family);
}

// A prefix length of `family`: 0..32 or 0..128.
uint8_t PrefixLen(SpecReader& r, const char* key, int family, bool required, std::optional<uint8_t> otherwise = std::nullopt) {
  uint32_t max = family == 4 ? 32 : 128;
  std::optional<uint32_t> v = required ? std::optional<uint32_t>(r.RequiredUint(key, max)) : r.Uint(key, max);
  return static_cast<uint8_t>(v.value_or(otherwise.value_or(0)));
}

// ifindex of `name`, or an ENODEV SystemError naming the device and what wanted it.
int DeviceIndex(Napi::Env env, const std::string& name, const std::string& what) {
  unsigned ifindex = if_nametoindex(name.c_str());
  if (ifindex == 0) ThrowErrno(env, ENODEV, "if_nametoindex", "no device '" + name + "' (" + what + ")");
  return static_cast<int>(ifindex);
}

// ---- routes -----------------------------------------------------------------------------------

struct NextHop {
  bool hasVia = false;
  uint8_t via[16] = {};
  int ifindex = 0;
  uint8_t hops = 0;  // rtnh_hops: weight - 1
  bool onlink = false;
};

// A RouteSpec (src/net/routes.ts), read and checked.
struct Route {
  int family = 0;
  uint8_t dst[16] = {};
  uint8_t dstLen = 0;
  bool hasPrefsrc = false;
  uint8_t prefsrc[16] = {};
  bool hasFrom = false;
  uint8_t from[16] = {};
  uint8_t fromLen = 0;
  bool hasVia = false;
  uint8_t via[16] = {};
  int ifindex = 0;
  uint32_t table = 0;
  std::optional<uint32_t> metric;
  uint8_t protocol = 0;
  uint8_t scope = 0;
  uint8_t type = RTN_UNICAST;
  bool onlink = false;
  uint8_t tos = 0;
  std::vector<std::pair<uint16_t, uint32_t>> metrics;  // RTAX_* -> value
  std::vector<NextHop> nexthops;
  std::string text;  // "198.51.100.0/24 table 100", for error messages
};

bool ReadRoute(Napi::Env env, Napi::Value spec, const char* fn, Route& out) {
  SpecReader r(env, spec, fn);
  out.family = ReadFamily(r);
  std::string dstText = r.RequiredString("dst");
  r.Address("dst", out.family, out.dst);
  out.dstLen = PrefixLen(r, "dstLen", out.family, true);
  out.hasPrefsrc = r.Address("src", out.family, out.prefsrc);
  out.hasFrom = r.Address("from", out.family, out.from);
  out.fromLen = PrefixLen(r, "fromLen", out.family, false, static_cast<uint8_t>(out.family == 4 ? 32 : 128));
  if (r.ok() && !out.hasFrom && !r.Get("fromLen").IsUndefined()) r.Fail("spec.fromLen without spec.from");
  out.table = r.RequiredUint("table", UINT32_MAX);
  if (r.ok() && out.table == RT_TABLE_UNSPEC) r.Fail("spec.table must not be 0");
  out.metric = r.Uint("metric", UINT32_MAX);
  out.protocol = static_cast<uint8_t>(r.RequiredUint("protocol", 255));
  out.scope = static_cast<uint8_t>(r.RequiredUint("scope", 255));
  std::string type = r.RequiredString("type");
  if (r.ok()) {
    if (type == "unicast") out.type = RTN_UNICAST;
    else if (type == "blackhole") out.type = RTN_BLACKHOLE;
    else if (type == "unreachable") out.type = RTN_UNREACHABLE;
    else if (type == "prohibit") out.type = RTN_PROHIBIT;
    else if (type == "throw") out.type = RTN_THROW;
    else r.Fail("spec.type must be unicast, blackhole, unreachable, prohibit or throw");
  }
  out.onlink = r.Bool("onlink");
  out.tos = static_cast<uint8_t>(r.Uint("tos", 255).value_or(0));
  for (auto [key, rtax] : {std::pair<const char*, uint16_t>{"mtu", RTAX_MTU}, {"advmss", RTAX_ADVMSS},
                           {"hoplimit", RTAX_HOPLIMIT}, {"initcwnd", RTAX_INITCWND}, {"initrwnd", RTAX_INITRWND}}) {
    std::optional<uint32_t> v = r.Uint(key, UINT32_MAX);
    if (v) out.metrics.emplace_back(rtax, *v);
  }
  out.text = dstText + "/" + std::to_string(out.dstLen) + " table " + std::to_string(out.table);
  if (out.metric) out.text += " metric " + std::to_string(*out.metric);
  // RTA_MULTIPATH replaces via / dev when present (routes.ts).
  Napi::Value nexthops = r.Get("nexthops");
  if (r.ok() && !nexthops.IsUndefined()) {
    if (!nexthops.IsArray()) {
      r.Fail("spec.nexthops must be an array");
      return false;
    }
    Napi::Array list = nexthops.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) {
      std::string name = "spec.nexthops[" + std::to_string(i) + "]";
      SpecReader nh(env, list.Get(i), fn, name);
      NextHop hop;
      hop.hasVia = nh.Address("via", out.family, hop.via);
      std::optional<std::string> dev = nh.Ifname("dev");
      std::optional<uint32_t> weight = nh.Uint("weight", 256);
      if (nh.ok() && weight && *weight == 0) nh.Fail(nh.Field("weight") + " must be an integer 1..256");
      hop.hops = static_cast<uint8_t>(weight.value_or(1) - 1);
      hop.onlink = nh.Bool("onlink");
      if (!nh.ok()) return false;
      if (dev) {
        hop.ifindex = DeviceIndex(env, *dev, "nexthop of route " + out.text);
        if (hop.ifindex == 0) return false;
      }
      out.nexthops.push_back(hop);
    }
    if (r.ok() && out.nexthops.empty()) r.Fail("spec.nexthops must not be empty");
  }
  if (out.nexthops.empty()) {
    out.hasVia = r.Address("via", out.family, out.via);
    std::optional<std::string> dev = r.Ifname("dev");
    if (!r.ok()) return false;
    if (dev) {
      out.ifindex = DeviceIndex(env, *dev, "route " + out.text);
      if (out.ifindex == 0) return false;
    }
  }
  return r.ok();
}

// The RTM_NEWROUTE / RTM_DELROUTE for `r`, as keepalived's netlink_route() builds it: the rtmsg
// header (family, prefix lengths, tos, table, protocol, scope, type, RTNH_F_ONLINK), RTA_TABLE,
// RTA_DST, RTA_SRC, RTA_PREFSRC, RTA_GATEWAY + RTA_OIF or RTA_MULTIPATH, RTA_PRIORITY,
// RTA_METRICS.
//
// A delete carries the same key, and the kernel deletes the first route that matches every field
// given (net/ipv4/fib_trie.c fib_table_delete(), net/ipv6/route.c ip6_route_del()): so the
// metric (IPv6: the kernel's default 1024 when none was set; IPv4 0 is "any", see RouteDel), the
// type (IPv4), the protocol and the nexthops are all sent, and a route of the same dst with
// another metric, type, protocol or gateway is left alone. Scope goes as RT_SCOPE_NOWHERE (any),
// as iproute2 and keepalived send it; RTA_METRICS is left out (fib_metrics_match() would compare
// each value, and the key is enough).
netlink::Request RouteRequest(const Route& r, uint16_t type, uint16_t flags) {
  const bool del = type == RTM_DELROUTE;
  const size_t alen = AddrBytes(r.family);
  netlink::Request req(type, static_cast<uint16_t>(NLM_F_ACK | flags));
  rtmsg rtm{};
  rtm.rtm_family = static_cast<uint8_t>(r.family == 4 ? AF_INET : AF_INET6);
  rtm.rtm_dst_len = r.dstLen;
  rtm.rtm_src_len = r.hasFrom ? r.fromLen : 0;
  rtm.rtm_tos = r.tos;
  // A table >= 256 only fits in RTA_TABLE (rtm_table is then RT_TABLE_UNSPEC, keepalived and
  // iproute2 do the same); RTA_TABLE goes always, the kernel takes it over rtm_table.
  rtm.rtm_table = static_cast<uint8_t>(r.table < 256 ? r.table : static_cast<uint32_t>(RT_TABLE_UNSPEC));
  rtm.rtm_protocol = r.protocol;
  rtm.rtm_scope = del ? static_cast<uint8_t>(RT_SCOPE_NOWHERE) : r.scope;
  rtm.rtm_type = r.type;
  rtm.rtm_flags = r.onlink ? RTNH_F_ONLINK : 0;
  req.Body(rtm);
  req.AttrU32(RTA_TABLE, r.table);
  req.Attr(RTA_DST, r.dst, alen);
  if (r.hasFrom) req.Attr(RTA_SRC, r.from, alen);
  if (r.hasPrefsrc) req.Attr(RTA_PREFSRC, r.prefsrc, alen);
  if (r.nexthops.empty()) {
    if (r.hasVia) req.Attr(RTA_GATEWAY, r.via, alen);
    if (r.ifindex != 0) req.AttrU32(RTA_OIF, static_cast<uint32_t>(r.ifindex));
  } else {
    // RTA_MULTIPATH: a run of struct rtnexthop, each followed by its own attributes and covering
    // them in rtnh_len (keepalived add_nexthops()).
    size_t mp = req.BeginNested(RTA_MULTIPATH);
    for (const NextHop& nh : r.nexthops) {
      rtnexthop rtnh{};
      rtnh.rtnh_flags = nh.onlink ? RTNH_F_ONLINK : 0;
      rtnh.rtnh_hops = nh.hops;
      rtnh.rtnh_ifindex = nh.ifindex;
      size_t at = req.Append(&rtnh, sizeof rtnh);
      if (nh.hasVia) req.Attr(RTA_GATEWAY, nh.via, alen);
      req.At<rtnexthop>(at)->rtnh_len = static_cast<uint16_t>(req.Length() - at);
    }
    req.EndNested(mp);
  }
  if (r.metric) req.AttrU32(RTA_PRIORITY, *r.metric);
  else if (del && r.family == 6) req.AttrU32(RTA_PRIORITY, kIpv6DefaultMetric);
  if (!del && !r.metrics.empty()) {
    size_t mx = req.BeginNested(RTA_METRICS);
    for (const auto& [rtax, value] : r.metrics) req.AttrU32(rtax, value);
    req.EndNested(mx);
  }
  return req;
}

Napi::Value RouteAdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsBoolean())) {
    ThrowType(env, "routeAdd(spec, replace: boolean)");
    return env.Undefined();
  }
  const bool replace = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  Route r;
  if (!ReadRoute(env, info[0], "routeAdd", r)) return env.Undefined();
  // NLM_F_EXCL: an existing route with the same key is EEXIST, not a second copy (keepalived
  // sends no NLM_F_EXCL, "ip route prepend"; tandem reports 'exists' instead). Replace is
  // "ip route replace": NLM_F_CREATE | NLM_F_REPLACE.
  netlink::Request req = RouteRequest(r, RTM_NEWROUTE, NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL));
  netlink::Outcome o = netlink::Exchange(req);
  if (o.err == EEXIST && !replace) return Napi::String::New(env, "exists");
  if (o.err != 0) return netlink::ThrowOutcome(env, o, std::string(replace ? "replace" : "add") + " route " + r.text);
  return Napi::String::New(env, "added");
}

// Whether the IPv4 table holds a route with r's key and metric 0 (no RTA_PRIORITY).
bool HasIpv4RouteWithoutMetric(const Route& r, netlink::Outcome& o) {
  netlink::Request req(RTM_GETROUTE, NLM_F_DUMP);
  rtmsg rtm{};
  rtm.rtm_family = AF_INET;
  req.Body(rtm);
  req.AttrU32(RTA_TABLE, r.table);  // filtered by the kernel under NETLINK_GET_STRICT_CHK
  bool found = false;
  o = netlink::Exchange(req, [&](const nlmsghdr* h) {
    if (found || h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(rtmsg))) return;
    const auto* m = static_cast<const rtmsg*>(NLMSG_DATA(h));
    netlink::Attrs a = netlink::Attrs::After<rtmsg>(h);
    if (m->rtm_dst_len != r.dstLen || m->rtm_tos != r.tos || m->rtm_type != r.type) return;
    if (a.U32(RTA_TABLE, m->rtm_table) != r.table || a.U32(RTA_PRIORITY, 0) != 0) return;
    if (r.protocol != 0 && m->rtm_protocol != r.protocol) return;
    const rtattr* dst = a.Get(RTA_DST);
    uint8_t zero[4] = {};
    if (std::memcmp(dst != nullptr && RTA_PAYLOAD(dst) >= 4 ? RTA_DATA(dst) : zero, r.dst, 4) != 0) return;
    if (r.hasVia) {
      const rtattr* gw = a.Get(RTA_GATEWAY);
      if (gw == nullptr || RTA_PAYLOAD(gw) < 4 || std::memcmp(RTA_DATA(gw), r.via, 4) != 0) return;
    }
    if (r.ifindex != 0 && a.U32(RTA_OIF, 0) != static_cast<uint32_t>(r.ifindex)) return;
    found = true;
  });
  if (o.err == ENOENT) o = {};  // the table does not exist (yet): no such route
  return found;
}

Napi::Value RouteDel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1) {
    ThrowType(env, "routeDel(spec)");
    return env.Undefined();
  }
  Route r;
  if (!ReadRoute(env, info[0], "routeDel", r)) return env.Undefined();
  // IPv4 has no "metric exactly 0" in a delete: RTA_PRIORITY 0 (or none) matches the route of
  // the lowest metric (fib_table_delete() starts at fib_find_alias(.., prio 0, ..) and
  // fib_nh_match() compares the metric only when one is given). When ours, with metric 0, is
  // not there, the kernel would delete the same dst's next route with a higher metric, someone
  // else's. So look first, and call it absent unless a metric-0 route with our key is there.
  // (Only IPv4 without a metric pays this dump; the window between the look and the delete is
  // the same any `ip route del` has.)
  if (r.family == 4 && r.metric.value_or(0) == 0) {
    netlink::Outcome look;
    bool present = HasIpv4RouteWithoutMetric(r, look);
    if (look.err != 0) return netlink::ThrowOutcome(env, look, "look up route " + r.text);
    if (!present) return Napi::String::New(env, "absent");
  }
  netlink::Request req = RouteRequest(r, RTM_DELROUTE, 0);
  netlink::Outcome o = netlink::Exchange(req);
  // ESRCH: no such route (or table); ENOENT: the same from some IPv6 paths.
  if (o.err == ESRCH || o.err == ENOENT) return Napi::String::New(env, "absent");
  if (o.err != 0) return netlink::ThrowOutcome(env, o, "delete route " + r.text);
  return Napi::String::New(env, "deleted");
}

bool ReadFamilyArg(const Napi::CallbackInfo& info, const char* usage, int& family) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    ThrowType(env, usage);
    return false;
  }
  family = info[0].As<Napi::Number>().Int32Value();
  if (family != 4 && family != 6) {
    ThrowType(env, std::string(usage) + ": family must be 4 or 6");
    return false;
  }
  return true;
}

// routeList(family, table?): the routes of one family (of one table), without the cloned
// entries (RTM_F_CLONED: the IPv6 exception cache, PMTU entries), in the kernel's order.
Napi::Value RouteList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* usage = "routeList(family: 4 | 6, table?: number)";
  int family = 0;
  if (!ReadFamilyArg(info, usage, family)) return env.Undefined();
  std::optional<uint32_t> table;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    double d = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
    if (!info[1].IsNumber() || d != std::floor(d) || d < 1 || d > UINT32_MAX) {
      ThrowType(env, std::string(usage) + ": table must be an integer 1..4294967295");
      return env.Undefined();
    }
    table = static_cast<uint32_t>(d);
  }
  netlink::Request req(RTM_GETROUTE, NLM_F_DUMP);
  rtmsg rtm{};
  rtm.rtm_family = static_cast<uint8_t>(family == 4 ? AF_INET : AF_INET6);
  req.Body(rtm);
  // Under NETLINK_GET_STRICT_CHK the kernel dumps only this table (a host with a full BGP table
  // in main does not send it all to list table 100); the filter below is for older kernels.
  if (table) req.AttrU32(RTA_TABLE, *table);
  Napi::Array list = Napi::Array::New(env);
  uint32_t count = 0;
  netlink::Outcome o = netlink::Exchange(req, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(rtmsg))) return;
    const auto* m = static_cast<const rtmsg*>(NLMSG_DATA(h));
    if (m->rtm_family != rtm.rtm_family || (m->rtm_flags & RTM_F_CLONED) != 0) return;
    if (table && netlink::Attrs::After<rtmsg>(h).U32(RTA_TABLE, m->rtm_table) != *table) return;
    Napi::Value v = route::RouteToJs(env, h);
    if (!v.IsUndefined()) list.Set(count++, v);
  });
  // A filtered dump of a table that does not exist (no route was ever put in it) is ENOENT.
  if (o.err == ENOENT && table) return Napi::Array::New(env);
  if (o.err != 0) return netlink::ThrowOutcome(env, o, "list IPv" + std::to_string(family) + " routes");
  return list;
}

// ---- rules ------------------------------------------------------------------------------------

// A RuleSpec (src/net/routes.ts), read and checked.
struct Rule {
  int family = 0;
  bool hasFrom = false;
  uint8_t from[16] = {};
  uint8_t fromLen = 0;
  bool hasTo = false;
  uint8_t to[16] = {};
  uint8_t toLen = 0;
  bool invert = false;
  uint32_t priority = 0;
  uint8_t action = FR_ACT_UNSPEC;
  uint32_t table = 0;
  std::optional<uint32_t> gotoPriority;
  uint8_t tos = 0;
  std::optional<uint32_t> fwmark, fwmask, suppressPrefixLen, suppressIfgroup, protocol, ipProto, realms;
  std::optional<std::string> iif, oif;
  std::optional<std::pair<uint32_t, uint32_t>> sport, dport, uidRange;
  bool l3mdev = false;
  std::string text;  // "priority 100 from 192.0.2.10/32", for error messages
};

bool ReadRule(Napi::Env env, Napi::Value spec, const char* fn, Rule& out) {
  SpecReader r(env, spec, fn);
  out.family = ReadFamily(r);
  const uint8_t full = static_cast<uint8_t>(out.family == 4 ? 32 : 128);
  out.hasFrom = r.Address("from", out.family, out.from);
  out.fromLen = out.hasFrom ? PrefixLen(r, "fromLen", out.family, false, full) : 0;
  out.hasTo = r.Address("to", out.family, out.to);
  out.toLen = out.hasTo ? PrefixLen(r, "toLen", out.family, false, full) : 0;
  if (r.ok() && !out.hasFrom && !r.Get("fromLen").IsUndefined()) r.Fail("spec.fromLen without spec.from");
  if (r.ok() && !out.hasTo && !r.Get("toLen").IsUndefined()) r.Fail("spec.toLen without spec.to");
  out.invert = r.Bool("invert");
  out.priority = r.RequiredUint("priority", UINT32_MAX);
  std::string action = r.RequiredString("action");
  if (r.ok()) {
    if (action == "table") out.action = FR_ACT_TO_TBL;
    else if (action == "goto") out.action = FR_ACT_GOTO;
    else if (action == "nop") out.action = FR_ACT_NOP;
    else if (action == "blackhole") out.action = FR_ACT_BLACKHOLE;
    else if (action == "unreachable") out.action = FR_ACT_UNREACHABLE;
    else if (action == "prohibit") out.action = FR_ACT_PROHIBIT;
    else r.Fail("spec.action must be table, goto, nop, blackhole, unreachable or prohibit");
  }
  out.table = r.Uint("table", UINT32_MAX).value_or(0);
  out.l3mdev = r.Bool("l3mdev");
  // l3mdev picks the table of the VRF device the packet came in on (FRA_L3MDEV): no table then.
  if (r.ok() && out.action == FR_ACT_TO_TBL && out.table == 0 && !out.l3mdev) r.Fail("spec.table is required (1..4294967295) for action 'table'");
  out.gotoPriority = r.Uint("gotoPriority", UINT32_MAX);
  if (r.ok() && out.action == FR_ACT_GOTO && !out.gotoPriority) r.Fail("spec.gotoPriority is required for action 'goto'");
  out.tos = static_cast<uint8_t>(r.Uint("tos", 255).value_or(0));
  out.fwmark = r.Uint("fwmark", UINT32_MAX);
  out.fwmask = r.Uint("fwmask", UINT32_MAX);
  out.iif = r.Ifname("iif");
  out.oif = r.Ifname("oif");
  out.suppressPrefixLen = r.Uint("suppressPrefixLen", full);
  out.suppressIfgroup = r.Uint("suppressIfgroup", UINT32_MAX);
  out.protocol = r.Uint("protocol", 255);
  out.ipProto = r.Uint("ipProto", 255);
  out.sport = r.Range("sport", 65535);
  out.dport = r.Range("dport", 65535);
  out.uidRange = r.Range("uidRange", UINT32_MAX);
  out.realms = r.Uint("realms", UINT32_MAX);
  if (!r.ok()) return false;
  out.text = "priority " + std::to_string(out.priority);
  if (out.hasFrom) out.text += " from " + AddrToString(out.family == 4 ? AF_INET : AF_INET6, out.from) + "/" + std::to_string(out.fromLen);
  if (out.hasTo) out.text += " to " + AddrToString(out.family == 4 ? AF_INET : AF_INET6, out.to) + "/" + std::to_string(out.toLen);
  out.text += " (IPv" + std::to_string(out.family) + ")";
  return true;
}

// The RTM_NEWRULE / RTM_DELRULE for `r`, as keepalived's netlink_rule() builds it: the
// fib_rule_hdr (family, prefix lengths, tos, table when < 256, action, FIB_RULE_INVERT), then
// FRA_TABLE (tables >= 256), FRA_SRC, FRA_DST, FRA_PRIORITY, FRA_FWMARK, FRA_FWMASK, FRA_FLOW,
// FRA_SUPPRESS_PREFIXLEN, FRA_SUPPRESS_IFGROUP, FRA_IFNAME, FRA_OIFNAME, FRA_UID_RANGE,
// FRA_L3MDEV, FRA_PROTOCOL, FRA_IP_PROTO, FRA_SPORT_RANGE, FRA_DPORT_RANGE, FRA_GOTO. A delete
// sends the same: the kernel deletes the first rule matching every field given
// (net/core/fib_rules.c rule_find()), so a rule that differs in any of them is left alone.
netlink::Request RuleRequest(const Rule& r, uint16_t type, uint16_t flags) {
  const size_t alen = AddrBytes(r.family);
  netlink::Request req(type, static_cast<uint16_t>(NLM_F_ACK | flags));
  fib_rule_hdr frh{};
  frh.family = static_cast<uint8_t>(r.family == 4 ? AF_INET : AF_INET6);
  frh.dst_len = r.toLen;
  frh.src_len = r.fromLen;
  frh.tos = r.tos;
  frh.table = static_cast<uint8_t>(r.table < 256 ? r.table : static_cast<uint32_t>(RT_TABLE_UNSPEC));
  frh.action = r.action;
  frh.flags = r.invert ? FIB_RULE_INVERT : 0;
  req.Body(frh);
  if (r.table >= 256) req.AttrU32(FRA_TABLE, r.table);
  if (r.hasFrom) req.Attr(FRA_SRC, r.from, alen);
  if (r.hasTo) req.Attr(FRA_DST, r.to, alen);
  req.AttrU32(FRA_PRIORITY, r.priority);
  if (r.fwmark) req.AttrU32(FRA_FWMARK, *r.fwmark);
  if (r.fwmask) req.AttrU32(FRA_FWMASK, *r.fwmask);
  if (r.realms) req.AttrU32(FRA_FLOW, *r.realms);
  if (r.suppressPrefixLen) req.AttrU32(FRA_SUPPRESS_PREFIXLEN, *r.suppressPrefixLen);
  if (r.suppressIfgroup) req.AttrU32(FRA_SUPPRESS_IFGROUP, *r.suppressIfgroup);
  if (r.iif) req.AttrString(FRA_IFNAME, *r.iif);
  if (r.oif) req.AttrString(FRA_OIFNAME, *r.oif);
  if (r.uidRange) {
    fib_rule_uid_range range{r.uidRange->first, r.uidRange->second};
    req.Attr(FRA_UID_RANGE, &range, sizeof range);
  }
  if (r.l3mdev) req.AttrU8(FRA_L3MDEV, 1);
  if (r.protocol) req.AttrU8(FRA_PROTOCOL, static_cast<uint8_t>(*r.protocol));
  if (r.ipProto) req.AttrU8(FRA_IP_PROTO, static_cast<uint8_t>(*r.ipProto));
  for (auto [attr, range] : {std::make_pair(FRA_SPORT_RANGE, r.sport), std::make_pair(FRA_DPORT_RANGE, r.dport)}) {
    if (!range) continue;
    fib_rule_port_range ports{static_cast<uint16_t>(range->first), static_cast<uint16_t>(range->second)};
    req.Attr(static_cast<uint16_t>(attr), &ports, sizeof ports);
  }
  if (r.gotoPriority) req.AttrU32(FRA_GOTO, *r.gotoPriority);
  return req;
}

Napi::Value RuleAdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1) {
    ThrowType(env, "ruleAdd(spec)");
    return env.Undefined();
  }
  Rule r;
  if (!ReadRule(env, info[0], "ruleAdd", r)) return env.Undefined();
  // NLM_F_EXCL, as keepalived's netlink_rule(): an identical rule is EEXIST (the kernel's
  // rule_exists()) rather than a duplicate that one delete would not remove.
  netlink::Request req = RuleRequest(r, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL);
  netlink::Outcome o = netlink::Exchange(req);
  if (o.err == EEXIST) return Napi::String::New(env, "exists");
  if (o.err != 0) return netlink::ThrowOutcome(env, o, "add rule " + r.text);
  return Napi::String::New(env, "added");
}

Napi::Value RuleDel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1) {
    ThrowType(env, "ruleDel(spec)");
    return env.Undefined();
  }
  Rule r;
  if (!ReadRule(env, info[0], "ruleDel", r)) return env.Undefined();
  netlink::Request req = RuleRequest(r, RTM_DELRULE, 0);
  netlink::Outcome o = netlink::Exchange(req);
  // fib_nl_delrule(): ENOENT when no rule matches.
  if (o.err == ENOENT || o.err == ESRCH) return Napi::String::New(env, "absent");
  if (o.err != 0) return netlink::ThrowOutcome(env, o, "delete rule " + r.text);
  return Napi::String::New(env, "deleted");
}

// ruleList(family): the policy rules of one family, in priority order (the kernel's).
Napi::Value RuleList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int family = 0;
  if (!ReadFamilyArg(info, "ruleList(family: 4 | 6)", family)) return env.Undefined();
  netlink::Request req(RTM_GETRULE, NLM_F_DUMP);
  fib_rule_hdr frh{};
  frh.family = static_cast<uint8_t>(family == 4 ? AF_INET : AF_INET6);
  req.Body(frh);
  Napi::Array list = Napi::Array::New(env);
  uint32_t count = 0;
  netlink::Outcome o = netlink::Exchange(req, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWRULE || h->nlmsg_len < NLMSG_LENGTH(sizeof(fib_rule_hdr))) return;
    if (static_cast<const fib_rule_hdr*>(NLMSG_DATA(h))->family != frh.family) return;
    Napi::Value v = route::RuleToJs(env, h);
    if (!v.IsUndefined()) list.Set(count++, v);
  });
  if (o.err != 0) return netlink::ThrowOutcome(env, o, "list IPv" + std::to_string(family) + " rules");
  return list;
}

}  // namespace

void InitRtnetlinkRoute(Napi::Env env, Napi::Object exports) {
  exports.Set("routeAdd", Napi::Function::New<RouteAdd>(env, "routeAdd"));
  exports.Set("routeDel", Napi::Function::New<RouteDel>(env, "routeDel"));
  exports.Set("routeList", Napi::Function::New<RouteList>(env, "routeList"));
  exports.Set("ruleAdd", Napi::Function::New<RuleAdd>(env, "ruleAdd"));
  exports.Set("ruleDel", Napi::Function::New<RuleDel>(env, "ruleDel"));
  exports.Set("ruleList", Napi::Function::New<RuleList>(env, "ruleList"));
}

}  // namespace tandem

// rtnetlink (RFC 3549; linux/rtnetlink.h): synchronous address add / delete / list and link
// lookup, plus an event subscription (link and address changes, and on request our routes and
// every policy rule) polled on the Node event loop. The request/reply exchange is
// netlink_request.h's; the route and rule messages are read by rtnetlink_route.h.
//
// Synchronous calls are fine here: the kernel answers an address change in ~0.1 ms, far less
// than spawning `ip` (~3 ms), and the VRRP driver needs the VIP in place before it announces it.
#include "netlink_request.h"
#include "rtnetlink_route.h"

#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <utility>
#include <vector>

namespace tandem {
namespace {

constexpr size_t kWatchBufferBytes = 64 * 1024;     // larger than any datagram the kernel builds
constexpr int kWatchRecvBufferBytes = 1024 * 1024;  // absorb bursts (e.g. many VIPs moving at once)
constexpr int kMaxWatchDatagramsPerWakeup = 64;

using netlink::Attrs;
using netlink::Exchange;
using netlink::FormatHwAddr;
using netlink::IfindexToName;
using netlink::Outcome;
using netlink::ThrowOutcome;

// ---- reply parsing ------------------------------------------------------------------------

// RTM_NEWLINK / RTM_DELLINK -> { ifname, ifindex, flags, mac, operstate }
Napi::Object LinkToJs(Napi::Env env, const nlmsghdr* h) {
  const auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
  Attrs attrs = Attrs::After<ifinfomsg>(h);
  Napi::Object o = Napi::Object::New(env);
  const rtattr* name = attrs.Get(IFLA_IFNAME);
  o.Set("ifname", name != nullptr ? std::string(static_cast<const char*>(RTA_DATA(name)))
                                  : IfindexToName(ifi->ifi_index));
  o.Set("ifindex", ifi->ifi_index);
  o.Set("flags", ifi->ifi_flags);
  o.Set("mac", FormatHwAddr(attrs.Get(IFLA_ADDRESS)));
  const rtattr* oper = attrs.Get(IFLA_OPERSTATE);
  o.Set("operstate", oper != nullptr ? *static_cast<const uint8_t*>(RTA_DATA(oper)) : 0);
  return o;
}

// RTM_NEWADDR / RTM_DELADDR -> { ifindex, ifname, family, address, prefixLen, label, flags }
// or undefined for families other than IPv4 / IPv6.
Napi::Value AddrToJs(Napi::Env env, const nlmsghdr* h) {
  const auto* ifa = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
  if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) return env.Undefined();
  Attrs attrs = Attrs::After<ifaddrmsg>(h);
  // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point links
  // and equal to IFA_LOCAL otherwise (IPv6 sends IFA_LOCAL only for point-to-point).
  const rtattr* addr = attrs.Get(IFA_LOCAL) != nullptr ? attrs.Get(IFA_LOCAL) : attrs.Get(IFA_ADDRESS);
  if (addr == nullptr) return env.Undefined();
  Napi::Object o = Napi::Object::New(env);
  o.Set("ifindex", ifa->ifa_index);
  o.Set("family", ifa->ifa_family == AF_INET ? 4 : 6);
  o.Set("address", AddrToString(ifa->ifa_family, RTA_DATA(addr)));
  o.Set("prefixLen", ifa->ifa_prefixlen);
  const rtattr* label = attrs.Get(IFA_LABEL);
  std::string labelText = label != nullptr ? static_cast<const char*>(RTA_DATA(label)) : "";
  o.Set("label", labelText);
  // The name lookup fails once the interface is gone (its addresses are deleted with it); an
  // IPv4 label starts with the interface name, so it is the better fallback than nothing.
  std::string ifname = IfindexToName(static_cast<int>(ifa->ifa_index));
  o.Set("ifname", ifname.empty() ? labelText.substr(0, labelText.find(':')) : ifname);
  const rtattr* flags = attrs.Get(IFA_FLAGS);
  o.Set("flags", flags != nullptr ? *static_cast<const uint32_t*>(RTA_DATA(flags)) : ifa->ifa_flags);
  return o;
}

// ---- exported functions -------------------------------------------------------------------

// Shared argument parsing for addrAdd / addrDel: (ifname, family, address, prefixLen).
struct AddrArgs {
  std::string ifname;
  int ifindex = 0;
  int family = 0;
  std::string text;
  uint8_t bytes[16] = {};
  int prefixLen = 0;
};

bool ParseAddrArgs(const Napi::CallbackInfo& info, const char* usage, AddrArgs& a) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsString() ||
      !info[3].IsNumber()) {
    ThrowType(env, usage);
    return false;
  }
  a.ifname = info[0].As<Napi::String>().Utf8Value();
  a.family = info[1].As<Napi::Number>().Int32Value();
  a.text = info[2].As<Napi::String>().Utf8Value();
  a.prefixLen = info[3].As<Napi::Number>().Int32Value();
  if ((a.family != 4 && a.family != 6) || !ParseAddr(a.family, a.text, a.bytes)) {
    ThrowType(env, "bad address '" + a.text + "' for family " + std::to_string(a.family));
    return false;
  }
  if (a.prefixLen < 0 || a.prefixLen > (a.family == 4 ? 32 : 128)) {
    ThrowType(env, "bad prefix length " + std::to_string(a.prefixLen));
    return false;
  }
  a.ifindex = static_cast<int>(if_nametoindex(a.ifname.c_str()));
  if (a.ifindex == 0) {
    ThrowErrno(env, ENODEV, "if_nametoindex", a.ifname);
    return false;
  }
  return true;
}

netlink::Request AddrRequest(uint16_t type, uint16_t flags, const AddrArgs& a, uint32_t ifaFlags) {
  netlink::Request req(type, flags);
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<uint8_t>(a.family == 4 ? AF_INET : AF_INET6);
  ifa.ifa_prefixlen = static_cast<uint8_t>(a.prefixLen);
  ifa.ifa_flags = static_cast<uint8_t>(ifaFlags & 0xff);
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  ifa.ifa_index = static_cast<uint32_t>(a.ifindex);
  req.Body(ifa);
  size_t len = a.family == 4 ? 4 : 16;
  // Like iproute2: IPv4 carries IFA_LOCAL (ours) and IFA_ADDRESS (same on broadcast links).
  if (a.family == 4) req.Attr(IFA_LOCAL, a.bytes, len);
  req.Attr(IFA_ADDRESS, a.bytes, len);
  return req;
}

// addrAdd(ifname, family, address, prefixLen, opts?): throws EEXIST when already present.
// opts: { label?, scope?, broadcast?, peer?, preferredLft?, flags? } as keepalived's
// vrrp_ipaddress.c netlink_ipaddress() sends them: IFA_LOCAL is the address and IFA_ADDRESS the
// peer (or the address again, as iproute2 does); IFA_BROADCAST, IFA_LABEL (IPv4); IFA_CACHEINFO
// with the preferred lifetime and an infinite valid one (IPv6); IFA_FLAGS (IFA_F_*: the caller
// passes IFA_F_NODAD for IPv6 unless asked otherwise); ifa_scope.
Napi::Value AddrAdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddrArgs a;
  if (!ParseAddrArgs(info, "addrAdd(ifname, family, address, prefixLen, opts?)", a)) return env.Undefined();
  Napi::Object opts = info.Length() > 4 && info[4].IsObject() ? info[4].As<Napi::Object>() : Napi::Object::New(env);
  const size_t len = a.family == 4 ? 4 : 16;
  uint32_t ifaFlags = opts.Has("flags") && opts.Get("flags").IsNumber() ? opts.Get("flags").As<Napi::Number>().Uint32Value() : 0;
  uint8_t peer[16] = {};
  bool havePeer = false;
  if (opts.Has("peer") && opts.Get("peer").IsString()) {
    std::string text = opts.Get("peer").As<Napi::String>().Utf8Value();
    if (!ParseAddr(a.family, text, peer)) {
      ThrowType(env, "bad peer address '" + text + "'");
      return env.Undefined();
    }
    havePeer = true;
  }
  netlink::Request req(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<uint8_t>(a.family == 4 ? AF_INET : AF_INET6);
  ifa.ifa_prefixlen = static_cast<uint8_t>(a.prefixLen);
  ifa.ifa_flags = static_cast<uint8_t>(ifaFlags & 0xff);
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  if (opts.Has("scope") && opts.Get("scope").IsNumber()) {
    uint32_t scope = opts.Get("scope").As<Napi::Number>().Uint32Value();
    if (scope > 255) {
      ThrowType(env, "scope must be 0..255");
      return env.Undefined();
    }
    ifa.ifa_scope = static_cast<uint8_t>(scope);
  }
  ifa.ifa_index = static_cast<uint32_t>(a.ifindex);
  req.Body(ifa);
  req.Attr(IFA_LOCAL, a.bytes, len);
  req.Attr(IFA_ADDRESS, havePeer ? peer : a.bytes, len);
  if (ifaFlags != 0) req.AttrU32(IFA_FLAGS, ifaFlags);
  if (a.family == 4 && opts.Has("broadcast") && opts.Get("broadcast").IsString()) {
    std::string text = opts.Get("broadcast").As<Napi::String>().Utf8Value();
    uint8_t brd[16] = {};
    if (!ParseAddr(4, text, brd)) {
      ThrowType(env, "bad broadcast address '" + text + "'");
      return env.Undefined();
    }
    req.Attr(IFA_BROADCAST, brd, 4);
  }
  if (a.family == 6 && opts.Has("preferredLft") && opts.Get("preferredLft").IsNumber()) {
    ifa_cacheinfo ci{};
    ci.ifa_prefered = opts.Get("preferredLft").As<Napi::Number>().Uint32Value();
    ci.ifa_valid = 0xffffffffU;  // INFINITY_LIFE_TIME, as keepalived
    req.Attr(IFA_CACHEINFO, &ci, sizeof ci);
  }
  if (a.family == 4 && opts.Has("label") && opts.Get("label").IsString()) {
    std::string label = opts.Get("label").As<Napi::String>().Utf8Value();
    if (!label.empty()) {
      if (label.size() >= IFNAMSIZ) {
        ThrowType(env, "label longer than 15 characters");
        return env.Undefined();
      }
      req.AttrString(IFA_LABEL, label);
    }
  }
  Outcome o = Exchange(req, [](const nlmsghdr*) {});
  if (o.err != 0) return ThrowOutcome(env, o, "add " + a.text + "/" + std::to_string(a.prefixLen) + " on " + a.ifname);
  return env.Undefined();
}

// addrDel(ifname, family, address, prefixLen, peer?): throws EADDRNOTAVAIL when absent. An IPv4
// address with a peer is matched by its peer (the kernel's inet_rtm_deladdr() compares
// IFA_ADDRESS with the address's own, which is the peer's).
Napi::Value AddrDel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddrArgs a;
  if (!ParseAddrArgs(info, "addrDel(ifname, family, address, prefixLen, peer?)", a)) return env.Undefined();
  AddrArgs match = a;
  if (a.family == 4 && info.Length() > 4 && info[4].IsString()) {
    std::string text = info[4].As<Napi::String>().Utf8Value();
    if (!ParseAddr(4, text, match.bytes)) {
      ThrowType(env, "bad peer address '" + text + "'");
      return env.Undefined();
    }
  }
  netlink::Request req = AddrRequest(RTM_DELADDR, NLM_F_ACK, a, 0);
  if (a.family == 4) {
    req = netlink::Request(RTM_DELADDR, NLM_F_ACK);
    ifaddrmsg ifa{};
    ifa.ifa_family = AF_INET;
    ifa.ifa_prefixlen = static_cast<uint8_t>(a.prefixLen);
    ifa.ifa_index = static_cast<uint32_t>(a.ifindex);
    req.Body(ifa);
    req.Attr(IFA_LOCAL, a.bytes, 4);
    req.Attr(IFA_ADDRESS, match.bytes, 4);
  }
  Outcome o = Exchange(req, [](const nlmsghdr*) {});
  if (o.err != 0) return ThrowOutcome(env, o, "delete " + a.text + "/" + std::to_string(a.prefixLen) + " on " + a.ifname);
  return env.Undefined();
}

// addrList(ifname): [{ family, address, prefixLen, label, flags, ifindex, ifname }]
Napi::Value AddrList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    ThrowType(env, "addrList(ifname)");
    return env.Undefined();
  }
  std::string ifname = info[0].As<Napi::String>().Utf8Value();
  int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (ifindex == 0) {
    ThrowErrno(env, ENODEV, "if_nametoindex", ifname);
    return env.Undefined();
  }
  netlink::Request req(RTM_GETADDR, NLM_F_DUMP);
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_UNSPEC;
  ifa.ifa_index = static_cast<uint32_t>(ifindex);  // filtered by the kernel under strict checking
  req.Body(ifa);
  Napi::Array list = Napi::Array::New(env);
  uint32_t count = 0;
  Outcome o = Exchange(req, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWADDR) return;
    const auto* m = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
    if (static_cast<int>(m->ifa_index) != ifindex) return;
    Napi::Value v = AddrToJs(env, h);
    if (!v.IsUndefined()) list.Set(count++, v);
  });
  if (o.err != 0) return ThrowOutcome(env, o, "list addresses of " + ifname);
  return list;
}

// linkGet(ifname): { ifname, ifindex, flags, mac, operstate } or undefined if there is no such link.
Napi::Value LinkGet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    ThrowType(env, "linkGet(ifname)");
    return env.Undefined();
  }
  std::string ifname = info[0].As<Napi::String>().Utf8Value();
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) return env.Undefined();
  netlink::Request req(RTM_GETLINK, NLM_F_ACK);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  req.Body(ifi);
  req.AttrString(IFLA_IFNAME, ifname);
  req.AttrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  Napi::Value result = env.Undefined();
  Outcome o = Exchange(req, [&](const nlmsghdr* h) {
    if (h->nlmsg_type == RTM_NEWLINK) result = LinkToJs(env, h);
  });
  if (o.err == ENODEV) return env.Undefined();
  if (o.err != 0) return ThrowOutcome(env, o, "get link " + ifname);
  return result;
}

// ---- event subscription -------------------------------------------------------------------

// new NetlinkWatch(onEvent(ev), onError(err), options?: { routes?: boolean, rules?: boolean }); ev is
//   { type: 'link', op: 'new' | 'del', ifname, ifindex, flags, mac, operstate } or
//   { type: 'addr', op: 'add' | 'del', ifname, ifindex, family, address, prefixLen, label, flags },
// and with `routes` { type: 'route', op: 'add' | 'del', route: RouteInfo } (rtm_protocol
// RTPROT_KEEPALIVED only), with `rules` { type: 'rule', op: 'add' | 'del', rule: RuleInfo }. The
// route and rule are nested, not spread: RouteInfo has a `type` of its own (unicast, blackhole...).
class NetlinkWatch : public Napi::ObjectWrap<NetlinkWatch> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "NetlinkWatch", {InstanceMethod<&NetlinkWatch::Close>("close")});
  }

  explicit NetlinkWatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetlinkWatch>(info) {
    Napi::Env env = info.Env();
    const char* usage = "NetlinkWatch(onEvent, onError, options?: { routes?: boolean, rules?: boolean })";
    if (info.Length() < 2 || !info[0].IsFunction() || !info[1].IsFunction() ||
        (info.Length() > 2 && !info[2].IsUndefined() && !info[2].IsObject())) {
      ThrowType(env, usage);
      return;
    }
    bool routes = false;
    bool rules = false;
    if (info.Length() > 2 && info[2].IsObject()) {
      Napi::Object opts = info[2].As<Napi::Object>();
      for (auto [key, flag] : {std::pair<const char*, bool*>{"routes", &routes}, {"rules", &rules}}) {
        Napi::Value v = opts.Get(key);
        if (v.IsUndefined()) continue;
        if (!v.IsBoolean()) {
          ThrowType(env, std::string(usage) + ": options." + key + " must be a boolean");
          return;
        }
        *flag = v.As<Napi::Boolean>().Value();
      }
    }
    fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd_ < 0) {
      ThrowErrno(env, errno, "socket(AF_NETLINK)");
      return;
    }
    int rcvbuf = kWatchRecvBufferBytes;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    local.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
    if (routes) local.nl_groups |= RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
      ThrowErrno(env, errno, "bind(NETLINK_ROUTE)");
      CloseFd();
      return;
    }
    // The rule groups have no RTMGRP_* bit in the legacy bind mask (linux/rtnetlink.h lists
    // RTNLGRP_IPV4_RULE and RTNLGRP_IPV6_RULE only as group numbers): join them one by one.
    if (rules) {
      for (int group : {RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE}) {
        if (setsockopt(fd_, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
          ThrowErrno(env, errno, "setsockopt(NETLINK_ADD_MEMBERSHIP)", group == RTNLGRP_IPV4_RULE ? "RTNLGRP_IPV4_RULE" : "RTNLGRP_IPV6_RULE");
          CloseFd();
          return;
        }
      }
    }
    onEvent_ = Napi::Persistent(info[0].As<Napi::Function>());
    onError_ = Napi::Persistent(info[1].As<Napi::Function>());
    asyncContext_ = std::make_unique<Napi::AsyncContext>(env, "tandem:NetlinkWatch");
    int r = poller_.Start(env, fd_, [this](int status) { OnReadable(status); });
    if (r != 0) {
      ThrowErrno(env, -r, "uv_poll_start");
      CloseFd();
      return;
    }
    Ref();
    referenced_ = true;
  }

  ~NetlinkWatch() override {
    poller_.Stop();
    CloseFd();
  }

 private:
  void CloseFd() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    poller_.Stop();
    CloseFd();
    onEvent_.Reset();
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
    (void)self;
    if (status < 0) {
      poller_.Stop();
      ReportError(env, -status, "uv_poll");
      return;
    }
    for (int i = 0; i < kMaxWatchDatagramsPerWakeup && fd_ >= 0; i++) {
      ssize_t n = recv(fd_, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
      if (n < 0) {
        int err = errno;
        if (err == EINTR) continue;
        if (err == EAGAIN || err == EWOULDBLOCK) return;
        // ENOBUFS: the kernel dropped events (socket buffer overrun). Reading continues; the
        // JS side must re-read the state it cares about.
        ReportError(env, err, "recv(NETLINK_ROUTE)");
        if (err != ENOBUFS) return;
        continue;
      }
      int len = static_cast<int>(n);
      for (auto* h = reinterpret_cast<const nlmsghdr*>(buffer_.data()); NLMSG_OK(h, len) && fd_ >= 0;
           h = NLMSG_NEXT(h, len)) {
        Napi::HandleScope perEvent(env);
        Napi::Value ev = EventToJs(env, h);
        if (!ev.IsUndefined()) CallIntoJs(env, onEvent_, *asyncContext_, {ev});
      }
    }
  }

  static Napi::Value EventToJs(Napi::Env env, const nlmsghdr* h) {
    switch (h->nlmsg_type) {
      case RTM_NEWLINK:
      case RTM_DELLINK: {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) return env.Undefined();
        Napi::Object o = LinkToJs(env, h);
        o.Set("type", "link");
        o.Set("op", h->nlmsg_type == RTM_NEWLINK ? "new" : "del");
        return o;
      }
      case RTM_NEWADDR:
      case RTM_DELADDR: {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg))) return env.Undefined();
        Napi::Value v = AddrToJs(env, h);
        if (v.IsUndefined()) return v;
        Napi::Object o = v.As<Napi::Object>();
        o.Set("type", "addr");
        o.Set("op", h->nlmsg_type == RTM_NEWADDR ? "add" : "del");
        return o;
      }
      case RTM_NEWROUTE:
      case RTM_DELROUTE: {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(rtmsg))) return env.Undefined();
        // Only routes that carry keepalived's protocol (ours, or another keepalived's): a host
        // running BIRD or FRR with a full Internet table changes hundreds of thousands of routes
        // at a session flap, and each one turned into a JS object and a callback would flood
        // the event loop the VRRP machines run on. The test is on the raw rtmsg, before any
        // parsing. (The kernel still queues them on this socket: an overrun is ENOBUFS below.)
        const auto* rtm = static_cast<const rtmsg*>(NLMSG_DATA(h));
        if (rtm->rtm_protocol != RTPROT_KEEPALIVED || (rtm->rtm_flags & RTM_F_CLONED) != 0) return env.Undefined();
        return Wrapped(env, "route", h->nlmsg_type == RTM_NEWROUTE, route::RouteToJs(env, h));
      }
      case RTM_NEWRULE:
      case RTM_DELRULE: {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(fib_rule_hdr))) return env.Undefined();
        return Wrapped(env, "rule", h->nlmsg_type == RTM_NEWRULE, route::RuleToJs(env, h));
      }
      default:
        return env.Undefined();
    }
  }

  // { type: KIND, op: 'add' | 'del', KIND: entry }: the entry has a `type` of its own (a route's
  // unicast, blackhole, ...), so it is nested rather than spread.
  static Napi::Value Wrapped(Napi::Env env, const char* kind, bool added, Napi::Value entry) {
    if (entry.IsUndefined()) return entry;
    Napi::Object o = Napi::Object::New(env);
    o.Set("type", kind);
    o.Set("op", added ? "add" : "del");
    o.Set(kind, entry);
    return o;
  }

  void ReportError(Napi::Env env, int err, const char* syscall) {
    Napi::Error e = ErrnoError(env, err, syscall);
    CallIntoJs(env, onError_, *asyncContext_, {e.Value()});
  }

  int fd_ = -1;
  bool referenced_ = false;
  std::vector<uint8_t> buffer_ = std::vector<uint8_t>(kWatchBufferBytes);
  FdPoller poller_;
  Napi::FunctionReference onEvent_;
  Napi::FunctionReference onError_;
  std::unique_ptr<Napi::AsyncContext> asyncContext_;
};

}  // namespace

void InitRtnetlink(Napi::Env env, Napi::Object exports) {
  exports.Set("addrAdd", Napi::Function::New<AddrAdd>(env, "addrAdd"));
  exports.Set("addrDel", Napi::Function::New<AddrDel>(env, "addrDel"));
  exports.Set("addrList", Napi::Function::New<AddrList>(env, "addrList"));
  exports.Set("linkGet", Napi::Function::New<LinkGet>(env, "linkGet"));
  exports.Set("NetlinkWatch", NetlinkWatch::Init(env));
}

}  // namespace tandem

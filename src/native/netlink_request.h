// One synchronous rtnetlink exchange (RFC 3549; linux/netlink.h, linux/rtnetlink.h), shared by
// every request/reply call of the addon: addresses and link state (rtnetlink.cc), links
// (rtnetlink_link.cc), tunnels (rtnetlink_tunnel.cc), routes and rules (rtnetlink_route.cc).
//
// - Request builds one message: the nlmsghdr, the fixed family header (ifinfomsg, ifaddrmsg,
//   rtmsg, fib_rule_hdr, ...), then attributes, nested ones included.
// - Exchange() sends it on a fresh NETLINK_ROUTE socket and reads the reply up to the ack
//   (NLM_F_ACK requests) or NLMSG_DONE (dumps), handing each data message to a callback; a
//   failure comes back as the ack's errno with the kernel's extended-ack text.
// - Attrs indexes the attributes of a reply message (or of a nested attribute) by type.
//
// Synchronous on purpose: the kernel answers a change in ~0.1 ms, far less than spawning `ip`
// (~3 ms), and the callers (the VRRP driver adding a VIP before it announces it, a route before
// the instance reports MASTER) need the change in place when the call returns.
#pragma once

#include "common.h"

// <net/if.h> before any linux/ header: glibc's and the kernel's if.h only coexist in that order
// (linux/libc-compat.h), and linux/if_tunnel.h pulls in linux/if.h.
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tandem {
namespace netlink {

// ---- request building -------------------------------------------------------------------

// Every part is appended at the 4-byte aligned end of the message (NLMSG_ALIGN / RTA_ALIGN);
// nlmsg_len counts the last part unpadded, as the kernel accepts.
class Request {
 public:
  // NLM_F_REQUEST is always set; pass NLM_F_ACK for a change or a single GET (the reply then
  // ends with the ack), NLM_F_DUMP for a dump (it ends with NLMSG_DONE).
  Request(uint16_t type, uint16_t flags);

  // The fixed header that follows nlmsghdr (ifinfomsg, rtmsg, ...), appended once, first.
  template <typename T>
  void Body(const T& body) {
    Append(&body, sizeof body);
  }

  void Attr(uint16_t type, const void* data, size_t len);
  void AttrU8(uint16_t type, uint8_t v) { Attr(type, &v, sizeof v); }
  void AttrU32(uint16_t type, uint32_t v) { Attr(type, &v, sizeof v); }
  // NUL-terminated, as the kernel's NLA_STRING / NLA_NUL_STRING policies expect.
  void AttrString(uint16_t type, const std::string& s) { Attr(type, s.c_str(), s.size() + 1); }

  // A nested attribute (IFLA_LINKINFO, RTA_METRICS, RTA_MULTIPATH, ...): BeginNested() returns
  // its offset, EndNested() sets its length to cover what was appended since.
  size_t BeginNested(uint16_t type);
  void EndNested(size_t at);

  // Raw bytes (e.g. a struct rtnexthop inside RTA_MULTIPATH); returns their offset.
  size_t Append(const void* data, size_t len);

  // The object at `offset` (from Append / BeginNested). Valid until the next append: the buffer
  // may move.
  template <typename T>
  T* At(size_t offset) {
    return reinterpret_cast<T*>(buf_.data() + offset);
  }

  // The message length so far (nlmsg_len).
  size_t Length() { return Header()->nlmsg_len; }
  nlmsghdr* Header() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }

 private:
  std::vector<uint8_t> buf_;
};

// ---- one request / reply exchange -------------------------------------------------------

struct Outcome {
  int err = 0;  // 0 or an errno
  const char* syscall = "rtnetlink";
  std::string detail;  // the kernel's extended-ack text (NLMSGERR_ATTR_MSG), if any
};

// Sends `req` and calls onMessage for each data message of the reply, until the ack
// (NLMSG_ERROR with error 0: success) or NLMSG_DONE (a dump's end). Callers filter by
// nlmsg_type. A reply that does not come within 2 s is ETIMEDOUT.
Outcome Exchange(Request& req, const std::function<void(const nlmsghdr*)>& onMessage);

// Exchange() for a request whose reply carries no data (an add, a delete, a change).
inline Outcome Exchange(Request& req) {
  return Exchange(req, [](const nlmsghdr*) {});
}

// Throws the failed outcome as a SystemError (common.h ErrnoError): "<syscall> <CODE> (<text>):
// <what>: <extack>". Returns undefined for `return ThrowOutcome(...)`.
Napi::Value ThrowOutcome(Napi::Env env, const Outcome& o, const std::string& what);

// The kernel's extended-ack text of an NLMSG_ERROR or NLMSG_DONE message ('' if none).
std::string ExtackMessage(const nlmsghdr* h);

// ---- reply parsing ----------------------------------------------------------------------

// The attributes of one message or nested attribute, indexed by type (NLA_F_NESTED and
// NLA_F_NET_BYTEORDER masked off; later duplicates win; types >= kMax ignored).
class Attrs {
 public:
  static constexpr int kMax = 64;

  Attrs(const rtattr* first, int len);

  // The attributes after the fixed header T (ifinfomsg, rtmsg, ...) of message `h`. The caller
  // has checked h->nlmsg_len >= NLMSG_LENGTH(sizeof(T)).
  template <typename T>
  static Attrs After(const nlmsghdr* h) {
    const auto* first = reinterpret_cast<const rtattr*>(static_cast<const uint8_t*>(NLMSG_DATA(h)) + NLMSG_ALIGN(sizeof(T)));
    return Attrs(first, static_cast<int>(h->nlmsg_len) - static_cast<int>(NLMSG_SPACE(sizeof(T))));
  }

  // The attributes nested in `a`.
  static Attrs Nested(const rtattr* a) {
    return Attrs(static_cast<const rtattr*>(RTA_DATA(a)), static_cast<int>(RTA_PAYLOAD(a)));
  }

  const rtattr* Get(int type) const { return type >= 0 && type < kMax ? byType_[type] : nullptr; }
  bool Has(int type) const { return Get(type) != nullptr; }
  // The value of a u8 / u32 attribute, or `otherwise` when it is absent or too short.
  uint8_t U8(int type, uint8_t otherwise = 0) const;
  uint32_t U32(int type, uint32_t otherwise = 0) const;
  // A string attribute without its NUL, bounded by the payload ('' when absent).
  std::string String(int type) const;

 private:
  const rtattr* byType_[kMax] = {};
};

// ---- reply text ---------------------------------------------------------------------------

// The interface name of `ifindex` ('' once the interface is gone).
std::string IfindexToName(int ifindex);

// A link-layer address attribute as lowercase colon-separated hex ('' when absent).
std::string FormatHwAddr(const rtattr* a);

}  // namespace netlink
}  // namespace tandem

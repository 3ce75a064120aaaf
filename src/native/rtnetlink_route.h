// The route and rule messages as rtnetlink_route.cc reads them, for the event watch in
// rtnetlink.cc: one reader for a dump entry and an event.
#pragma once

#include "netlink_request.h"

namespace tandem {
namespace route {

// RTM_NEWROUTE / RTM_DELROUTE -> a RouteInfo (src/net/routes.ts) object, or undefined for a
// family other than IPv4 / IPv6. The caller has checked nlmsg_len >= NLMSG_LENGTH(sizeof(rtmsg)).
Napi::Value RouteToJs(Napi::Env env, const nlmsghdr* h);

// RTM_NEWRULE / RTM_DELRULE -> a RuleInfo object, or undefined for a family other than IPv4 /
// IPv6. The caller has checked nlmsg_len >= NLMSG_LENGTH(sizeof(fib_rule_hdr)).
Napi::Value RuleToJs(Napi::Env env, const nlmsghdr* h);

}  // namespace route
}  // namespace tandem

// The link calls of rtnetlink_link.cc for the addon's other files (rtnetlink_tunnel.cc): one
// implementation of RTM_DELLINK, IFF_UP and the link-kind read, whatever JS function fronts it.
// Each returns the exchange's Outcome; the JS wrappers word their own errors.
#pragma once

#include "netlink_request.h"

#include <cstdint>
#include <string>

namespace tandem {
namespace link {

// RTM_DELLINK of the link `ifindex` (its addresses and routes go with it).
netlink::Outcome Delete(int ifindex);

// IFF_UP on or off (ifi_change names the one flag changed, so nothing else moves).
netlink::Outcome SetUp(int ifindex, bool up);

// What RTM_GETLINK says of a link's kind: IFLA_INFO_KIND ('' for a link without
// IFLA_LINKINFO: lo, a NIC), IFLA_LINK, IFLA_ADDRESS and a macvlan's IFLA_MACVLAN_MODE.
struct Kind {
  bool found = false;  // false: the kernel answered without a link (it vanished meanwhile)
  int ifindex = 0;
  std::string kind;
  uint32_t parentIfindex = 0;  // IFLA_LINK: a macvlan's parent, a veth's peer; 0 when absent
  std::string mac;
  std::string macvlanMode;  // 'private' | 'bridge' | 'vepa' | 'passthru' | 'other', '' if not a macvlan
};

// RTM_GETLINK by index. ENODEV when there is no such link.
netlink::Outcome Describe(int ifindex, Kind& out);

}  // namespace link
}  // namespace tandem

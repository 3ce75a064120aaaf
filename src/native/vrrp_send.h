// Sending one VRRP advert on a raw protocol-112 socket, shared by VrrpSocket::Send (the JS
// thread) and the advert sender thread (advert_sender.cc). The socket was opened by
// vrrp_socket.cc: TTL / hop limit 255 (RFC 5798 §5.1.1.3 / §5.1.2.3) and the interface are
// socket options; the source address rides on each sendmsg as IP_PKTINFO / IPV6_PKTINFO.
// No N-API here: the thread must not touch JS.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace tandem {

// A parsed (destination, source) pair on one interface: parsing once lets the thread send
// without string work.
struct VrrpDest {
  int family = 4;
  int ifindex = 0;
  in_addr dst4{};
  in_addr src4{};
  in6_addr dst6{};
  in6_addr src6{};
};

// Returns false on bad address text (the caller throws).
inline bool ParseVrrpDest(int family, int ifindex, const std::string& dst, const std::string& src, VrrpDest* out) {
  out->family = family;
  out->ifindex = ifindex;
  if (family == 4) {
    return inet_pton(AF_INET, dst.c_str(), &out->dst4) == 1 && inet_pton(AF_INET, src.c_str(), &out->src4) == 1;
  }
  return inet_pton(AF_INET6, dst.c_str(), &out->dst6) == 1 && inet_pton(AF_INET6, src.c_str(), &out->src6) == 1;
}

// sendmsg(2) of one VRRP message to d. Returns 0, or the errno of the failed send.
inline int VrrpSendmsg(int fd, const VrrpDest& d, const uint8_t* data, size_t len) {
  iovec iov{const_cast<uint8_t*>(data), len};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
  sockaddr_in to4{};
  sockaddr_in6 to6{};
  msg.msg_control = control;
  if (d.family == 4) {
    to4.sin_family = AF_INET;
    to4.sin_addr = d.dst4;
    in_pktinfo pi{};
    // ipi_spec_dst picks the source address of the packet the kernel builds.
    pi.ipi_spec_dst = d.src4;
    pi.ipi_ifindex = d.ifindex;
    msg.msg_name = &to4;
    msg.msg_namelen = sizeof to4;
    msg.msg_controllen = CMSG_SPACE(sizeof pi);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof pi);
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  } else {
    to6.sin6_family = AF_INET6;
    to6.sin6_addr = d.dst6;
    // Link-local unicast peers and ff02::12 need the zone; harmless for global peers.
    to6.sin6_scope_id = static_cast<uint32_t>(d.ifindex);
    in6_pktinfo pi{};
    pi.ipi6_addr = d.src6;
    pi.ipi6_ifindex = static_cast<unsigned>(d.ifindex);
    msg.msg_name = &to6;
    msg.msg_namelen = sizeof to6;
    msg.msg_controllen = CMSG_SPACE(sizeof pi);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof pi);
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  }
  ssize_t n;
  do {
    n = sendmsg(fd, &msg, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? errno : 0;
}

}  // namespace tandem

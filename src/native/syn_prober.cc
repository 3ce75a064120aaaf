// Half-open TCP probes on raw sockets (syn_prober.h says why and how).
#include "syn_prober.h"

#include <linux/errqueue.h>
#include <linux/filter.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tandem {
namespace {

constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10;
// What a SYN of ours says besides its ports and sequence number: Linux's own SYN without
// timestamps (MSS, SACK permitted, window scale 7), so a server or firewall sees an ordinary SYN.
constexpr size_t kTcpLen = 32;  // 20 bytes of header + 12 of options
constexpr uint16_t kWindow = 64240;
constexpr int kRcvBuf = 4 << 20;  // a second of SYN-ACKs at 10,000 probes a second, with room
constexpr size_t kBatch = 64;     // recvmmsg entries per call

void Put16(uint8_t* p, uint16_t v) { p[0] = static_cast<uint8_t>(v >> 8); p[1] = static_cast<uint8_t>(v); }
void Put32(uint8_t* p, uint32_t v) { Put16(p, static_cast<uint16_t>(v >> 16)); Put16(p + 2, static_cast<uint16_t>(v)); }
uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Get32(const uint8_t* p) { return static_cast<uint32_t>(Get16(p)) << 16 | Get16(p + 2); }

// RFC 1071 one's-complement sum of big-endian 16-bit words (byte-wise: no aliasing games).
uint32_t Sum(const void* data, size_t len, uint32_t sum) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  for (; len > 1; p += 2, len -= 2) sum += static_cast<uint32_t>(p[0] << 8 | p[1]);
  if (len == 1) sum += static_cast<uint32_t>(p[0] << 8);
  return sum;
}
uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// The TCP checksum of `tcp` (RFC 793 §3.1 pseudo-header; RFC 8200 §8.1 for IPv6).
uint16_t TcpChecksum(const SockAddr& src, const SockAddr& dst, const uint8_t* tcp, size_t len) {
  uint32_t s = 0;
  if (src.sa.sa_family == AF_INET) {
    s = Sum(&src.v4.sin_addr, 4, s);
    s = Sum(&dst.v4.sin_addr, 4, s);
  } else {
    s = Sum(&src.v6.sin6_addr, 16, s);
    s = Sum(&dst.v6.sin6_addr, 16, s);
  }
  s += IPPROTO_TCP;
  s += static_cast<uint32_t>(len);
  return Fold(Sum(tcp, len, s));
}

socklen_t LenOf(int family) { return family == 4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6); }

}  // namespace

void SynProber::Close() {
  for (int* fd : {&raw4_, &raw6_, &hold4_, &hold6_, &route4_, &route6_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  port4_ = port6_ = 0;
  queue4_.clear();
  queue6_.clear();
}

int SynProber::Open(int family) {
  if (IsOpen(family)) return 0;
  int af = family == 4 ? AF_INET : AF_INET6;
  int raw = socket(af, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (raw < 0) return errno;
  int hold = socket(af, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
  int route = socket(af, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  auto fail = [&](int err) {
    for (int fd : {raw, hold, route}) {
      if (fd >= 0) close(fd);
    }
    return err;
  };
  if (hold < 0 || route < 0) return fail(errno);
  int one = 1;
  if (family == 6) setsockopt(hold, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  SockAddr any{};
  any.sa.sa_family = static_cast<sa_family_t>(af);
  socklen_t len = LenOf(family);
  if (bind(hold, &any.sa, len) < 0 || getsockname(hold, &any.sa, &len) < 0) return fail(errno);
  uint16_t port = family == 4 ? any.v4.sin_port : any.v6.sin6_port;

  // Only segments to our port with SYN or RST set pass (the checks on ACK and the sequence
  // number are the caller's): every other TCP segment this host receives stops in the filter.
  // IPv4 raw sockets see the IP header (its length from the first byte), IPv6 ones do not.
  const uint32_t hport = ntohs(port);
  sock_filter f4[] = {
      BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
      BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, hport, 0, 3),
      BPF_STMT(BPF_LD | BPF_B | BPF_IND, 13),
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, kSyn | kRst, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 256),
      BPF_STMT(BPF_RET | BPF_K, 0),
  };
  sock_filter f6[] = {
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 2),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, hport, 0, 3),
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, kSyn | kRst, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 256),
      BPF_STMT(BPF_RET | BPF_K, 0),
  };
  sock_fprog prog{};
  if (family == 4) {
    prog.len = sizeof f4 / sizeof f4[0];
    prog.filter = f4;
  } else {
    prog.len = sizeof f6 / sizeof f6[0];
    prog.filter = f6;
  }
  if (setsockopt(raw, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0) return fail(errno);
  // Before the filter was attached the socket may have queued anything: empty it.
  char junk[256];
  for (int i = 0; i < 100000 && recv(raw, junk, sizeof junk, MSG_DONTWAIT) >= 0; i++) {
  }
  // FORCE needs CAP_NET_ADMIN (the daemon has it); without it the sysctl's maximum applies.
  if (setsockopt(raw, SOL_SOCKET, SO_RCVBUFFORCE, &kRcvBuf, sizeof kRcvBuf) < 0) {
    setsockopt(raw, SOL_SOCKET, SO_RCVBUF, &kRcvBuf, sizeof kRcvBuf);
  }
  if (family == 4) setsockopt(raw, IPPROTO_IP, IP_RECVERR, &one, sizeof one);
  else setsockopt(raw, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof one);
  setsockopt(raw, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  if (family == 4) {
    raw4_ = raw, hold4_ = hold, route4_ = route, port4_ = port;
  } else {
    raw6_ = raw, hold6_ = hold, route6_ = route, port6_ = port;
  }
  return 0;
}

int SynProber::SourceFor(const SockAddr& to, const SockAddr* bindAt, SockAddr* src) {
  int family = to.sa.sa_family == AF_INET ? 4 : 6;
  socklen_t len = LenOf(family);
  SockAddr dst = to;
  // A UDP connect() runs the same route lookup and source selection as a TCP one; the port
  // does not matter to either.
  int fd = family == 4 ? route4_ : route6_;
  bool own = bindAt != nullptr;
  if (own) {
    fd = socket(to.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd < 0) return errno;
    SockAddr b = *bindAt;
    if (family == 4) b.v4.sin_port = 0;
    else b.v6.sin6_port = 0;
    if (bind(fd, &b.sa, len) < 0) {
      int err = errno;
      close(fd);
      return err;
    }
  }
  if (fd < 0) return EBADF;
  if (!own) {
    // A connect() fixes the socket's source address until it is disconnected (AF_UNSPEC resets
    // it: udp_disconnect's inet_reset_saddr); without that the next target would inherit it.
    sockaddr unspec{};
    unspec.sa_family = AF_UNSPEC;
    connect(fd, &unspec, sizeof unspec);
  }
  int err = 0;
  if (connect(fd, &dst.sa, len) < 0) err = errno;
  std::memset(src, 0, sizeof *src);
  socklen_t got = len;
  if (err == 0 && getsockname(fd, &src->sa, &got) < 0) err = errno;
  if (own) close(fd);
  if (err != 0) return err;
  if (family == 4) src->v4.sin_port = 0;
  else src->v6.sin6_port = 0;
  return 0;
}

void SynProber::Queue(const SockAddr& to, const SockAddr& src, uint32_t seq, uint32_t id) {
  int family = to.sa.sa_family == AF_INET ? 4 : 6;
  std::vector<Pending>& q = family == 4 ? queue4_ : queue6_;
  q.emplace_back();
  Pending& p = q.back();
  p.id = id;
  p.seq = seq;
  uint8_t* tcp = p.tcp;
  std::memset(tcp, 0, kTcpLen);
  uint16_t dport = family == 4 ? to.v4.sin_port : to.v6.sin6_port;
  std::memcpy(tcp, family == 4 ? &port4_ : &port6_, 2);
  std::memcpy(tcp + 2, &dport, 2);
  Put32(tcp + 4, seq);
  tcp[12] = static_cast<uint8_t>((kTcpLen / 4) << 4);
  tcp[13] = kSyn;
  Put16(tcp + 14, kWindow);
  uint8_t* o = tcp + 20;
  const uint16_t mss = family == 4 ? 1460 : 1440;
  o[0] = 2, o[1] = 4, Put16(o + 2, mss);  // MSS
  o[4] = 1, o[5] = 1, o[6] = 4, o[7] = 2;  // NOP NOP SACK-permitted
  o[8] = 1, o[9] = 3, o[10] = 3, o[11] = 7;  // NOP window scale 7
  Put16(tcp + 16, TcpChecksum(src, to, tcp, kTcpLen));

  p.dst = to;
  if (family == 4) p.dst.v4.sin_port = 0;
  else p.dst.v6.sin6_port = 0;  // rawv6_sendmsg: a port other than 0 or the protocol is EINVAL
  std::memset(p.cbuf, 0, sizeof p.cbuf);
  cmsghdr* c = reinterpret_cast<cmsghdr*>(p.cbuf);
  if (family == 4) {
    p.clen = CMSG_SPACE(sizeof(in_pktinfo));
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo pi{};
    pi.ipi_spec_dst = src.v4.sin_addr;
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  } else {
    p.clen = CMSG_SPACE(sizeof(in6_pktinfo));
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
    in6_pktinfo pi{};
    pi.ipi6_addr = src.v6.sin6_addr;
    pi.ipi6_ifindex = to.v6.sin6_scope_id;
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  }
}

void SynProber::Flush(std::vector<SendFailure>* failed) {
  FlushFamily(4, &queue4_, failed);
  FlushFamily(6, &queue6_, failed);
}

void SynProber::FlushFamily(int family, std::vector<Pending>* q, std::vector<SendFailure>* failed) {
  if (q->empty()) return;
  int fd = Fd(family);
  size_t n = q->size();
  msgs_.assign(n, mmsghdr{});
  iovs_.resize(n);
  for (size_t i = 0; i < n; i++) {
    Pending& p = (*q)[i];
    iovs_[i] = {p.tcp, kTcpLen};
    msghdr& m = msgs_[i].msg_hdr;
    m.msg_name = &p.dst;
    m.msg_namelen = LenOf(family);
    m.msg_iov = &iovs_[i];
    m.msg_iovlen = 1;
    m.msg_control = p.cbuf;
    m.msg_controllen = p.clen;
  }
  // sendmmsg stops at the first message that fails and reports the ones before it as sent: the
  // next call starts with the failing one, whose errno it then returns.
  size_t i = 0;
  for (size_t guard = 0; i < n && guard < 2 * n + 8; guard++) {
    int sent = fd < 0 ? -1 : sendmmsg(fd, &msgs_[i], static_cast<unsigned>(n - i), MSG_DONTWAIT);
    if (sent > 0) {
      i += static_cast<size_t>(sent);
      continue;
    }
    int err = fd < 0 ? EBADF : errno;
    if (sent < 0 && err == EINTR) continue;
    failed->push_back(SendFailure{(*q)[i].id, (*q)[i].seq, sent == 0 ? EAGAIN : err});
    i++;
  }
  for (; i < n; i++) failed->push_back(SendFailure{(*q)[i].id, (*q)[i].seq, EINTR});
  q->clear();
}

void SynProber::Drain(int family, std::vector<SynReply>* out, size_t max) {
  DrainAnswers(family, out, max);
  DrainErrors(family, out, max);
}

void SynProber::DrainAnswers(int family, std::vector<SynReply>* out, size_t max) {
  int fd = Fd(family);
  if (fd < 0) return;
  uint8_t bufs[kBatch][256];
  SockAddr names[kBatch];
  iovec iovs[kBatch];
  mmsghdr msgs[kBatch];
  alignas(cmsghdr) char cbufs[kBatch][CMSG_SPACE(sizeof(timespec))];
  for (size_t guard = 0; guard < 1024 && out->size() < max; guard++) {
    for (size_t i = 0; i < kBatch; i++) {
      iovs[i] = {bufs[i], sizeof bufs[i]};
      std::memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_name = &names[i];
      msgs[i].msg_hdr.msg_namelen = sizeof names[i];
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = cbufs[i];
      msgs[i].msg_hdr.msg_controllen = sizeof cbufs[i];
    }
    int n = recvmmsg(fd, msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < n; i++) {
      const uint8_t* p = bufs[i];
      size_t len = msgs[i].msg_len;
      size_t off = 0;
      if (family == 4) {
        if (len < 20) continue;
        off = static_cast<size_t>(p[0] & 0x0f) * 4;
      }
      if (len < off + 20) continue;
      const uint8_t* th = p + off;
      uint8_t flags = th[13];
      // An answer to a SYN acknowledges it: SYN-ACK (open) or RST-ACK (nothing listens,
      // RFC 793 §3.4). A RST without ACK, or a bare SYN, is nobody's answer to us.
      if ((flags & kAck) == 0 || (flags & kFin) != 0) continue;
      SynReply r{};
      if ((flags & (kSyn | kRst)) == kSyn) r.kind = SynReply::kSynAck;
      else if ((flags & (kSyn | kRst)) == kRst) r.kind = SynReply::kReset;
      else continue;
      r.seq = Get32(th + 8) - 1;
      r.peer = names[i];
      for (cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c != nullptr; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
          timespec ts;
          std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
          r.rxWallNs = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
        }
      }
      uint16_t sport;
      std::memcpy(&sport, th, 2);
      if (family == 4) r.peer.v4.sin_port = sport;
      else r.peer.v6.sin6_port = sport;
      out->push_back(r);
    }
    if (static_cast<size_t>(n) < kBatch) return;
  }
}

void SynProber::DrainErrors(int family, std::vector<SynReply>* out, size_t max) {
  int fd = Fd(family);
  if (fd < 0) return;
  for (size_t guard = 0; guard < 4096 && out->size() < max; guard++) {
    uint8_t data[64];
    SockAddr name{};
    alignas(cmsghdr) char cbuf[512];
    iovec iov{data, sizeof data};
    msghdr msg{};
    msg.msg_name = &name;
    msg.msg_namelen = sizeof name;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof cbuf;
    ssize_t n = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    const sock_extended_err* ee = nullptr;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
          (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
        ee = reinterpret_cast<const sock_extended_err*>(CMSG_DATA(c));
      }
    }
    // The quoted segment starts at our TCP header (raw_err / rawv6_err: the payload after the
    // IP header): ports, then the sequence number of the SYN the error is about.
    if (ee == nullptr || ee->ee_errno == 0 || n < 8) continue;
    uint16_t srcPort;
    std::memcpy(&srcPort, data, 2);
    if (srcPort != PortOf(family)) continue;
    SynReply r{};
    r.kind = SynReply::kError;
    r.err = static_cast<int>(ee->ee_errno);
    r.seq = Get32(data + 4);
    r.peer = name;
    uint16_t dport;
    std::memcpy(&dport, data + 2, 2);
    if (family == 4) r.peer.v4.sin_port = dport;
    else r.peer.v6.sin6_port = dport;
    out->push_back(r);
  }
}

}  // namespace tandem

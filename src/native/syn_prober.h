// Half-open TCP probes on raw sockets: the SYN leaves from a raw IPPROTO_TCP socket, the answer
// (SYN-ACK, RST, or an ICMP error quoting the SYN) comes back on it, and the kernel itself answers
// the SYN-ACK with a RST because no socket owns the 4-tuple. On the wire that is exactly what
// tcp_check_engine.cc's connect() probe does (SYN, SYN-ACK, RST: quick ACKs off and SO_LINGER 0,
// as HAProxy's checks), without a socket, a connect(), an epoll registration and a close() per
// probe: half the CPU at 10,000 probes a second (docs/benchmarks.md, issue 15).
//
// Used by one thread only (the check engine's). One raw socket per family, opened on first use,
// with a classic BPF filter so that only segments with SYN or RST to our source port reach us,
// and IP_RECVERR / IPV6_RECVERR so that ICMP errors about our SYNs come back on its error queue
// (the errno the kernel gives a connect() for the same ICMP: icmp_err_convert). The source port
// is reserved by a TCP socket bound to it and never listening: the kernel never hands it to a
// connect() (inet_hash_connect skips bound ports), and a SYN-ACK to it finds no socket, so
// tcp_v4_rcv / tcp_v6_rcv answer it with a RST, which is the probe's close.
//
// The TCP checksum covers the source address, so a SYN's source is chosen here, as connect()
// would choose it (a UDP socket connected to the target, getsockname), and passed to the kernel
// in IP_PKTINFO / IPV6_PKTINFO so that the packet leaves with the address it was summed with.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <vector>

namespace tandem {

union SockAddr {
  sockaddr sa;
  sockaddr_in v4;
  sockaddr_in6 v6;
};

struct SynReply {
  enum Kind : uint8_t { kSynAck, kReset, kError };
  Kind kind;
  uint32_t seq;   // our SYN's sequence number (a reply's ack - 1; an error's quoted seq)
  int err;        // kError: the errno (ECONNREFUSED, EHOSTUNREACH, ...)
  SockAddr peer;  // who answered (kError: the SYN's destination), port included
  int64_t rxWallNs;  // the kernel's receive time (SO_TIMESTAMPNS, CLOCK_REALTIME); 0: none
};

class SynProber {
 public:
  SynProber() = default;
  SynProber(const SynProber&) = delete;
  SynProber& operator=(const SynProber&) = delete;
  ~SynProber() { Close(); }
  // Closes the sockets (the source ports are free again); Open may be called again after.
  void Close();

  // Opens family's raw socket (4 or 6) and reserves its source port. 0, or the errno (EPERM
  // without CAP_NET_RAW). The socket is not in any epoll set: the caller drains it at its own
  // pace (answers carry the kernel's receive time, so reading late does not skew latency).
  int Open(int family);
  bool IsOpen(int family) const { return Fd(family) >= 0; }

  // The source a connect() to `to` would use (with `bind` non-null: that address, checked to be
  // local as bind() checks it). 0 or the errno (EADDRNOTAVAIL, ENETUNREACH, EHOSTUNREACH, ...).
  int SourceFor(const SockAddr& to, const SockAddr* bind, SockAddr* src);

  // Queues one SYN with sequence number `seq` from `src` (the address SourceFor gave) and our
  // reserved port, for `id`; Flush sends what is queued, one sendmmsg per family (a wake-up's
  // starts leave in one system call instead of one each).
  void Queue(const SockAddr& to, const SockAddr& src, uint32_t seq, uint32_t id);
  struct SendFailure {
    uint32_t id;
    uint32_t seq;
    int err;  // sendmsg's errno: ENETUNREACH, EINVAL, ENOBUFS, ...
  };
  // Sends the queued SYNs; appends one entry per SYN that could not be sent.
  void Flush(std::vector<SendFailure>* failed);

  // Appends what family's socket has queued (answers, then errors), at most `max` entries.
  void Drain(int family, std::vector<SynReply>* out, size_t max);

  uint16_t PortOf(int family) const { return family == 4 ? port4_ : port6_; }

 private:
  int Fd(int family) const { return family == 4 ? raw4_ : raw6_; }
  void DrainAnswers(int family, std::vector<SynReply>* out, size_t max);
  void DrainErrors(int family, std::vector<SynReply>* out, size_t max);

  struct Pending {
    uint8_t tcp[32];
    SockAddr dst;
    alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(in6_pktinfo))];
    size_t clen;
    uint32_t id;
    uint32_t seq;
  };
  void FlushFamily(int family, std::vector<Pending>* q, std::vector<SendFailure>* failed);

  std::vector<Pending> queue4_, queue6_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
  int raw4_ = -1, raw6_ = -1;        // the raw sockets
  int hold4_ = -1, hold6_ = -1;      // the TCP sockets holding the source ports
  int route4_ = -1, route6_ = -1;    // UDP sockets for SourceFor (re-connected per lookup)
  uint16_t port4_ = 0, port6_ = 0;   // network order
};

}  // namespace tandem

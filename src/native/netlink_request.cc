// The out-of-line half of netlink_request.h: the request buffer, the socket and the exchange
// loop, the extended-ack text, and the reply attribute index.
#include "netlink_request.h"

#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace tandem {
namespace netlink {
namespace {

constexpr size_t kReplyBufferBytes = 64 * 1024;  // the kernel builds dump datagrams of at most 32 KiB
constexpr int kMaxReplyDatagrams = 100000;       // bound on one dump (each datagram holds many entries)
constexpr int kReplyTimeoutSeconds = 2;

// A fresh socket per exchange: no stale replies from an earlier timed-out call, nothing shared
// between worker threads. Opening one costs a few microseconds.
class RtnlSocket {
 public:
  RtnlSocket() {
    fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd_ < 0) return;
    int on = 1;
    // Best effort: older kernels lack these; errors then come without text, dumps unfiltered.
    // NETLINK_CAP_ACK: the ack does not echo our whole request back. NETLINK_EXT_ACK: it carries
    // the kernel's reason ("Nexthop has invalid gateway"). NETLINK_GET_STRICT_CHK: a dump honours
    // its filter (RTA_TABLE, the ifindex of RTM_GETADDR) and a GET with stray fields is refused.
    setsockopt(fd_, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on);
    setsockopt(fd_, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on);
    setsockopt(fd_, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &on, sizeof on);
    timeval tv{kReplyTimeoutSeconds, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  RtnlSocket(const RtnlSocket&) = delete;
  RtnlSocket& operator=(const RtnlSocket&) = delete;
  ~RtnlSocket() {
    if (fd_ >= 0) close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace

// ---- Request --------------------------------------------------------------------------------

Request::Request(uint16_t type, uint16_t flags) : buf_(NLMSG_SPACE(0), 0) {
  Header()->nlmsg_type = type;
  Header()->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  Header()->nlmsg_len = NLMSG_LENGTH(0);
}

size_t Request::Append(const void* data, size_t len) {
  size_t at = NLMSG_ALIGN(Header()->nlmsg_len);
  buf_.resize(at + NLMSG_ALIGN(len), 0);
  if (len > 0) std::memcpy(buf_.data() + at, data, len);
  Header()->nlmsg_len = static_cast<uint32_t>(at + len);
  return at;
}

void Request::Attr(uint16_t type, const void* data, size_t len) {
  rtattr a{};
  a.rta_type = type;
  a.rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
  Append(&a, sizeof a);
  if (len > 0) Append(data, len);
}

size_t Request::BeginNested(uint16_t type) {
  size_t at = NLMSG_ALIGN(Header()->nlmsg_len);
  Attr(type, nullptr, 0);
  return at;
}

void Request::EndNested(size_t at) {
  At<rtattr>(at)->rta_len = static_cast<uint16_t>(Header()->nlmsg_len - at);
}

// ---- Exchange -------------------------------------------------------------------------------

std::string ExtackMessage(const nlmsghdr* h) {
  if ((h->nlmsg_flags & NLM_F_ACK_TLVS) == 0) return "";
  size_t at;
  if (h->nlmsg_type == NLMSG_DONE) {
    at = NLMSG_LENGTH(NLMSG_ALIGN(sizeof(int)));  // a dump's DONE: the int error, then the TLVs
  } else {
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return "";
    at = NLMSG_LENGTH(sizeof(nlmsgerr));
    // Without NETLINK_CAP_ACK (an old kernel) the ack echoes the whole request after nlmsgerr.
    if ((h->nlmsg_flags & NLM_F_CAPPED) == 0) {
      const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
      at += e->msg.nlmsg_len - NLMSG_HDRLEN;
    }
  }
  at = NLMSG_ALIGN(at);
  if (h->nlmsg_len <= at) return "";
  const auto* first = reinterpret_cast<const rtattr*>(reinterpret_cast<const uint8_t*>(h) + at);
  int len = static_cast<int>(h->nlmsg_len - at);
  for (const rtattr* a = first; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == NLMSGERR_ATTR_MSG) {
      const auto* text = static_cast<const char*>(RTA_DATA(a));
      return std::string(text, strnlen(text, RTA_PAYLOAD(a)));
    }
  }
  return "";
}

Outcome Exchange(Request& req, const std::function<void(const nlmsghdr*)>& onMessage) {
  Outcome out;
  RtnlSocket sock;
  if (sock.fd() < 0) return {errno, "socket(AF_NETLINK)", ""};
  const uint32_t seq = 1;  // the socket is ours alone, so any sequence number will do
  nlmsghdr* hdr = req.Header();
  hdr->nlmsg_seq = seq;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(sock.fd(), hdr, hdr->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return {errno, "sendto(NETLINK_ROUTE)", ""};
  std::vector<uint8_t> buf(kReplyBufferBytes);
  for (int datagram = 0; datagram < kMaxReplyDatagrams; datagram++) {
    ssize_t n = recv(sock.fd(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return {ETIMEDOUT, "recv(NETLINK_ROUTE)", "no reply"};
      return {errno, "recv(NETLINK_ROUTE)", ""};
    }
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) {
        int status = 0;
        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof status)) std::memcpy(&status, NLMSG_DATA(h), sizeof status);
        if (status < 0) return {-status, "rtnetlink", ExtackMessage(h)};
        return out;
      }
      if (h->nlmsg_type == NLMSG_ERROR) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return {EBADMSG, "rtnetlink", "short ack"};
        const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        if (e->error == 0) return out;  // the ack
        return {-e->error, "rtnetlink", ExtackMessage(h)};
      }
      onMessage(h);
    }
  }
  return {EMSGSIZE, "rtnetlink", "reply too long"};
}

Napi::Value ThrowOutcome(Napi::Env env, const Outcome& o, const std::string& what) {
  ThrowErrno(env, o.err, o.syscall, o.detail.empty() ? what : what + ": " + o.detail);
  return env.Undefined();
}

// ---- Attrs ----------------------------------------------------------------------------------

Attrs::Attrs(const rtattr* first, int len) {
  for (const rtattr* a = first; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    int type = a->rta_type & NLA_TYPE_MASK;
    if (type < kMax) byType_[type] = a;
  }
}

uint8_t Attrs::U8(int type, uint8_t otherwise) const {
  const rtattr* a = Get(type);
  return a != nullptr && RTA_PAYLOAD(a) >= 1 ? *static_cast<const uint8_t*>(RTA_DATA(a)) : otherwise;
}

uint32_t Attrs::U32(int type, uint32_t otherwise) const {
  const rtattr* a = Get(type);
  if (a == nullptr || RTA_PAYLOAD(a) < sizeof(uint32_t)) return otherwise;
  uint32_t v;
  std::memcpy(&v, RTA_DATA(a), sizeof v);
  return v;
}

std::string Attrs::String(int type) const {
  const rtattr* a = Get(type);
  if (a == nullptr) return "";
  const auto* text = static_cast<const char*>(RTA_DATA(a));
  return std::string(text, strnlen(text, RTA_PAYLOAD(a)));
}

// ---- reply text -----------------------------------------------------------------------------

std::string IfindexToName(int ifindex) {
  char name[IF_NAMESIZE] = "";
  return if_indextoname(static_cast<unsigned>(ifindex), name) != nullptr ? name : "";
}

std::string FormatHwAddr(const rtattr* a) {
  if (a == nullptr) return "";
  static const char* hex = "0123456789abcdef";
  const auto* p = static_cast<const uint8_t*>(RTA_DATA(a));
  size_t n = RTA_PAYLOAD(a);
  std::string out;
  for (size_t i = 0; i < n; i++) {
    if (i > 0) out += ':';
    out += hex[p[i] >> 4];
    out += hex[p[i] & 15];
  }
  return out;
}

}  // namespace netlink
}  // namespace tandem

// Generic netlink (linux/genetlink.h): a NETLINK_GENERIC socket for families such as IPVS
// (linux/ip_vs.h), without libnl. The messages themselves are built and parsed in TypeScript
// (src/lb/ipvs/netlinkCodec.ts); this file only moves bytes and pairs acks with requests.
//
// JS API (registered as `GenlSocket`):
//   new GenlSocket()              opens and binds the socket (the kernel picks the port id).
//   .familyId(name): number       CTRL_CMD_GETFAMILY; throws ENOENT when the family is not
//                                 registered (e.g. no ip_vs module loaded).
//   .transact(buf, count): Int32Array
//                                 buf holds `count` complete requests, each with NLM_F_ACK and a
//                                 distinct nlmsg_seq. They are sent in as few sendmsg calls as the
//                                 socket buffers allow; the result holds, per request in buffer
//                                 order, 0 (acked) or the positive errno the kernel answered.
//   .dump(buf): Buffer[]          buf holds one NLM_F_DUMP request; returns the reply datagrams
//                                 up to and including the one with NLMSG_DONE.
//   .close()                      idempotent.
// Failures to talk to the kernel at all (socket, send, receive, timeout, lost acks) throw errno
// errors (common.h ErrnoError). A refusal of one request is not a failure: it is data.
//
// Synchronous on purpose, like src/native/rtnetlink.cc: the kernel runs a request to the end
// inside sendmsg() (netlink_unicast_kernel calls the family's handler in the sender's context),
// so every ack is already queued when sendmsg returns and recv never waits for the kernel.
#include "common.h"

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <unordered_map>
#include <vector>

namespace tandem {
namespace {

constexpr size_t kRecvBufferBytes = 64 * 1024;  // the kernel builds dump datagrams of at most 32 KiB
// Acks are queued as one skb each (under 1 KiB of socket buffer per ack, truesize): the receive
// buffer must hold every ack of one sendmsg, or the kernel drops them (ENOBUFS) and the outcome
// of those requests is unknown. CAP_NET_ADMIN (which IPVS requires anyway) can force a buffer
// beyond net.core.rmem_max; without it the batches are made smaller to fit what we got.
constexpr int kSocketRecvBufferBytes = 8 * 1024 * 1024;
constexpr size_t kRecvBufferBytesPerAck = 2048;
constexpr int kSocketSendBufferBytes = 1024 * 1024;
// One sendmsg: at most this many requests and bytes (netlink_sendmsg refuses a datagram larger
// than the send buffer, and kMaxRequestsPerSend acks must fit in the receive buffer).
constexpr size_t kMaxRequestsPerSend = 1024;
constexpr size_t kMaxBytesPerSend = 128 * 1024;
// Acks are read many per recvmmsg() call, each into its own slot: an ack is 36 bytes with
// NETLINK_CAP_ACK (a few more with an extended-ack text), and a truncated one still holds the
// nlmsgerr with the errno at its start.
constexpr size_t kAckSlots = 256;
constexpr size_t kAckSlotBytes = 512;
constexpr int kMaxDumpDatagrams = 200000;  // bound on one dump (each datagram holds many entries)
constexpr int kReplyTimeoutSeconds = 5;

const char* kSyscallSend = "sendto(NETLINK_GENERIC)";
const char* kSyscallRecv = "recv(NETLINK_GENERIC)";

class GenlSocket : public Napi::ObjectWrap<GenlSocket> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "GenlSocket",
                       {
                           InstanceMethod<&GenlSocket::FamilyId>("familyId"),
                           InstanceMethod<&GenlSocket::Transact>("transact"),
                           InstanceMethod<&GenlSocket::Dump>("dump"),
                           InstanceMethod<&GenlSocket::Close>("close"),
                       });
  }

  explicit GenlSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GenlSocket>(info) {
    Napi::Env env = info.Env();
    fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    if (fd_ < 0) {
      ThrowErrno(env, errno, "socket(AF_NETLINK, NETLINK_GENERIC)");
      return;
    }
    int rcv = kSocketRecvBufferBytes;
    if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0)
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    int snd = kSocketSendBufferBytes;
    if (setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof snd) < 0)
      setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
    int on = 1;
    // Best effort (Linux 4.2 / 4.12+): error acks without a copy of the request, and the
    // kernel's extended-ack text where a family gives one.
    setsockopt(fd_, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on);
    setsockopt(fd_, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on);
    timeval tv{kReplyTimeoutSeconds, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int got = 0;
    socklen_t gotLen = sizeof got;
    if (getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &got, &gotLen) == 0 && got > 0) {
      maxRequestsPerSend_ = std::clamp<size_t>(static_cast<size_t>(got) / kRecvBufferBytesPerAck, 1, kMaxRequestsPerSend);
    }
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
      int err = errno;
      CloseFd();
      ThrowErrno(env, err, "bind(NETLINK_GENERIC)");
      return;
    }
    buffer_.resize(kRecvBufferBytes);
  }

  ~GenlSocket() override { CloseFd(); }

 private:
  void CloseFd() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  bool RequireOpen(Napi::Env env) {
    if (fd_ >= 0) return true;
    ThrowErrno(env, EBADF, "GenlSocket", "the socket is closed");
    return false;
  }

  // Sends one datagram to the kernel. Returns 0 or errno.
  int SendAll(const uint8_t* data, size_t len) {
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    for (int attempt = 0; attempt < 100; attempt++) {
      ssize_t n = sendto(fd_, data, len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
      if (n >= 0) return static_cast<size_t>(n) == len ? 0 : EMSGSIZE;
      if (errno != EINTR) return errno;
    }
    return EINTR;
  }

  // Receives one datagram into buffer_. Returns its length, or -errno (ETIMEDOUT on SO_RCVTIMEO).
  ssize_t RecvOne() {
    for (int attempt = 0; attempt < 100; attempt++) {
      iovec iov{buffer_.data(), buffer_.size()};
      sockaddr_nl from{};
      msghdr msg{};
      msg.msg_name = &from;
      msg.msg_namelen = sizeof from;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      ssize_t n = recvmsg(fd_, &msg, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return -ETIMEDOUT;
        return -errno;
      }
      if (msg.msg_flags & MSG_TRUNC) return -EMSGSIZE;
      if (from.nl_pid != 0) continue;  // only the kernel talks to us; ignore anything else
      return n;
    }
    return -EINTR;
  }

  // Receives up to kAckSlots datagrams (at least one, waiting up to SO_RCVTIMEO for it) into
  // ackSlots_. Returns how many, or -errno.
  int RecvAcks() {
    if (ackSlots_.empty()) {
      ackSlots_.resize(kAckSlots * kAckSlotBytes);
      msgs_.resize(kAckSlots);
      iovs_.resize(kAckSlots);
      froms_.resize(kAckSlots);
    }
    std::vector<mmsghdr>& msgs = msgs_;
    std::vector<iovec>& iovs = iovs_;
    std::vector<sockaddr_nl>& froms = froms_;
    for (int attempt = 0; attempt < 100; attempt++) {
      for (size_t i = 0; i < kAckSlots; i++) {
        iovs[i] = {ackSlots_.data() + i * kAckSlotBytes, kAckSlotBytes};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &froms[i];
        msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_nl);
      }
      // MSG_WAITFORONE: block for the first datagram only, then take what is already queued.
      int n = recvmmsg(fd_, msgs.data(), kAckSlots, MSG_WAITFORONE, nullptr);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return -ETIMEDOUT;
        return -errno;
      }
      ackLens_.resize(static_cast<size_t>(n));
      for (size_t i = 0; i < static_cast<size_t>(n); i++) {
        // Only the kernel (port id 0) answers requests; anything else reads as an empty slot.
        ackLens_[i] = froms[i].nl_pid == 0 ? msgs[i].msg_len : 0;
      }
      return n;
    }
    return -EINTR;
  }

  // familyId(name): the numeric id the kernel gave the family (CTRL_ATTR_FAMILY_ID).
  Napi::Value FamilyId(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) {
      ThrowType(env, "familyId(name)");
      return env.Undefined();
    }
    if (!RequireOpen(env)) return env.Undefined();
    std::string name = info[0].As<Napi::String>().Utf8Value();
    if (name.empty() || name.size() >= GENL_NAMSIZ) {
      ThrowType(env, "a generic netlink family name is 1 to 15 characters");
      return env.Undefined();
    }
    // nlmsghdr | genlmsghdr | CTRL_ATTR_FAMILY_NAME (NUL-terminated string)
    std::vector<uint8_t> req(NLMSG_SPACE(GENL_HDRLEN + NLA_ALIGN(NLA_HDRLEN + name.size() + 1)), 0);
    auto* h = reinterpret_cast<nlmsghdr*>(req.data());
    h->nlmsg_len = static_cast<uint32_t>(req.size());
    h->nlmsg_type = GENL_ID_CTRL;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    h->nlmsg_seq = ++seq_;
    auto* g = static_cast<genlmsghdr*>(NLMSG_DATA(h));
    g->cmd = CTRL_CMD_GETFAMILY;
    g->version = 1;
    auto* a = reinterpret_cast<nlattr*>(reinterpret_cast<uint8_t*>(g) + GENL_HDRLEN);
    a->nla_type = CTRL_ATTR_FAMILY_NAME;
    a->nla_len = static_cast<uint16_t>(NLA_HDRLEN + name.size() + 1);
    std::memcpy(reinterpret_cast<uint8_t*>(a) + NLA_HDRLEN, name.c_str(), name.size() + 1);
    int err = SendAll(req.data(), req.size());
    if (err != 0) {
      ThrowErrno(env, err, kSyscallSend, "resolve family " + name);
      return env.Undefined();
    }
    int id = -1;
    for (int datagram = 0; datagram < 16; datagram++) {
      ssize_t n = RecvOne();
      if (n < 0) {
        ThrowErrno(env, static_cast<int>(-n), kSyscallRecv, "resolve family " + name);
        return env.Undefined();
      }
      int len = static_cast<int>(n);
      for (auto* r = reinterpret_cast<const nlmsghdr*>(buffer_.data()); NLMSG_OK(r, len); r = NLMSG_NEXT(r, len)) {
        if (r->nlmsg_seq != seq_) continue;
        if (r->nlmsg_type == NLMSG_ERROR) {
          const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(r));
          if (e->error != 0) {
            ThrowErrno(env, -e->error, "genetlink CTRL_CMD_GETFAMILY", "family " + name);
            return env.Undefined();
          }
          if (id < 0) {
            ThrowErrno(env, ENOENT, "genetlink CTRL_CMD_GETFAMILY", "family " + name + ": no id in the reply");
            return env.Undefined();
          }
          return Napi::Number::New(env, id);
        }
        if (r->nlmsg_type != GENL_ID_CTRL || r->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN)) continue;
        const uint8_t* p = static_cast<const uint8_t*>(NLMSG_DATA(r)) + GENL_HDRLEN;
        int rest = static_cast<int>(r->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN));
        while (rest >= NLA_HDRLEN) {
          const auto* attr = reinterpret_cast<const nlattr*>(p);
          if (attr->nla_len < NLA_HDRLEN || attr->nla_len > rest) break;
          if ((attr->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID && attr->nla_len >= NLA_HDRLEN + 2) {
            uint16_t v;
            std::memcpy(&v, p + NLA_HDRLEN, sizeof v);
            id = v;
          }
          int step = NLA_ALIGN(attr->nla_len);
          p += step;
          rest -= step;
        }
      }
    }
    ThrowErrno(env, EPROTO, "genetlink CTRL_CMD_GETFAMILY", "family " + name + ": no ack");
    return env.Undefined();
  }

  // transact(buf, count): Int32Array of 0 / positive errno, one per request, in buffer order.
  Napi::Value Transact(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsNumber()) {
      ThrowType(env, "transact(buf: Uint8Array, count: number)");
      return env.Undefined();
    }
    if (!RequireOpen(env)) return env.Undefined();
    Napi::Uint8Array buf = info[0].As<Napi::Uint8Array>();
    const uint8_t* data = buf.Data();
    size_t total = buf.ByteLength();
    int64_t countArg = info[1].As<Napi::Number>().Int64Value();

    // Split the buffer into its requests; every one must ask for an ack (or a success would
    // never be answered) and carry its own sequence number.
    struct Request { size_t offset; size_t len; };
    std::vector<Request> reqs;
    std::unordered_map<uint32_t, size_t> bySeq;
    size_t at = 0;
    while (at < total) {
      if (total - at < NLMSG_HDRLEN) break;
      const auto* h = reinterpret_cast<const nlmsghdr*>(data + at);
      if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > total - at) break;
      if ((h->nlmsg_flags & NLM_F_ACK) == 0 || (h->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP) {
        ThrowType(env, "transact: request " + std::to_string(reqs.size()) + " lacks NLM_F_ACK or is a dump");
        return env.Undefined();
      }
      if (!bySeq.emplace(h->nlmsg_seq, reqs.size()).second) {
        ThrowType(env, "transact: two requests share sequence number " + std::to_string(h->nlmsg_seq));
        return env.Undefined();
      }
      size_t step = NLMSG_ALIGN(h->nlmsg_len);
      reqs.push_back({at, h->nlmsg_len});
      at += step < total - at ? step : total - at;
    }
    if (at != total || countArg != static_cast<int64_t>(reqs.size())) {
      ThrowType(env, "transact: the buffer holds " + std::to_string(reqs.size()) + " well-formed requests, expected " +
                         std::to_string(countArg));
      return env.Undefined();
    }

    Napi::Int32Array result = Napi::Int32Array::New(env, reqs.size());
    std::vector<bool> answered(reqs.size(), false);
    size_t next = 0;
    while (next < reqs.size()) {
      // One datagram: consecutive requests, bounded in count and bytes.
      size_t first = next;
      size_t bytes = 0;
      while (next < reqs.size() && next - first < maxRequestsPerSend_) {
        size_t end = reqs[next].offset + NLMSG_ALIGN(reqs[next].len);
        if (end > total) end = total;
        size_t size = end - reqs[first].offset;
        if (next > first && size > kMaxBytesPerSend) break;
        bytes = size;
        next++;
      }
      int err = SendAll(data + reqs[first].offset, bytes);
      if (err != 0) {
        ThrowErrno(env, err, kSyscallSend, "requests " + std::to_string(first) + ".." + std::to_string(next - 1));
        return env.Undefined();
      }
      size_t waiting = next - first;
      // Each datagram the kernel queued holds at least one ack; anything else (a stray reply to
      // an earlier timed-out call) is skipped, so the bound leaves room for some of those.
      size_t datagrams = 0;
      while (waiting > 0) {
        if (datagrams > 2 * (next - first) + 64) {
          ThrowErrno(env, EPROTO, kSyscallRecv, std::to_string(waiting) + " acks missing");
          return env.Undefined();
        }
        int got = RecvAcks();
        if (got < 0) {
          // ENOBUFS: acks were dropped, so what the kernel did with some requests is unknown.
          ThrowErrno(env, -got, kSyscallRecv,
                     std::to_string(waiting) + " of " + std::to_string(next - first) + " acks not received");
          return env.Undefined();
        }
        datagrams += static_cast<size_t>(got);
        for (int slot = 0; slot < got; slot++) {
          const uint8_t* base = ackSlots_.data() + static_cast<size_t>(slot) * kAckSlotBytes;
          // A slot holds the start of one datagram: its messages, as far as they fit.
          int len = static_cast<int>(std::min<size_t>(ackLens_[static_cast<size_t>(slot)], kAckSlotBytes));
          for (auto* r = reinterpret_cast<const nlmsghdr*>(base); len >= static_cast<int>(NLMSG_LENGTH(sizeof(nlmsgerr)));
               r = NLMSG_NEXT(r, len)) {
            if (r->nlmsg_len < NLMSG_HDRLEN) break;
            if (r->nlmsg_type == NLMSG_ERROR && r->nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr))) {
              auto it = bySeq.find(r->nlmsg_seq);
              if (it != bySeq.end() && it->second >= first && it->second < next && !answered[it->second]) {
                const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(r));
                result[it->second] = -e->error;
                answered[it->second] = true;
                waiting--;
              }
            }
            if (!NLMSG_OK(r, len)) break;  // the rest of a truncated datagram is not here
          }
        }
      }
    }
    return result;
  }

  // dump(buf): the reply datagrams of one NLM_F_DUMP request, NLMSG_DONE included.
  Napi::Value Dump(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray()) {
      ThrowType(env, "dump(buf: Uint8Array)");
      return env.Undefined();
    }
    if (!RequireOpen(env)) return env.Undefined();
    Napi::Uint8Array buf = info[0].As<Napi::Uint8Array>();
    if (buf.ByteLength() < NLMSG_HDRLEN) {
      ThrowType(env, "dump: the buffer is shorter than a netlink header");
      return env.Undefined();
    }
    const auto* h = reinterpret_cast<const nlmsghdr*>(buf.Data());
    if (h->nlmsg_len != buf.ByteLength() || (h->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP) {
      ThrowType(env, "dump: the buffer must hold exactly one NLM_F_DUMP request");
      return env.Undefined();
    }
    const uint32_t seq = h->nlmsg_seq;
    int err = SendAll(buf.Data(), buf.ByteLength());
    if (err != 0) {
      ThrowErrno(env, err, kSyscallSend, "dump request");
      return env.Undefined();
    }
    Napi::Array out = Napi::Array::New(env);
    uint32_t count = 0;
    for (int datagram = 0; datagram < kMaxDumpDatagrams; datagram++) {
      ssize_t n = RecvOne();
      if (n < 0) {
        ThrowErrno(env, static_cast<int>(-n), kSyscallRecv, "dump reply");
        return env.Undefined();
      }
      int len = static_cast<int>(n);
      bool ours = false, done = false;
      for (auto* r = reinterpret_cast<const nlmsghdr*>(buffer_.data()); NLMSG_OK(r, len); r = NLMSG_NEXT(r, len)) {
        if (r->nlmsg_seq != seq) continue;
        ours = true;
        if (r->nlmsg_type == NLMSG_ERROR && r->nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr))) {
          const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(r));
          if (e->error != 0) {
            ThrowErrno(env, -e->error, "genetlink dump");
            return env.Undefined();
          }
          done = true;  // a plain ack ends a request the family did not treat as a dump
        }
        if (r->nlmsg_type == NLMSG_DONE) {
          int status = 0;
          if (r->nlmsg_len >= NLMSG_LENGTH(sizeof status)) std::memcpy(&status, NLMSG_DATA(r), sizeof status);
          if (status < 0) {
            ThrowErrno(env, -status, "genetlink dump");
            return env.Undefined();
          }
          done = true;
        }
      }
      if (ours) out.Set(count++, Napi::Buffer<uint8_t>::Copy(env, buffer_.data(), static_cast<size_t>(n)));
      if (done) return out;
    }
    ThrowErrno(env, EMSGSIZE, "genetlink dump", "more than " + std::to_string(kMaxDumpDatagrams) + " datagrams");
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    CloseFd();
    return info.Env().Undefined();
  }

  int fd_ = -1;
  size_t maxRequestsPerSend_ = 64;
  // familyId() numbers its requests from the top half; the TS side uses the bottom half.
  uint32_t seq_ = 0x80000000u;
  std::vector<uint8_t> buffer_;
  std::vector<uint8_t> ackSlots_;
  std::vector<unsigned> ackLens_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
  std::vector<sockaddr_nl> froms_;
};

}  // namespace

Napi::Function InitGenlSocket(Napi::Env env) { return GenlSocket::Init(env); }

}  // namespace tandem

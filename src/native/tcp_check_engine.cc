// TCP_CHECK probes run entirely off the JS loop: one thread, one epoll set, one timerfd.
//
// Why: with probes scheduled in JS (check/deadlines.ts), connected through TcpProber and
// judged in JS, every probe of 10,000 servers a second cost JS allocations, promise hops and a
// verdict step on the loop VRRP runs on. Here a target is a fixed struct, the schedule is a
// min-heap on this thread, and in quiet mode (steady state) a success never reaches JS at all:
// only the first failure is reported, which hands the target back to the caller's verdict
// machine (src/check/*).
//
// One probe is the TCP_CHECK of src/check/probes/tcp.ts and tcp_prober.cc: a non-blocking
// connect (with bindto / bind_port), success when the handshake completes, then close with a
// RST (SO_LINGER 0) so no TIME_WAIT piles up on this host (keepalived check/check_tcp.c
// tcp_check_thread: connect_success -> thread_close_fd + tcp_epilog(true); connect_timeout and
// errors -> tcp_epilog(false)). ECONNREFUSED -> refused; EHOSTUNREACH / ENETUNREACH /
// EHOSTDOWN / ENETDOWN -> unreachable; no answer in timeoutMs -> timeout; any other errno
// (including EMFILE from socket() and EADDRNOTAVAIL from bind()) -> connect_error with errno.
// The reason mapping is check/probes/scope.ts failureOf's, except ECONNRESET before the
// handshake (failureOf says 'reset'), which this engine reports as connect_error.
//
// Scheduling: quiet probes keep their phase (next = previous due + interval, stepped over
// missed periods), as HAProxy's process_chk_conn (src/check.c) does with
// `while (tick_is_expired(t->expire, now_ms)) t->expire = tick_add(t->expire, check->inter)`,
// so a stall does not bunch the targets into one burst. Timer wake-ups are coalesced onto
// kWakeNs (4 ms) boundaries of CLOCK_MONOTONIC: everything due in the same window starts in
// one wake-up, and nothing starts more than ~4 ms late because of the coalescing. Starts and
// timeouts live in two min-heaps (lazy deletion: an entry whose seq is not its target's current
// one is skipped); starts past the per-window burst cap (BurstCap) wait in theirs, due.
//
// TCP_CHECK probes go half-open when they may (syn_prober.h: a raw SYN, the SYN-ACK read from
// a raw socket at each wake-up, the kernel's RST): the same segments on the wire as the
// connect() probe below, without a socket per probe. bind_port, a missing CAP_NET_RAW or a
// second probe of the same address and port in flight take the connect() path.
//
// Results reach JS through a uv_async_t (which coalesces sends by itself); the thread sends at
// most once per kFlushGapNs. Each outcome carries the generation of the command that started
// its cycle, and the JS side drops outcomes of a superseded cycle (a probeIn / setQuiet /
// remove issued while the old result was on its way).
//
// Process lifetime: the async handle is referenced only while some target has a pending cycle
// (a probeIn not yet reported, or quiet mode on): an idle engine does not keep the process
// alive, a pending probe does, like TcpProber's open connections. close() (or the environment's
// cleanup hook, or GC of the wrapper) stops the thread, closes every socket with a RST.
//
// JS API (registered as `TcpCheckEngine`):
//   new TcpCheckEngine(onResults(batch: Int32Array))   batch: [id, code, errno, latencyUs]*
//       code: 0 ok, 1 timeout, 2 refused, 3 unreachable, 4 connect_error (HTTP mode: see below)
//   .add(id, family, address, port, bindAddress ('' none), bindPort (0 any), timeoutMs
//        [, request: Uint8Array, statusRanges: Int32Array]   (HTTP mode))
//   .probeIn(id, delayMs)   .setQuiet(id, intervalMs (<= 0: off), firstInMs (< 0: interval))
//   .remove(id)   .last(id): Float64Array [ok, code, latencyUs, atWallMs] | undefined
//   .stats(): Float64Array (see StatIndex)   .recordStarts(on)   .takeStarts(): Float64Array
//   .close()
//
// HTTP mode (HTTP_GET of src/check/probes/http.ts, the cases src/check/probes/httpEngineSpec.ts
// lets through: one url, no digest, no TLS): add() with two more arguments, the request bytes
// as a Uint8Array (built in JS by probes/http.ts httpRequest(), keepalived's request_template) and the accepted
// status codes as [lo, hi]* (an Int32Array). After the handshake the engine writes the request,
// reads until the end of the response header (CRLFCRLF, at most kHttpMaxHeaderBytes, as
// probes/http.ts HttpResponseReader does), parses `HTTP/d.d NNN` from the first bytes, judges,
// and closes with a RST (keepalived check_http.c http_read_thread closes after reading; nothing
// after the header matters without a digest). The timer armed at connect() keeps running through
// the exchange: timeoutMs bounds the whole probe, as probes/scope.ts's deadline does in JS.
// Codes added: 5 reset (ECONNRESET / EPIPE / ECONNABORTED at any step: failureOf's words),
// 6 bad_response (not an HTTP status line, EOF before the end of the header, header too long),
// 7 http_status (the errno slot of the batch carries the status code).
#include "common.h"
#include "syn_prober.h"

#include <net/if.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <unordered_set>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <vector>

namespace tandem {
namespace {

constexpr uint32_t kMaxId = 1u << 22;  // ids index a vector: "the caller's small integer"
constexpr int kMaxEventsPerWakeup = 1024;
constexpr int64_t kMsNs = 1000000;
// Timer wake-ups are coalesced onto windows of this length: starts, timeouts and the reading
// of half-open answers due in one window run in one wake-up. 4 ms: at 10,000 probes a second
// a wake-up starts ~40 probes instead of ~10, which cost a third of the engine's CPU at 1 ms
// (docs/benchmarks.md); a probe starts at most ~4 ms after its due time, nothing for checks
// whose interval is a second or more, and its latency is measured from kernel timestamps.
constexpr int64_t kWakeNs = 4 * kMsNs;
constexpr int64_t kFlushGapNs = kWakeNs;  // at most one JS batch per window
// A start later than this past its due time is late (counted: the thread is overloaded); the
// window itself makes every start up to kWakeNs late.
constexpr int64_t kLateNs = kWakeNs + 2 * kMsNs;
constexpr int64_t kRateWindowMs = 256;     // the start rate the burst cap follows
constexpr int64_t kMinBurst = 24;          // starts per millisecond never held back (x window)
constexpr uint64_t kTagWake = ~0ull;
constexpr uint64_t kTagTimer = ~0ull - 1;
// Half-open probes (syn_prober.h): the SYN is sent again after 1 s, 2 s, 4 s ... while the
// timeout lasts, as the kernel retransmits a connect()'s SYN (TCP_TIMEOUT_INIT, doubling).
constexpr int64_t kInitialRtoNs = 1000 * kMsNs;
// A target's source address (the one connect() would choose) is looked up again after this
// long, and after any failed probe: a route change moves it within half a minute.
constexpr int64_t kSourceTtlNs = 30000 * kMsNs;

enum Code : int32_t {
  kOk = 0, kTimeout = 1, kRefused = 2, kUnreachable = 3, kConnectError = 4,
  kReset = 5, kBadResponse = 6, kHttpStatus = 7,  // HTTP mode only
};
enum Mode : uint8_t { kIdle = 0, kOneShot = 1, kQuiet = 2 };
enum Op : uint8_t { kAdd, kProbeIn, kSetQuiet, kRemove };
// kSynProbes: probes sent as a raw SYN; kSynRetransmits: SYNs sent again; kSynUnmatched:
// answers that matched no probe in flight (late ones of a finished probe); kSyn4 / kSyn6: the
// raw socket of the family: -1 not needed yet, 0 open, > 0 the errno that keeps it shut (the
// family's probes then connect(): EPERM without CAP_NET_RAW), -2 half-open probes turned off.
enum StatIndex {
  kProbes, kReported, kSuppressed, kInFlight, kTargets, kLateStarts, kFdErrors, kAborted, kStale,
  kSynProbes, kSynRetransmits, kSynUnmatched, kSyn4, kSyn6, kStatCount
};

int64_t MonoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int64_t WallNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

double WallMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

int32_t CodeOf(int err) {
  switch (err) {
    case 0: return kOk;
    case ECONNREFUSED: return kRefused;
    case EHOSTUNREACH: case ENETUNREACH: case EHOSTDOWN: case ENETDOWN: return kUnreachable;
    case ETIMEDOUT: return kTimeout;
    default: return kConnectError;
  }
}

// HTTP mode: probes/http.ts HTTP_MAX_HEADER_BYTES (a status line and headers larger than this
// are not a health page).
constexpr uint32_t kHttpMaxHeaderBytes = 64 * 1024;
// The header bytes kept for parsing the status line: `HTTP/1.1 200` plus the byte after it.
constexpr uint32_t kHttpHeadKeep = 16;

// What one HTTP_GET target sends and accepts; shared by the spec command and the target.
struct HttpSpec {
  std::string request;
  std::vector<std::pair<int32_t, int32_t>> accept;  // inclusive [lo, hi] ranges
};

// A probe error as check/probes/scope.ts failureOf() maps it (HTTP mode: after the handshake a
// reset is the peer's doing, so ECONNRESET is 'reset' at every step, as in the JS probe).
int32_t HttpCodeOf(int err) {
  switch (err) {
    case ECONNRESET: case EPIPE: case ECONNABORTED: return kReset;
    default: return CodeOf(err);
  }
}

// "address" or "fe80::1%eth0" for `family`; false on bad text.
bool ParseTo(int family, const std::string& text, uint16_t port, SockAddr* out) {
  std::memset(out, 0, sizeof *out);
  if (family == 4) {
    out->v4.sin_family = AF_INET;
    out->v4.sin_port = htons(port);
    return ParseAddr(4, text, &out->v4.sin_addr);
  }
  out->v6.sin6_family = AF_INET6;
  out->v6.sin6_port = htons(port);
  std::string addr = text;
  size_t pct = text.find('%');
  if (pct != std::string::npos) {
    addr = text.substr(0, pct);
    std::string zone = text.substr(pct + 1);
    unsigned idx = if_nametoindex(zone.c_str());
    if (idx == 0 && !zone.empty() && zone.size() < 10 && zone.find_first_not_of("0123456789") == std::string::npos) {
      idx = static_cast<unsigned>(std::stoul(zone));
    }
    if (idx == 0) return false;
    out->v6.sin6_scope_id = idx;
  }
  return ParseAddr(6, addr, &out->v6.sin6_addr);
}

// A target, owned by the engine thread. Kept small: ~100 bytes with both addresses.
struct Target {
  SockAddr to;
  SockAddr from;
  int64_t dueNs = 0;        // the current timer: next start (not in flight) or timeout (in flight)
  int64_t startedNs = 0;    // connect() of the in-flight probe
  int64_t phaseNs = 0;      // quiet: the due time of the current period (phase keeping)
  uint32_t timeoutMs = 0;
  int64_t intervalNs = 0;   // quiet mode's interval
  uint32_t timerSeq = 0;    // heap entries with another seq are stale
  uint32_t gen = 0;         // the JS command generation of the current cycle
  int fd = -1;
  uint8_t family = 4;
  uint8_t mode = kIdle;
  bool present = false;
  bool hasBind = false;
  bool timerArmed = false;
  bool pendingStart = false;  // the armed timer is a start, not a timeout
  // Half-open mode (syn_prober.h): the probe in flight is a raw SYN, not a socket.
  bool synLive = false;
  uint32_t synSeq = 0;      // its sequence number (target id and a counter, masked)
  uint16_t synCount = 0;    // probes sent as a SYN, for the next sequence number
  int64_t synDeadlineNs = 0;
  int64_t synRtoNs = 0;
  int64_t synRtxNs = 0;     // the next retransmission
  int64_t synSentWallNs = 0;  // CLOCK_REALTIME of the first SYN (answers carry kernel stamps)
  int64_t srcAtNs = -1;     // when `src` was looked up (-1: look it up before the next SYN)
  SockAddr src;             // the source connect() would choose (or bindto's address)
  SockAddr synTo;           // the destination of the SYN in flight (add() may change `to`)
  // HTTP mode (null: TCP_CHECK). The per-probe exchange state below is reset by Start().
  std::shared_ptr<const HttpSpec> http;
  // The spec of the probe in flight: an add() replacing the spec meanwhile (HTTP -> TCP, or
  // another request) applies from the next probe and must not change this one's protocol.
  std::shared_ptr<const HttpSpec> httpLive;
  uint32_t httpSent = 0;    // request bytes written
  uint32_t httpSeen = 0;    // response bytes read
  uint8_t httpMatch = 0;    // how much of CRLFCRLF the last bytes matched
  bool httpConnected = false;  // the handshake completed
  bool httpReading = false;    // the request is out; waiting for the response
  char httpHead[kHttpHeadKeep] = {};
};

struct HeapEntry {
  int64_t at;
  uint32_t id;
  uint32_t seq;
  bool operator>(const HeapEntry& o) const { return at > o.at; }
};

struct Command {
  Op op;
  uint32_t id;
  uint32_t gen;
  int64_t a;  // delay / interval, ns
  int64_t b;  // firstIn, ns (< 0: one interval)
  std::unique_ptr<Target> spec;  // kAdd
};

struct Outcome {
  uint32_t id;
  uint32_t gen;
  int32_t code;
  int32_t err;
  uint32_t latencyUs;
};

struct Last {
  double atWallMs = 0;
  uint32_t latencyUs = 0;
  int32_t code = 0;
  int32_t status = 0;  // HTTP mode: the status code of an http_status failure
  bool set = false;
};

class TcpCheckEngine : public Napi::ObjectWrap<TcpCheckEngine> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "TcpCheckEngine",
                       {
                           InstanceMethod<&TcpCheckEngine::Add>("add"),
                           InstanceMethod<&TcpCheckEngine::ProbeIn>("probeIn"),
                           InstanceMethod<&TcpCheckEngine::SetQuiet>("setQuiet"),
                           InstanceMethod<&TcpCheckEngine::Remove>("remove"),
                           InstanceMethod<&TcpCheckEngine::GetLast>("last"),
                           InstanceMethod<&TcpCheckEngine::Stats>("stats"),
                           InstanceMethod<&TcpCheckEngine::RecordStarts>("recordStarts"),
                           InstanceMethod<&TcpCheckEngine::TakeStarts>("takeStarts"),
                           InstanceMethod<&TcpCheckEngine::Close>("close"),
                       });
  }

  explicit TcpCheckEngine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TcpCheckEngine>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) {
      ThrowType(env, "TcpCheckEngine(onResults)");
      return;
    }
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      ThrowType(env, "TcpCheckEngine: no event loop");
      return;
    }
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    timerfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    wakefd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epfd_ < 0 || timerfd_ < 0 || wakefd_ < 0) {
      int err = errno;
      CloseFds();
      ThrowErrno(env, err, "TcpCheckEngine");
      return;
    }
    // Options: { syn: false } probes by connect() only (tests of the connect path, benches).
    bool syn = true;
    if (info.Length() >= 2 && info[1].IsObject()) {
      Napi::Value v = info[1].As<Napi::Object>().Get("syn");
      if (v.IsBoolean()) syn = v.As<Napi::Boolean>().Value();
    }
    synEnabled_ = syn;
    stats_[kSyn4] = syn ? -1 : -2;
    stats_[kSyn6] = syn ? -1 : -2;
    std::random_device rd;
    synSecret_ = static_cast<uint32_t>(rd());
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kTagWake;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev);
    ev.data.u64 = kTagTimer;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, timerfd_, &ev);

    onResults_ = Napi::Persistent(info[0].As<Napi::Function>());
    asyncContext_ = std::make_unique<Napi::AsyncContext>(env, "tandem:TcpCheckEngine");
    async_ = new uv_async_t;
    uv_async_init(loop, async_, [](uv_async_t* h) {
      auto* self = static_cast<TcpCheckEngine*>(h->data);
      if (self != nullptr) self->OnAsync();
    });
    async_->data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(async_));
    env_ = env;
    napi_add_env_cleanup_hook(env, &TcpCheckEngine::OnEnvCleanup, this);
    hookAdded_ = true;
    running_ = true;
    thread_ = std::thread([this] { Run(); });
  }

  ~TcpCheckEngine() override {
    Shutdown();
    if (hookAdded_) napi_remove_env_cleanup_hook(env_, &TcpCheckEngine::OnEnvCleanup, this);
  }

 private:
  // The environment is going away (worker exit, process exit) with the engine still open.
  static void OnEnvCleanup(void* p) {
    auto* self = static_cast<TcpCheckEngine*>(p);
    self->hookAdded_ = false;
    self->Shutdown();
  }

  // ---- JS thread ------------------------------------------------------------------------------

  bool CheckId(Napi::Env env, const Napi::Value& v, uint32_t* id) {
    if (!v.IsNumber()) {
      ThrowType(env, "id must be a number");
      return false;
    }
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d < kMaxId) || d != static_cast<double>(static_cast<uint32_t>(d))) {
      ThrowType(env, "id must be an integer 0.." + std::to_string(kMaxId - 1));
      return false;
    }
    *id = static_cast<uint32_t>(d);
    return true;
  }

  bool CheckOpen(Napi::Env env) {
    if (closed_) ThrowType(env, "TcpCheckEngine is closed");
    return !closed_;
  }

  void EnsureJsSlot(uint32_t id) {
    if (id >= gens_.size()) {
      gens_.resize(id + 1, 0);
      busy_.resize(id + 1, 0);
      present_.resize(id + 1, 0);
    }
  }

  void SetBusy(uint32_t id, bool busy) {
    if (busy_[id] == static_cast<uint8_t>(busy)) return;
    busy_[id] = busy;
    busyCount_ += busy ? 1 : -1;
    bool want = busyCount_ > 0;
    if (want != referenced_ && async_ != nullptr) {
      referenced_ = want;
      if (want) uv_ref(reinterpret_cast<uv_handle_t*>(async_));
      else uv_unref(reinterpret_cast<uv_handle_t*>(async_));
    }
  }

  void Push(Command&& c) {
    bool wake;
    {
      std::lock_guard<std::mutex> g(cmdMu_);
      wake = cmds_.empty();
      cmds_.push_back(std::move(c));
    }
    if (wake) {
      uint64_t one = 1;
      ssize_t w = write(wakefd_, &one, sizeof one);
      (void)w;
    }
  }

  Napi::Value Add(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t id;
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 7 || !CheckId(env, info[0], &id)) {
      if (!env.IsExceptionPending()) ThrowType(env, "add(id, family, address, port, bindAddress, bindPort, timeoutMs)");
      return env.Undefined();
    }
    if (!info[1].IsNumber() || !info[2].IsString() || !info[3].IsNumber() || !info[4].IsString() ||
        !info[5].IsNumber() || !info[6].IsNumber()) {
      ThrowType(env, "add(id, family, address, port, bindAddress, bindPort, timeoutMs)");
      return env.Undefined();
    }
    int family = info[1].As<Napi::Number>().Int32Value();
    std::string address = info[2].As<Napi::String>().Utf8Value();
    int64_t port = info[3].As<Napi::Number>().Int64Value();
    std::string bindAddress = info[4].As<Napi::String>().Utf8Value();
    int64_t bindPort = info[5].As<Napi::Number>().Int64Value();
    int64_t timeoutMs = info[6].As<Napi::Number>().Int64Value();
    if ((family != 4 && family != 6) || port < 1 || port > 65535 || bindPort < 0 || bindPort > 65535 ||
        timeoutMs < 1 || timeoutMs > 86400000) {
      ThrowType(env, "add: family 4 or 6, port 1..65535, bindPort 0..65535, timeoutMs 1..86400000");
      return env.Undefined();
    }
    auto spec = std::make_unique<Target>();
    spec->family = static_cast<uint8_t>(family);
    spec->timeoutMs = static_cast<uint32_t>(timeoutMs);
    if (!ParseTo(family, address, static_cast<uint16_t>(port), &spec->to)) {
      ThrowType(env, "add: bad IPv" + std::to_string(family) + " address '" + address + "'");
      return env.Undefined();
    }
    if (!bindAddress.empty() || bindPort != 0) {
      std::string src = bindAddress.empty() ? (family == 4 ? "0.0.0.0" : "::") : bindAddress;
      if (!ParseTo(family, src, static_cast<uint16_t>(bindPort), &spec->from)) {
        ThrowType(env, "add: bad IPv" + std::to_string(family) + " bind address '" + bindAddress + "'");
        return env.Undefined();
      }
      spec->hasBind = true;
    }
    if (info.Length() >= 9 && info[7].IsTypedArray() && info[8].IsTypedArray()) {
      auto http = std::make_shared<HttpSpec>();
      Napi::TypedArray req = info[7].As<Napi::TypedArray>();
      Napi::TypedArray ta = info[8].As<Napi::TypedArray>();
      if (req.TypedArrayType() == napi_uint8_array) {
        Napi::Uint8Array bytes = info[7].As<Napi::Uint8Array>();
        http->request.assign(reinterpret_cast<const char*>(bytes.Data()), bytes.ElementLength());
      }
      if (ta.TypedArrayType() != napi_int32_array || ta.ElementLength() % 2 != 0 || http->request.empty() ||
          http->request.size() > 65536) {
        ThrowType(env, "add: http request (1..65536 bytes) and status ranges as Int32Array [lo, hi]*");
        return env.Undefined();
      }
      Napi::Int32Array ranges = info[8].As<Napi::Int32Array>();
      for (size_t i = 0; i + 1 < ranges.ElementLength(); i += 2) http->accept.emplace_back(ranges[i], ranges[i + 1]);
      spec->http = std::move(http);
    }
    EnsureJsSlot(id);
    if (!present_[id]) {
      present_[id] = 1;
      targets_++;
      std::lock_guard<std::mutex> g(lastMu_);
      if (id < lasts_.size()) lasts_[id] = Last{};
    }
    Push(Command{kAdd, id, gens_[id], 0, 0, std::move(spec)});
    return env.Undefined();
  }

  // The id of a command on a known target, or false (thrown).
  bool KnownId(const Napi::CallbackInfo& info, uint32_t* id) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env) || info.Length() < 1 || !CheckId(env, info[0], id)) {
      if (!env.IsExceptionPending()) ThrowType(env, "id expected");
      return false;
    }
    if (*id >= present_.size() || !present_[*id]) {
      ThrowType(env, "unknown target " + std::to_string(*id) + " (add it first)");
      return false;
    }
    return true;
  }

  // A duration argument in ms (fractions kept: callers spread phases below 1 ms) as ns.
  static int64_t NsArg(const Napi::CallbackInfo& info, size_t i, int64_t dflt) {
    if (info.Length() <= i || !info[i].IsNumber()) return dflt;
    double d = info[i].As<Napi::Number>().DoubleValue();
    if (!(d == d)) return dflt;
    if (d > 86400000.0 * 365) d = 86400000.0 * 365;
    if (d < -1) d = -1;
    return static_cast<int64_t>(d * 1e6);
  }

  Napi::Value ProbeIn(const Napi::CallbackInfo& info) {
    uint32_t id;
    if (!KnownId(info, &id)) return info.Env().Undefined();
    int64_t delay = NsArg(info, 1, 0);
    uint32_t gen = ++gens_[id];
    SetBusy(id, true);
    Push(Command{kProbeIn, id, gen, delay < 0 ? 0 : delay, 0, nullptr});
    return info.Env().Undefined();
  }

  Napi::Value SetQuiet(const Napi::CallbackInfo& info) {
    uint32_t id;
    if (!KnownId(info, &id)) return info.Env().Undefined();
    int64_t interval = NsArg(info, 1, 0);
    int64_t first = NsArg(info, 2, -1);
    if (interval > 0 && interval < kMsNs) interval = kMsNs;  // no busy loop on a tiny interval
    uint32_t gen = ++gens_[id];
    SetBusy(id, interval > 0);
    Push(Command{kSetQuiet, id, gen, interval, first, nullptr});
    return info.Env().Undefined();
  }

  Napi::Value Remove(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t id;
    // After close() every target is gone already: a caller tearing down in any order is fine.
    if (closed_) return env.Undefined();
    if (info.Length() < 1 || !CheckId(env, info[0], &id)) return env.Undefined();
    if (id >= present_.size() || !present_[id]) return env.Undefined();
    present_[id] = 0;
    targets_--;
    uint32_t gen = ++gens_[id];
    SetBusy(id, false);
    Push(Command{kRemove, id, gen, 0, 0, nullptr});
    return env.Undefined();
  }

  Napi::Value GetLast(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t id;
    if (info.Length() < 1 || !CheckId(env, info[0], &id)) return env.Undefined();
    if (id >= present_.size() || !present_[id]) return env.Undefined();
    Last l;
    {
      std::lock_guard<std::mutex> g(lastMu_);
      if (id >= lasts_.size() || !lasts_[id].set) return env.Undefined();
      l = lasts_[id];
    }
    auto out = Napi::Float64Array::New(env, 5);
    out[0] = l.code == kOk ? 1 : 0;
    out[1] = l.code;
    out[2] = l.latencyUs;
    out[3] = l.atWallMs;
    out[4] = l.status;
    return out;
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto out = Napi::Float64Array::New(env, kStatCount);
    for (int i = 0; i < kStatCount; i++) out[i] = static_cast<double>(stats_[i].load(std::memory_order_relaxed));
    out[kReported] = static_cast<double>(reportedJs_);
    out[kStale] = static_cast<double>(staleJs_);
    out[kTargets] = static_cast<double>(targets_);
    return out;
  }

  Napi::Value RecordStarts(const Napi::CallbackInfo& info) {
    bool on = info.Length() > 0 && info[0].ToBoolean().Value();
    std::lock_guard<std::mutex> g(startsMu_);
    recordStarts_ = on;
    if (!on) starts_.clear();
    return info.Env().Undefined();
  }

  // Start times (CLOCK_MONOTONIC, ms) recorded since the last take, then [id...] in a second array.
  Napi::Value TakeStarts(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::vector<std::pair<double, uint32_t>> got;
    {
      std::lock_guard<std::mutex> g(startsMu_);
      got.swap(starts_);
    }
    auto times = Napi::Float64Array::New(env, got.size());
    auto ids = Napi::Uint32Array::New(env, got.size());
    for (size_t i = 0; i < got.size(); i++) {
      times[i] = got[i].first;
      ids[i] = got[i].second;
    }
    auto out = Napi::Object::New(env);
    out.Set("times", times);
    out.Set("ids", ids);
    return out;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  void OnAsync() {
    std::vector<Outcome> got;
    {
      std::lock_guard<std::mutex> g(outMu_);
      got.swap(outcomes_);
    }
    if (got.empty() || closed_) return;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    size_t n = 0;
    std::vector<int32_t> flat;
    flat.reserve(got.size() * 4);
    for (const Outcome& o : got) {
      if (o.id >= gens_.size() || gens_[o.id] != o.gen || !present_[o.id]) {
        staleJs_++;
        continue;
      }
      // The cycle this outcome ends: a probeIn's single result, or quiet mode's first failure.
      SetBusy(o.id, false);
      flat.push_back(static_cast<int32_t>(o.id));
      flat.push_back(o.code);
      flat.push_back(o.err);
      flat.push_back(static_cast<int32_t>(o.latencyUs));
      n++;
    }
    reportedJs_ += n;
    if (n == 0) return;
    auto batch = Napi::Int32Array::New(env, flat.size());
    std::memcpy(batch.Data(), flat.data(), flat.size() * sizeof(int32_t));
    CallIntoJs(env, onResults_, *asyncContext_, {batch});
  }

  void Shutdown() {
    if (closed_) return;
    closed_ = true;
    if (thread_.joinable()) {
      running_ = false;
      uint64_t one = 1;
      ssize_t w = write(wakefd_, &one, sizeof one);
      (void)w;
      thread_.join();
    }
    for (Target& t : targets) {
      if (t.fd >= 0) CloseWithReset(t.fd);
      t.fd = -1;
    }
    targets.clear();
    prober_.Close();  // the thread is gone: nothing else uses the raw sockets
    CloseFds();
    if (async_ != nullptr) {
      async_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(async_), [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
      async_ = nullptr;
    }
    onResults_.Reset();
  }

  void CloseFds() {
    if (epfd_ >= 0) close(epfd_);
    if (timerfd_ >= 0) close(timerfd_);
    if (wakefd_ >= 0) close(wakefd_);
    epfd_ = timerfd_ = wakefd_ = -1;
  }

  // ---- engine thread --------------------------------------------------------------------------

  void Run() {
    epoll_event evs[kMaxEventsPerWakeup];
    while (running_) {
      int n = epoll_wait(epfd_, evs, kMaxEventsPerWakeup, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;  // the epoll fd failed: nothing sensible left to do on this thread
      }
      int64_t now = MonoNs();
      bool commands = false;
      for (int i = 0; i < n; i++) {
        uint64_t tag = evs[i].data.u64;
        if (tag == kTagWake) {
          uint64_t v;
          ssize_t r = read(wakefd_, &v, sizeof v);
          (void)r;
          commands = true;
        } else if (tag == kTagTimer) {
          uint64_t v;
          ssize_t r = read(timerfd_, &v, sizeof v);
          (void)r;
          armedAt_ = -2;  // fired: no longer armed
        } else {
          OnSocket(static_cast<uint32_t>(tag & 0xffffffffu), static_cast<int>(tag >> 32), evs[i].events, now);
        }
      }
      if (!running_) break;
      if (!synFlight_.empty()) {
        if (prober_.IsOpen(4)) OnSynReplies(4, now);
        if (prober_.IsOpen(6)) OnSynReplies(6, now);
      }
      if (commands) ProcessCommands(now);
      RunTimers(now);
      FlushSyns(now);
      MaybeFlush(now);
      ArmTimer();
    }
  }

  void ProcessCommands(int64_t now) {
    std::vector<Command> cmds;
    {
      std::lock_guard<std::mutex> g(cmdMu_);
      cmds.swap(cmds_);
    }
    for (Command& c : cmds) {
      if (c.id >= targets.size()) targets.resize(c.id + 1);
      Target& t = targets[c.id];
      switch (c.op) {
        case kAdd: {
          // A replaced spec applies from the next probe; an in-flight probe finishes on the old one.
          bool wasPresent = t.present;
          t.to = c.spec->to;
          t.from = c.spec->from;
          t.hasBind = c.spec->hasBind;
          t.srcAtNs = -1;  // the source follows the new destination and bind
          t.family = c.spec->family;
          t.timeoutMs = c.spec->timeoutMs;
          t.http = std::move(c.spec->http);
          if (!wasPresent) {
            t.present = true;
            t.mode = kIdle;
            t.gen = c.gen;
            stats_[kTargets]++;
            std::lock_guard<std::mutex> g(lastMu_);
            if (c.id < lasts_.size()) lasts_[c.id] = Last{};
          }
          break;
        }
        case kProbeIn:
          if (!t.present) break;
          Abort(c.id, t);
          t.gen = c.gen;
          t.mode = kOneShot;
          ScheduleStart(c.id, t, now + c.a);
          break;
        case kSetQuiet:
          if (!t.present) break;
          Abort(c.id, t);
          t.gen = c.gen;
          if (c.a <= 0) {
            t.mode = kIdle;
            CancelTimer(t);
          } else {
            t.mode = kQuiet;
            t.intervalNs = c.a;
            t.phaseNs = now + (c.b >= 0 ? c.b : c.a);
            ScheduleStart(c.id, t, t.phaseNs);
          }
          break;
        case kRemove:
          if (!t.present) break;
          Abort(c.id, t);
          CancelTimer(t);
          {
            uint32_t seq = t.timerSeq;  // kept: stale heap entries must never match a later timer
            t = Target{};
            t.timerSeq = seq;
          }
          stats_[kTargets]--;
          break;
      }
    }
  }

  // Closes an in-flight probe with a RST; its result is never reported. (A half-open one has
  // nothing to close: a late SYN-ACK finds no probe here and the kernel's RST answers it.)
  void Abort(uint32_t /*id*/, Target& t) {
    if (t.synLive) {
      EndSynFlight(t);
      stats_[kAborted]++;
      CancelTimer(t);
      return;
    }
    if (t.fd < 0) return;
    CloseWithReset(t.fd);  // also leaves the epoll set

    t.fd = -1;
    stats_[kInFlight]--;
    stats_[kAborted]++;
    CancelTimer(t);
  }

  void CancelTimer(Target& t) {
    t.timerArmed = false;
    t.timerSeq++;
  }

  void ScheduleStart(uint32_t id, Target& t, int64_t at) {
    t.pendingStart = true;
    SetTimer(id, t, at);
  }

  void SetTimer(uint32_t id, Target& t, int64_t at) {
    t.timerSeq++;
    t.timerArmed = true;
    t.dueNs = at;
    (t.pendingStart ? startHeap_ : timeouts_).push(HeapEntry{at, id, t.timerSeq});
  }

  // Starts allowed in the current window: 1.5x the recent demand per ms (+2), at least kMinBurst,
  // times the window's milliseconds.
  // Below that nothing is held back; above it (the thread was descheduled, or a caller made
  // everything due at once) late starts are smeared over the next windows instead of
  // leaving as one burst of SYNs, and counted in lateStarts. Demand is counted by due time, not
  // start time: after a stall the backlog's starts land in the milliseconds they were due in,
  // so a thread that fell behind does not lower its own cap and fall further behind.
  int64_t BurstCap(int64_t now) {
    int64_t ms = now / kMsNs;
    if (ms != curMs_) {
      // Slots leaving the window.
      for (int64_t k = curMs_ + 1, steps = 0; k <= ms && steps < kRateWindowMs; k++, steps++) {
        size_t i = static_cast<size_t>(k % kRateWindowMs);
        if (rateMs_[i] <= ms - kRateWindowMs) {
          rateSum_ -= rateRing_[i];
          rateRing_[i] = 0;
        }
      }
      curMs_ = ms;
    }
    int64_t slot = now / kWakeNs;
    if (slot != curSlot_) {
      curSlot_ = slot;
      startsThisSlot_ = 0;
    }
    int64_t perMs = rateSum_ * 3 / (2 * kRateWindowMs) + 2;
    if (perMs < kMinBurst) perMs = kMinBurst;
    return perMs * (kWakeNs / kMsNs);  // one wake-up's worth
  }

  void CountStart(int64_t dueNs) {
    startsThisSlot_++;
    int64_t d = dueNs / kMsNs;
    if (d > curMs_) d = curMs_;
    if (d <= curMs_ - kRateWindowMs) return;  // due before the window: not recent demand
    size_t i = static_cast<size_t>(d % kRateWindowMs);
    if (rateMs_[i] != d) {
      rateSum_ -= rateRing_[i];
      rateRing_[i] = 0;
      rateMs_[i] = d;
    }
    rateRing_[i]++;
    rateSum_++;
  }

  bool Live(const HeapEntry& e) const {
    if (e.id >= targets.size()) return false;
    const Target& t = targets[e.id];
    return t.present && t.timerArmed && t.timerSeq == e.seq;
  }

  void RunTimers(int64_t now) {
    // Everything due by now: the timer was armed on a window's boundary, so this is what the
    // coalescing promised to run together. Timeouts (their own heap) are never held back;
    // starts are, past the burst cap: they stay in their heap, due, and run first next time.
    for (size_t guard = 0; !timeouts_.empty() && guard < 10000000; guard++) {
      HeapEntry e = timeouts_.top();
      if (e.at > now) break;
      timeouts_.pop();
      if (!Live(e)) continue;
      Target& t = targets[e.id];
      t.timerArmed = false;
      if (t.synLive) {
        OnSynTimer(e.id, t, now);
        continue;
      }
      if (t.fd < 0) continue;
      // connect_timeout: no answer in time. (close() takes it out of the epoll set.)
      CloseWithReset(t.fd);
      t.fd = -1;
      stats_[kInFlight]--;
      Finish(e.id, t, kTimeout, ETIMEDOUT, now);
    }
    capped_ = false;
    for (size_t guard = 0; !startHeap_.empty() && guard < 10000000; guard++) {
      HeapEntry e = startHeap_.top();
      if (e.at > now) break;
      if (!Live(e)) {
        startHeap_.pop();
        continue;
      }
      // The clock of this very start (not of the wake-up): two wake-ups inside one
      // millisecond must share its cap.
      int64_t startNs = MonoNs();
      int64_t cap = BurstCap(startNs);  // first: it moves curMs_ / curSlot_ to startNs's
      if (startsThisSlot_ >= cap) {
        capped_ = true;
        break;
      }
      startHeap_.pop();
      Target& t = targets[e.id];
      t.timerArmed = false;
      t.pendingStart = false;
      CountStart(e.at);
      Start(e.id, t, e.at, startNs);
    }
  }

  void Start(uint32_t id, Target& t, int64_t due, int64_t now) {
    stats_[kProbes]++;
    if (now - due > kLateNs) stats_[kLateStarts]++;
    if (recordStarts_) {
      std::lock_guard<std::mutex> g(startsMu_);
      if (recordStarts_ && starts_.size() < 10000000) starts_.emplace_back(static_cast<double>(now) / 1e6, id);
    }
    t.startedNs = now;
    t.httpSent = 0;
    t.httpSeen = 0;
    t.httpMatch = 0;
    t.httpReading = false;
    t.httpConnected = false;
    t.httpLive = t.http;
    if (!t.httpLive && SynUsable(t) && StartSyn(id, t, now)) return;
    int fd = socket(t.family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) {
      int err = errno;
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) stats_[kFdErrors]++;
      Finish(id, t, kConnectError, err, now);
      return;
    }
    // As tcp_prober.cc for resetOnConnect: with quick ACKs off the kernel holds back the
    // handshake's final ACK, so the RST we close with answers the SYN-ACK and the server's
    // application never has to accept a connection per check.
    int zero = 0;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof zero);
    if (t.hasBind) {
      socklen_t len = t.family == 4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
      uint16_t bport = t.family == 4 ? t.from.v4.sin_port : t.from.v6.sin6_port;
      // bindto without a port: connect() picks the port per destination (IP_BIND_ADDRESS_NO_PORT).
      if (bport == 0) setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      else setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (::bind(fd, &t.from.sa, len) < 0) {
        int err = errno;
        close(fd);
        Finish(id, t, CodeOf(err) == kOk ? kConnectError : CodeOf(err), err, now);
        return;
      }
    }
    socklen_t toLen = t.family == 4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    int r;
    do {
      r = connect(fd, &t.to.sa, toLen);
    } while (r < 0 && errno == EINTR);
    if (r == 0 && !t.httpLive) {  // completed at once (possible on loopback)
      CloseWithReset(fd);
      Finish(id, t, kOk, 0, MonoNs());
      return;
    }
    if (r < 0 && errno != EINPROGRESS) {
      int err = errno;
      close(fd);
      Finish(id, t, CodeOf(err), err, now);
      return;
    }
    uint32_t events = EPOLLOUT;
    if (t.httpLive) {
      // HTTP mode: the request goes out at once if the handshake is done already (a near
      // server answers within connect(): HAProxy's checks send speculatively too), which saves
      // the thread a wake-up for EPOLLOUT and an epoll_ctl per probe; EAGAIN means "not yet".
      const std::string& req = t.httpLive->request;
      ssize_t w;
      do {
        w = send(fd, req.data(), req.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      } while (w < 0 && errno == EINTR);
      if (w > 0) {
        t.httpConnected = true;
        t.httpSent = static_cast<uint32_t>(w);
        if (t.httpSent == req.size()) {
          t.httpReading = true;
          events = EPOLLIN;
        }
      } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        int err = errno;  // e.g. ECONNREFUSED, taken off the socket by this send
        close(fd);
        Finish(id, t, HttpCodeOf(err), err, now);
        return;
      }
    }
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = (static_cast<uint64_t>(static_cast<uint32_t>(fd)) << 32) | id;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
      int err = errno;
      close(fd);
      Finish(id, t, kConnectError, err, now);
      return;
    }
    t.fd = fd;
    stats_[kInFlight]++;
    SetTimer(id, t, now + static_cast<int64_t>(t.timeoutMs) * kMsNs);
  }

  void OnSocket(uint32_t id, int fd, uint32_t events, int64_t now) {
    if (id >= targets.size()) return;
    Target& t = targets[id];
    if (t.fd != fd || fd < 0) return;  // aborted or finished earlier in this wake-up
    if (t.httpLive && t.httpConnected) {
      OnHttpSocket(id, t, now);
      return;
    }
    // Writable with no error or hang-up: the handshake completed, no SO_ERROR read needed (a
    // syscall per probe saved; HAProxy's checks do not read it either).
    bool ok = (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == EPOLLOUT;
    int err = 0;
    if (!ok) {
      if ((events & (EPOLLERR | EPOLLHUP)) == 0) return;  // spurious
      socklen_t len = sizeof err;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
      if (err == 0) err = ECONNRESET;
    }
    if (ok && t.httpLive) {  // connected: the request goes out, the deadline keeps running
      t.httpConnected = true;
      OnHttpSocket(id, t, now);
      return;
    }
    if (t.httpLive) {
      EndHttp(id, t, HttpCodeOf(err), err, now);
      return;
    }
    // No EPOLL_CTL_DEL: closing the only descriptor of the socket removes it from the epoll set
    // (epoll(7)), one syscall per probe less.
    if (ok) CloseWithReset(fd);
    else close(fd);
    t.fd = -1;
    stats_[kInFlight]--;
    CancelTimer(t);
    Finish(id, t, ok ? kOk : CodeOf(err), err, now);
  }

  // ---- half-open mode (syn_prober.h) ---------------------------------------------------------

  // Whether this probe may go as a raw SYN: TCP_CHECK without bind_port (a fixed source port is
  // a socket's; connect() keeps it), and the family's raw socket open (opened on first need).
  bool SynUsable(const Target& t) {
    if (!synEnabled_) return false;
    uint16_t bport = t.family == 4 ? t.from.v4.sin_port : t.from.v6.sin6_port;
    if (t.hasBind && bport != 0) return false;
    int idx = t.family == 4 ? kSyn4 : kSyn6;
    int64_t state = stats_[idx].load(std::memory_order_relaxed);
    if (state == -1) {
      state = prober_.Open(t.family);
      stats_[idx] = state;
    }
    return state == 0;
  }

  struct TupleKey {
    uint8_t addr[16];
    uint16_t port;
    uint8_t family;
    bool operator==(const TupleKey& o) const {
      return family == o.family && port == o.port && std::memcmp(addr, o.addr, 16) == 0;
    }
  };
  struct TupleHash {
    size_t operator()(const TupleKey& k) const {
      uint64_t h = 1469598103934665603ull;  // FNV-1a
      for (uint8_t b : k.addr) h = (h ^ b) * 1099511628211ull;
      h = (h ^ k.port) * 1099511628211ull;
      return static_cast<size_t>((h ^ k.family) * 1099511628211ull);
    }
  };
  static TupleKey KeyOf(const SockAddr& a) {
    TupleKey k{};
    if (a.sa.sa_family == AF_INET) {
      k.family = 4;
      k.port = a.v4.sin_port;
      std::memcpy(k.addr, &a.v4.sin_addr, 4);
    } else {
      k.family = 6;
      k.port = a.v6.sin6_port;
      std::memcpy(k.addr, &a.v6.sin6_addr, 16);
    }
    return k;
  }

  // Sends the probe's SYN. False: it must connect() instead (another half-open probe to the
  // same address and port is in flight: one source port, so the second SYN would look like a
  // retransmission of the first to the server).
  bool StartSyn(uint32_t id, Target& t, int64_t now) {
    TupleKey key = KeyOf(t.to);
    if (synFlight_.count(key) != 0) return false;
    if (t.srcAtNs < 0 || now - t.srcAtNs > kSourceTtlNs) {
      int err = prober_.SourceFor(t.to, t.hasBind ? &t.from : nullptr, &t.src);
      if (err != 0) {
        // As connect() fails: bind()'s EADDRNOTAVAIL, the route lookup's ENETUNREACH, ...
        t.srcAtNs = -1;
        Finish(id, t, CodeOf(err) == kOk ? kConnectError : CodeOf(err), err, now);
        return true;
      }
      t.srcAtNs = now;
    }
    t.synCount++;
    uint32_t seq = synSecret_ ^ ((static_cast<uint32_t>(t.synCount & 0x3ff) << 22) | id);
    t.synSentWallNs = WallNs();
    prober_.Queue(t.to, t.src, seq, id);  // sent with this wake-up's others (FlushSyns)
    stats_[kSynProbes]++;
    stats_[kInFlight]++;
    synFlight_.insert(key);
    t.synLive = true;
    t.synSeq = seq;
    t.synTo = t.to;
    t.synDeadlineNs = now + static_cast<int64_t>(t.timeoutMs) * kMsNs;
    t.synRtoNs = kInitialRtoNs;
    t.synRtxNs = now + t.synRtoNs;
    SetTimer(id, t, t.synRtxNs < t.synDeadlineNs ? t.synRtxNs : t.synDeadlineNs);
    return true;
  }

  void EndSynFlight(Target& t) {
    synFlight_.erase(KeyOf(t.synTo));
    t.synLive = false;
    stats_[kInFlight]--;
  }

  void EndSyn(uint32_t id, Target& t, int32_t code, int err, int64_t now) {
    EndSynFlight(t);
    CancelTimer(t);
    if (code != kOk) t.srcAtNs = -1;  // look the source up again before the next probe
    Finish(id, t, code, err, now);
  }

  // The probe's timer: its deadline (connect_timeout) or its next retransmission.
  void OnSynTimer(uint32_t id, Target& t, int64_t now) {
    if (now >= t.synDeadlineNs) {
      EndSyn(id, t, kTimeout, ETIMEDOUT, now);
      return;
    }
    if (now >= t.synRtxNs) {
      prober_.Queue(t.synTo, t.src, t.synSeq, id);
      stats_[kSynRetransmits]++;
      t.synRtoNs *= 2;
      t.synRtxNs = now + t.synRtoNs;
    }
    SetTimer(id, t, t.synRtxNs < t.synDeadlineNs ? t.synRtxNs : t.synDeadlineNs);
  }

  // Sends the SYNs this wake-up queued; one that could not leave ends its probe with the
  // errno (as a connect() whose SYN cannot be sent fails: ENETUNREACH, ENOBUFS, ...).
  void FlushSyns(int64_t now) {
    synFailed_.clear();
    prober_.Flush(&synFailed_);
    for (const SynProber::SendFailure& f : synFailed_) {
      if (f.id >= targets.size()) continue;
      Target& t = targets[f.id];
      if (!t.synLive || t.synSeq != f.seq) continue;
      if (f.err == ENOBUFS || f.err == ENOMEM) stats_[kFdErrors]++;
      EndSyn(f.id, t, CodeOf(f.err), f.err, now);
    }
  }

  static bool SamePeer(const SockAddr& a, const SockAddr& b) {
    if (a.sa.sa_family != b.sa.sa_family) return false;
    if (a.sa.sa_family == AF_INET) {
      return a.v4.sin_port == b.v4.sin_port && a.v4.sin_addr.s_addr == b.v4.sin_addr.s_addr;
    }
    return a.v6.sin6_port == b.v6.sin6_port && std::memcmp(&a.v6.sin6_addr, &b.v6.sin6_addr, 16) == 0;
  }

  // What the family's raw socket has: a SYN-ACK is the handshake a connect() would complete
  // (ok), a RST-ACK is ECONNREFUSED, an ICMP error quoting the SYN is the errno tcp_v4_err /
  // tcp_v6_err would give a connecting socket (EMSGSIZE aside: path MTU news, not a failure).
  void OnSynReplies(int family, int64_t now) {
    synReplies_.clear();
    prober_.Drain(family, &synReplies_, 1 << 16);
    for (const SynReply& r : synReplies_) {
      uint32_t id = (r.seq ^ synSecret_) & (kMaxId - 1);
      if (id >= targets.size()) {
        stats_[kSynUnmatched]++;
        continue;
      }
      Target& t = targets[id];
      if (!t.synLive || t.synSeq != r.seq || !SamePeer(t.synTo, r.peer)) {
        stats_[kSynUnmatched]++;
        continue;
      }
      // Answers are read up to a window late: the latency is the kernel's receive time minus
      // the send time (both CLOCK_REALTIME), put on the monotonic clock the probe started on.
      int64_t at = now;
      if (r.rxWallNs > 0 && r.rxWallNs >= t.synSentWallNs) {
        int64_t rx = t.startedNs + (r.rxWallNs - t.synSentWallNs);
        if (rx < now) at = rx;
      }
      if (r.kind == SynReply::kSynAck) EndSyn(id, t, kOk, 0, at);
      else if (r.kind == SynReply::kReset) EndSyn(id, t, kRefused, ECONNREFUSED, at);
      else if (r.err != EMSGSIZE) EndSyn(id, t, CodeOf(r.err), r.err, at);
    }
  }

  // ---- HTTP mode -------------------------------------------------------------------------------

  // The connected socket is writable (request still going out) or readable (response).
  void OnHttpSocket(uint32_t id, Target& t, int64_t now) {
    const HttpSpec& h = *t.httpLive;
    if (!t.httpReading) {
      while (t.httpSent < h.request.size()) {
        ssize_t w = send(t.fd, h.request.data() + t.httpSent, h.request.size() - t.httpSent, MSG_NOSIGNAL);
        if (w > 0) {
          t.httpSent += static_cast<uint32_t>(w);
          continue;
        }
        if (w < 0 && errno == EINTR) continue;
        // A full send buffer: EPOLLOUT (still registered) brings us back for the rest.
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        int err = w < 0 ? errno : EPIPE;
        EndHttp(id, t, HttpCodeOf(err), err, now);
        return;
      }
      t.httpReading = true;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = (static_cast<uint64_t>(static_cast<uint32_t>(t.fd)) << 32) | id;
      if (epoll_ctl(epfd_, EPOLL_CTL_MOD, t.fd, &ev) < 0) {
        int err = errno;
        EndHttp(id, t, kConnectError, err, now);
      }
      return;  // the answer comes with the next EPOLLIN
    }
    char buf[4096];
    // Bounded per wake-up; level-triggered epoll brings us back for the rest.
    for (int guard = 0; guard < 32; guard++) {
      ssize_t n = recv(t.fd, buf, sizeof buf, 0);
      if (n > 0) {
        int32_t status = 0;
        int32_t code = HttpFeed(t, buf, static_cast<size_t>(n), &status);
        if (code >= 0) {
          EndHttp(id, t, code, status, now);
          return;
        }
        continue;
      }
      if (n == 0) {  // EOF before the end of the header: HttpResponseReader.end()'s bad_response
        EndHttp(id, t, kBadResponse, 0, now);
        return;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      int err = errno;
      EndHttp(id, t, HttpCodeOf(err), err, now);
      return;
    }
  }

  // Consumes response bytes. Returns the verdict code, or -1 for "more". The verdict comes at the
  // end of the header, as probes/http.ts HttpResponseReader.push() gives it without a digest.
  int32_t HttpFeed(Target& t, const char* p, size_t n, int32_t* status) {
    static const char kEnd[4] = {'\r', '\n', '\r', '\n'};
    for (size_t i = 0; i < n; i++) {
      char c = p[i];
      if (t.httpSeen < kHttpHeadKeep) t.httpHead[t.httpSeen] = c;
      t.httpSeen++;
      if (c == kEnd[t.httpMatch]) t.httpMatch++;
      else t.httpMatch = c == '\r' ? 1 : 0;
      if (t.httpMatch == 4) {
        uint32_t headerLen = t.httpSeen - 4;
        if (headerLen > kHttpMaxHeaderBytes) return kBadResponse;
        return HttpJudge(t, headerLen, status);
      }
    }
    // As HttpResponseReader.push(): no end of header within the limit (checked per chunk).
    if (t.httpSeen > kHttpMaxHeaderBytes) return kBadResponse;
    return -1;
  }

  // probes/http.ts parseStatusLine(): /^HTTP\/\d\.\d (\d{3})(?:[ \r]|$)/ on the header
  // (keepalived html.c extract_status_code() reads the digits after the first space), then the
  // accepted ranges (keepalived check_http.c http_handle_response(): the status_code bit array).
  static int32_t HttpJudge(const Target& t, uint32_t headerLen, int32_t* status) {
    const char* h = t.httpHead;
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (headerLen < 12 || std::memcmp(h, "HTTP/", 5) != 0 || !digit(h[5]) || h[6] != '.' || !digit(h[7]) ||
        h[8] != ' ' || !digit(h[9]) || !digit(h[10]) || !digit(h[11])) {
      return kBadResponse;
    }
    if (headerLen > 12 && h[12] != ' ' && h[12] != '\r') return kBadResponse;
    int32_t code = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
    for (const auto& r : t.httpLive->accept) {
      if (code >= r.first && code <= r.second) return kOk;
    }
    *status = code;
    return kHttpStatus;
  }

  // Ends an HTTP probe: RST close (keepalived closes once it has read; there is nothing to wait
  // for), timer cancelled, outcome recorded. `err` is the errno, or the status for kHttpStatus.
  void EndHttp(uint32_t id, Target& t, int32_t code, int err, int64_t now) {
    CloseWithReset(t.fd);  // leaves the epoll set by itself (see OnSocket)
    t.fd = -1;
    stats_[kInFlight]--;
    CancelTimer(t);
    Finish(id, t, code, err, now);
  }

  // One probe's outcome: recorded as last, then either suppressed (quiet success: the next
  // period is scheduled) or queued for JS (ending the cycle).
  void Finish(uint32_t id, Target& t, int32_t code, int err, int64_t now) {
    int64_t lat = (now - t.startedNs) / 1000;
    uint32_t latencyUs = lat < 0 ? 0 : (lat > 0x7fffffff ? 0x7fffffff : static_cast<uint32_t>(lat));
    {
      std::lock_guard<std::mutex> g(lastMu_);
      if (id >= lasts_.size()) lasts_.resize(id + 1);
      Last& l = lasts_[id];
      l.set = true;
      l.code = code;
      l.status = code == kHttpStatus ? err : 0;
      l.latencyUs = latencyUs;
      l.atWallMs = WallMs();
    }
    if (t.mode == kQuiet && code == kOk) {
      stats_[kSuppressed]++;
      int64_t step = t.intervalNs;
      int64_t next = t.phaseNs + step;
      // Missed periods are skipped, not run back to back (HAProxy process_chk_conn).
      if (next <= now) next += ((now - next) / step + 1) * step;
      t.phaseNs = next;
      ScheduleStart(id, t, next);
      return;
    }
    t.mode = kIdle;
    {
      std::lock_guard<std::mutex> g(outMu_);
      outcomes_.push_back(Outcome{id, t.gen, code, code == kOk ? 0 : err, latencyUs});
    }
    resultsPending_ = true;
  }

  void MaybeFlush(int64_t now) {
    if (!resultsPending_) return;
    if (now - lastFlushNs_ < kFlushGapNs) return;  // ArmTimer wakes us at lastFlush + gap
    resultsPending_ = false;
    lastFlushNs_ = now;
    uv_async_send(async_);
  }

  void ArmTimer() {
    // Drop stale entries so the timer is armed for a real deadline.
    while (!timeouts_.empty() && !Live(timeouts_.top())) timeouts_.pop();
    while (!startHeap_.empty() && !Live(startHeap_.top())) startHeap_.pop();
    int64_t at = -1;
    if (!startHeap_.empty()) {
      at = startHeap_.top().at;
      // Starts held back by the burst cap are due already: come back at the next window.
      if (capped_) {
        int64_t next = (MonoNs() / kWakeNs + 1) * kWakeNs;
        if (at < next) at = next;
      }
    }
    if (!timeouts_.empty() && (at < 0 || timeouts_.top().at < at)) at = timeouts_.top().at;
    // Half-open probes in flight: their answers are read at every wake-up (the raw sockets are
    // not in the epoll set, so that 10,000 answers a second are not 10,000 wake-ups), so wake
    // up at the next window even with nothing else due.
    if (!synFlight_.empty()) {
      int64_t next = (MonoNs() / kWakeNs + 1) * kWakeNs;
      if (at < 0 || next < at) at = next;
    }
    // Round up to the window's boundary: one timer wake-up per kWakeNs at most.
    if (at >= 0) at = (at + kWakeNs - 1) / kWakeNs * kWakeNs;
    if (resultsPending_) {
      int64_t flushAt = lastFlushNs_ + kFlushGapNs;
      if (at < 0 || flushAt < at) at = flushAt;
    }
    if (at == 0) at = 1;
    // Armed for that time already (a wake-up for a socket event changes nothing due): one
    // system call per wake-up saved.
    if (at == armedAt_) return;
    armedAt_ = at;
    itimerspec its{};
    if (at > 0) {
      its.it_value.tv_sec = at / 1000000000;
      its.it_value.tv_nsec = at % 1000000000;
    }
    // An absolute time already past fires at once; all zero disarms.
    timerfd_settime(timerfd_, TFD_TIMER_ABSTIME, &its, nullptr);
  }

  // Thread-owned.
  std::vector<Target> targets;
  SynProber prober_;
  std::unordered_set<TupleKey, TupleHash> synFlight_;  // destinations of half-open probes in flight
  std::vector<SynReply> synReplies_;
  std::vector<SynProber::SendFailure> synFailed_;
  uint32_t synSecret_ = 0;  // XORed into sequence numbers: an off-path guess must not end a probe
  bool synEnabled_ = true;
  using MinHeap = std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<HeapEntry>>;
  MinHeap startHeap_;  // next starts
  MinHeap timeouts_;     // in-flight probes' connect_timeout
  bool resultsPending_ = false;
  int64_t lastFlushNs_ = 0;
  bool capped_ = false;
  int64_t armedAt_ = -2;  // the timerfd's absolute expiry (-1: disarmed, -2: unknown / fired)
  int64_t rateRing_[kRateWindowMs] = {};  // starts by due millisecond, last kRateWindowMs
  int64_t rateMs_[kRateWindowMs] = {};    // the millisecond each slot counts
  int64_t rateSum_ = 0;
  int64_t curMs_ = 0;
  int64_t curSlot_ = 0;         // the wake-up window (kWakeNs) startsThisSlot_ counts in
  int64_t startsThisSlot_ = 0;

  // Shared.
  std::mutex cmdMu_;
  std::vector<Command> cmds_;
  std::mutex outMu_;
  std::vector<Outcome> outcomes_;
  std::mutex lastMu_;
  std::vector<Last> lasts_;
  std::mutex startsMu_;
  std::atomic<bool> recordStarts_{false};
  std::vector<std::pair<double, uint32_t>> starts_;
  std::atomic<int64_t> stats_[kStatCount] = {};
  std::atomic<bool> running_{false};

  // JS-thread-owned.
  std::vector<uint32_t> gens_;
  std::vector<uint8_t> busy_;
  std::vector<uint8_t> present_;
  int64_t busyCount_ = 0;
  int64_t targets_ = 0;
  int64_t reportedJs_ = 0;
  int64_t staleJs_ = 0;
  bool referenced_ = false;
  bool closed_ = false;
  bool hookAdded_ = false;
  napi_env env_ = nullptr;

  int epfd_ = -1;
  int timerfd_ = -1;
  int wakefd_ = -1;
  uv_async_t* async_ = nullptr;
  std::thread thread_;
  Napi::FunctionReference onResults_;
  std::unique_ptr<Napi::AsyncContext> asyncContext_;
};

}  // namespace

Napi::Function InitTcpCheckEngine(Napi::Env env) { return TcpCheckEngine::Init(env); }

}  // namespace tandem

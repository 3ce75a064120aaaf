// tandem_net: the kernel interfaces Node lacks (raw IP, AF_PACKET and rtnetlink sockets).
// Everything runs on the Node event loop through uv_poll, except two threads of their own: the
// advert sender (advert_sender.cc), which sends MASTER adverts whatever the loop is doing, and
// TcpCheckEngine (tcp_check_engine.cc), which runs the TCP and HTTP checks.
#include "common.h"

namespace tandem {
Napi::Function InitVrrpSocket(Napi::Env env);
Napi::Function InitPacketSocket(Napi::Env env);
Napi::Function InitIcmpSocket(Napi::Env env);
Napi::Function InitGenlSocket(Napi::Env env);
Napi::Function InitTcpProber(Napi::Env env);
Napi::Function InitTcpCheckEngine(Napi::Env env);
Napi::Function InitAdvertSender(Napi::Env env);
Napi::Function InitPreciseTimer(Napi::Env env);
void InitRtnetlink(Napi::Env env, Napi::Object exports);
void InitRtnetlinkLink(Napi::Env env, Napi::Object exports);
void InitSdNotify(Napi::Env env, Napi::Object exports);
void InitRtnetlinkTunnel(Napi::Env env, Napi::Object exports);
void InitRtnetlinkRoute(Napi::Env env, Napi::Object exports);
}  // namespace tandem

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("VrrpSocket", tandem::InitVrrpSocket(env));
  exports.Set("PacketSocket", tandem::InitPacketSocket(env));
  exports.Set("IcmpSocket", tandem::InitIcmpSocket(env));
  exports.Set("GenlSocket", tandem::InitGenlSocket(env));
  exports.Set("TcpProber", tandem::InitTcpProber(env));
  exports.Set("TcpCheckEngine", tandem::InitTcpCheckEngine(env));
  exports.Set("AdvertSender", tandem::InitAdvertSender(env));
  exports.Set("PreciseTimer", tandem::InitPreciseTimer(env));
  tandem::InitRtnetlink(env, exports);
  tandem::InitRtnetlinkLink(env, exports);  // rtnetlink_link.cc: VMAC macvlans
  tandem::InitSdNotify(env, exports);
  tandem::InitRtnetlinkTunnel(env, exports);
  tandem::InitRtnetlinkRoute(env, exports);  // rtnetlink_route.cc: routes and policy rules
  return exports;
}

NODE_API_MODULE(tandem_net, Init)

{
  "targets": [
    {
      "target_name": "tandem_net",
      "sources": [
        "src/native/addon.cc",
        "src/native/vrrp_socket.cc",
        "src/native/packet_socket.cc",
        "src/native/rtnetlink.cc",
        "src/native/rtnetlink_link.cc",
        "src/native/icmp_socket.cc",
        "src/native/genetlink.cc",
        "src/native/tcp_prober.cc",
        "src/native/tcp_check_engine.cc",
        "src/native/syn_prober.cc",
        "src/native/sd_notify.cc",
        "src/native/advert_sender.cc",
        "src/native/precise_timer.cc",
        "src/native/rtnetlink_tunnel.cc",
        "src/native/rtnetlink_route.cc",
        "src/native/netlink_request.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api"
      ],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-lpthread"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++1y"]
    }
  ]
}

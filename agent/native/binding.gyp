{
  "targets": [
    {
      "target_name": "fleetnet_bpf",
      "sources": ["fleetnet-bpf.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror"],
      "libraries": ["-lbpf", "-lelf", "-lz"]
    }
  ]
}

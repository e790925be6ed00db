{
  "targets": [
    {
      "target_name": "sd_notify",
      "sources": ["src/sd_notify.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}

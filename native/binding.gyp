# Built by build.cjs (npm's install script), which passes the directory of the librdkafka that
# @confluentinc/kafka-javascript built (CKJS_LINKING=dynamic) in LOGSHIP_RDKAFKA_DIR: headers from its
# include/, the library from the directory itself. The run paths are relative to the addon
# ($ORIGIN) so that a copied install (/opt/logship, a container's final stage) still finds it:
#   <root>/native/build/Release/               -> <root>/node_modules/@confluentinc/...
#   <root>/node_modules/@logship/native/build/Release/ (an install that copied the package)
{
  "variables": {
    "rdkafka_dir%": "<!(node -p \"process.env.LOGSHIP_RDKAFKA_DIR || 'LOGSHIP_RDKAFKA_DIR-unset'\")"
  },
  "targets": [
    {
      "target_name": "logship_native",
      "sources": ["src/producer.c", "src/json_fields.c"],
      "include_dirs": ["<(rdkafka_dir)/include"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-ignored-qualifiers"],
      "libraries": [
        "-L<(rdkafka_dir)",
        "-lrdkafka",
        "-lpthread",
        "-ldl",
        "-Wl,-rpath,'$$ORIGIN/../../../node_modules/@confluentinc/kafka-javascript/build/deps'",
        "-Wl,-rpath,'$$ORIGIN/../../../../@confluentinc/kafka-javascript/build/deps'"
      ]
    }
  ]
}

# logship container image. Multi-stage: build librdkafka (bundled with
# @confluentinc/kafka-javascript) from source against Debian's libraries exactly as
# scripts/setup.sh does, and logship's native producer (native/, a file: dependency built by
# npm ci right after the binding, linked to the binding's librdkafka.so.1), then copy only
# what runs into a slim image.
# NOTE: this file cannot be built on the development machines (no Docker engine there); its
# install steps mirror scripts/setup.sh, which is tested on every CI run.
#
#   docker build -t logship .
#   docker run -v /var/log:/var/log:ro -v logship-data:/var/lib/logship \
#              -v $PWD/agent.yaml:/etc/logship/agent.yaml:ro logship

FROM node:20-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential python3 libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
# The native addons are local packages (file: links), built by npm ci with the rest: their
# sources must be there first (install scripts).
COPY native/package.json native/binding.gyp native/build.cjs native/index.cjs ./native/
COPY native/src ./native/src
COPY native/sd-notify ./native/sd-notify
# dynamic: build the bundled librdkafka against the system libraries (no prebuilt download).
# The node image ships Node's headers (/usr/local/include/node): with nodedir pointing there,
# node-gyp downloads nothing for either addon.
RUN CKJS_LINKING=dynamic npm_config_nodedir=/usr/local npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY src ./src
COPY test ./test
COPY bench ./bench
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# Runtime libraries only (no -dev packages, no compiler).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libssl3 zlib1g libzstd1 liblz4-1 libsasl2-2 libsasl2-modules libcurl4 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 logship \
 && useradd --system --uid 10001 --gid logship --home-dir /var/lib/logship --shell /usr/sbin/nologin logship \
 && mkdir -p /var/lib/logship /etc/logship \
 && chown logship:logship /var/lib/logship && chmod 0700 /var/lib/logship
WORKDIR /opt/logship
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
# node_modules/@logship/native is a link to ../../native: the addon and its loader. Its run
# path ($ORIGIN/../../../node_modules/@confluentinc/kafka-javascript/build/deps) finds the
# binding's librdkafka.so.1 here as in the build stage; the agent checks at start that it did.
COPY --from=build /src/native/package.json /src/native/index.cjs ./native/
COPY --from=build /src/native/build/Release/logship_native.node ./native/build/Release/
COPY --from=build /src/native/sd-notify ./native/sd-notify
COPY --from=build /src/dist/src ./dist/src
COPY bin ./bin
COPY examples/systemd/agent.yaml /etc/logship/agent.yaml
USER logship
VOLUME ["/var/lib/logship"]
EXPOSE 9464
# The config's metrics.listen must be reachable here; in a container set it to 0.0.0.0:9464
# only if the port is not published beyond the pod/host, else keep 127.0.0.1:9464.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "require('http').get('http://127.0.0.1:9464/healthz',r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--max-semi-space-size=4", "/opt/logship/dist/src/cli/main.js"]
CMD ["run", "-c", "/etc/logship/agent.yaml"]

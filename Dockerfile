# syntax=docker/dockerfile:1.7
#
# Kestrel image: Node 20 + the addon (native and julia engines) + Julia 1.10 with the Kestrel
# sysimage. The build runs the test suite as .ci/run does (the Julia syntax gate, the Julia package
# tests, then the whole vitest suite with Julia required, against real PostgreSQL / NATS /
# ClickHouse started inside the build step); the image is only produced when they pass.
#
#   docker build --build-context shared=../shared -t kestrel .
#   docker run --rm --shm-size=512m kestrel               # = node dist/src/cli/main.js start
#   docker run --rm --shm-size=512m kestrel --help
#   secrets: -e KESTREL_BINANCE_API_KEY_FILE=/run/secrets/binance_key ... (files mode 0400/0600,
#   owned by uid 10001); never bake them into the image or a config file.
#
# Network: the `julia` stage downloads the official Julia tarball, the builder installs npm
# packages and (for the sysimage) PackageCompiler through Julia's package manager. Build where
# that network is reachable; pin the tarball with --build-arg JULIA_SHA256=<sha256>.
# Reference data (../shared, not part of the repository) comes in as the named build context
# `shared`; without it the empty stage below stands in and the tests that need it fail, naming it.

ARG NODE_IMAGE=node:20-bookworm
ARG NODE_RUNTIME_IMAGE=node:20-bookworm-slim
ARG JULIA_VERSION=1.10.8

FROM scratch AS shared

# ---- Julia: official binary tarball ----------------------------------------------------------
FROM debian:bookworm-slim AS julia
ARG JULIA_VERSION
ARG JULIA_SHA256=""
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
RUN set -eux; \
    minor="$(echo "${JULIA_VERSION}" | cut -d. -f1,2)"; \
    curl -fsSL -o /tmp/julia.tar.gz \
      "https://julialang-s3.julialang.org/bin/linux/x64/${minor}/julia-${JULIA_VERSION}-linux-x86_64.tar.gz"; \
    if [ -n "${JULIA_SHA256}" ]; then echo "${JULIA_SHA256}  /tmp/julia.tar.gz" | sha256sum -c -; fi; \
    mkdir -p /opt/julia; \
    tar -xzf /tmp/julia.tar.gz -C /opt/julia --strip-components=1; \
    rm /tmp/julia.tar.gz; \
    test -f /opt/julia/lib/libjulia.so.1.10; \
    /opt/julia/bin/julia --startup-file=no -e 'VERSION >= v"1.10" && VERSION < v"1.11" || error("need Julia 1.10, got $(VERSION)")'

# ---- builder: addon, TypeScript, sysimage -----------------------------------------------------
FROM ${NODE_IMAGE} AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake ninja-build g++ patch \
 && rm -rf /var/lib/apt/lists/*
COPY --from=julia /opt/julia /opt/julia
ENV JULIA_DIR=/opt/julia \
    JULIA_DEPOT_PATH=/opt/julia-depot \
    PATH=/opt/julia/bin:$PATH
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` builds the project, which needs the sources copied below.
RUN npm ci --ignore-scripts
COPY . .
RUN npm run build
# Portable CPU target: the image may run on another x86-64 than the build host (a sysimage
# compiled for "native" aborts Julia's start on a CPU without the same features).
ARG KESTREL_SYSIMAGE_CPU_TARGET="generic;sandybridge,-xsaveopt,clone_all;haswell,-rdrnd,base(1)"
RUN KESTREL_SYSIMAGE_CPU_TARGET="${KESTREL_SYSIMAGE_CPU_TARGET}" sysimage/build.sh \
 && test -f sysimage/build/kestrel.so && cat sysimage/build/kestrel.so.julia-version

# ---- test: the suite, Julia required ----------------------------------------------------------
FROM builder AS test
COPY --from=shared . /shared
ENV KESTREL_REQUIRE_JULIA=1 \
    KESTREL_SHARED_DIR=/shared
# The same commands as .ci/run (test/deploy/dockerfile-ci.test.ts checks it). `npm test` starts the
# real servers (scripts/services.sh) and Chromium, then runs the whole suite, test/julia included;
# with KESTREL_REQUIRE_JULIA=1 a skipped Julia test fails it.
RUN npm run check:julia
RUN julia --startup-file=no --project=julia -e 'using Pkg; Pkg.test()'
RUN npm test && touch /app/.tests-passed

# ---- production dependencies only --------------------------------------------------------------
FROM builder AS prod
RUN npm prune --omit=dev --ignore-scripts \
 && rm -rf test bench .github sysimage/Manifest.toml

# ---- runtime ----------------------------------------------------------------------------------
FROM ${NODE_RUNTIME_IMAGE} AS runtime
COPY --from=julia /opt/julia /opt/julia
ENV JULIA_DIR=/opt/julia \
    NODE_ENV=production
# Runs as an unprivileged user (uid 10001, no login shell): a compromise of the process does not
# own the container. The code stays root-owned and read-only to it; only var/ (WAL, audit, capture,
# the generated admin token) is writable.
RUN groupadd --system --gid 10001 kestrel \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin kestrel
WORKDIR /app
COPY --from=prod /app /app
# Depending on the test stage makes every image build run the suite.
COPY --from=test /app/.tests-passed /app/.tests-passed
RUN mkdir -p /app/var/home && chown -R 10001:10001 /app/var && chmod 0700 /app/var
# A writable home for whatever caches there (Julia's depot defaults to ~/.julia).
ENV HOME=/app/var/home
USER 10001:10001
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["start"]

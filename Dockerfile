# syntax=docker/dockerfile:1
#
# The capsule-proxy image: a release build on the official Rust image (Debian 12), run from distroless
# cc-debian12 (glibc, libgcc_s, CA certificates, no shell). Build:
#
#   docker build -t ghcr.io/capsule-proxy-rs/capsule-proxy:v0.1.0 \
#     --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" .
#
# Runs as 1002:1002 from a read-only root filesystem: the binary writes nothing at run time. Ports: 9001 proxy,
# 8080 metrics, 8081 probes. Without a Docker daemon, `.ci/image` assembles an equivalent image from scratch.

# Keep in step with rust-toolchain.toml (`.ci/image` checks that they agree).
ARG RUST_VERSION=1.95.0

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS builder
# Cargo features beyond none: the default `demo` feature (kube-sim's demo cluster) stays out of the image.
ARG FEATURES=""
ENV CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0
WORKDIR /build

# Dependencies first, in their own layer: the workspace manifests and the lockfile, with stub sources standing
# in for the crates. This layer is rebuilt only when a manifest or Cargo.lock changes. rust-toolchain.toml is
# left out on purpose: the image's toolchain is the pinned one, and the file's rustfmt/clippy components would
# make rustup download them.
COPY Cargo.toml Cargo.lock ./
COPY policy/Cargo.toml policy/
COPY control/Cargo.toml control/
COPY dataplane/Cargo.toml dataplane/
COPY kube-sim/Cargo.toml kube-sim/
COPY perf/Cargo.toml perf/
RUN set -eux; \
    for crate in . policy control dataplane kube-sim perf; do \
      mkdir -p "$crate/src"; \
      : > "$crate/src/lib.rs"; \
      echo 'fn main() {}' > "$crate/src/main.rs"; \
    done; \
    cargo build --release --locked -p capsule-proxy --bin capsule-proxy --no-default-features \
      ${FEATURES:+--features "$FEATURES"}; \
    rm -rf src policy/src control/src dataplane/src kube-sim/src perf/src

# The sources. Touched so that cargo rebuilds the workspace crates over the stubs whatever the files' mtimes.
# The release profile keeps line tables (debug = 1) for profiling; the image's binary keeps only the symbols.
COPY src src
COPY policy policy
COPY control control
COPY dataplane dataplane
COPY kube-sim kube-sim
COPY perf perf
RUN set -eux; \
    find src policy control dataplane kube-sim perf -name '*.rs' -exec touch {} +; \
    cargo build --release --locked -p capsule-proxy --bin capsule-proxy --no-default-features \
      ${FEATURES:+--features "$FEATURES"}; \
    mkdir -p /out; \
    objcopy --strip-debug target/release/capsule-proxy /out/capsule-proxy; \
    /out/capsule-proxy --version

# glibc 2.36 like the builder (both Debian 12); the `nonroot` variant has no shell either.
FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
ARG REVISION=""
LABEL org.opencontainers.image.title="capsule-proxy" \
      org.opencontainers.image.description="A fast, thread-per-core drop-in replacement for Capsule's capsule-proxy." \
      org.opencontainers.image.source="https://github.com/capsule-proxy-rs/capsule-proxy" \
      org.opencontainers.image.url="https://projectcapsule.dev/docs/proxy/" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=builder /out/capsule-proxy /usr/local/bin/capsule-proxy
# The Helm chart's runAsUser/runAsGroup; numeric, so runAsNonRoot can check it without /etc/passwd.
USER 1002:1002
EXPOSE 9001 8080 8081
ENTRYPOINT ["/usr/local/bin/capsule-proxy"]

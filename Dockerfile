# A small static image of polscan: a musl build (rustls, no OpenSSL) on a
# distroless base that runs as the nonroot user 65532.
#   docker build -t ghcr.io/polscan/polscan:0.1.0 .
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends musl-tools \
    && rm -rf /var/lib/apt/lists/* \
    && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
RUN cargo build --release --locked --target x86_64-unknown-linux-musl -p polscan \
    && cp target/x86_64-unknown-linux-musl/release/polscan /polscan

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /polscan /polscan
USER 65532:65532
ENTRYPOINT ["/polscan"]
CMD ["scan", "--exclude-kinds=Secret", "--output=summary", "--log-format=json"]

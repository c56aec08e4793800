FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin gatehouse

FROM debian:bookworm-slim
# curl: the compose files' health checks call /health/ready.
RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 gatehouse && mkdir /data && chown gatehouse /data
COPY --from=build /src/target/release/gatehouse /usr/local/bin/gatehouse
USER gatehouse
VOLUME /data
EXPOSE 5000
ENV GATEHOUSE_LISTEN=0.0.0.0:5000 GATEHOUSE_DATABASE=/data/gatehouse.db
ENTRYPOINT ["/usr/local/bin/gatehouse"]

# syntax=docker/dockerfile:1
#
# Production image of the imapmig daemon: a static binary on a distroless
# base, run as a non-root user, state in a volume.
#
#   docker build --build-arg VERSION=1.4.0 -t imapmig:1.4.0 .
#   docker run -d --name imapmig -p 127.0.0.1:8470:8470 \
#     -v imapmig-data:/var/lib/imapmig \
#     -v /etc/imapmig:/etc/imapmig:ro \
#     -e IMAPMIG_CLIENT_SECRET imapmig:1.4.0
#
# The config (/etc/imapmig/imapmig.yaml) must say
#   data_dir: /var/lib/imapmig
#   listen: 0.0.0.0:8470
# (see deploy/imapmig.yaml). README: "Install on a server".

# --- build: the Go toolchain, nothing of it reaches the image -------------
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# Static (no cgo, no libc), reproducible paths, the version stamped in.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/imapmig ./cmd/imapmig \
 && /out/imapmig version
# The state directory, owned by the runtime user: a new named volume
# starts with this owner.
RUN mkdir -p /out/var/lib/imapmig && chown 65532:65532 /out/var/lib/imapmig && chmod 0700 /out/var/lib/imapmig

# --- runtime: CA certificates, tzdata, /etc/passwd with nonroot; no shell --
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/imapmig /usr/local/bin/imapmig
COPY --from=build --chown=65532:65532 /out/var/lib/imapmig /var/lib/imapmig
USER 65532:65532
ENV IMAPMIG_CONFIG=/etc/imapmig/imapmig.yaml
VOLUME ["/var/lib/imapmig"]
EXPOSE 8470
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/imapmig"]
CMD ["serve", "--config", "/etc/imapmig/imapmig.yaml"]

# syntax=docker/dockerfile:1

# Build stage: a static binary (CGO off), so the runtime image needs no libc.
FROM golang:1.26 AS build
WORKDIR /src
# Modules first: this layer is reused as long as go.mod and go.sum do not change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# `make image` passes these from the VERSION file and git; left empty,
# lagwatch says "devel" (the build context has no .git to read).
ARG VERSION=
ARG REVISION=
ARG BRANCH=
ARG BUILD_DATE=
# prometheus/common/version feeds lagwatch_build_info and --version.
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w \
        -X github.com/prometheus/common/version.Version=${VERSION} \
        -X github.com/prometheus/common/version.Revision=${REVISION} \
        -X github.com/prometheus/common/version.Branch=${BRANCH} \
        -X github.com/prometheus/common/version.BuildDate=${BUILD_DATE}" \
      -o /out/lagwatch .

# Runtime stage: no shell, no package manager, not root.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/lagwatch /usr/local/bin/lagwatch
# kafka_exporter's port, lagwatch's default --web.listen-address.
EXPOSE 9308
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/lagwatch"]

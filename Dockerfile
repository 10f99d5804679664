# syntax=docker/dockerfile:1
# Build: static binaries of hookgate and its built-in plugins.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
COPY plugins/sdk/go.mod plugins/sdk/go.sum ./plugins/sdk/
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/hookgate/hookgate.Version=${VERSION}" -o /out/hookgate ./cmd/hookgate \
 && for p in cloudcx ucrm uspacy; do \
      if [ -d "plugins/$p" ]; then CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/plugins/$p ./plugins/$p; fi; \
    done

# Run: distroless static, non-root, nothing else in the image.
FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
COPY --from=build /out/hookgate /app/hookgate
COPY --from=build /out/plugins /app/bin/plugins
COPY config.yaml /app/config.yaml
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/app/hookgate"]
CMD ["serve", "--config", "/app/config.yaml"]

# syntax=docker/dockerfile:1
#
# One image for every carshare process. SERVICES picks what a container runs
# (SERVICES=gateway, SERVICES=auth, ...; unset = everything in one process).
#
#   docker build -t carshare:local .
#   docker run --rm -e SERVICES=auth -e TRANSPORTER=... carshare:local
#
# Health: the gateway serves /health/live, /health/ready and /metrics on PORT
# (3000); every other process on HEALTH_PORT (3001). See docs/deploy.md.

ARG NODE_IMAGE=node:20-bookworm
ARG RUNTIME_IMAGE=node:20-bookworm-slim

# --- build: TypeScript to dist/ -------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# proto/ (gRPC definitions) is copied to the runtime image; make sure it exists.
RUN npm run build && mkdir -p proto

# --- deps: production node_modules only (built on the full image, where native addons can compile) ---
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime ----------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
ENV NODE_ENV=production \
    DATA_DIR=/tmp/carshare \
    PORT=3000 \
    HEALTH_PORT=3001
WORKDIR /app
# A fixed numeric uid, so Kubernetes' runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 carshare \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin carshare
# Owned by root and read-only for the process: it writes only under /tmp (DATA_DIR).
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/proto ./proto
COPY package.json ./
USER 10001:10001
EXPOSE 3000 3001
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "dist/bin/healthcheck.js"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/bin/carshare.js"]

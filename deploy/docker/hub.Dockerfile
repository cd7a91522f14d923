# The hub's image, built from the local base (deploy/docker/base-image.sh), never pulled:
#   bash deploy/docker/build-images.sh      (after npm ci; builds the base first if absent)
# The build context is the repository with its installed node_modules: the build stage compiles,
# bundles the agent and lays out the production tree without reaching any registry.
ARG BASE=hostplane/node-base:trixie

FROM ${BASE} AS build
WORKDIR /src
COPY . .
RUN node node_modules/typescript/bin/tsc -b \
 && node scripts/bundle-agent.mjs \
 && node scripts/stage-hub.mjs /app \
 && cd /app && HOSTPLANE_ENV=test node -e "require('./apps/hub/dist/src/app.module')"

FROM ${BASE}
RUN useradd --system --user-group --uid 10001 --home-dir /var/lib/hostplane --create-home --shell /usr/sbin/nologin hostplane
COPY --from=build /app /app
WORKDIR /app
ENV NODE_ENV=production \
    HOSTPLANE_HOST=0.0.0.0 \
    HOSTPLANE_PORT=8080 \
    HOSTPLANE_DATA_DIR=/var/lib/hostplane \
    HOSTPLANE_AGENT_BUNDLE_DIR=/app/apps/hub/agent-bundles
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HOSTPLANE_PORT||8080)+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "apps/hub/dist/src/main.js"]

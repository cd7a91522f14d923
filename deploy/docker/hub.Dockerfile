# The hub's image: an already-built production tree on a base made locally, never pulled.
#   bash deploy/docker/hub-image.sh [TAG]      (after npm ci and npx tsc -b)
# The build context is the hub's production tree as installed and built in this checkout
# (scripts/hub-image-context.mjs: compiled code, production dependencies, the agent bundle), not
# the whole repository: nothing is compiled or downloaded inside. BASE is hostplane/node-base:host (node-base.sh: the host's Node and its
# libraries, made in seconds) or hostplane/node-base:trixie (base-image.sh: a Debian userland).
ARG BASE=hostplane/node-base:host

FROM ${BASE} AS hub
# Dependencies first: they change less often than the code, so a rebuild reuses their layer.
COPY node_modules /app/node_modules
COPY libs /app/libs
COPY apps /app/apps
COPY deploy/docker/verify-hub-tree.mjs /app/deploy/docker/verify-hub-tree.mjs
WORKDIR /app
ENV NODE_ENV=production HOSTPLANE_HOST=0.0.0.0 HOSTPLANE_PORT=8080 HOSTPLANE_DATA_DIR=/var/lib/hostplane HOSTPLANE_AGENT_BUNDLE_DIR=/app/apps/hub/agent-bundles
# The code stays root's and read-only to the hub; only /var/lib/hostplane and /tmp are writable.
USER 10001:10001
EXPOSE 8080 8081
HEALTHCHECK --interval=10s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HOSTPLANE_PORT||8080)+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# tini as PID 1 passes SIGTERM to the hub (which then drains) and reaps orphaned children.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "apps/hub/dist/src/main.js"]

# The image above, as the hub's user: every native addon loads (same glibc and Node ABI as the
# build) and the hub's modules load; a failure stops the build. Its report is kept in the image.
FROM hub AS verify
RUN ["node", "deploy/docker/verify-hub-tree.mjs", "/tmp/verified.json"]

# Without copying the tree again (22,000 files): the runtime image is `hub` plus the report.
FROM hub
COPY --from=verify /tmp/verified.json /app/deploy/docker/verified.json

# PostgreSQL, Redis and HAProxy for deploy/compose.yaml, from Debian's packages on the local
# base image (never pulled). One file, one target per service:
#   docker build -f deploy/docker/services.Dockerfile --target postgres -t hostplane/postgres:15 deploy
ARG BASE=hostplane/node-base:trixie

FROM ${BASE} AS packages
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql redis-server haproxy \
 && rm -rf /var/lib/apt/lists/*

FROM packages AS postgres
COPY docker/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
ENV PGDATA=/var/lib/postgresql/data
# A new named volume takes the owner and mode of the image's directory.
RUN install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data
VOLUME /var/lib/postgresql/data
USER postgres
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]

FROM packages AS redis
RUN install -d -o redis -g redis -m 0750 /data
USER redis
VOLUME /data
EXPOSE 6379
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--dir", "/data", "--appendonly", "yes"]

FROM packages AS haproxy
COPY haproxy/haproxy.cfg /etc/haproxy/haproxy.cfg
USER haproxy
EXPOSE 8080
CMD ["haproxy", "-W", "-db", "-f", "/etc/haproxy/haproxy.cfg"]

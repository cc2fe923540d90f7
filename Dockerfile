# arb in a container: non-root, the ledger (and logs, kill switch) on a volume.
#   docker build -t arb .
#   docker run -d --name arb -v arb-var:/app/var -v "$PWD/.secrets.toml:/app/.secrets.toml:ro" \
#       -p 127.0.0.1:8787:8787 -e ARB_STATUS__LISTEN=0.0.0.0:8787 arb run
# (`docker kill -s HUP arb` reloads settings; `docker stop arb` settles trades in flight.)
FROM python:3.11-slim

RUN useradd --create-home --uid 10001 arb
WORKDIR /app
COPY pyproject.toml README.md ./
COPY arb ./arb
RUN pip install --no-cache-dir . && rm -rf /root/.cache
COPY settings.toml ./
RUN mkdir -p /app/var && chown arb:arb /app/var

USER arb
ENV ARB_ENV=production
VOLUME ["/app/var"]
EXPOSE 8787
STOPSIGNAL SIGTERM
ENTRYPOINT ["arb"]
CMD ["run"]

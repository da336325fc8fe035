# Wirewatch: a slim image that runs `wirewatch run` as a non-root user, with the database on /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    WIREWATCH_CONFIG_DIR=/app/config \
    WIREWATCH_DB=/data/wirewatch.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install . && useradd --system --uid 10001 --home-dir /app wirewatch \
    && mkdir -p /data && chown wirewatch /data && chmod 700 /data

# The shipped defaults; mount your own over /app/config to change feeds or topic rules.
COPY config ./config

USER wirewatch
VOLUME ["/data"]

# Healthy while the last poll cycle finished recently (the service records each cycle in the database).
HEALTHCHECK --interval=60s --timeout=10s --start-period=120s --retries=3 \
    CMD ["wirewatch", "health"]

CMD ["wirewatch", "run"]

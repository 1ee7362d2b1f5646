# ledger-service on PostgreSQL (see docker-compose.yml). Build: docker build -t ledger-service .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Only what the service needs (no .venv, .git or local databases): the package carries its migrations and its
# default chart, mappings and tax profiles as package data.
COPY pyproject.toml README.md ./
COPY ledger_service ./ledger_service

# The source is removed after the install: the service runs from site-packages, as from any installed wheel.
RUN pip install . \
    && useradd --system --home-dir /app --shell /usr/sbin/nologin ledger \
    && chown -R ledger /app \
    && rm -rf /app/ledger_service /app/build /app/*.egg-info

# Every setting has an environment variable (docs/operations.md); the operator's ledger.toml, if any, is mounted
# at /app/ledger-config (the default config folder, relative to the working directory).
ENV LEDGER_DATABASE_URL=sqlite:////app/ledger.db \
    LEDGER_PORT=8000

USER ledger
EXPOSE 8000

# Liveness: /health answers without the database (readiness, with the database, is /ready). No curl in a slim
# image, so Python's own urllib.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('LEDGER_PORT', '8000'), timeout=4)" || exit 1

# init migrates (idempotent) before serving; a configuration or database problem is one line in the log, exit 2.
CMD ["sh", "-c", "ledger-service init && exec ledger-service serve --host 0.0.0.0"]

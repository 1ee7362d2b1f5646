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

RUN pip install . \
    && useradd --system --home-dir /app --shell /usr/sbin/nologin ledger \
    && chown -R ledger /app \
    && rm -rf /app/ledger_service

ENV LEDGER_DATABASE_URL=sqlite:////app/ledger.db

USER ledger
EXPOSE 8000

CMD ["sh", "-c", "ledger-service init && exec ledger-service serve --host 0.0.0.0 --port 8000"]

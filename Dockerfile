# ledger-service on PostgreSQL (see docker-compose.yml). Build: docker build -t ledger-service .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Only what the service needs (no .venv, .git or local databases): the package, its migrations and the chart.
COPY pyproject.toml README.md alembic.ini ./
COPY ledger_service ./ledger_service
COPY migrations ./migrations
COPY accounts ./accounts

RUN pip install . \
    && useradd --system --home-dir /app --shell /usr/sbin/nologin ledger \
    && chown -R ledger /app

# The code finds alembic.ini, migrations/ and accounts/ next to the ledger_service package it runs from
# (settings.REPO_ROOT). `pip install .` puts a copy of the package in site-packages without them, so import the
# package from /app, where they are.
ENV PYTHONPATH=/app \
    LEDGER_ACCOUNTS_DIR=/app/accounts \
    LEDGER_DATABASE_URL=sqlite:////app/ledger.db

USER ledger
EXPOSE 8000

CMD ["sh", "-c", "ledger-service init && exec ledger-service serve --host 0.0.0.0 --port 8000"]

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VIRTUAL_ENV=/app/.venv PATH=/app/.venv/bin:$PATH
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN python -m venv .venv && .venv/bin/pip install --no-cache-dir uv==0.13.9 \
    && .venv/bin/uv sync --frozen --active --inexact --no-dev
COPY . .
# As served (DEBUG off): hashed, compressed copies and their manifest. The key
# exists only for this step; the running container is given its own.
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" DEBUG=0 \
    python manage.py collectstatic --noinput
RUN useradd --system --home /app tvaerakut && mkdir -p /app/var /srv/audit-checkpoints \
    && chown -R tvaerakut /app/var /srv/audit-checkpoints
USER tvaerakut
EXPOSE 8000

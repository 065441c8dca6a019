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
# The witness's volume is mounted at /srv/witness: a new named volume takes the
# owner of the directory it is mounted on, so the directory is made here, the
# user's; without it the volume is root's and the witness cannot keep its key.
RUN useradd --system --home /app tvaerakut && mkdir -p /app/var /srv/witness \
    && chown -R tvaerakut /app/var /srv/witness
USER tvaerakut
EXPOSE 8000

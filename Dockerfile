# Cascade: one image for web (gunicorn), worker and beat (Celery).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=cascade.settings

WORKDIR /app
RUN useradd --create-home --uid 1000 cascade

COPY . .
# Production settings refuse to load without real keys: throwaway ones, for this step only.
RUN pip install . \
    && DEBUG=false \
       SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
       FIELD_ENCRYPTION_KEY="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
       python manage.py collectstatic --noinput

USER cascade
EXPOSE 8000
# Logging (access log with duration and request id; JSON with LOG_FORMAT=json): cascade/gunicorn_conf.py.
CMD ["gunicorn", "cascade.wsgi:application", "--config", "cascade/gunicorn_conf.py", "--bind", "0.0.0.0:8000", "--workers", "3"]

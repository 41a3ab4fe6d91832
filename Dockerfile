# One image for every Tipline process: intake, moderation, worker, beat and the migrations.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TIPLINE_INSTANCE_PATH=/app/instance

# The source is only needed to build the package; the image runs the installed copy.
COPY . /src
RUN pip install /src \
    && rm -rf /src \
    && groupadd --system tipline \
    && useradd --system --gid tipline --home-dir /app --shell /usr/sbin/nologin tipline \
    && mkdir -p /app/instance \
    && chown -R tipline:tipline /app \
    && chmod 700 /app/instance

WORKDIR /app
USER tipline
EXPOSE 5000 5001
CMD ["tipline", "--help"]

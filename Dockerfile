# Bedside: slim multi-stage image, non-root, health-checked.
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY requirements/runtime.txt ./requirements/
RUN python -m venv /opt/bedside \
 && /opt/bedside/bin/pip install --require-hashes -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY service ./service
COPY smart_app ./smart_app
# the EHR simulator (bedside demo) stays out of the production image
RUN /opt/bedside/bin/pip install --no-deps .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 bedside
COPY --from=build /opt/bedside /opt/bedside
ENV PATH=/opt/bedside/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    BEDSIDE_DATA_DIR=/var/lib/bedside
RUN mkdir -p /var/lib/bedside && chown bedside /var/lib/bedside
USER bedside
WORKDIR /home/bedside
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["bedside", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]

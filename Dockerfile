# tenfold/reference-services:0.1.0 — the image infra/k8s/services/*.yaml run (`python -m reference_services NAME`):
# this repository's package with its `services` extra only, at the versions in uv.lock (no Locust, Chaos Toolkit,
# moto, SciPy or Matplotlib). Build from the repository root:
#   docker build -t tenfold/reference-services:0.1.0 .
# infra/k8s/locust/*.yaml run `locust -f locustfiles/spike.py` (which needs tenfold.load and Locust) from the same
# Dockerfile built with the harness extra:
#   docker build --build-arg EXTRA=harness -t tenfold/load-generator:0.1.0 .
# The tags are pinned to a patch release; deploys pin the pushed images by digest (docs/deploy-aws.md, step 1).
FROM python:3.11.11-slim-bookworm

# services: a replica; harness: the load generator (the services' dependencies too, the harness starts them)
ARG EXTRA=services

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Only what the package is built from (.dockerignore keeps tests, runs, infra and the venvs out).
COPY pyproject.toml uv.lock README.md ./
COPY reference_services ./reference_services
COPY tenfold ./tenfold
COPY reports ./reports
COPY locustfiles ./locustfiles
# uv only writes uv.lock's pins for the extra as a requirements file (--locked: a uv.lock that no longer matches
# pyproject.toml fails the build); pip installs exactly those, every hash checked, then the package without
# resolving anything, and uv goes again.
RUN pip install "uv==0.13.9" \
    && uv export --quiet --locked --extra "$EXTRA" --no-emit-project -o /tmp/requirements.txt \
    && pip install --require-hashes -r /tmp/requirements.txt \
    && pip install --no-deps . \
    && pip uninstall -y uv \
    && rm /tmp/requirements.txt \
    && groupadd --system --gid 10001 tenfold \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin tenfold

# The manifests' securityContext runs as 10001 with a read-only root filesystem.
USER 10001:10001
EXPOSE 8080

# The manifests' `command` is ["python", "-m", "reference_services", NAME]; `docker run IMAGE users` works too.
ENTRYPOINT ["python", "-m", "reference_services"]
CMD ["catalog"]

# tenfold/reference-services:0.1.0 — the image infra/k8s/services/*.yaml run (`python -m reference_services NAME`)
# and infra/k8s/locust/*.yaml run (`locust -f locustfiles/spike.py`, which needs tenfold.load), so it installs
# this repository's package with its dependencies. Build from the repository root:
#   docker build -t tenfold/reference-services:0.1.0 .
# The tag is pinned to a patch release; deploys pin the pushed image by digest (docs/deploy-aws.md, step 1).
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Only what the package is built from (.dockerignore keeps tests, runs, infra and the venvs out).
COPY pyproject.toml README.md ./
COPY reference_services ./reference_services
COPY tenfold ./tenfold
COPY reports ./reports
COPY locustfiles ./locustfiles
RUN pip install . \
    && groupadd --system --gid 10001 tenfold \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin tenfold

# The manifests' securityContext runs as 10001 with a read-only root filesystem.
USER 10001:10001
EXPOSE 8080

# The manifests' `command` is ["python", "-m", "reference_services", NAME]; `docker run IMAGE users` works too.
ENTRYPOINT ["python", "-m", "reference_services"]
CMD ["catalog"]

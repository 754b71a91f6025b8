# DKVB Explorer: the Streamlit app on port 8501.
#   docker build -t dkvb-explorer . && docker run --rm -p 8501:8501 dkvb-explorer
# torch comes from requirements.txt (pinned). On x86_64 the default index serves a CUDA build,
# which also runs on CPU; a CPU-only wheel index can be added with pip's --index-url where reachable.
# plotly's cartesian chart bundle (1.5 MB instead of 4.8; app/vendor.py pins its version and SHA-256)
FROM node:22-bookworm-slim AS chartlib
WORKDIR /bundle
RUN npm pack --silent plotly.js-cartesian-dist-min@4.1.1 && tar xzf plotly.js-cartesian-dist-min-4.1.1.tgz

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Fashion-MNIST for the image pages, from Debian (nothing is downloaded at run time).
RUN apt-get update \
    && apt-get install -y --no-install-recommends dataset-fashion-mnist=0.0~git20200523.55506a9-1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY pyproject.toml README.md ./
COPY dkvb_core ./dkvb_core
COPY app ./app
COPY assets ./assets
COPY .streamlit ./.streamlit
# the chart library into app/static/ (served by the app itself; the folder is read-only to the server's user)
COPY --from=chartlib /bundle/package/plotly-cartesian.min.js app/static/vendor/plotly-cartesian-4.1.1.min.js
RUN python -m app.vendor

RUN useradd --create-home --uid 1000 explorer
USER 1000

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]

CMD ["streamlit", "run", "app/serve.py", "--server.address=0.0.0.0", "--server.port=8501", \
     "--server.headless=true", "--browser.gatherUsageStats=false"]

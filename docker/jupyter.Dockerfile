# JupyterLab with the kit, for the notebooks (compose.yaml's jupyter service). The same base as
# the lab's Asterisk image (Dockerfile): Debian sid's Python, the kit and its pinned requirements
# in a virtualenv, /opt/venv. Build context: the repository's top folder.
# espeak-ng: the voice of notebook 09's bot, which speaks from the notebook's own process.
# curl: notebook 00 sends its first ARI requests by hand, with curl, before the kit does.
# sip-tester (SIPp): notebook 05's desk phone that presses Transfer (a SIP REFER), vicifast_kit.lab.sip_phones.

FROM debian:sid-slim
ARG DEBIAN_MIRROR=
ARG DEBIAN_FRONTEND=noninteractive
RUN if [ -n "$DEBIAN_MIRROR" ]; then \
        sed -i "s|^URIs: .*|URIs: $DEBIAN_MIRROR|" /etc/apt/sources.list.d/debian.sources; \
    fi \
 && apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates tini espeak-ng curl sip-tester \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --shell /bin/bash jovyan
# The pinned requirements first, then the kit installed editable (so it finds the lab's settings in
# docker/ beside it), and its code last: a change of the kit's code rebuilds only that last layer.
# A C compiler is there only while pip builds what has no wheel for sid's Python yet (pocketsphinx).
COPY requirements.txt /opt/vicifast-kit/requirements.txt
RUN build_deps="gcc libc6-dev python3-dev" \
 && apt-get update \
 && apt-get install -y --no-install-recommends $build_deps \
 && python3 -m venv /opt/venv \
 && grep -v '^-e ' /opt/vicifast-kit/requirements.txt > /tmp/requirements.txt \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -r /tmp/requirements.txt \
 && apt-get purge -y --auto-remove $build_deps \
 && rm -rf /var/lib/apt/lists/* /tmp/requirements.txt
COPY pyproject.toml /opt/vicifast-kit/
RUN mkdir /opt/vicifast-kit/vicifast_kit && touch /opt/vicifast-kit/README.md /opt/vicifast-kit/vicifast_kit/__init__.py \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps -e /opt/vicifast-kit
COPY docker/lab.env docker/packages.txt /opt/vicifast-kit/docker/
# The lab's configuration templates: notebook 10 shows its outbound-websocket sections.
COPY docker/asterisk /opt/vicifast-kit/docker/asterisk
COPY vicifast_kit /opt/vicifast-kit/vicifast_kit
# The kit's Jupyter Server extension (kernel websockets without Nagle's delay), as a pip install enables it.
COPY jupyter-config/jupyter_server_config.d/vicifast_kit.json /opt/venv/etc/jupyter/jupyter_server_config.d/
ENV PATH=/opt/venv/bin:$PATH
USER jovyan
WORKDIR /home/jovyan/notebooks
EXPOSE 8888
ENTRYPOINT ["/usr/bin/tini", "--"]
# --allow-root: compose runs it as the owner of the notebooks folder, which may be root.
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser", "--allow-root", "--ServerApp.root_dir=/home/jovyan/notebooks"]

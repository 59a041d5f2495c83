# The server in a container: a wheel built from this tree, installed into a slim Python, run by a user without root.
# It serves MCP over stdio by default, so a client starts it with `docker run -i --rm -e GITHUB_TOKEN IMAGE`
# (docs/publishing.md); arguments after the image go to the command (`--sandbox`, `--read-only`, ...).

FROM python:3.12-slim AS build
WORKDIR /src
# Only what the wheel is built from; .dockerignore keeps everything else out of the build context.
COPY pyproject.toml README.md ./
COPY github_packages_mcp ./github_packages_mcp
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.12-slim
# The MCP Registry reads this label to confirm an image belongs to the server.json of that name.
LABEL io.modelcontextprotocol.server.name="io.github.OWNER/github-packages-mcp" \
      org.opencontainers.image.title="github-packages-mcp" \
      org.opencontainers.image.description="An MCP server for GitHub Packages" \
      org.opencontainers.image.licenses="MIT"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-cache-dir /tmp/wheels/*.whl \
    && rm -rf /tmp/wheels \
    && groupadd --gid 10001 mcp \
    && useradd --create-home --uid 10001 --gid mcp --shell /usr/sbin/nologin mcp
# Numeric, so that a runtime can see it is not root without reading /etc/passwd (runAsNonRoot).
USER 10001:10001
WORKDIR /home/mcp
# journal_dir is $XDG_STATE_HOME/github-packages-mcp: cleanup plans, journals and the key that signs confirmation
# tokens. Made here so that a volume mounted on it (`-v github-packages-mcp:/home/mcp/state`) belongs to mcp;
# without one they last as long as the container.
ENV XDG_STATE_HOME=/home/mcp/state
RUN mkdir -p "$XDG_STATE_HOME"
ENTRYPOINT ["github-packages-mcp"]

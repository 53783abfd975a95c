"""The model server (``make serve MODEL=models/<name>``): one model over HTTP, for two kinds of client.

- Other pipelines: ``POST /tag {"texts": [...]}`` -> ``{"model": {name, version, run, weights_sha256},
  "entities": [[...], ...]}`` (the full identity, with what the model was trained on: ``GET /health``),
  the ``Tagger``'s entities per text (exact offsets, ``normalized``, ``canonical``, COUNT fields).
- Label Studio, as its ML backend: ``GET /health``, ``POST /setup``, ``POST /predict``, ``POST /webhook``
  (protocol in ``arner.mlbackend``); ``make label`` connects it to the project.

Requests from all clients are tagged together (``arner.batching.DynamicBatcher``). It listens on
127.0.0.1 unless told otherwise. Limits (body bytes, texts per request, characters per text,
tasks per ``/predict``) answer 413; malformed requests 400, unknown projects 404, a labeling config
without the model's labels 422, each as ``{"error": "<one line>"}``, never a traceback.

Framework: Starlette on uvicorn (the ``serve`` extra). Label Studio's own ``label-studio-ml``
package (1.0.9, the newest on PyPI) pins Flask 1.1.2 and Jinja2 3.0.3 and cannot be installed
beside ``label-studio==1.23.2`` (Jinja2 3.1.6); Django, which Label Studio brings, is heavy for a
single-model server and is not an inference dependency. Starlette is small and actively kept, its
asyncio model makes dynamic batching simple, and uvicorn adds only itself (``h11``, ``click`` and
``anyio`` are already pinned).
"""

from __future__ import annotations

import json
import sys
import traceback
from contextlib import asynccontextmanager
from dataclasses import dataclass

from arner.batching import DynamicBatcher
from arner.mlbackend import ClientError, predict_response, predict_texts, setup_project, webhook_event

DEFAULT_PORT = 9090


@dataclass(frozen=True)
class Limits:
    max_body: int = 1_000_000        # bytes of one /tag, /setup or /webhook request
    max_texts: int = 256             # texts in one /tag request
    max_chars: int = 20_000          # characters of one text (or task text)
    max_predict_body: int = 16_000_000  # bytes of one /predict request (Label Studio sends a page of tasks)
    max_tasks: int = 1_000           # tasks in one /predict request


def check_texts(payload: object, limits: Limits) -> list[str]:
    """The texts of a ``/tag`` request body, or ClientError naming what is wrong."""
    if not isinstance(payload, dict) or "texts" not in payload:
        raise ClientError(400, '/tag: expected a JSON object {"texts": [...]}')
    unknown = sorted(set(payload) - {"texts"})
    if unknown:
        raise ClientError(400, f"/tag: unknown field {unknown[0]!r} (the body has one field, texts)")
    texts = payload["texts"]
    if not isinstance(texts, list):
        raise ClientError(400, f"/tag: texts must be a list of strings, got {type(texts).__name__}")
    if len(texts) > limits.max_texts:
        raise ClientError(413, f"/tag: {len(texts)} texts, over the limit of {limits.max_texts} per request")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ClientError(400, f"/tag: texts[{i}] is {type(text).__name__}, expected a string")
        if len(text) > limits.max_chars:
            raise ClientError(413, f"/tag: texts[{i}] has {len(text)} characters, over the limit of {limits.max_chars}")
    return texts


async def read_json(request, max_bytes: int, where: str) -> object:
    """The JSON body of ``request``, read no further than ``max_bytes``."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise ClientError(413, f"{where}: request body of {int(length)} bytes, over the limit of {max_bytes}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise ClientError(413, f"{where}: request body over the limit of {max_bytes} bytes")
    if not body.strip():
        raise ClientError(400, f"{where}: empty request body; expected JSON")
    try:
        return json.loads(body)
    except ValueError as exc:  # also bytes that are not UTF-8
        raise ClientError(400, f"{where}: request body is not valid JSON ({str(exc).splitlines()[0]})") from None


def create_app(tagger, limits: Limits = Limits(), max_wait: float = 0.005, max_batch: int = 64):
    """The Starlette app serving ``tagger`` (an ``arner.Tagger`` loaded from a model directory)."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    identity = tagger.identity
    version = identity["version"]
    short = {k: identity[k] for k in ("name", "version", "run", "weights_sha256") if k in identity}  # in every /tag answer
    labels = list(dict.fromkeys(tag[2:] for tag in tagger.id2label.values() if tag != "O"))
    batcher = DynamicBatcher(tagger.tag, max_wait=max_wait, max_texts=max_batch)
    projects: dict = {}
    events: dict[str, int] = {}

    def endpoint(handler, max_bytes: int | None = None):
        async def run(request):
            try:
                payload = await read_json(request, max_bytes, request.url.path) if max_bytes else None
                return JSONResponse(await handler(payload))
            except ClientError as exc:
                return JSONResponse({"error": str(exc)}, status_code=exc.status)
            except Exception as exc:  # noqa: BLE001 - the client gets one line; the server log the traceback
                traceback.print_exc(file=sys.stderr)
                return JSONResponse({"error": f"{request.url.path}: internal error ({type(exc).__name__}); see the server log"},
                                    status_code=500)
        return run

    async def health(_):
        return {"status": "UP", "model_class": "arner.Tagger", "model_version": version, "model": identity["name"],
                "identity": identity, "batching": dict(batcher.stats)}

    async def tag(payload):
        return {"model": short, "entities": await batcher.submit(check_texts(payload, limits))}

    async def setup(payload):
        setup_project(payload, labels, projects)
        return {"model_version": version}

    async def predict(payload):
        target, texts = predict_texts(payload, projects, limits.max_tasks, limits.max_chars)
        return predict_response(await batcher.submit(texts), target, version)

    async def webhook(payload):
        return webhook_event(payload, events)

    async def http_error(request, exc):
        return JSONResponse({"error": f"{request.method} {request.url.path}: {exc.detail}"}, status_code=exc.status_code)

    @asynccontextmanager
    async def lifespan(app):
        await batcher.start()
        yield
        await batcher.stop()

    routes = [Route("/health", endpoint(health), methods=["GET"]), Route("/", endpoint(health), methods=["GET"]),
              Route("/tag", endpoint(tag, limits.max_body), methods=["POST"]),
              Route("/setup", endpoint(setup, limits.max_body), methods=["POST"]),
              Route("/predict", endpoint(predict, limits.max_predict_body), methods=["POST"]),
              Route("/webhook", endpoint(webhook, limits.max_body), methods=["POST"])]
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error})


def serve(model_dir, host: str = "127.0.0.1", port: int = DEFAULT_PORT, limits: Limits = Limits(),
          max_wait: float = 0.005, max_batch: int = 64) -> None:
    """Load the model and serve it until interrupted."""
    import uvicorn

    from arner.tagger import Tagger

    tagger = Tagger.load(model_dir)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {host}: anyone who reaches this address can use the model", file=sys.stderr)
    print(f"serving {model_dir} ({tagger.identity['version']}) on http://{host}:{port}: "
          "POST /tag; Label Studio ML backend /health /setup /predict /webhook", flush=True)
    uvicorn.run(create_app(tagger, limits, max_wait, max_batch), host=host, port=port, log_level="warning",
                access_log=False)

"""A cheap OpenAI-compatible transcription stand-in for ``openhire loadtest --voice``: the
server's speech-to-text (``OPENHIRE_SPEECH_BASE_URL``) points here, on loopback, in a process
of its own, so that its work is neither the server's nor the generator's.

``POST /v1/audio/transcriptions`` takes OpenAI's documented multipart form (``file``,
``model``, ``response_format`` = ``json`` | ``text``, ``language``, ...) and answers
``{"text": ..., "usage": {"type": "duration", "seconds": ...}}``. It recognises nothing: it
checks that the file is a WAV, reads its length, and answers a known text followed by the
request's number (``"<text> #17"``), so that each answer in a log names the request that
transcribed it. It records, for each request, its service time (from the request's arrival to
its answer, the form's parsing included) and the audio's length; ``GET /requests`` lists them
(``{"requests": [{"n", "received_at", "service_s", "audio_s", "bytes"}]}``). A stream
(``stream=true``) is refused: the load generator's server is not configured for one.

    python -m clients.loadtest.transcriber --port 8765
"""

from __future__ import annotations

import argparse
import io
import itertools
import subprocess
import time
import wave
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from clients.loadtest.server import Started, free_port, start_module, stop_process

TEXT = "i would measure before i change anything"


def _error(status: int, message: str, param: str | None = None) -> Response:
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": None}
    return JSONResponse({"error": error}, status_code=status)


def build_app(text: str = TEXT) -> Starlette:
    served: list[dict[str, Any]] = []
    numbers = itertools.count(1)

    async def transcriptions(request: Request) -> Response:
        received = time.time()
        began = time.perf_counter()
        form = await request.form(max_files=1, max_fields=20)
        try:
            upload = form.get("file")
            if not form.get("model"):
                return _error(400, "you must provide a model parameter", "model")
            if not isinstance(upload, UploadFile):
                return _error(400, "file field required", "file")
            if form.get("stream") == "true":
                return _error(400, "this stand-in does not stream", "stream")
            data = await upload.read()
            try:
                with wave.open(io.BytesIO(data), "rb") as wav:
                    audio_s = wav.getnframes() / wav.getframerate()
            except (wave.Error, EOFError):
                return _error(400, "Invalid file format (this stand-in reads WAV only)", "file")
        finally:
            await form.close()
        n = next(numbers)
        said = f"{text} #{n}"
        response: Response
        if form.get("response_format") == "text":
            response = PlainTextResponse(said + "\n")
        else:
            usage = {"type": "duration", "seconds": round(audio_s)}
            response = JSONResponse({"text": said, "usage": usage})
        served.append(
            {
                "n": n,
                "received_at": received,
                "service_s": time.perf_counter() - began,
                "audio_s": round(audio_s, 3),
                "bytes": len(data),
            }
        )
        return response

    async def requests(request: Request) -> Response:
        return JSONResponse({"requests": served})

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/v1/audio/transcriptions", transcriptions, methods=["POST"]),
            Route("/requests", requests),
            Route("/healthz", health),
        ]
    )


class Transcriber(Started):
    """``with Transcriber() as t:`` the stand-in running in its own process at ``t.base_url``
    (what ``OPENHIRE_SPEECH_BASE_URL`` takes); ``t.requests()`` what it served."""

    def __init__(self, text: str = TEXT) -> None:
        self.text = text
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def start(self) -> None:
        argv = ["--port", str(self.port), "--text", self.text]
        self.proc = start_module(
            "clients.loadtest.transcriber",
            argv,
            self.url + "/healthz",
            "the transcription stand-in",
        )

    def requests(self) -> list[dict[str, Any]]:
        served: list[dict[str, Any]] = httpx.get(self.url + "/requests", timeout=30).json()[
            "requests"
        ]
        return served

    def cpu_s(self) -> float:
        """The stand-in's CPU time so far (user and system), in seconds."""
        import psutil  # type: ignore[import-untyped,unused-ignore]

        if self.proc is None:
            return 0.0
        times = psutil.Process(self.proc.pid).cpu_times()
        return float(times.user + times.system)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=10)
            self.proc = None


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--text", default=TEXT)
    args = parser.parse_args()
    uvicorn.run(
        build_app(args.text),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        ws="none",
    )


if __name__ == "__main__":
    main()
